"""Audio parity with the reference on ../shared/samples/ (SPEC §2).

The reference converts a clip offline (``ffmpeg -i clip.mp4 -vn -ar 16000
intermediate.wav`` -- 16-bit PCM -- then ``sox intermediate.wav clip.wav
remix 1``), loads the wav with ``torchaudio.load`` and computes the Kaldi
fbank. Here that wav is made with PyAV, which runs the same libswresample
conversion as the ffmpeg CLI, independently of cavmae_mm's reader.
"""
import av
import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from mmengine.dataset import Compose

SAMPLES = ['00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4']

# Measured on the two sample clips: max |difference| 0.043 and 0.026, mean
# 1.5e-4 and 8.3e-4 (normalized fbank units; the fbank std is 1). The
# difference is the reference's 16-bit quantization of the wav, which the
# direct path skips; it shows in quiet high-frequency bins.
MP4_MAX_ABS_TOLERANCE = 0.06
MP4_MEAN_ABS_TOLERANCE = 2e-3


def reference_wav(mp4_path, wav_path):
    """``ffmpeg -ar 16000`` (s16) + ``sox remix 1``, via PyAV."""
    chunks = []
    with av.open(str(mp4_path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(
            format='s16p', layout=stream.layout, rate=16000)
        for frame in container.decode(stream):
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
    pcm = np.concatenate(chunks, axis=1)[0]  # [C, N] -> first channel
    soundfile.write(str(wav_path), pcm, 16000, subtype='PCM_16')


def reference_input(wav_path, target_length=1024):
    """torchaudio.load (soundfile reads the same int16 / 32768 values),
    ``_wav2fbank`` and the normalization of the reference."""
    waveform, sample_rate = soundfile.read(str(wav_path), dtype='float32')
    waveform = torch.from_numpy(waveform)[None]
    waveform = waveform - waveform.mean()
    fbank = torchaudio.compliance.kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=sample_rate,
        use_energy=False, window_type='hanning', num_mel_bins=128,
        dither=0.0, frame_shift=10)
    p = target_length - fbank.shape[0]
    if p > 0:
        fbank = torch.nn.ZeroPad2d((0, 0, 0, p))(fbank)
    elif p < 0:
        fbank = fbank[0:target_length, :]
    return (fbank - (-5.081)) / 4.4849


@pytest.fixture
def audio_pipeline(mmaction_scope):
    return Compose([
        dict(type='LoadAudioWaveform'),
        dict(type='KaldiFbank', target_length=1024),
        dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    ])


@pytest.mark.parametrize('name', SAMPLES)
def test_fbank_from_16k_wav_equals_reference_exactly(samples_dir, tmp_path,
                                                     audio_pipeline, name):
    wav = tmp_path / 'clip.wav'
    reference_wav(samples_dir / name, wav)
    audio = audio_pipeline(dict(audio_path=str(wav)))['audio']
    expected = reference_input(wav)
    assert audio.shape == (1024, 128) and audio.dtype == torch.float32
    assert torch.equal(audio, expected)


@pytest.mark.parametrize('name', SAMPLES)
def test_fbank_from_mp4_agrees_closely(samples_dir, tmp_path, audio_pipeline,
                                       name):
    wav = tmp_path / 'clip.wav'
    reference_wav(samples_dir / name, wav)
    audio = audio_pipeline(dict(filename=str(samples_dir / name)))['audio']
    difference = (audio - reference_input(wav)).abs()
    assert difference.max() < MP4_MAX_ABS_TOLERANCE
    assert difference.mean() < MP4_MEAN_ABS_TOLERANCE
