"""AVMixup (cavmae_mm/datasets/transforms/mixup.py) against the reference's
waveform mixup (SPEC §2)."""
import random

import numpy as np
import pytest
import torch

from cavmae_mm.datasets.transforms import AVMixup, KaldiFbank
from .audio_utils import reference_fbank, write_wav

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def reference_mixup_fbank(waveform1, waveform2, mix_lambda):
    """The reference's ``_wav2fbank`` mixup branch."""
    waveform1 = waveform1 - waveform1.mean()
    waveform2 = waveform2 - waveform2.mean()
    if waveform1.shape[1] != waveform2.shape[1]:
        if waveform1.shape[1] > waveform2.shape[1]:
            temp_wav = torch.zeros(1, waveform1.shape[1])
            temp_wav[0, 0:waveform2.shape[1]] = waveform2
            waveform2 = temp_wav
        else:
            waveform2 = waveform2[0, 0:waveform1.shape[1]]
    mix_waveform = mix_lambda * waveform1 + (1 - mix_lambda) * waveform2
    return reference_fbank(mix_waveform)  # re-centers, fbank, pad/cut


@pytest.mark.parametrize('partner_seconds', [3.0, 12.0])  # padded / cut
def test_mixup_waveforms_equal_reference(tmp_path, partner_seconds):
    _, first = write_wav(tmp_path / 'a.wav', 10.0, seed=1)
    _, second = write_wav(tmp_path / 'b.wav', partner_seconds, seed=2)
    img1 = np.full((224, 224, 3), 200, np.uint8)
    img2 = np.full((224, 224, 3), 100, np.uint8)
    results = dict(
        waveform=first[0].numpy(), label=2, num_classes=5, imgs=[img1],
        mix_results=[dict(waveform=second[0].numpy(), label=4, imgs=[img2],
                          video_id='b')])
    np.random.seed(7)
    results = AVMixup(prob=1.0)(results)
    np.random.seed(7)
    mix_lambda = np.random.beta(10, 10)
    assert results['mixup_lambda'] == mix_lambda
    assert results['mix_video_id'] == 'b' and 'mix_results' not in results
    results = KaldiFbank()(results)
    assert torch.equal(results['audio'],
                       reference_mixup_fbank(first, second, mix_lambda))
    np.testing.assert_allclose(
        results['imgs'][0], mix_lambda * 200 + (1 - mix_lambda) * 100,
        rtol=1e-6)
    assert results['imgs'][0].dtype == np.float32
    np.testing.assert_allclose(
        results['label'], [0, 0, mix_lambda, 0, 1 - mix_lambda], rtol=1e-6)
    assert results['label'].dtype == np.float32


def test_mixup_without_partner_and_get_indexes():
    results = AVMixup()(dict(
        waveform=np.ones(10, np.float32), label=1, num_classes=3,
        imgs=[np.zeros((4, 4, 3), np.uint8)], mix_results=[]))
    assert 'mixup_lambda' not in results
    assert results['imgs'][0].dtype == np.float32  # the batch stacks
    assert results['label'].tolist() == [0, 1, 0]
    dataset = list(range(50))
    random.seed(0)
    assert all(AVMixup(prob=0.0).get_indexes(dataset) == []
               for _ in range(100))
    draws = [AVMixup(prob=1.0).get_indexes(dataset) for _ in range(100)]
    assert all(len(d) == 1 and 0 <= d[0] < 50 for d in draws)
    hits = sum(bool(AVMixup(prob=0.5).get_indexes(dataset))
               for _ in range(2000))
    assert 900 < hits < 1100
    assert repr(AVMixup()) == 'AVMixup(prob=0.5, alpha=10.0)'
