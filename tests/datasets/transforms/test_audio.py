"""Transforms of cavmae_mm/datasets/transforms/, against the reference's
formulas (SPEC §2)."""
import logging
import random

import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from mmengine.logging import MMLogger

from cavmae_mm.datasets.av_io import AVDataError, frame_jpeg_path
from cavmae_mm.datasets.transforms import (AVMixup, AVResize, FbankNoise,
                                           KaldiFbank, LabelSmoothing,
                                           LoadAudioWaveform, LoadAVFrames,
                                           NormalizeFbank, SampleAVFrames,
                                           SpecAugment)

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def reference_fbank(waveform, target_length=1024):
    """The reference's ``_wav2fbank`` body after loading (no mixup)."""
    waveform = waveform - waveform.mean()
    fbank = torchaudio.compliance.kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=16000, use_energy=False,
        window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
    p = target_length - fbank.shape[0]
    if p > 0:
        fbank = torch.nn.ZeroPad2d((0, 0, 0, p))(fbank)
    elif p < 0:
        fbank = fbank[0:target_length, :]
    return fbank


def write_wav(path, seconds, seed=0, amplitude=0.1):
    rng = np.random.default_rng(seed)
    pcm = (rng.standard_normal(int(seconds * 16000)) * amplitude * 32768)
    pcm = np.clip(pcm, -32768, 32767).astype(np.int16)
    soundfile.write(str(path), pcm, 16000, subtype='PCM_16')
    return str(path), torch.from_numpy(pcm.astype(np.float32) / 32768)[None]


# ---------------------------------------------------------------- loading


def test_load_audio_waveform_from_wav_and_video(tmp_path, make_clip):
    path, waveform = write_wav(tmp_path / 'a.wav', 1.0)
    results = LoadAudioWaveform()(dict(audio_path=path))
    np.testing.assert_array_equal(results['waveform'], waveform[0].numpy())
    assert results['sample_rate'] == 16000
    assert results['audio_duration'] == 1.0
    assert results['orig_num_channels'] == 1
    video = make_clip(sample_rate=44100, channels=2)
    results = LoadAudioWaveform()(dict(filename=video))
    assert results['orig_sample_rate'] == 44100
    assert results['orig_num_channels'] == 2
    assert results['waveform'].dtype == np.float32
    assert 'LoadAudioWaveform(sample_rate=16000' in repr(LoadAudioWaveform())


def test_load_audio_silence_policies(tmp_path):
    path = str(tmp_path / 'silence.wav')
    soundfile.write(path, np.zeros(16000, np.int16), 16000)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert LoadAudioWaveform(silence='keep')(
            dict(audio_path=path))['waveform'].max() == 0
        assert not records
        LoadAudioWaveform()(dict(audio_path=path))  # 'warn' is the default
        LoadAudioWaveform()(dict(audio_path=path))
    finally:
        logger.removeHandler(handler)
    warnings = [r for r in records if 'Silent audio' in r.getMessage()]
    assert len(warnings) == 1 and path in warnings[0].getMessage()
    with pytest.raises(AVDataError, match='silent audio'):
        LoadAudioWaveform(silence='error')(dict(audio_path=path))
    with pytest.raises(ValueError):
        LoadAudioWaveform(silence='ignore')


def test_load_audio_too_short(tmp_path):
    path, _ = write_wav(tmp_path / 'short.wav', 0.01)
    with pytest.raises(AVDataError, match='audio too short'):
        LoadAudioWaveform()(dict(audio_path=path))
    with pytest.raises(KeyError):
        LoadAudioWaveform()(dict())


def test_sample_av_frames_modes():
    random.seed(0)
    seen = {
        int(SampleAVFrames('random')(dict())['frame_positions'][0])
        for _ in range(300)
    }
    assert seen == set(range(10))
    assert SampleAVFrames('middle')(dict())['frame_positions'].tolist() == [5]
    assert SampleAVFrames('all')(dict())['frame_positions'].tolist() == list(
        range(10))
    results = SampleAVFrames(3)(dict())
    assert results['frame_positions'].tolist() == [3]
    assert results['num_positions'] == 10
    for bad in ('first', 10, -1):
        with pytest.raises(ValueError):
            SampleAVFrames(bad)
    assert repr(SampleAVFrames('all')) == (
        "SampleAVFrames(mode='all', num_positions=10)")


def test_load_av_frames_from_jpegs_and_video(tmp_path, make_clip):
    from PIL import Image
    for position in range(10):
        if position == 6:
            continue  # missing: falls back to 5
        (tmp_path / f'frame_{position}').mkdir()
        Image.fromarray(np.full((224, 224, 3), 20 * position,
                                np.uint8)).save(
                                    frame_jpeg_path(str(tmp_path), 'v',
                                                    position))
    results = LoadAVFrames()(
        dict(frame_dir=str(tmp_path), video_id='v',
             frame_positions=np.array([6, 9])))
    assert results['frame_inds'].tolist() == [5, 9]
    assert len(results['imgs']) == 2 and results['img_shape'] == (224, 224)
    assert results['imgs'][0].dtype == np.uint8
    assert abs(float(results['imgs'][0].mean()) - 100) < 2
    assert results['clip_len'] == 2 and results['num_clips'] == 1

    video = make_clip(size=(96, 64))
    results = LoadAVFrames()(
        dict(filename=video, frame_positions=np.arange(10)))
    assert results['frame_inds'].tolist() == list(range(0, 20, 2))
    assert results['original_shape'] == (64, 96)
    with pytest.raises(KeyError):
        LoadAVFrames()(dict(frame_positions=np.array([5])))
    assert repr(LoadAVFrames()) == 'LoadAVFrames(decode_threads=1)'


# ---------------------------------------------------------------- frames


@pytest.mark.parametrize('size', [(320, 240), (640, 360), (240, 320),
                                  (256, 144), (1280, 720), (299, 224)])
def test_av_resize_matches_torchvision(size):
    """Same output size rule and pixels as the reference's
    ``T.Resize(224, interpolation=BICUBIC)`` on a PIL image."""
    import PIL
    import torchvision.transforms as T
    from PIL import Image
    width, height = size
    image = np.random.default_rng(0).integers(
        0, 256, (height, width, 3), dtype=np.uint8)
    results = AVResize(scale=(-1, 224))(
        dict(imgs=[image], img_shape=(height, width)))
    expected = np.asarray(
        T.Resize(224, interpolation=PIL.Image.BICUBIC)(
            Image.fromarray(image)))
    assert results['img_shape'] == expected.shape[:2]
    np.testing.assert_array_equal(results['imgs'][0], expected)


def test_av_resize_leaves_224_frames_alone_and_crop():
    from mmaction.registry import TRANSFORMS
    image = np.zeros((224, 224, 3), np.uint8)
    results = AVResize()(dict(imgs=[image], img_shape=(224, 224)))
    assert results['imgs'][0] is image
    results = AVResize()(dict(imgs=[np.zeros((360, 640, 3), np.uint8)],
                              img_shape=(360, 640)))
    results = TRANSFORMS.build(dict(type='CenterCrop', crop_size=224))(
        results)
    assert results['imgs'][0].shape == (224, 224, 3)
    assert 'backend=pillow' in repr(AVResize())


# ---------------------------------------------------------------- audio


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


# ---------------------------------------------------------------- mixup


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


# ---------------------------------------------------------------- labels


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
