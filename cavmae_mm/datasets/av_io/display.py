"""Turning decoded video frames the way a player shows them.

Phones store a portrait clip as landscape frames plus a *display matrix*
(the MP4 ``tkhd`` matrix; a ``rotate`` tag in FFmpeg < 6), which players
apply. FFmpeg (>= 7) attaches the stream's matrix, like an H.264 display
orientation SEI, to every decoded frame as ``DISPLAYMATRIX`` side data; older
FFmpeg builds expose only the ``rotate`` tag of the stream.
"""
from typing import Optional, Tuple

import numpy as np

#: ``(transpose, flip_rows, flip_cols)``: swap the axes, then reverse the
#: rows (upside down) and/or the columns (mirror), in that order.
Orientation = Tuple[bool, bool, bool]
UPRIGHT: Orientation = (False, False, False)


def orientation_from_matrix(matrix) -> Orientation:
    """The quarter turns and mirrors of an FFmpeg display matrix.

    The matrix ``[a b u; c d v; x y w]`` (``AV_FRAME_DATA_DISPLAYMATRIX``,
    the MP4 ``tkhd`` layout) maps a stored pixel ``(x, y)`` to the displayed
    ``(a*x + c*y, b*x + d*y)``, up to a translation. The result equals
    ffmpeg's ``-autorotate`` filters (``transpose``, ``hflip``, ``vflip``);
    an angle that is not a multiple of 90 degrees is taken to the nearest
    quarter turn.

    Args:
        matrix (Sequence[int]): 9 integers (16.16 fixed point).

    Returns:
        Orientation: ``(transpose, flip_rows, flip_cols)``.
    """
    a, b, _, c, d = (float(v) for v in list(matrix)[:5])
    if abs(a) + abs(d) >= abs(b) + abs(c):
        # x' ~ a*x, y' ~ d*y: the axes stay; a sign flips one.
        return False, d < 0, a < 0
    # x' ~ c*y, y' ~ b*x: the axes swap.
    return True, b < 0, c < 0


def orientation_from_rotate_tag(degrees: float) -> Orientation:
    """The orientation of the legacy ``rotate`` tag: clockwise degrees."""
    radians = np.deg2rad(-float(degrees))
    cos, sin = np.cos(radians), np.sin(radians)
    # av_display_rotation_set(): a clockwise rotation as a display matrix.
    return orientation_from_matrix([cos, -sin, 0, sin, cos, 0, 0, 0, 1])


def _side_data(frame):
    """The frame's side data, without ``frame.side_data``: that property
    caches its container on the frame, which refers back to the frame, so
    every frame read would live on as a reference cycle until the cyclic
    collector runs (the decoded picture with it), and a collection of such
    frames inside a forked data-loader worker deadlocked it."""
    try:
        from av.sidedata.sidedata import SideDataContainer
    except ImportError:  # another layout of PyAV: the property
        return frame.side_data
    return SideDataContainer(frame)


def frame_display_matrix(frame) -> Optional[np.ndarray]:
    """The ``DISPLAYMATRIX`` side data of a decoded ``av.VideoFrame`` as
    int32 ``[9]``, or None."""
    try:
        side_data = _side_data(frame).get('DISPLAYMATRIX')
    except (AttributeError, KeyError, ValueError):
        return None
    if side_data is None:
        return None
    matrix = np.frombuffer(bytes(side_data), dtype=np.int32)
    return matrix[:9] if matrix.size >= 9 else None


def display_orientation(frame, stream) -> Orientation:
    """How to turn ``frame`` (of ``stream``) upright: its display matrix,
    else the stream's ``rotate`` tag, else as stored."""
    matrix = frame_display_matrix(frame)
    if matrix is not None:
        return orientation_from_matrix(matrix)
    tag = stream.metadata.get('rotate')
    if tag:
        try:
            return orientation_from_rotate_tag(float(tag))
        except ValueError:
            pass
    return UPRIGHT


def apply_orientation(image: np.ndarray,
                      orientation: Orientation) -> np.ndarray:
    """Turn ``image`` ``[H, W, C]`` (``[W, H, C]`` after a transpose);
    exact, a copy only when something changes."""
    transpose, flip_rows, flip_cols = orientation
    if orientation == UPRIGHT:
        return image
    if transpose:
        image = image.swapaxes(0, 1)
    if flip_rows:
        image = image[::-1]
    if flip_cols:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)
