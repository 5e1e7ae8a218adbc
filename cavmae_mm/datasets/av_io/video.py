"""Reading video frames at the reference's positions.

Positions are times: the reference's frame index ``i`` on the stream's
nominal frame grid stands for ``i / fps`` seconds after the stream start,
spread over the clip's real duration, and the frame shown at that time
(by its presentation timestamp) is taken. For a constant-rate clip that is
frame ``i`` itself; a variable-rate clip is covered end to end instead of
its first ``frame_count / nominal fps`` seconds. Frames come out as a player
shows them (display matrix applied, :mod:`.display`).
"""
import logging
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from .common import (CLIP_SECONDS, NUM_FRAME_POSITIONS, AVDataError,
                     _open_container, first_stream)
from .display import apply_orientation, display_orientation

_logged_estimated_durations = set()  # per process: log once per file


@dataclass
class VideoInfo:
    """What a video stream says about itself.

    ``frame_count`` is the container's frame count (which, like OpenCV's
    ``CAP_PROP_FRAME_COUNT``, may include hidden pre-roll frames) or, when the
    container has none, ``duration * fps``. ``duration`` comes from
    ``duration_source``: ``'stream'`` or ``'container'`` (the header),
    ``'frame count'`` (``frame_count / fps``), ``'packets'`` (the last
    packet's timestamp, a demux without decoding) or ``'frames'``
    (decoding); the last two stop once past ``max_seconds``.
    ``width`` and ``height`` are the stored size (before the display matrix
    turns the frames).
    """
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    duration_source: str = 'stream'


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


def grid_frame_count(frame_count: int, duration: float, fps: float) -> int:
    """Frames of the nominal ``fps`` grid that ``duration`` spans: the
    container's count where it agrees (within a frame; constant-rate clips,
    so the reference's positions are kept), else ``round(duration * fps)``
    (variable-rate clips, whose count is fewer; hidden pre-roll frames,
    which make it more)."""
    if duration <= 0 or fps <= 0:
        return int(frame_count)
    on_grid = duration * fps
    if frame_count > 0 and abs(frame_count - on_grid) < 1:
        return int(frame_count)
    return int(round(on_grid))


def _header_duration(stream, container) -> Tuple[float, str]:
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base), 'stream'
    if container.duration:
        return container.duration / 1e6, 'container'  # AV_TIME_BASE units
    return 0.0, ''


def _packets_end(container, stream, fps: float,
                 max_seconds: float) -> float:
    """Seconds from the stream start to the end of its last packet that
    has a timestamp (0 if none has); a demux without decoding, stopped once
    past ``max_seconds``."""
    time_base = float(stream.time_base)
    start = stream.start_time
    frame_seconds = 1.0 / fps if fps > 0 else 0.0
    end = 0.0
    try:
        for packet in container.demux(stream):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                continue
            if start is None:
                start = stamp
            length = (packet.duration * time_base
                      if packet.duration else frame_seconds)
            end = max(end, (stamp - start) * time_base + length)
            if end > max_seconds + frame_seconds:
                break
    except Exception:  # a damaged tail: what was read counts
        pass
    return end


def _frames_end(container, stream, fps: float, max_seconds: float) -> float:
    """Seconds of the decodable frames at ``fps``, stopped once past
    ``max_seconds``."""
    frame_seconds = 1.0 / fps if fps > 0 else 0.0
    frames = 0
    try:
        for _ in container.decode(stream):
            frames += 1
            if frames * frame_seconds > max_seconds + frame_seconds:
                break
    except Exception:
        pass
    return frames * frame_seconds


def _scan_duration(path: str, stream_index: int, fps: float,
                   max_seconds: float) -> Tuple[float, str]:
    """The duration of a stream whose header has none: from its packets'
    timestamps, else by decoding (in a container of its own, so the
    caller's stays at the start)."""
    with _open_container(path) as container:
        end = _packets_end(container, container.streams[stream_index], fps,
                           max_seconds)
    if end > 0:
        return end, 'packets'
    with _open_container(path) as container:
        return _frames_end(container, container.streams[stream_index], fps,
                           max_seconds), 'frames'


def _video_info(stream, container, path: str,
                max_seconds: float = CLIP_SECONDS) -> VideoInfo:
    rate = stream.guessed_rate or stream.average_rate
    fps = float(rate) if rate else 0.0
    duration, source = _header_duration(stream, container)
    frame_count = int(stream.frames or 0)
    if duration <= 0 and frame_count > 0 and fps > 0:
        duration, source = frame_count / fps, 'frame count'
    elif duration <= 0:
        duration, source = _scan_duration(path, stream.index, fps,
                                          max_seconds)
        if path not in _logged_estimated_durations:
            _logged_estimated_durations.add(path)
            how = ('the last packet timestamp'
                   if source == 'packets' else 'decoding its frames')
            print_log(
                f'No duration in the header of {path}; estimated '
                f'{duration:.3f} s from {how}, frame positions spread over '
                f'{min(duration, max_seconds):.3f} s',
                logger='current',
                level=logging.WARNING)
    if frame_count <= 0 and fps > 0:
        frame_count = int(round(duration * fps))
    return VideoInfo(
        fps=fps,
        frame_count=frame_count,
        width=int(stream.codec_context.width or 0),
        height=int(stream.codec_context.height or 0),
        duration=duration,
        duration_source=source)


