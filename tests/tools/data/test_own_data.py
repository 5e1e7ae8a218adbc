"""tools/data/own_data.py: the labels CSV, its matching to files, the split
and the configs' file names."""
import pytest

from tools.data.own_data import (layout_files, match_labels, read_labels_csv,
                                 split_items)


def items(counts):
    return [dict(video_id=f'{label}_{k}', labels=[label] if label else [])
            for label, count in counts.items() for k in range(count)]


def test_split_is_stratified_deterministic_and_keeps_a_training_clip():
    data = items(dict(a=10, b=3, c=1))
    splits = split_items(data, 0.2, retrieval_per_class=1, seed=0)
    val = [item['labels'][0] for item in splits['val']]
    assert sorted(val) == ['a', 'a', 'b']  # round(2), max(1, 0.6), c: 0
    assert [item['labels'][0] for item in splits['retrieval']] == ['a', 'b']
    assert len(splits['train']) + len(splits['val']) == 14
    assert not {id(i) for i in splits['train']} & {id(i) for i in
                                                   splits['val']}
    again = split_items(list(reversed(data)), 0.2, 1, seed=0)
    assert [i['video_id'] for i in again['val']] == [
        i['video_id'] for i in splits['val']]
    other = [split_items(data, 0.2, 1, seed=s)['val'] for s in range(1, 6)]
    assert any([i['video_id'] for i in v] !=
               [i['video_id'] for i in splits['val']] for v in other)


def test_unlabelled_items_retrieve_on_their_whole_validation_part():
    splits = split_items(items({'': 20}), 0.1, retrieval_per_class=1)
    assert len(splits['val']) == 2 and splits['retrieval'] == splits['val']


def test_labels_csv_forms_and_matching(tmp_path):
    path = tmp_path / 'labels.csv'
    path.write_text('video,labels\nsub/a.mp4,"dog,bark"\nb.mp4,cat;cow\n'
                    'c,rain\nmissing.mp4,x\nd.mp4,y\n')
    rows = read_labels_csv(str(path))
    assert [r[1:] for r in rows][:3] == [('sub/a.mp4', ['dog', 'bark']),
                                         ('b.mp4', ['cat', 'cow']),
                                         ('c', ['rain'])]
    folder = str(tmp_path / 'v')
    videos = [f'{folder}/sub/a.mp4', f'{folder}/x/b.mp4', f'{folder}/c.webm',
              f'{folder}/1/d.mp4', f'{folder}/2/d.mp4']
    labels, unmatched = match_labels(videos, folder, rows)
    assert labels == {videos[0]: ['dog', 'bark'], videos[1]: ['cat', 'cow'],
                      videos[2]: ['rain']}
    assert [(r['line'], r['reason']) for r in unmatched] == [
        (5, f'no such file in {folder}'),
        (6, 'ambiguous: 2 files named so')]


def test_labels_csv_without_rows_is_an_error(tmp_path):
    path = tmp_path / 'labels.csv'
    path.write_text('file,label\n')
    with pytest.raises(ValueError, match='no rows'):
        read_labels_csv(str(path))


def test_layout_files_are_what_the_configs_read():
    files = layout_files('vggsound')
    assert files['train'] == 'vgg_train_cleaned.json'
    assert files['weights'] == 'vgg_train_cleaned_weight.csv'
    assert files['num_classes'] == 309
    assert layout_files('audioset')['label_csv'] == 'class_labels_indices.csv'
