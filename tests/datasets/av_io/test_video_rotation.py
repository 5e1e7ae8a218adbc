"""Frames come out as a player shows them: the display matrix (a phone's
portrait clip, an upside-down one, a mirrored one) is applied, in the
raw-video pipeline and in the extraction alike."""
import av
import numpy as np
import pytest

from cavmae_mm.datasets.av_io import read_video_frames
from cavmae_mm.datasets.av_io.display import (UPRIGHT, apply_orientation,
                                              orientation_from_matrix,
                                              orientation_from_rotate_tag)

from .clips import DISPLAY_MATRICES, write_clip

# How the stored frame turns into the displayed one, in numpy terms.
DISPLAYED = {
    -90: lambda image: np.rot90(image, k=-1),  # clockwise
    90: lambda image: np.rot90(image, k=1),
    180: lambda image: np.rot90(image, k=2),
    'hflip': lambda image: image[:, ::-1],
}


def marked_frame(size=(64, 48)):
    """Dark, with a bright top-left quadrant (rows < h/2, columns < w/2)."""
    width, height = size
    frame = np.full((height, width, 3), 30, np.uint8)
    frame[:height // 2, :width // 2] = 220
    return frame


def stored_frames(path):
    """Every frame as stored (plain PyAV, no display matrix applied)."""
    with av.open(path) as container:
        return [frame.to_ndarray(format='rgb24')
                for frame in container.decode(video=0)]


def matrix_writers():
    writers = ['tkhd']
    if hasattr(av.video.stream.VideoStream, 'set_display_matrix'):
        writers.insert(0, 'side data')
    return writers


@pytest.fixture(params=matrix_writers())
def matrix_via(request):
    """Display matrix written by the muxer from PyAV's side data, or
    patched into the MP4 track header as phones write it."""
    return request.param


@pytest.mark.parametrize('rotation', [-90, 90, 180, 'hflip'])
def test_display_matrix_is_applied_exactly(tmp_path, rotation, matrix_via):
    path = write_clip(tmp_path / 'turned.mp4', list(range(20)),
                      images=[marked_frame()] * 20,
                      display_matrix=DISPLAY_MATRICES[rotation],
                      matrix_via=matrix_via)
    with av.open(path) as container:  # FFmpeg reads the matrix we meant
        rotation_read = next(container.decode(video=0)).rotation
    # (FFmpeg's angle of a mirror is a half turn; the flip is in the matrix.)
    assert rotation_read in {-90: {-90}, 90: {90}, 180: {180, -180},
                             'hflip': {180, -180}}[rotation]
    stored = stored_frames(path)
    frames, inds, info = read_video_frames(path, [0, 5, 9])
    assert inds == [0, 10, 18]
    assert (info.width, info.height) == (64, 48)  # as stored
    for frame, index in zip(frames, inds):
        np.testing.assert_array_equal(frame,
                                      DISPLAYED[rotation](stored[index]))
        assert frame.flags['C_CONTIGUOUS']
    shape = (64, 48, 3) if rotation in (-90, 90) else (48, 64, 3)
    assert frames[0].shape == shape
    # Where the bright quadrant went.
    half_h, half_w = shape[0] // 2, shape[1] // 2
    quadrants = {
        'top left': frames[0][:half_h, :half_w],
        'top right': frames[0][:half_h, half_w:],
        'bottom left': frames[0][half_h:, :half_w],
        'bottom right': frames[0][half_h:, half_w:],
    }
    bright = [name for name, part in quadrants.items() if part.mean() > 128]
    assert bright == [{
        -90: 'top right',
        90: 'bottom left',
        180: 'bottom right',
        'hflip': 'top right'
    }[rotation]]


def test_upright_clip_is_untouched(tmp_path):
    path = write_clip(tmp_path / 'plain.mp4', list(range(20)),
                      images=[marked_frame()] * 20)
    frames, inds, _ = read_video_frames(path, [5])
    np.testing.assert_array_equal(frames[0], stored_frames(path)[inds[0]])


def test_loading_transform_and_extraction_show_the_portrait(
        tmp_path, mmaction_scope):
    """A phone's portrait clip (stored landscape, -90 degrees): the
    raw-video pipeline gives portrait frames, the extraction crops its
    224 x 224 frames from the portrait picture."""
    from mmaction.registry import TRANSFORMS

    from tools.data.extraction import extract_clip
    path = write_clip(tmp_path / 'phone.mp4', list(range(20)),
                      images=[marked_frame()] * 20, audio_codec='aac',
                      display_matrix=DISPLAY_MATRICES[-90],
                      matrix_via=matrix_writers()[0])
    load = TRANSFORMS.build(dict(type='LoadAVFrames'))
    results = load(dict(filename=path, frame_positions=np.array([5])))
    assert results['imgs'][0].shape == (64, 48, 3)
    assert results['img_shape'] == (64, 48)
    assert results['imgs'][0][:32, 24:].mean() > 200  # top right

    assert extract_clip(path, str(tmp_path / 'out'), 'phone') == 'done'
    from PIL import Image
    with Image.open(tmp_path / 'out/frames/frame_5/phone.jpg') as image:
        crop = np.asarray(image.convert('RGB')).astype(float)
    # Portrait 48 x 64 -> 224 x 299 -> rows 37..260: the bright quadrant
    # (top right) covers rows 0..112 and columns 112..223 of the crop.
    assert crop[:100, 124:].mean() > 200
    assert crop[:100, :100].mean() < 60 and crop[124:].mean() < 60


@pytest.mark.parametrize('matrix, tag, turn', [
    (DISPLAY_MATRICES[-90], 90, lambda image: np.rot90(image, k=-1)),
    (DISPLAY_MATRICES[90], 270, lambda image: np.rot90(image, k=1)),
    (DISPLAY_MATRICES[180], 180, lambda image: np.rot90(image, k=2)),
    (DISPLAY_MATRICES['hflip'], None, lambda image: image[:, ::-1]),
    # A quarter turn and a mirror: a transpose.
    ([0, 1 << 16, 0, 1 << 16, 0, 0, 0, 0, 1 << 30], None,
     lambda image: image.swapaxes(0, 1)),
])
def test_orientation_of_matrices_and_rotate_tags(matrix, tag, turn):
    """The legacy ``rotate`` tag (clockwise degrees, FFmpeg < 6) turns the
    frame as the matching display matrix does; mirrors are kept."""
    image = np.arange(2 * 3 * 1, dtype=np.uint8).reshape(2, 3, 1)
    orientation = orientation_from_matrix(matrix)
    np.testing.assert_array_equal(apply_orientation(image, orientation),
                                  turn(image))
    if tag is not None:
        assert orientation_from_rotate_tag(tag) == orientation
    assert orientation_from_rotate_tag(0) == UPRIGHT
    # 93 degrees clockwise: the nearest quarter turn.
    assert orientation_from_rotate_tag(93) == orientation_from_rotate_tag(90)


def test_reading_frames_leaves_no_reference_cycles(tmp_path):
    """Reading the display matrix must not tie each decoded frame into a
    reference cycle (PyAV's cached ``frame.side_data`` does): such frames
    outlive the read until the cyclic collector runs, and collecting them
    in a forked data-loader worker deadlocked it."""
    import gc
    path = write_clip(tmp_path / 'turned.mp4', list(range(20)),
                      images=[marked_frame()] * 20,
                      display_matrix=DISPLAY_MATRICES[-90])
    read_video_frames(path, [0, 5, 9])  # warm up (imports, caches)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        frames, _, _ = read_video_frames(path, [0, 5, 9])
        gc.collect()
        cycles = [type(obj).__name__ for obj in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert frames[0].shape == (64, 48, 3)  # turned: the matrix was read
    assert not [name for name in cycles if 'Frame' in name or
                'SideData' in name], cycles
