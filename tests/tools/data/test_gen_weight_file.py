"""tools/data/gen_weight_file.py: class-balanced sampling weights of an
annotation file."""
import json

import numpy as np

from ..tool_utils import import_tool


def test_gen_weight_file(tmp_path):
    from cavmae_mm.datasets.samplers import class_balanced_weights
    tool = import_tool('data/gen_weight_file.py')
    label_csv = tmp_path / 'labels.csv'
    label_csv.write_text('index,mid,display_name\n0,/m/a,A\n1,/m/b,B\n')
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(data=[
        dict(video='a.mp4', labels='/m/a'),
        dict(video='b.mp4', labels='/m/a,/m/b'),
        dict(video='c.mp4', labels='/m/a'),
    ])))
    assert tool.main([str(ann), '--label-csv', str(label_csv)]) == 0
    weights = np.loadtxt(tmp_path / 'train_weight.csv', delimiter=',')
    np.testing.assert_allclose(
        weights, class_balanced_weights([[0], [0, 1], [0]], 2))
    assert weights[1] > weights[0] == weights[2]
    ann.write_text(json.dumps(dict(data=[dict(video='a.mp4',
                                              labels='/m/zz')])))
    assert tool.main([str(ann), '--label-csv', str(label_csv)]) == 1
