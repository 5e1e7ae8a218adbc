"""Bad and unusual input through the whole dataset + pipeline.

Each case is generated here (PyAV) and is either handled (asserted output)
or reported as a ``BadSampleError`` naming the file and the reason.
"""
import json

import numpy as np
import pytest
import soundfile
import torch

from cavmae_mm.datasets import AudioVisualDataset, BadSampleError

pytestmark = pytest.mark.usefixtures('mmaction_scope')

PIPELINE = [
    dict(type='LoadAudioWaveform'),
    dict(type='SampleAVFrames', mode='all'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, 224)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='KaldiFbank', target_length=1024),
    dict(type='NormalizeFbank'),
    dict(type='FormatShape', input_format='NCHW'),
    dict(
        type='PackActionInputs',
        collect_keys=('audio', 'imgs'),
        meta_keys=('video_id', 'frame_inds', 'audio_num_frames',
                   'orig_sample_rate', 'orig_num_channels')),
]
PADDING = 5.081 / 4.4849  # a zero-padded fbank frame after normalization


@pytest.fixture
def label_csv(tmp_path):
    path = tmp_path / 'labels.csv'
    path.write_text('index,mid,display_name\n0,/m/a,"A"\n1,/m/b,"B"\n')
    return str(path)


def load_one(tmp_path, label_csv, entry, **kwargs):
    ann = tmp_path / 'one.json'
    ann.write_text(json.dumps(dict(data=[dict(entry, labels='/m/a')])))
    dataset = AudioVisualDataset(str(ann), PIPELINE, label_csv=label_csv,
                                 test_mode=True, **kwargs)
    return dataset[0]


def check_handled(sample):
    audio, imgs = sample['inputs']['audio'], sample['inputs']['imgs']
    assert audio.shape == (1024, 128) and torch.isfinite(audio).all()
    assert imgs.shape == (10, 3, 224, 224) and imgs.dtype == torch.uint8
    return sample['data_samples']


@pytest.mark.parametrize('rate', [8000, 22050, 44100, 48000])
@pytest.mark.parametrize('channels', [1, 2, 6])
def test_any_rate_and_channel_count(tmp_path, label_csv, make_clip, rate,
                                    channels):
    path = make_clip(sample_rate=rate, channels=channels)
    meta = check_handled(load_one(tmp_path, label_csv, dict(video=path)))
    assert meta.orig_sample_rate == rate
    assert meta.orig_num_channels == channels


def test_short_clip_is_zero_padded(tmp_path, label_csv, make_clip):
    path = make_clip(duration=2.0, sample_rate=16000, audio_codec='pcm_s16le')
    sample = load_one(tmp_path, label_csv, dict(video=path))
    meta = check_handled(sample)
    assert meta.audio_num_frames == 198  # 2 s of 10 ms frames
    audio = sample['inputs']['audio']
    torch.testing.assert_close(audio[198:], torch.full((826, 128), PADDING))
    # Frames spread over the 2 s there are (20 frames at 10 fps).
    assert meta.frame_inds.tolist() == list(range(0, 20, 2))


def test_long_clip_is_cut(tmp_path, label_csv, make_clip):
    path = make_clip(duration=15.0, size=(32, 32), fps=4)
    meta = check_handled(load_one(tmp_path, label_csv, dict(video=path)))
    assert meta.audio_num_frames > 1024
    # Frames from the first 10 s only: positions of int(4 * 10) = 40.
    assert meta.frame_inds.tolist() == list(range(0, 40, 4))


def test_silence_is_the_fbank_of_silence(tmp_path, label_csv, make_clip):
    path = make_clip(freqs=[0.0], audio_codec='pcm_s16le')
    sample = load_one(tmp_path, label_csv, dict(video=path))
    check_handled(sample)
    audio = sample['inputs']['audio']
    floor = (np.log(np.finfo(np.float32).eps) + 5.081) / 4.4849
    torch.testing.assert_close(audio[:198], torch.full((198, 128), floor))
    with pytest.raises(BadSampleError, match='silent audio'):
        ann = tmp_path / 'silent.json'
        ann.write_text(json.dumps(dict(data=[dict(video=path)])))
        AudioVisualDataset(
            str(ann), [dict(type='LoadAudioWaveform', silence='error')],
            label_csv=label_csv, test_mode=True)[0]


