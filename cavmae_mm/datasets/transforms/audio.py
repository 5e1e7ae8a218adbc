"""Audio transforms: Kaldi fbank, SpecAugment, noise and normalization.

Order of the reference (SPEC §2) in a training pipeline::

    LoadAudioWaveform -> [AVMixup] -> KaldiFbank -> SpecAugment
    -> NormalizeFbank -> FbankNoise

``audio`` is a float32 ``torch.Tensor [T, 128]`` (time, mel bins) from
``KaldiFbank`` on.
"""
import functools
from typing import Dict

import numpy as np
import torch
import torchaudio
from mmcv.transforms import BaseTransform
from torchaudio.compliance import kaldi

from mmaction.registry import TRANSFORMS
from ..av_io import TARGET_SAMPLE_RATE, AVDataError
from ..sample_rng import sample_random_state, sample_torch_generator

#: AudioSet fbank statistics of the reference, used for VGGSound too.
AUDIOSET_FBANK_MEAN = -5.081
AUDIOSET_FBANK_STD = 4.4849


# The fast path uses torchaudio's own helpers (tests check it stays
# bit-identical to ``kaldi.fbank``); without them, ``kaldi.fbank`` itself.
_FAST_FBANK = all(
    hasattr(kaldi, name)
    for name in ('_get_strided', 'get_mel_banks', '_next_power_of_2',
                 'EPSILON'))


@functools.lru_cache(maxsize=None)
def _fbank_constants(sample_rate: int, num_mel_bins: int,
                     frame_shift: float):
    """Window and mel filters of :func:`kaldi_fbank`, computed once."""
    window_shift = int(sample_rate * frame_shift * 0.001)
    window_size = int(sample_rate * 25.0 * 0.001)  # 25 ms frames
    padded_size = kaldi._next_power_of_2(window_size)
    window = torch.hann_window(
        window_size, periodic=False, dtype=torch.float32).unsqueeze(0)
    mel_banks, _ = kaldi.get_mel_banks(num_mel_bins, padded_size,
                                       sample_rate, 20.0, 0.0, 100.0,
                                       -500.0, 1.0)
    # [M, padded // 2] -> [M, padded // 2 + 1]
    mel_banks = torch.nn.functional.pad(
        mel_banks.to(torch.float32), (0, 1), mode='constant', value=0)
    return window_size, window_shift, padded_size, window, mel_banks


def kaldi_fbank(waveform: torch.Tensor,
                sample_rate: int = TARGET_SAMPLE_RATE,
                num_mel_bins: int = 128,
                frame_shift: float = 10.0) -> torch.Tensor:
    """The reference's filterbank of a mean-subtracted ``[1, N]`` waveform:
    ``torchaudio.compliance.kaldi.fbank(waveform, htk_compat=True,
    sample_frequency=sample_rate, use_energy=False, window_type='hanning',
    num_mel_bins=num_mel_bins, dither=0.0, frame_shift=frame_shift)``.

    The same arithmetic in the same order (so the output is bit-identical,
    which the tests check), minus what that call computes and throws away
    (the frame energies) or recomputes every time (window, mel filters),
    and with copies instead of padding ops: about 20 % faster.

    Args:
        waveform (torch.Tensor): float32 ``[1, N]``, ``N >= 25 ms``.
        sample_rate (int): Defaults to 16000.
        num_mel_bins (int): Defaults to 128.
        frame_shift (float): Milliseconds. Defaults to 10.

    Returns:
        torch.Tensor: ``[n_frames, num_mel_bins]``.
    """
    if waveform.dtype != torch.float32 or not _FAST_FBANK:
        return torchaudio.compliance.kaldi.fbank(
            waveform, htk_compat=True, sample_frequency=sample_rate,
            use_energy=False, window_type='hanning',
            num_mel_bins=num_mel_bins, dither=0.0, frame_shift=frame_shift)
    window_size, window_shift, padded_size, window, mel_banks = \
        _fbank_constants(int(sample_rate), num_mel_bins, float(frame_shift))
    frames = kaldi._get_strided(waveform[0], window_size, window_shift,
                                True)  # [n_frames, window_size]
    frames = frames - torch.mean(frames, dim=1).unsqueeze(1)  # DC offset
    # Pre-emphasis 0.97: frames[:, j] -= 0.97 * frames[:, max(0, j - 1)].
    # (torchaudio builds `previous` with a replicate pad; the same values by
    # concatenation are 8x faster.)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - 0.97 * previous
    # Window, zero-padded to the FFT size: [n_frames, padded_size].
    padded = frames.new_zeros(frames.shape[0], padded_size)
    torch.mul(frames, window, out=padded[:, :window_size])
    frames = padded
    power = torch.fft.rfft(frames).abs().pow(2.0)  # [n_frames, padded/2+1]
    energies = torch.mm(power, mel_banks.T)  # [n_frames, num_mel_bins]
    return torch.max(energies, kaldi.EPSILON).log()


