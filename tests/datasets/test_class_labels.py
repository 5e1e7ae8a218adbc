"""cavmae_mm/datasets/class_labels.py: the classes and labels that both data
sets (files and shards) use."""
import numpy as np
import pytest

from cavmae_mm.datasets.class_labels import (ClassLabels, load_label_csv,
                                             split_labels)


@pytest.fixture
def label_csv(tmp_path):
    path = tmp_path / 'labels.csv'
    # rows out of order: sorted by index
    path.write_text('index,mid,display_name\n1,/m/b,Bark\n0,/m/a,Speech\n'
                    '2,/m/c,Music\n')
    return path


def test_label_csv_rows_and_errors(label_csv, tmp_path):
    assert [r['mid'] for r in load_label_csv(str(label_csv))] == \
        ['/m/a', '/m/b', '/m/c']
    bad = tmp_path / 'bad.csv'
    bad.write_text('index,name\n0,a\n')
    with pytest.raises(ValueError, match='header needs index,mid'):
        load_label_csv(str(bad))
    gap = tmp_path / 'gap.csv'
    gap.write_text('index,mid,display_name\n0,/m/a,A\n2,/m/c,C\n')
    with pytest.raises(ValueError, match=r'indices are not 0\.\.1'):
        load_label_csv(str(gap))


def test_split_labels():
    assert split_labels(None) == []
    assert split_labels(' Bark, /m/c ,,') == ['Bark', '/m/c']
    assert split_labels(['Bark ', '', 2]) == ['Bark', 2]
    assert split_labels(np.int64(1)) == [1]


def test_classes_from_a_relative_csv_or_metainfo(label_csv):
    labels = ClassLabels('labels.csv', data_root=str(label_csv.parent))
    assert labels.label_csv == str(label_csv)
    assert labels.metainfo == dict(classes=('Speech', 'Bark', 'Music'),
                                   mids=('/m/a', '/m/b', '/m/c'))
    given = ClassLabels(str(label_csv), metainfo=dict(classes=('x', 'y')))
    assert given.metainfo['classes'] == ('x', 'y')  # metainfo wins
    plain = ClassLabels(metainfo=dict(classes=('x', 'y')))
    assert (plain.num_classes, plain.lookup) == (2, {'x': 0, 'y': 1})
    with pytest.raises(ValueError, match='MyData needs `label_csv`'):
        ClassLabels(owner='MyData')


def test_ids_and_targets(label_csv):
    labels = ClassLabels(str(label_csv))
    assert labels.ids('Bark,/m/c') == [1, 2]
    assert labels.ids(['2', 0]) == [2, 0]  # indices 0..K-1
    for unknown in ('3', '-1', 'Cat'):
        with pytest.raises(KeyError) as err:
            labels.ids(['Bark', unknown])
        assert err.value.args[0] == unknown
    with pytest.raises(KeyError):
        labels.ids('2', indices=False)  # names and mids only
    assert labels.ids(['/m/b'], indices=False) == [1]
    np.testing.assert_array_equal(labels.target([0, 2], multi_label=True),
                                  np.array([1, 0, 1], np.float32))
    assert labels.target([], multi_label=True).dtype == np.float32
    assert not labels.target([], multi_label=True).any()
    assert labels.target([2], multi_label=False) == 2
    assert labels.target([], multi_label=False) == -1
