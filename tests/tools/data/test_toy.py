"""The generated toy data set: deterministic, well-formed, and with
per-clip parameters that both modalities share."""
import filecmp
import json
import os
import os.path as osp

import av
import numpy as np
import pytest
from scipy.stats import spearmanr

from cavmae_mm.datasets.class_labels import load_label_csv
from cavmae_mm.datasets.av_io import read_audio
from tools.data.toy import TOY_CLASSES, make_toy_dataset

TINY = dict(num_classes=3, train_per_class=3, val_per_class=2,
            retrieval_per_class=1, duration=1.0, width=48, height=32,
            fps=5, sample_rate=16000, channels=1)


def test_generation_is_deterministic(tmp_path):
    first = make_toy_dataset(str(tmp_path / 'a'), seed=3, **TINY)
    second = make_toy_dataset(str(tmp_path / 'b'), seed=3, workers=2, **TINY)
    names = sorted(os.listdir(first['videos']))
    assert names == sorted(os.listdir(second['videos'])) and len(names) == 15
    match, mismatch, errors = filecmp.cmpfiles(
        first['videos'], second['videos'], names, shallow=False)
    assert not mismatch and not errors
    for role in ('pretrain', 'finetune_train', 'finetune_val', 'retrieval',
                 'label_csv', 'weights', 'meta'):
        assert filecmp.cmp(first[role], second[role], shallow=False), role
    other = make_toy_dataset(str(tmp_path / 'c'), seed=4, **TINY)
    assert not filecmp.cmp(
        osp.join(first['videos'], names[0]),
        osp.join(other['videos'], names[0]), shallow=False)


def test_layout_and_annotations(tmp_path):
    out = make_toy_dataset(str(tmp_path), audio_codec='pcm_s16le', **TINY)
    rows = load_label_csv(out['label_csv'])
    assert [row['mid'] for row in rows] == ['/toy/c00', '/toy/c01', '/toy/c02']
    assert rows[1]['display_name'] == TOY_CLASSES[1][0]
    data = {
        role: json.load(open(out[role]))['data']
        for role in ('pretrain', 'finetune_train', 'finetune_val',
                     'retrieval')
    }
    assert len(data['pretrain']) == len(data['finetune_train']) == 9
    assert len(data['finetune_val']) == 6 and len(data['retrieval']) == 3
    assert {e['video_id'] for e in data['retrieval']} <= {
        e['video_id'] for e in data['finetune_val']}
    entry = data['finetune_train'][0]
    assert set(entry) == {'video_id', 'video', 'labels'}
    assert entry['video'] == f'videos/{entry["video_id"]}.mp4'
    with av.open(osp.join(str(tmp_path), entry['video'])) as container:
        assert container.streams.video[0].codec_context.name == 'h264'
        assert container.streams.audio[0].codec_context.name == 'pcm_s16le'
    weights = np.loadtxt(out['weights'], delimiter=',')
    assert weights.shape == (9, ) and np.allclose(weights, weights[0])
    meta = json.load(open(out['meta']))
    assert len(meta['clips']) == 15 and meta['seed'] == 0
    with pytest.raises(ValueError):
        make_toy_dataset(str(tmp_path / 'x'), num_classes=0)


def decode_frames(path):
    with av.open(path) as container:
        return np.stack([
            frame.to_ndarray(format='rgb24')
            for frame in container.decode(video=0)
        ]).astype(np.int32)  # [F, H, W, 3]


@pytest.fixture(scope='module')
def red_sine_clips(tmp_path_factory):
    """8 clips of class 0 (red circle + sine), decoded."""
    root = str(tmp_path_factory.mktemp('toy_shared'))
    make_toy_dataset(root, num_classes=1, train_per_class=8,
                     val_per_class=0, duration=4.0, width=96, height=72,
                     fps=10, sample_rate=16000, channels=1, seed=1)
    clips = []
    for name in sorted(os.listdir(osp.join(root, 'videos'))):
        path = osp.join(root, 'videos', name)
        waveform, _ = read_audio(path)
        frames = decode_frames(path)
        # Red circle pixels: red clearly above green and blue.
        redness = frames[..., 0] - frames[..., 1:].max(-1)  # [F, H, W]
        clips.append((waveform, frames, redness))
    return clips


def audio_features(waveform, fps=10, sample_rate=16000):
    spectrum = np.abs(np.fft.rfft(waveform))
    pitch = np.fft.rfftfreq(len(waveform), 1 / sample_rate)[spectrum.argmax()]
    loudness = np.percentile(np.abs(waveform), 99.5)
    # The tone's gate at each video frame's instant (20 ms windows).
    hop, window = sample_rate // fps, sample_rate // 50
    starts = range(0, len(waveform) - window, hop)
    rms = np.array([np.sqrt((waveform[s:s + window]**2).mean())
                    for s in starts])
    gate_on = rms > rms.max() / 2  # [frames]
    return pitch, loudness, gate_on


def visual_features(redness):
    lit = redness.max(axis=(1, 2)) > 130  # bright (gate on) frames
    mask = redness[lit] > 100  # [F_lit, H, W]
    rows = np.nonzero(mask)[1]
    height = rows.mean()  # larger = lower on screen
    area = mask.sum() / mask.shape[0]
    return height, area, lit


def test_pitch_loudness_and_beat_are_shared(red_sine_clips):
    pitch, loudness, height, area = [], [], [], []
    for waveform, _, redness in red_sine_clips:
        clip_pitch, clip_loudness, gate_on = audio_features(waveform)
        clip_height, clip_area, lit = visual_features(redness)
        pitch.append(clip_pitch)
        loudness.append(clip_loudness)
        height.append(clip_height)
        area.append(clip_area)
        # Blink in step with the beat: the frames with the shape lit up are
        # the frames with the tone on.
        n = min(len(lit), len(gate_on))
        assert (lit[:n] == gate_on[:n]).mean() > 0.9
    assert spearmanr(pitch, height)[0] < -0.95  # high pitch = high up
    assert spearmanr(loudness, area)[0] > 0.9  # loud = big
    # And the parameters vary enough between clips to tell them apart.
    assert max(pitch) / min(pitch) > 2 and max(area) / min(area) > 1.5
