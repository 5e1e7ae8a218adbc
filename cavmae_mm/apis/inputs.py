"""What the inference API accepts as one input, normalized into the
``data_info`` dict the test pipeline's loaders read.

An input is a video file (``filename``: audio track + frames), an
``(audio, image)`` pair (``audio_path`` + ``image_path``, either may be
None) or a ``data_info`` dict as
:class:`~cavmae_mm.datasets.AudioVisualDataset` produces it (``audio_path``,
``frame_dir`` + ``video_id`` in the reference layout, ``filename``).
"""
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

VideoOrPair = Union[str, Path, Tuple[Optional[str], Optional[str]], Dict]


class ModalityError(ValueError):
    """The input lacks a modality the model (or the mode) needs."""


def item_to_data_info(item: VideoOrPair) -> Dict:
    """Normalize an input into a ``data_info`` dict and check its paths.

    Args:
        item (str | Path | tuple | dict): A video file; an
            ``(audio, image)`` pair of files (either may be None; the audio
            may be a wav or any file with an audio track); or a
            ``data_info`` dict with ``audio_path``, ``frame_dir`` +
            ``video_id``, ``image_path`` and/or ``filename``.

    Returns:
        dict: ``video_id`` and the path keys the loading transforms read.

    Raises:
        FileNotFoundError: A given path does not exist.
        TypeError: Unknown input type.
        ValueError: A pair with neither audio nor image.
    """
    if isinstance(item, (str, Path)):
        path = str(item)
        if not osp.exists(path):
            raise FileNotFoundError(f'video file not found: {path}')
        if osp.isdir(path):
            raise FileNotFoundError(
                f'expected a video file, got a directory: {path} (for '
                f'pre-extracted frames pass a dict with audio_path, '
                f'frame_dir and video_id)')
        return dict(filename=path,
                    video_id=osp.splitext(osp.basename(path))[0])
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise ValueError(f'a pair is (audio, image), got {len(item)} '
                             f'elements')
        audio, image = (None if p is None else str(p) for p in item)
        if audio is None and image is None:
            raise ValueError('the (audio, image) pair is empty')
        info = {}
        for key, path, what in (('audio_path', audio, 'audio'),
                                ('image_path', image, 'image')):
            if path is None:
                continue
            if not osp.isfile(path):
                raise FileNotFoundError(f'{what} file not found: {path}')
            info[key] = path
        info['video_id'] = osp.splitext(osp.basename(audio or image))[0]
        return info
    if isinstance(item, dict):
        info = dict(item)
        for key, what in (('audio_path', 'audio file'),
                          ('filename', 'video file'),
                          ('image_path', 'image file'),
                          ('frame_dir', 'frame folder')):
            path = info.get(key)
            if path and not osp.exists(path):
                raise FileNotFoundError(f'{what} not found: {path}')
        if not any(info.get(k) for k in ('audio_path', 'filename',
                                         'image_path', 'frame_dir')):
            raise ValueError('the data_info has none of audio_path, '
                             'filename, image_path, frame_dir')
        if info.get('frame_dir') and not info.get('video_id'):
            raise ValueError('frame_dir needs a video_id (frames are '
                             '<frame_dir>/frame_<i>/<video_id>.jpg)')
        info.setdefault(
            'video_id',
            osp.splitext(osp.basename(info.get('filename') or
                                      info.get('audio_path') or
                                      info.get('image_path')))[0])
        return info
    raise TypeError(f'expected a video path, an (audio, image) pair or a '
                    f'data_info dict, got {type(item).__name__}')


def available_modalities(info: Dict) -> List[str]:
    """Model inputs (``'audio'``, ``'imgs'``) a ``data_info`` names a
    source for (before decoding: a video may still lack a track)."""
    out = []
    if info.get('audio_path') or info.get('filename'):
        out.append('audio')
    if info.get('image_path') or info.get('frame_dir') or \
            info.get('filename'):
        out.append('imgs')
    return out


def describe_source(info: Dict) -> str:
    """The file or folder an input's error messages name."""
    return (info.get('filename') or info.get('audio_path') or
            info.get('image_path') or info.get('frame_dir'))
