"""Loading transforms: the waveform and the frames of one clip, or one
still image. Each declares the model input it builds (``model_input``) and
the frame loaders what they read (``frame_source``), see
:mod:`.model_inputs`.
"""
import logging
from typing import Dict, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmaction.registry import TRANSFORMS
from ..av_io import (NUM_FRAME_POSITIONS, TARGET_SAMPLE_RATE, AVDataError,
                     decode_frame_jpegs, is_silent, read_audio,
                     read_audio_bytes, read_frame_jpegs, read_image,
                     read_video_frames)
from ..sample_rng import sample_random_state

_SILENCE_POLICIES = ('keep', 'warn', 'error')
_warned_silent_files = set()  # per process: warn once per file


@TRANSFORMS.register_module()
class LoadAudioWaveform(BaseTransform):
    """Load one channel of a clip's audio at 16 kHz.

    Reads ``audio_path`` (a wav/flac, e.g. the reference's pre-extracted
    16 kHz mono wav) when present, otherwise the audio track of
    ``filename`` (a video). Any input rate and channel count: the
    ``channel``-th channel is kept and resampled with libswresample, as the
    reference's ``ffmpeg -ar 16000`` + ``sox remix 1`` did offline. Short and
    long clips load as they are (``KaldiFbank`` pads/cuts the spectrogram).

    Required Keys:

        - audio_path (str, optional): audio file.
        - filename (str, optional): video file, used without ``audio_path``.
        - audio_bytes (bytes, optional): a wav/flac in memory (a shard
          sample, :class:`~cavmae_mm.datasets.ShardedAVDataset`), used
          before the paths; ``audio_name`` names it in errors.

    Added Keys:

        - waveform (np.ndarray): float32 ``[N]`` at ``sample_rate``.
        - sample_rate (int)
        - audio_duration (float): seconds.
        - orig_sample_rate (int)
        - orig_num_channels (int)

    Args:
        sample_rate (int): Output sample rate. Defaults to 16000.
        channel (int): Channel to keep. Defaults to 0 (the first).
        min_duration (float): Shorter audio raises ``AVDataError``; the
            default is one 25 ms fbank window, the least that gives a
            spectrogram. Defaults to 0.025.
        silence (str): What to do with an all-silent clip (peak below
            ``silence_threshold``): ``'keep'`` it, ``'warn'`` once per file
            and keep it, or raise (``'error'``). Its fbank is the correct,
            constant spectrogram of silence. Defaults to ``'warn'``.
        silence_threshold (float): Peak amplitude of silence (-80 dBFS).
            Defaults to 1e-4.
    """

    model_input = 'audio'

    def __init__(self,
                 sample_rate: int = TARGET_SAMPLE_RATE,
                 channel: int = 0,
                 min_duration: float = 0.025,
                 silence: str = 'warn',
                 silence_threshold: float = 1e-4) -> None:
        if silence not in _SILENCE_POLICIES:
            raise ValueError(f'silence must be one of {_SILENCE_POLICIES}, '
                             f'got {silence!r}')
        self.sample_rate = sample_rate
        self.channel = channel
        self.min_duration = min_duration
        self.silence = silence
        self.silence_threshold = silence_threshold

    def transform(self, results: Dict) -> Dict:
        """Load the waveform.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the waveform added.
        """
        path = results.get('audio_path') or results.get('filename')
        if results.get('audio_bytes') is not None:  # a shard sample
            path = results.get('audio_name') or '<audio bytes>'
            waveform, info = read_audio_bytes(results['audio_bytes'], path,
                                              self.sample_rate, self.channel)
        elif not path:
            raise KeyError('LoadAudioWaveform needs `audio_path`, '
                           '`filename` or `audio_bytes` in the results')
        else:
            waveform, info = read_audio(path, self.sample_rate, self.channel)
        duration = waveform.shape[0] / self.sample_rate
        if duration < self.min_duration:
            raise AVDataError(
                path, f'audio too short ({duration:.3f} s < '
                f'{self.min_duration} s)')
        if self.silence != 'keep' and is_silent(waveform,
                                                self.silence_threshold):
            if self.silence == 'error':
                raise AVDataError(path, 'silent audio')
            if path not in _warned_silent_files:
                _warned_silent_files.add(path)
                print_log(
                    f'Silent audio (peak < {self.silence_threshold}), '
                    f'kept as is: {path}',
                    logger='current',
                    level=logging.WARNING)
        results['waveform'] = waveform
        results['sample_rate'] = self.sample_rate
        results['audio_duration'] = duration
        results['orig_sample_rate'] = info['orig_sample_rate']
        results['orig_num_channels'] = info['num_channels']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'sample_rate={self.sample_rate}, channel={self.channel}, '
                f'min_duration={self.min_duration}, '
                f'silence={self.silence!r}, '
                f'silence_threshold={self.silence_threshold})')


