"""LabelSmoothing (cavmae_mm/datasets/transforms/labels.py) against the
reference's label vectors, after mixup too (SPEC §2)."""
import numpy as np
import pytest
import torch

from cavmae_mm.datasets.transforms import AVMixup, LabelSmoothing

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def reference_labels(labels1, labels2, mix_lambda, eps, num):
    """The reference's label vectors (``__getitem__``)."""
    label = np.zeros(num) + (eps / num)
    if labels2 is None:
        for index in labels1:
            label[index] = 1.0 - eps
    else:
        for index in labels1:
            label[index] += mix_lambda * (1.0 - eps)
        for index in labels2:
            label[index] += (1.0 - mix_lambda) * (1.0 - eps)
    return torch.FloatTensor(label).numpy()


def test_label_smoothing_equals_reference():
    num = 527
    multi_hot = np.zeros(num, np.float32)
    multi_hot[[0, 72]] = 1
    out = LabelSmoothing(0.1)(dict(label=multi_hot, num_classes=num))
    np.testing.assert_array_equal(out['label'],
                                  reference_labels([0, 72], None, 0, 0.1,
                                                   num))
    out = LabelSmoothing(0.1)(dict(label=3, num_classes=10))  # class index
    np.testing.assert_array_equal(out['label'],
                                  reference_labels([3], None, 0, 0.1, 10))
    # After mixup: both clips add their share; class 72 is in both.
    other = np.zeros(num, np.float32)
    other[[72, 300]] = 1
    mixed = AVMixup(prob=1.0)(dict(
        waveform=np.ones(100, np.float32), label=multi_hot, num_classes=num,
        mix_results=[dict(waveform=np.ones(100, np.float32), label=other)]))
    out = LabelSmoothing(0.1)(mixed)
    np.testing.assert_allclose(
        out['label'],
        reference_labels([0, 72], [72, 300], mixed['mixup_lambda'], 0.1,
                         num),
        rtol=1e-6)
    assert out['label'].dtype == np.float32
    assert repr(LabelSmoothing()) == 'LabelSmoothing(eps=0.1)'