def test_grayscale_and_portrait_video(tmp_path, label_csv, make_clip):
    gray = load_one(tmp_path, label_csv,
                    dict(video=make_clip(name='g.mp4', pix_fmt='gray')))
    check_handled(gray)
    imgs = gray['inputs']['imgs']
    assert torch.equal(imgs[:, 0], imgs[:, 1])
    # 48 x 96 portrait: width -> 224, height -> 448, center crop 224.
    stripes = np.zeros((96, 48, 3), np.uint8)
    stripes[:24] = 250  # top quarter white: cropped away
    portrait = make_clip(name='p.mp4', size=(48, 96),
                         frames=[stripes] * 20)
    sample = load_one(tmp_path, label_csv, dict(video=portrait))
    check_handled(sample)
    assert sample['inputs']['imgs'].float().mean() < 30


@pytest.mark.parametrize('case, reason', [
    ('missing', 'file not found'),
    ('random_bytes', 'cannot open media file'),
    ('truncated', 'cannot open media file'),
    ('no_audio', 'no audio track'),
    ('no_video', 'no video track'),
    ('zero_frames', 'no decodable video frames'),
])
def test_unusable_videos_are_reported(tmp_path, label_csv, make_clip, case,
                                      reason):
    path = str(tmp_path / f'{case}.mp4')
    if case == 'random_bytes':
        with open(path, 'wb') as f:
            f.write(np.random.default_rng(1).bytes(10000))
    elif case == 'truncated':
        data = open(make_clip(), 'rb').read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) * 2 // 3])
    elif case == 'no_audio':
        path = make_clip(name='no_audio.mp4', audio=False)
    elif case == 'no_video':
        path = make_clip(name='no_video.m4a', video=False)
    elif case == 'zero_frames':
        path = make_clip(name='zero_frames.mp4', video='garbage')
    with pytest.raises(BadSampleError) as info:
        load_one(tmp_path, label_csv, dict(video=path))
    assert info.value.path == path
    assert info.value.reason.startswith(reason)
    assert path in str(info.value) and reason in str(info.value)


def test_truncated_faststart_file_is_used_as_a_short_clip(
        tmp_path, label_csv, make_clip):
    data = open(make_clip(faststart=True), 'rb').read()
    path = str(tmp_path / 'cut.mp4')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    meta = check_handled(load_one(tmp_path, label_csv, dict(video=path)))
    assert 0 < meta.audio_num_frames < 198


def extracted_clip(tmp_path, make_clip):
    """A clip in the reference layout, made by the extraction code."""
    from tools.data.extraction import extract_clip
    extract_clip(make_clip(), str(tmp_path / 'ext'), 'clip')
    return dict(video_id='clip', wav=str(tmp_path / 'ext/audio/clip.wav'),
                video_path=str(tmp_path / 'ext/frames'))


def test_extracted_layout_problems(tmp_path, label_csv, make_clip):
    entry = extracted_clip(tmp_path, make_clip)
    meta = check_handled(load_one(tmp_path, label_csv, entry))
    assert meta.frame_inds.tolist() == list(range(10))
    # Missing frames fall back to lower positions (the reference's rule).
    for position in (3, 4, 9):
        (tmp_path / f'ext/frames/frame_{position}/clip.jpg').unlink()
    meta = check_handled(load_one(tmp_path, label_csv, entry))
    assert meta.frame_inds.tolist() == [0, 1, 2, 2, 2, 5, 6, 7, 8, 8]
    # A corrupt JPEG, a corrupt wav, a missing wav, no frames at all.
    (tmp_path / 'ext/frames/frame_5/clip.jpg').write_bytes(b'xx')
    with pytest.raises(BadSampleError, match='cannot decode image'):
        load_one(tmp_path, label_csv, entry)
    wav = tmp_path / 'ext/audio/clip.wav'
    wav.write_bytes(b'RIFF0000WAVE' + b'\x00' * 50)
    with pytest.raises(BadSampleError) as info:
        load_one(tmp_path, label_csv, entry)
    assert info.value.path == str(wav)
    wav.unlink()
    with pytest.raises(BadSampleError, match='file not found'):
        load_one(tmp_path, label_csv, entry)
    soundfile.write(str(wav), np.zeros(16000, np.int16) + 100, 16000)
    for position in range(10):
        path = tmp_path / f'ext/frames/frame_{position}/clip.jpg'
        if path.exists():
            path.unlink()
    with pytest.raises(BadSampleError, match='missing frame'):
        load_one(tmp_path, label_csv, entry)