def pad_or_cut(fbank: torch.Tensor, target_length: int) -> torch.Tensor:
    """Zero-pad at the end or cut along time to ``target_length`` frames."""
    num_frames = fbank.shape[0]
    if num_frames < target_length:
        # [n, F] -> [target_length, F]
        return torch.nn.functional.pad(fbank,
                                       (0, 0, 0, target_length - num_frames))
    return fbank[:target_length]


@TRANSFORMS.register_module()
class KaldiFbank(BaseTransform):
    """Kaldi log-mel filterbank of the waveform, padded/cut to
    ``target_length`` frames, exactly as the reference computes it.

    The waveform's mean is subtracted first (this is also the re-centering
    of a mixup mix, see :class:`AVMixup`).

    Required Keys:

        - waveform (np.ndarray | torch.Tensor): float32 ``[N]``.
        - sample_rate (int, optional)

    Added Keys:

        - audio (torch.Tensor): float32 ``[target_length, num_mel_bins]``.
        - audio_num_frames (int): fbank frames before padding/cutting.

    Removed Keys:

        - waveform (unless ``keep_waveform``)

    Args:
        num_mel_bins (int): Defaults to 128.
        target_length (int): Frames after padding/cutting (10 ms each).
            Defaults to 1024.
        frame_shift (float): Milliseconds. Defaults to 10.
        keep_waveform (bool): Keep ``waveform`` in the results.
            Defaults to False.
    """

    model_input = 'audio'

    def __init__(self,
                 num_mel_bins: int = 128,
                 target_length: int = 1024,
                 frame_shift: float = 10.0,
                 keep_waveform: bool = False) -> None:
        self.num_mel_bins = num_mel_bins
        self.target_length = target_length
        self.frame_shift = frame_shift
        self.keep_waveform = keep_waveform

    def transform(self, results: Dict) -> Dict:
        """Compute the fbank.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``audio``.
        """
        waveform = results['waveform']
        if isinstance(waveform, np.ndarray):
            waveform = torch.from_numpy(waveform)
        waveform = waveform.reshape(1, -1)  # [1, N]
        waveform = waveform - waveform.mean()
        sample_rate = results.get('sample_rate', TARGET_SAMPLE_RATE)
        if waveform.shape[1] < int(sample_rate * 0.025):  # one 25 ms window
            raise AVDataError(
                results.get('audio_path') or results.get('filename', '?'),
                f'audio too short for one fbank window '
                f'({waveform.shape[1]} samples)')
        fbank = kaldi_fbank(waveform, sample_rate, self.num_mel_bins,
                            self.frame_shift)  # [n_frames, F]
        results['audio_num_frames'] = int(fbank.shape[0])
        results['audio'] = pad_or_cut(fbank, self.target_length)
        if not self.keep_waveform:
            results.pop('waveform')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'num_mel_bins={self.num_mel_bins}, '
                f'target_length={self.target_length}, '
                f'frame_shift={self.frame_shift}, '
                f'keep_waveform={self.keep_waveform})')


