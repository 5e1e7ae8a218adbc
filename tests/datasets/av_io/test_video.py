"""Decoding video frames (cavmae_mm/datasets/av_io/video.py): the
reference's frame positions, seeking equal to a full decode, RGB output."""
import av
import numpy as np
import pytest

from cavmae_mm.datasets.av_io import (AVDataError, probe_video, read_audio,
                                      read_video_frames,
                                      reference_frame_indices)


def test_zero_decodable_frames(make_clip):
    """A video track whose packets are all garbage."""
    path = make_clip(name='garbage.mp4', video='garbage')
    with pytest.raises(AVDataError, match='no decodable video frames'):
        read_video_frames(path, [5])
    assert read_audio(path)[0].shape[0] > 0  # the audio is still fine


def test_reference_frame_indices():
    # 12.5 fps, 125 frames (AudioSet sample); 29.97 fps with a frame count
    # of 400 that includes hidden pre-roll frames (VGGSound sample).
    assert reference_frame_indices(125, 12.5) == [
        0, 12, 25, 37, 50, 62, 75, 87, 100, 112
    ]
    assert reference_frame_indices(400, 29.97002997) == [
        0, 29, 59, 89, 119, 149, 179, 209, 239, 269
    ]
    assert reference_frame_indices(20, 10) == list(range(0, 20, 2))


def test_frames_at_reference_positions(make_clip):
    path = make_clip(duration=2.0, fps=10)  # frame i is gray level 10 * i
    frames, inds, info = read_video_frames(path, list(range(10)))
    assert (info.fps, info.frame_count, info.width, info.height) == (10.0, 20,
                                                                     64, 48)
    assert inds == list(range(0, 20, 2))
    assert [round(float(f.mean()) / 10) for f in frames] == inds
    single, single_inds, _ = read_video_frames(path, [7])
    assert single_inds == [14]
    np.testing.assert_array_equal(single[0], frames[7])


@pytest.mark.parametrize('name', ['00W1lcxW-WU_40.000.mp4',
                                  'KlsG1EnBEjc_000361.mp4'])
def test_sample_frames_match_sequential_decoding(samples_dir, name):
    """Seeking gives exactly the frames of a full decode (which honours the
    VGGSound clip's edit list, as ffmpeg and OpenCV do)."""
    path = str(samples_dir / name)
    frames, inds, info = read_video_frames(path, [0, 5, 9])
    wanted = set(inds)
    with av.open(path) as container:
        decoded = {
            i: frame.to_ndarray(format='rgb24')
            for i, frame in enumerate(container.decode(video=0))
            if i in wanted
        }
    for frame, index in zip(frames, inds):
        np.testing.assert_array_equal(frame, decoded[index])
    assert probe_video(path).frame_count == info.frame_count


def test_grayscale_and_portrait_become_rgb(make_clip):
    gray = make_clip(name='gray.mp4', pix_fmt='gray')
    frames, _, _ = read_video_frames(gray, [5])
    assert frames[0].shape == (48, 64, 3)
    np.testing.assert_array_equal(frames[0][..., 0], frames[0][..., 2])
    portrait = make_clip(name='portrait.mp4', size=(48, 96))
    frames, _, info = read_video_frames(portrait, [5])
    assert frames[0].shape == (96, 48, 3) and info.height == 96
