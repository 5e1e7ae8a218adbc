"""Loading transforms (cavmae_mm/datasets/transforms/loading.py):
LoadAudioWaveform, SampleAVFrames, LoadAVFrames and LoadStillImage (one
image as a one-frame clip, decoded as pre-extracted frames are)."""
import numpy as np
import pytest
import soundfile
from PIL import Image

from cavmae_mm.datasets import AVDataError
from cavmae_mm.datasets.av_io import frame_jpeg_path
from cavmae_mm.datasets.transforms import (LoadAudioWaveform, LoadAVFrames,
                                           LoadStillImage, SampleAVFrames)
from mmaction.registry import TRANSFORMS
from .audio_utils import write_wav

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def exif_rotated_jpeg(path, orientation=6):
    """A 40 x 80 landscape JPEG (left half white) whose EXIF orientation
    says to turn it 90 degrees clockwise for viewing."""
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :40] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return str(path)


def test_load_still_image_keys_and_repr(tmp_path):
    path = str(tmp_path / 'frame.png')
    pixels = np.random.default_rng(0).integers(0, 255, (30, 50, 3),
                                               dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    transform = TRANSFORMS.build(dict(type='LoadStillImage'))
    assert isinstance(transform, LoadStillImage)
    results = transform(dict(image_path=path))
    assert len(results['imgs']) == 1
    np.testing.assert_array_equal(results['imgs'][0], pixels)
    assert results['img_shape'] == results['original_shape'] == (30, 50)
    assert results['frame_inds'].tolist() == [0]
    assert results['num_clips'] == 1 and results['clip_len'] == 1
    assert repr(transform) == 'LoadStillImage()'
    with pytest.raises(AVDataError, match='file not found'):
        transform(dict(image_path=str(tmp_path / 'none.jpg')))
    with pytest.raises(KeyError):
        transform(dict())


def test_still_image_and_extracted_frame_decode_alike(tmp_path):
    """One decoder for images: an EXIF-rotated JPEG comes out upright,
    the same from LoadStillImage and from the reference frame layout."""
    (tmp_path / 'frame_5').mkdir()
    layout_path = exif_rotated_jpeg(frame_jpeg_path(str(tmp_path), 'v', 5))
    still = LoadStillImage()(dict(image_path=layout_path))
    frames = LoadAVFrames()(dict(frame_dir=str(tmp_path), video_id='v',
                                 frame_positions=np.array([5])))
    assert still['img_shape'] == frames['img_shape'] == (80, 40)
    np.testing.assert_array_equal(still['imgs'][0], frames['imgs'][0])
    assert still['imgs'][0][:35].mean() > 200  # white half on top


def test_load_audio_waveform_from_wav_and_video(tmp_path, make_clip):
    path, waveform = write_wav(tmp_path / 'a.wav', 1.0)
    results = LoadAudioWaveform()(dict(audio_path=path))
    np.testing.assert_array_equal(results['waveform'], waveform[0].numpy())
    assert results['sample_rate'] == 16000
    assert results['audio_duration'] == 1.0
    assert results['orig_num_channels'] == 1
    video = make_clip(sample_rate=44100, channels=2)
    results = LoadAudioWaveform()(dict(filename=video))
    assert results['orig_sample_rate'] == 44100
    assert results['orig_num_channels'] == 2
    assert results['waveform'].dtype == np.float32
    assert 'LoadAudioWaveform(sample_rate=16000' in repr(LoadAudioWaveform())


def test_load_audio_silence_policies(tmp_path, logged):
    path = str(tmp_path / 'silence.wav')
    soundfile.write(path, np.zeros(16000, np.int16), 16000)
    assert LoadAudioWaveform(silence='keep')(
        dict(audio_path=path))['waveform'].max() == 0
    assert not logged()
    LoadAudioWaveform()(dict(audio_path=path))  # 'warn' is the default
    LoadAudioWaveform()(dict(audio_path=path))
    warnings = [m for m in logged() if 'Silent audio' in m]
    assert len(warnings) == 1 and path in warnings[0]
    with pytest.raises(AVDataError, match='silent audio'):
        LoadAudioWaveform(silence='error')(dict(audio_path=path))
    with pytest.raises(ValueError):
        LoadAudioWaveform(silence='ignore')


def test_load_audio_too_short(tmp_path):
    path, _ = write_wav(tmp_path / 'short.wav', 0.01)
    with pytest.raises(AVDataError, match='audio too short'):
        LoadAudioWaveform()(dict(audio_path=path))
    with pytest.raises(KeyError):
        LoadAudioWaveform()(dict())


def test_sample_av_frames_modes():
    np.random.seed(0)  # no sample_seed: NumPy's global generator
    seen = {
        int(SampleAVFrames('random')(dict())['frame_positions'][0])
        for _ in range(300)
    }
    assert seen == set(range(10))
    assert SampleAVFrames('middle')(dict())['frame_positions'].tolist() == [5]
    assert SampleAVFrames('all')(dict())['frame_positions'].tolist() == list(
        range(10))
    results = SampleAVFrames(3)(dict())
    assert results['frame_positions'].tolist() == [3]
    assert results['num_positions'] == 10
    for bad in ('first', 10, -1):
        with pytest.raises(ValueError):
            SampleAVFrames(bad)
    assert repr(SampleAVFrames('all')) == (
        "SampleAVFrames(mode='all', num_positions=10)")


def test_sample_av_frames_sync_positions():
    """16 positions (CAV-MAE Sync): middle 8, all 16, several random
    distinct increasing positions; seeded samples draw reproducibly from
    their own stream."""
    assert SampleAVFrames('middle', 16)(dict())['frame_positions'].tolist() \
        == [8]
    assert SampleAVFrames('all', 16)(dict())['frame_positions'].tolist() == \
        list(range(16))
    four = SampleAVFrames('random', 16, num_frames=4)
    assert repr(four) == ("SampleAVFrames(mode='random', num_positions=16, "
                          'num_frames=4)')
    seen = set()
    for seed in range(200):
        positions = four(dict(sample_seed=seed))['frame_positions']
        assert positions.dtype == np.int64 and len(positions) == 4
        assert len(set(positions)) == 4 and list(positions) == sorted(
            positions)
        seen.update(positions.tolist())
    assert seen == set(range(16))
    one = SampleAVFrames('random', 16)
    draws = [int(one(dict(sample_seed=s))['frame_positions'][0])
             for s in range(100)]
    assert draws == [int(one(dict(sample_seed=s))['frame_positions'][0])
                     for s in range(100)]
    assert set(draws) == set(range(16))
    # The global generator is left alone by seeded samples.
    np.random.seed(1)
    expected = np.random.rand()
    np.random.seed(1)
    one(dict(sample_seed=3))
    assert np.random.rand() == expected
    for bad in (dict(num_frames=0), dict(num_frames=17),
                dict(mode='all', num_frames=2)):
        with pytest.raises(ValueError):
            SampleAVFrames(**dict(dict(mode='random', num_positions=16),
                                  **bad))


def test_load_av_frames_from_jpegs_and_video(tmp_path, make_clip):
    from PIL import Image
    for position in range(10):
        if position == 6:
            continue  # missing: falls back to 5
        (tmp_path / f'frame_{position}').mkdir()
        Image.fromarray(np.full((224, 224, 3), 20 * position,
                                np.uint8)).save(
                                    frame_jpeg_path(str(tmp_path), 'v',
                                                    position))
    results = LoadAVFrames()(
        dict(frame_dir=str(tmp_path), video_id='v',
             frame_positions=np.array([6, 9])))
    assert results['frame_inds'].tolist() == [5, 9]
    assert len(results['imgs']) == 2 and results['img_shape'] == (224, 224)
    assert results['imgs'][0].dtype == np.uint8
    assert abs(float(results['imgs'][0].mean()) - 100) < 2
    assert results['clip_len'] == 2 and results['num_clips'] == 1

    video = make_clip(size=(96, 64))
    results = LoadAVFrames()(
        dict(filename=video, frame_positions=np.arange(10)))
    assert results['frame_inds'].tolist() == list(range(0, 20, 2))
    assert results['original_shape'] == (64, 96)
    with pytest.raises(KeyError):
        LoadAVFrames()(dict(frame_positions=np.array([5])))
    assert repr(LoadAVFrames()) == 'LoadAVFrames(decode_threads=1)'