@TRANSFORMS.register_module()
class SampleAVFrames(BaseTransform):
    """Choose which of a clip's ``num_positions`` frame positions to use
    (the reference's 10; CAV-MAE Sync's 16).

    Position ``i`` of ``F`` is frame ``int(i * min(frame_count, int(10 *
    fps)) / F)`` of a constant-rate video, in general the frame shown at
    that index's time over the clip's real duration (resolved by
    :class:`LoadAVFrames`, see
    :func:`~cavmae_mm.datasets.av_io.read_video_frames`); pre-extracted
    frames are stored per position as ``frame_<i>/<video_id>.jpg``.
    Random draws come from the sample's ``'frame_choice'`` stream
    (:func:`~cavmae_mm.datasets.sample_rng.sample_random_state`): seeded
    per sample when the data set sets ``sample_seed``, else NumPy's global
    generator.

    Required Keys:

        - sample_seed (int, optional)

    Added Keys:

        - frame_positions (np.ndarray): int64 ``[V]``.
        - num_positions (int)

    Args:
        mode (str | int): ``'random'`` (``num_frames`` uniformly random
            positions, one in the reference's training), ``'middle'``
            (position ``num_positions // 2``: 5 of 10, 8 of 16, its
            evaluation), ``'all'`` (every position: the multi-frame
            ensemble, Sync retrieval) or a fixed position.
            Defaults to ``'random'``.
        num_positions (int): Positions per clip. Defaults to 10.
        num_frames (int): Positions drawn by ``'random'``, distinct and in
            increasing order (only with ``'random'``). Defaults to 1.
    """

    model_input = 'imgs'
    frame_source = 'clip'

    def __init__(self,
                 mode: Union[str, int] = 'random',
                 num_positions: int = NUM_FRAME_POSITIONS,
                 num_frames: int = 1) -> None:
        if isinstance(mode, str):
            if mode not in ('random', 'middle', 'all'):
                raise ValueError(
                    f"mode must be 'random', 'middle', 'all' or an int, "
                    f'got {mode!r}')
        elif not 0 <= int(mode) < num_positions:
            raise ValueError(f'frame position {mode} not in '
                             f'[0, {num_positions})')
        if not 1 <= num_frames <= num_positions:
            raise ValueError(f'num_frames must be in [1, {num_positions}], '
                             f'got {num_frames}')
        if num_frames != 1 and mode != 'random':
            raise ValueError(f"num_frames={num_frames} needs mode='random', "
                             f'got {mode!r}')
        self.mode = mode
        self.num_positions = num_positions
        self.num_frames = num_frames

    def transform(self, results: Dict) -> Dict:
        """Choose the positions.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``frame_positions``.
        """
        if self.mode == 'random':
            rng = sample_random_state(results, 'frame_choice')
            if self.num_frames == 1:
                positions = [int(rng.randint(self.num_positions))]
            else:
                positions = sorted(
                    int(p) for p in rng.choice(
                        self.num_positions, self.num_frames, replace=False))
        elif self.mode == 'middle':
            positions = [self.num_positions // 2]
        elif self.mode == 'all':
            positions = list(range(self.num_positions))
        else:
            positions = [int(self.mode)]
        results['frame_positions'] = np.array(positions, dtype=np.int64)
        results['num_positions'] = self.num_positions
        return results

    def __repr__(self) -> str:
        extra = (f', num_frames={self.num_frames}'
                 if self.num_frames != 1 else '')
        return (f'{self.__class__.__name__}(mode={self.mode!r}, '
                f'num_positions={self.num_positions}{extra})')


@TRANSFORMS.register_module()
class LoadAVFrames(BaseTransform):
    """Load the chosen frames, from pre-extracted JPEGs or from the video.

    With ``frame_dir`` (the reference's ``video_path``) the frames are
    ``<frame_dir>/frame_<i>/<video_id>.jpg`` decoded by
    :func:`~cavmae_mm.datasets.av_io.read_image` (PIL, RGB), a missing
    one replaced by the nearest lower position (the reference's fall-back).
    Otherwise ``filename`` is decoded with PyAV at the reference's frame
    positions, by presentation time, and turned as its display matrix says
    (see :func:`~cavmae_mm.datasets.av_io.read_video_frames`).
    Grayscale input becomes 3-channel RGB; any size or orientation is kept
    (resize and crop come next).

    Required Keys:

        - frame_positions
        - num_positions (optional)
        - frame_dir and video_id, or filename, or frame_jpegs (``{position:
          JPEG bytes}`` of a shard sample, decoded like the files)

    Added Keys:

        - imgs (list[np.ndarray]): RGB uint8 ``[H, W, 3]`` per position.
        - img_shape (tuple[int, int]): ``(H, W)``.
        - original_shape (tuple[int, int])
        - frame_inds (np.ndarray): positions read (JPEG) or frame indices
          decoded (video), int64 ``[V]``.
        - num_clips, clip_len (int): 1 and ``V``, for ``FormatShape``.

    Args:
        decode_threads (int): Video decoder threads; 1 inside data loader
            workers, 0 lets FFmpeg choose. Defaults to 1.
    """

    model_input = 'imgs'
    frame_source = 'clip'

    def __init__(self, decode_threads: int = 1) -> None:
        self.decode_threads = decode_threads

    def transform(self, results: Dict) -> Dict:
        """Load the frames.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``imgs``.
        """
        positions = [int(p) for p in results['frame_positions']]
        num_positions = results.get('num_positions', NUM_FRAME_POSITIONS)
        frame_dir: Optional[str] = results.get('frame_dir')
        if results.get('frame_jpegs') is not None:  # a shard sample
            frame_dir = results.get('frame_name') or '<frame bytes>'
            imgs, used = decode_frame_jpegs(results['frame_jpegs'],
                                            frame_dir, positions)
        elif frame_dir:
            imgs, used = read_frame_jpegs(frame_dir, results['video_id'],
                                          positions)
        elif results.get('filename'):
            imgs, used, _ = read_video_frames(
                results['filename'],
                positions,
                num_positions=num_positions,
                threads=self.decode_threads)
        else:
            raise KeyError('LoadAVFrames needs `frame_dir` + `video_id` or '
                           '`filename` in the results')
        shapes = {img.shape for img in imgs}
        if len(shapes) != 1:
            raise AVDataError(frame_dir or results['filename'],
                              f'frames of different sizes {sorted(shapes)}')
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['original_shape'] = imgs[0].shape[:2]
        results['frame_inds'] = np.array(used, dtype=np.int64)
        results['num_clips'] = 1
        results['clip_len'] = len(imgs)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'decode_threads={self.decode_threads})')


@TRANSFORMS.register_module()
class LoadStillImage(BaseTransform):
    """Load one image file as a one-frame clip: the visual half of an
    ``(audio, image)`` pair. Decoded by
    :func:`~cavmae_mm.datasets.av_io.read_image`, as :class:`LoadAVFrames`
    decodes pre-extracted frames; any size or orientation is kept (resize
    and crop come next).

    Required Keys:

        - image_path (str)

    Added Keys:

        - imgs (list[np.ndarray]): one RGB uint8 ``[H, W, 3]`` frame.
        - img_shape (tuple[int, int]): ``(H, W)``.
        - original_shape (tuple[int, int])
        - frame_inds (np.ndarray): int64 ``[0]``.
        - num_clips, clip_len (int): 1 and 1, for ``FormatShape``.
    """

    model_input = 'imgs'
    frame_source = 'image'

    def transform(self, results: Dict) -> Dict:
        """Load the image.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``imgs``.
        """
        img = read_image(results['image_path'])
        results['imgs'] = [img]
        results['img_shape'] = img.shape[:2]
        results['original_shape'] = img.shape[:2]
        results['frame_inds'] = np.zeros(1, dtype=np.int64)
        results['num_clips'] = 1
        results['clip_len'] = 1
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