@TRANSFORMS.register_module()
class SpecAugment(BaseTransform):
    """SpecAugment frequency and time masking (one mask each), as the
    reference applies torchaudio's ``FrequencyMasking(freqm)`` and
    ``TimeMasking(timem)``; masked values are 0 (before normalization).

    Each mask is drawn exactly as ``torchaudio.functional.mask_along_axis``
    draws it (width ``int(U * max)``, start ``int(U' * (size - U * max))``,
    same random calls in the same order), then zeroed by slicing instead of
    a full-size boolean mask: identical output, a fraction of the time.

    Required Keys:

        - audio (torch.Tensor): ``[T, F]``.

    Modified Keys:

        - audio

    Args:
        freqm (int): Maximum frequency-mask width; 0 disables it (48 in
            fine-tuning). Defaults to 0.
        timem (int): Maximum time-mask width; 0 disables it (192 in
            fine-tuning). Defaults to 0.
    """

    model_input = 'audio'

    def __init__(self, freqm: int = 0, timem: int = 0) -> None:
        self.freqm = freqm
        self.timem = timem

    @staticmethod
    def _draw(mask_param: int, size: int, generator=None):
        """``[start, end)`` of one mask along an axis of ``size``."""
        value = torch.rand(1, generator=generator) * mask_param
        min_value = torch.rand(1, generator=generator) * (size - value)
        start = min_value.long()
        return int(start), int(start + value.long())

    def transform(self, results: Dict) -> Dict:
        """Mask the spectrogram.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``audio`` masked.
        """
        if self.freqm < 1 and self.timem < 1:
            return results
        audio = results['audio'].clone()  # [T, F]
        generator = sample_torch_generator(results, 'spec_augment')
        if self.freqm >= 1:
            start, end = self._draw(self.freqm, audio.shape[1], generator)
            audio[:, start:end] = 0
        if self.timem >= 1:
            start, end = self._draw(self.timem, audio.shape[0], generator)
            audio[start:end] = 0
        results['audio'] = audio
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(freqm={self.freqm}, '
                f'timem={self.timem})')


@TRANSFORMS.register_module()
class NormalizeFbank(BaseTransform):
    """Dataset-level normalization ``(audio - mean) / std``.

    Required Keys:

        - audio

    Modified Keys:

        - audio

    Args:
        mean (float): Defaults to -5.081 (AudioSet).
        std (float): Defaults to 4.4849 (AudioSet).
    """

    model_input = 'audio'

    def __init__(self,
                 mean: float = AUDIOSET_FBANK_MEAN,
                 std: float = AUDIOSET_FBANK_STD) -> None:
        self.mean = mean
        self.std = std

    def transform(self, results: Dict) -> Dict:
        """Normalize the spectrogram.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``audio`` normalized.
        """
        results['audio'] = torch.sub(results['audio'],
                                     self.mean).div_(self.std)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mean={self.mean}, std={self.std})'


@TRANSFORMS.register_module()
class FbankNoise(BaseTransform):
    """The reference's "noise" augmentation, after normalization: add
    ``rand_like(audio) * U(0, 1) / 10`` and roll along time by a random
    integer in ``[-T, T)``.

    Required Keys:

        - audio (torch.Tensor): ``[T, F]``.

    Modified Keys:

        - audio

    Args:
        scale (float): The noise is ``U(0, 1) * scale`` times uniform noise.
            Defaults to 0.1.
        roll (bool): Roll along time. Defaults to True.
    """

    model_input = 'audio'

    def __init__(self, scale: float = 0.1, roll: bool = True) -> None:
        self.scale = scale
        self.roll = roll

    def transform(self, results: Dict) -> Dict:
        """Add noise and roll.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the noisy ``audio``.
        """
        audio, num_frames = results['audio'], results['audio'].shape[0]
        # The reference's ``audio + rand * U(0, 1) / 10``, in place (bit for
        # bit); the draws from the sample's streams (see sample_rng).
        generator = sample_torch_generator(results, 'noise')
        state = sample_random_state(results, 'noise_scale_roll')
        noise = torch.rand(audio.shape, generator=generator)
        noise.mul_(state.rand()).div_(1.0 / self.scale)
        audio = noise.add_(audio)
        if self.roll:
            audio = torch.roll(audio, state.randint(-num_frames, num_frames),
                               0)
        results['audio'] = audio
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'roll={self.roll})')
