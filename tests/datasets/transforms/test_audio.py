"""Audio transforms (cavmae_mm/datasets/transforms/audio.py): KaldiFbank,
SpecAugment, NormalizeFbank, FbankNoise, against the reference's formulas
(SPEC §2)."""
import numpy as np
import pytest
import torch
import torchaudio

from cavmae_mm.datasets.av_io import AVDataError
from cavmae_mm.datasets.transforms import (FbankNoise, KaldiFbank,
                                           NormalizeFbank, SpecAugment)
from .audio_utils import reference_fbank, write_wav

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def test_kaldi_fbank_equals_reference(tmp_path):
    _, waveform = write_wav(tmp_path / 'a.wav', 10.01)
    results = KaldiFbank()(dict(waveform=waveform[0].numpy()))
    assert torch.equal(results['audio'], reference_fbank(waveform))
    assert results['audio'].shape == (1024, 128)
    assert results['audio'].dtype == torch.float32
    assert results['audio_num_frames'] == 999
    assert 'waveform' not in results


@pytest.mark.parametrize('num_samples, sample_rate', [
    (400, 16000), (401, 16000), (560, 16000), (16000, 16000),
    (160135, 16000), (80000, 8000)
])
def test_fast_fbank_is_bit_identical_to_torchaudio(num_samples,
                                                   sample_rate):
    from cavmae_mm.datasets.transforms.audio import kaldi_fbank
    generator = torch.Generator().manual_seed(num_samples)
    waveform = torch.randn(1, num_samples, generator=generator) * 0.1
    waveform = waveform - waveform.mean()
    expected = torchaudio.compliance.kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=sample_rate,
        use_energy=False, window_type='hanning', num_mel_bins=128,
        dither=0.0, frame_shift=10)
    assert torch.equal(kaldi_fbank(waveform, sample_rate), expected)


def test_kaldi_fbank_pads_short_and_cuts_long_audio(tmp_path):
    _, short = write_wav(tmp_path / 's.wav', 2.0)
    results = KaldiFbank(keep_waveform=True)(dict(waveform=short[0]))
    n = results['audio_num_frames']
    assert n == 198 and 'waveform' in results
    assert (results['audio'][n:] == 0).all()  # zero padding, at the end
    assert (results['audio'][:n] != 0).any()
    _, long = write_wav(tmp_path / 'l.wav', 15.0)
    results = KaldiFbank()(dict(waveform=long[0]))
    assert results['audio_num_frames'] == 1498
    assert torch.equal(results['audio'], reference_fbank(long))
    assert KaldiFbank(target_length=512)(dict(
        waveform=long[0]))['audio'].shape == (512, 128)
    with pytest.raises(AVDataError, match='too short'):
        KaldiFbank()(dict(waveform=np.zeros(100, np.float32),
                          filename='x.mp4'))


@pytest.mark.parametrize('freqm, timem', [(48, 192), (48, 0), (0, 192),
                                          (1, 1)])
def test_spec_augment_equals_torchaudio_masking(freqm, timem):
    fbank = torch.randn(1024, 128) + 5
    for seed in range(20):
        torch.manual_seed(seed)
        out = SpecAugment(freqm, timem)(dict(audio=fbank))['audio']
        torch.manual_seed(seed)
        spec = fbank.t().unsqueeze(0)  # the reference's [1, F, T]
        if freqm:
            spec = torchaudio.transforms.FrequencyMasking(freqm)(spec)
        if timem:
            spec = torchaudio.transforms.TimeMasking(timem)(spec)
        assert torch.equal(out, spec.squeeze(0).t())
        assert (out == 0).all(0).sum() <= freqm
        assert (out == 0).all(1).sum() <= timem
    original = fbank.clone()
    SpecAugment(48, 192)(dict(audio=fbank))
    assert torch.equal(fbank, original)  # not modified in place


def test_spec_augment_off():
    fbank = torch.randn(1024, 128) + 5
    assert torch.equal(SpecAugment()(dict(audio=fbank))['audio'], fbank)
    assert repr(SpecAugment(48, 192)) == 'SpecAugment(freqm=48, timem=192)'


def test_normalize_and_noise_equal_reference():
    fbank = torch.randn(1024, 128)
    out = NormalizeFbank()(dict(audio=fbank))['audio']
    assert torch.equal(out, (fbank - (-5.081)) / 4.4849)
    assert torch.equal(
        NormalizeFbank(1.0, 2.0)(dict(audio=fbank))['audio'],
        (fbank - 1.0) / 2.0)
    torch.manual_seed(1)
    np.random.seed(1)
    noisy = FbankNoise()(dict(audio=out))['audio']
    torch.manual_seed(1)
    np.random.seed(1)
    expected = out + torch.rand(out.shape[0], out.shape[1]) * \
        np.random.rand() / 10
    expected = torch.roll(expected, np.random.randint(-1024, 1024), 0)
    assert torch.equal(noisy, expected)
    assert repr(NormalizeFbank()) == 'NormalizeFbank(mean=-5.081, std=4.4849)'
    assert repr(FbankNoise()) == 'FbankNoise(scale=0.1, roll=True)'
