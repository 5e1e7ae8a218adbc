"""Shared by the transform tests: the reference's fbank and a test wav."""
import numpy as np
import soundfile
import torch
import torchaudio


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
