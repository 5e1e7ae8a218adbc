"""Reading images: the one image decoder, and pre-extracted frames in the
reference's layout."""
import io
import os.path as osp
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .common import AVDataError


def frame_jpeg_path(frame_dir: str, video_id: str, position: int) -> str:
    """``<frame_dir>/frame_<position>/<video_id>.jpg`` (reference layout)."""
    return osp.join(frame_dir, f'frame_{position}', f'{video_id}.jpg')


def read_image(path: str) -> np.ndarray:
    """Decode an image file as a viewer shows it: PIL, turned upright by
    its EXIF orientation tag (``ImageOps.exif_transpose``; a no-op for the
    tag-less JPEGs the frame extractors write, so pre-extracted frames
    decode exactly as the reference's ``Image.open(...).convert('RGB')``),
    then RGB. The one image decoder of the package.

    Args:
        path (str): Image file (JPEG, PNG, ...).

    Returns:
        np.ndarray: RGB uint8 ``[H, W, 3]``.

    Raises:
        AVDataError: missing file or undecodable image.
    """
    path = str(path)
    if not osp.isfile(path):
        raise AVDataError(path, 'file not found')
    return _decode_image(path, path)


def read_image_bytes(data: bytes, name: str) -> np.ndarray:
    """:func:`read_image` of an encoded image held in memory (e.g. a JPEG
    frame of a shard); ``name`` stands for the file in errors.

    Raises:
        AVDataError: undecodable image.
    """
    return _decode_image(io.BytesIO(data), name)


def _decode_image(source, name: str) -> np.ndarray:
    from PIL import Image, ImageOps
    try:
        with Image.open(source) as image:
            upright = ImageOps.exif_transpose(image)
            if upright.mode != 'RGB':
                upright = upright.convert('RGB')
            return np.asarray(upright)
    except Exception as err:
        raise AVDataError(name, f'cannot decode image ({err})') from err


def read_frame_jpegs(frame_dir: str, video_id: str,
                     positions: Sequence[int]
                     ) -> Tuple[List[np.ndarray], List[int]]:
    """Read pre-extracted frames, falling back to lower positions when a
    frame is missing (the reference's rule); decoded by :func:`read_image`.

    Args:
        frame_dir (str): Root holding ``frame_<i>/`` folders.
        video_id (str): File stem of the frames.
        positions (Sequence[int]): Wanted positions.

    Returns:
        tuple: RGB uint8 frames ``[H, W, 3]`` and the positions actually read.

    Raises:
        AVDataError: no frame at or below a wanted position, or an
            undecodable JPEG.
    """
    def path(position):
        return frame_jpeg_path(frame_dir, video_id, position)

    return _with_fallback(positions, lambda i: osp.exists(path(i)),
                          lambda i: read_image(path(i)), path)


def decode_frame_jpegs(jpegs: Dict[int, bytes], name: str,
                       positions: Sequence[int]
                       ) -> Tuple[List[np.ndarray], List[int]]:
    """:func:`read_frame_jpegs` of frames held in memory (``{position:
    JPEG bytes}``, a shard sample): the same fall-back to lower positions,
    decoded by :func:`read_image_bytes`; ``name`` stands for the clip in
    errors.

    Raises:
        AVDataError: no frame at or below a wanted position, or an
            undecodable JPEG.
    """
    return _with_fallback(
        positions, jpegs.__contains__,
        lambda i: read_image_bytes(jpegs[i], f'{name}:frame_{i}.jpg'),
        lambda i: name)


def _with_fallback(positions: Sequence[int], exists: Callable[[int], bool],
                   read: Callable[[int], np.ndarray],
                   name_of: Callable[[int], str]
                   ) -> Tuple[List[np.ndarray], List[int]]:
    """The frames at ``positions``, each read at the highest position at or
    below it that ``exists`` (the reference's rule), and the positions
    read; ``name_of(position)`` names a missing frame in the error."""
    frames, used = [], []
    for position in positions:
        candidate = next(
            (i for i in range(position, -1, -1) if exists(i)), None)
        if candidate is None:
            raise AVDataError(
                name_of(position), 'missing frame (none of '
                f'frame_0..frame_{position} exists)')
        frames.append(read(candidate))
        used.append(candidate)
    return frames, used