def probe_video(path: str, max_seconds: float = CLIP_SECONDS) -> VideoInfo:
    """Frame rate, frame count, size and duration of the first video
    stream (a duration missing from the header is estimated, see
    :class:`VideoInfo`).

    Raises:
        AVDataError: unreadable file, no video track or no decoder.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        return _video_info(
            first_stream(container, path, 'video'), container, path,
            max_seconds)


def read_video_frames(
    path: str,
    positions: Sequence[int],
    num_positions: int = NUM_FRAME_POSITIONS,
    max_seconds: float = CLIP_SECONDS,
    threads: int = 1,
) -> Tuple[List[np.ndarray], List[int], VideoInfo]:
    """Decode the frames at the reference's positions of a video.

    Position ``p`` is time ``reference_frame_indices(N, fps)[p] / fps``
    after the stream start, ``N`` = :func:`grid_frame_count` of the clip's
    duration (estimated when the header has none, logged once per file);
    the frame shown then is taken: the last one whose presentation time
    (``pts * time_base``) is at most that time, half a nominal frame allowed
    for timestamp jitter. One seek to the earliest wanted time, then
    decoding forward. A position past the last decodable frame (a truncated
    file, an over-reported duration) gets the last frame, the video
    counterpart of the reference's fall-back to lower frame indices. Each
    frame is turned as its display matrix says (a phone's portrait clip
    comes out portrait).

    Args:
        path (str): Video file.
        positions (Sequence[int]): Positions in ``[0, num_positions)``.
        num_positions (int): Defaults to 10.
        max_seconds (float): Defaults to 10.
        threads (int): Decoder threads (1 inside data loader workers).
            Defaults to 1.

    Returns:
        tuple: RGB uint8 frames ``[H, W, 3]`` (as displayed) in the order of
        ``positions``, the index on the nominal frame grid of each one's
        timestamp (``round(seconds * fps)``, the frame index for a
        constant-rate clip), and the :class:`VideoInfo`.

    Raises:
        AVDataError: unreadable file, no video track, no decoder, unknown
            frame rate or no decodable frame.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        stream = first_stream(container, path, 'video')
        if threads != 1:
            stream.thread_type = 'AUTO'
        stream.codec_context.thread_count = max(int(threads), 0)
        info = _video_info(stream, container, path, max_seconds)
        if info.fps <= 0:
            raise AVDataError(path, 'unknown frame rate')
        fps = info.fps
        indices = reference_frame_indices(
            grid_frame_count(info.frame_count, info.duration, fps), fps,
            num_positions, max_seconds)
        wanted = sorted({indices[p] for p in positions})
        targets = [index / fps for index in wanted]  # seconds after start
        tolerance = 0.5 / fps
        time_base = float(stream.time_base)
        start_pts = stream.start_time or 0
        if targets[0] > 0:
            target_pts = start_pts + int(targets[0] / time_base)
            try:
                container.seek(target_pts, stream=stream, backward=True)
            except Exception:
                container.seek(start_pts, stream=stream, backward=True)

        found = {}
        shown = None  # [frame, seconds, rgb or None]: the latest frame

        def take(entry):
            if entry[2] is None:
                rgb = entry[0].to_ndarray(format='rgb24')
                entry[2] = apply_orientation(
                    rgb, display_orientation(entry[0], stream))
            return entry[2], max(int(round(entry[1] * fps)), 0)

        next_target = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:
                    continue  # skip a corrupt packet, as ffmpeg does
                for frame in frames:
                    if frame.pts is None:
                        seconds = (shown[1] + 1 / fps) if shown else 0.0
                    else:
                        seconds = (frame.pts - start_pts) * time_base
                    entry = [frame, seconds, None]
                    # Times before this frame are still showing the
                    # previous one (this one, if it came first).
                    while (next_target < len(targets) and
                           seconds > targets[next_target] + tolerance):
                        found[wanted[next_target]] = take(shown or entry)
                        next_target += 1
                    shown = entry
                    # A frame that lasts past a time is the one shown then:
                    # no need to decode the next one to know.
                    length = getattr(frame, 'duration', 0) or 0
                    end = seconds + length * time_base
                    while (length > 0 and next_target < len(targets)
                           and end > targets[next_target] + tolerance):
                        found[wanted[next_target]] = take(shown)
                        next_target += 1
                    if next_target == len(targets):
                        break
                if next_target == len(targets):
                    break
        except Exception as err:  # demuxing failed mid-file
            if shown is None:
                raise AVDataError(path,
                                  f'cannot decode video ({err})') from err
        if shown is None:
            raise AVDataError(path, 'no decodable video frames')
        for index in wanted[next_target:]:
            found[index] = take(shown)  # the last frame shows until the end
    frames, frame_inds, handed_out = [], [], set()
    for position in positions:
        image, frame_index = found[indices[position]]
        if id(image) in handed_out:  # one frame for two positions
            image = image.copy()
        handed_out.add(id(image))
        frames.append(image)
        frame_inds.append(frame_index)
    return frames, frame_inds, info
