"""Reading images: the one image decoder, and pre-extracted frames in the
reference's layout."""
import os.path as osp
from typing import List, Sequence, Tuple

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
    from PIL import Image, ImageOps
    path = str(path)
    if not osp.isfile(path):
        raise AVDataError(path, 'file not found')
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            if upright.mode != 'RGB':
                upright = upright.convert('RGB')
            return np.asarray(upright)
    except Exception as err:
        raise AVDataError(path, f'cannot decode image ({err})') from err


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
    frames, used = [], []
    for position in positions:
        candidate = position
        while (candidate >= 1 and not osp.exists(
                frame_jpeg_path(frame_dir, video_id, candidate))):
            candidate -= 1
        path = frame_jpeg_path(frame_dir, video_id, candidate)
        if not osp.exists(path):
            raise AVDataError(
                frame_jpeg_path(frame_dir, video_id, position),
                f'missing frame (none of frame_0..frame_{position} exists)')
        frames.append(read_image(path))
        used.append(candidate)
    return frames, used
