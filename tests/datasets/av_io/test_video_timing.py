"""Which frames ``read_video_frames`` takes: by presentation time over the
real duration (variable frame rate, containers without a duration)."""
import logging

import av
import numpy as np
import pytest

from cavmae_mm.datasets.av_io import (grid_frame_count, probe_video,
                                      read_video_frames,
                                      reference_frame_indices)
from cavmae_mm.datasets.av_io import video as video_module

from .clips import frame_number, write_clip

ALL = list(range(10))


def shown_at(slots, slot):
    """The frame a player shows at time ``slot``: the last one that
    started at or before it."""
    return max(s for s in slots if s <= slot)


def test_constant_rate_keeps_the_reference_indices(tmp_path):
    """A constant-rate clip with a duration: frame i at position p, with
    i = reference_frame_indices(frame_count, fps)[p], as before."""
    slots = list(range(37))  # 37 frames at 25 fps: positions 0, 3, 7, ...
    path = write_clip(tmp_path / 'cfr.mp4', slots, rate=25)
    frames, inds, info = read_video_frames(path, ALL)
    assert (info.fps, info.frame_count) == (25.0, 37)
    assert info.duration_source == 'stream'
    expected = reference_frame_indices(37, 25)
    assert expected == [0, 3, 7, 11, 14, 18, 22, 25, 29, 33]
    assert inds == expected
    assert [frame_number(f) for f in frames] == expected


def test_variable_rate_is_spread_by_presentation_time(tmp_path):
    """6 s on a 30 fps grid with 48 of the 180 frames dropped (132 frames,
    22 fps on average): positions by time cover the 6 s, not the 132 / 30
    = 4.4 s that index / nominal fps would."""
    dropped = {slot for slot in range(180) if slot % 15 in (1, 4, 6, 9)}
    slots = [slot for slot in range(180) if slot not in dropped]
    assert len(slots) == 132
    path = write_clip(tmp_path / 'vfr.mp4', slots, rate=30)
    with av.open(path) as container:  # the premise: nominal 30, average 22
        stream = container.streams.video[0]
        assert float(stream.guessed_rate) == 30
        assert float(stream.average_rate) == pytest.approx(22, abs=0.1)
    frames, inds, info = read_video_frames(path, ALL)
    assert (info.fps, info.frame_count) == (30.0, 132)
    assert info.duration == pytest.approx(6.0)
    assert grid_frame_count(132, info.duration, 30) == 180
    # Position p is time 18 p / 30 s = 0.6 p s; the frame shown then.
    times = [18 * p for p in ALL]
    expected = [shown_at(slots, t) for t in times]
    assert expected == [0, 18, 35, 53, 72, 90, 108, 125, 143, 162]
    assert [frame_number(f) for f in frames] == expected
    assert inds == expected  # the grid index of each frame's timestamp
    # One position alone (a seek to it) gives the same frame.
    for position in (2, 7, 9):
        single, single_inds, _ = read_video_frames(path, [position])
        assert frame_number(single[0]) == expected[position]
        np.testing.assert_array_equal(single[0], frames[position])


def test_variable_rate_longer_than_ten_seconds(tmp_path):
    """Only the first 10 s count, by time: 14 s at 10 fps nominal with every
    third frame missing."""
    slots = [slot for slot in range(140) if slot % 3 != 2]
    path = write_clip(tmp_path / 'vfr_long.mp4', slots, rate=10)
    frames, inds, info = read_video_frames(path, ALL)
    assert info.frame_count == len(slots)
    expected = [shown_at(slots, 10 * p) for p in ALL]
    assert [frame_number(f) for f in frames] == expected
    assert inds == expected


def write_webm_without_duration(path, slots, rate):
    path = write_clip(path, slots, rate=rate, video_codec='libvpx',
                      container_format='webm',
                      container_options={'live': '1'})
    with av.open(path) as container:  # the premise
        assert container.duration is None
        assert container.streams.video[0].duration is None
        assert container.streams.video[0].frames == 0
    return path


def test_webm_without_duration(tmp_path, logged):
    """A live-stream WebM (no duration anywhere in its header) of 4 s at
    10 fps: the duration comes from the last packet's timestamp and the
    positions spread over 40 frames (before: an assumed 10 s, positions 4..9
    collapsed onto the last frame)."""
    path = write_webm_without_duration(tmp_path / 'live.webm',
                                       list(range(40)), rate=10)
    frames, inds, info = read_video_frames(path, ALL)
    assert info.duration_source == 'packets'
    assert info.duration == pytest.approx(4.0)
    assert info.frame_count == 40
    assert inds == list(range(0, 40, 4))
    assert [frame_number(f) for f in frames] == inds
    messages = [m for m in logged(logging.WARNING) if path in m]
    assert messages == [
        f'No duration in the header of {path}; estimated 4.000 s from the '
        'last packet timestamp, frame positions spread over 4.000 s'
    ]
    read_video_frames(path, [3])  # logged once per file
    probe_video(path)
    assert [m for m in logged(logging.WARNING) if path in m] == messages
    assert probe_video(path).duration == pytest.approx(4.0)


def test_webm_without_duration_longer_than_ten_seconds(tmp_path):
    """The scan stops past 10 s; the positions are the first 10 s's."""
    slots = list(range(75))  # 15 s at 5 fps
    path = write_webm_without_duration(tmp_path / 'long.webm', slots, rate=5)
    frames, inds, info = read_video_frames(path, ALL)
    assert 10.0 < info.duration < 15.0
    assert inds == list(range(0, 50, 5))
    assert [frame_number(f) for f in frames] == inds


def test_duration_from_decoding_when_packets_have_no_time(tmp_path,
                                                          monkeypatch):
    """The last resort, for packets without any timestamp: the decoded
    frames at the nominal rate."""
    path = write_webm_without_duration(tmp_path / 'blind.webm',
                                       list(range(30)), rate=10)
    monkeypatch.setattr(video_module, '_packets_end', lambda *args: 0.0)
    frames, inds, info = read_video_frames(path, ALL)
    assert info.duration_source == 'frames'
    assert info.duration == pytest.approx(3.0)
    assert inds == list(range(0, 30, 3))
    assert [frame_number(f) for f in frames] == inds
