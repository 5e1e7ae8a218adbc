"""Reading video frames at the reference's positions, as a player shows
them (display matrix applied, :mod:`.display`)."""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .common import (CLIP_SECONDS, NUM_FRAME_POSITIONS, AVDataError,
                     _open_container)
from .display import apply_orientation, display_orientation


@dataclass
class VideoInfo:
    """What a video stream says about itself.

    ``frame_count`` is the container's frame count (which, like OpenCV's
    ``CAP_PROP_FRAME_COUNT``, may include hidden pre-roll frames) or, when the
    container has none, ``duration * fps``.
    """
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float


def reference_frame_indices(
        frame_count: int,
        fps: float,
        num_positions: int = NUM_FRAME_POSITIONS,
        max_seconds: float = CLIP_SECONDS) -> List[int]:
    """The reference's frame positions: ``int(i * total / num_positions)``
    with ``total = min(frame_count, int(fps * max_seconds))``.

    (The reference's OpenCV extractor then seeks to ``index - 1``, an
    off-by-one that frame-accurate decoding does not need to copy.)

    Args:
        frame_count (int): Frames the container reports.
        fps (float): Frame rate.
        num_positions (int): Number of positions. Defaults to 10.
        max_seconds (float): Only the first seconds are used. Defaults to 10.

    Returns:
        list[int]: ``num_positions`` frame indices.
    """
    total = min(int(frame_count), int(fps * max_seconds))
    return [int(i * (total / num_positions)) for i in range(num_positions)]


def _video_info(stream, container) -> VideoInfo:
    rate = stream.guessed_rate or stream.average_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1e6
    else:
        duration = 0.0
    frame_count = int(stream.frames or 0)
    if frame_count <= 0 and fps > 0:
        frame_count = int(round(duration * fps))
    return VideoInfo(
        fps=fps,
        frame_count=frame_count,
        width=int(stream.codec_context.width or 0),
        height=int(stream.codec_context.height or 0),
        duration=duration)


def probe_video(path: str) -> VideoInfo:
    """Frame rate, frame count and size of the first video stream.

    Raises:
        AVDataError: unreadable file or no video track.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        if not container.streams.video:
            raise AVDataError(path, 'no video track')
        return _video_info(container.streams.video[0], container)


def read_video_frames(
    path: str,
    positions: Sequence[int],
    num_positions: int = NUM_FRAME_POSITIONS,
    max_seconds: float = CLIP_SECONDS,
    threads: int = 1,
) -> Tuple[List[np.ndarray], List[int], VideoInfo]:
    """Decode the frames at the reference's positions of a video.

    Position ``p`` is frame ``reference_frame_indices(...)[p]``; a frame is
    located by its timestamp (``index / fps`` after the stream start, as
    OpenCV seeks). One seek to the earliest wanted frame, then decoding
    forward. A position past the last decodable frame (containers that
    over-report their frame count, truncated files) gets the last frame, the
    video counterpart of the reference's fall-back to lower frame indices.
    Each frame is turned as its display matrix says (a phone's portrait
    clip comes out portrait; ``VideoInfo`` keeps the stored size).

    Args:
        path (str): Video file.
        positions (Sequence[int]): Positions in ``[0, num_positions)``.
        num_positions (int): Defaults to 10.
        max_seconds (float): Defaults to 10.
        threads (int): Decoder threads (1 inside data loader workers).
            Defaults to 1.

    Returns:
        tuple: RGB uint8 frames ``[H, W, 3]`` (as displayed) in the order of
        ``positions``,
        the frame index each one was taken from, and the :class:`VideoInfo`.

    Raises:
        AVDataError: unreadable file, no video track, unknown frame rate or
            no decodable frame.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        if not container.streams.video:
            raise AVDataError(path, 'no video track')
        stream = container.streams.video[0]
        if threads != 1:
            stream.thread_type = 'AUTO'
        stream.codec_context.thread_count = max(int(threads), 0)
        info = _video_info(stream, container)
        if info.fps <= 0:
            raise AVDataError(path, 'unknown frame rate')
        # A container without a frame count: assume a full clip, positions
        # past the end fall back to the last frame.
        frame_count = info.frame_count or int(info.fps * max_seconds)
        indices = reference_frame_indices(frame_count, info.fps,
                                          num_positions, max_seconds)
        wanted = sorted({indices[p] for p in positions})
        time_base = float(stream.time_base)
        start_pts = stream.start_time or 0
        half_frame = 0.5 / info.fps
        if wanted[0] > 0:
            target_pts = start_pts + int(wanted[0] / info.fps / time_base)
            try:
                container.seek(target_pts, stream=stream, backward=True)
            except Exception:
                container.seek(start_pts, stream=stream, backward=True)

        found = {}

        def displayed(frame):
            return apply_orientation(frame.to_ndarray(format='rgb24'),
                                     display_orientation(frame, stream))

        last_frame, last_index, next_wanted = None, -1, 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:
                    continue  # skip a corrupt packet, as ffmpeg does
                for frame in frames:
                    if frame.pts is None:
                        seconds = (last_index + 1) / info.fps
                    else:
                        seconds = (frame.pts - start_pts) * time_base
                    frame_index = max(int(round(seconds * info.fps)), 0)
                    last_frame, last_index = frame, frame_index
                    while (next_wanted < len(wanted)
                           and seconds >= wanted[next_wanted] / info.fps -
                           half_frame):
                        found[wanted[next_wanted]] = (displayed(frame),
                                                      frame_index)
                        next_wanted += 1
                    if next_wanted == len(wanted):
                        break
                if next_wanted == len(wanted):
                    break
        except Exception as err:  # demuxing failed mid-file
            if last_frame is None:
                raise AVDataError(path,
                                  f'cannot decode video ({err})') from err
        if last_frame is None:
            raise AVDataError(path, 'no decodable video frames')
        if next_wanted < len(wanted):
            tail = (displayed(last_frame), last_index)
            for index in wanted[next_wanted:]:
                found[index] = tail
    frames = [found[indices[p]][0] for p in positions]
    frame_inds = [found[indices[p]][1] for p in positions]
    return frames, frame_inds, info
