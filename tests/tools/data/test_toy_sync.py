"""The sync toy data (tools/data/toy_sync.py): timed events whose sound
and picture change together, checked from the decoded files; deterministic;
the same annotation files as the base toy."""
import filecmp
import json
import os
import os.path as osp

import av
import numpy as np
import pytest
from scipy.stats import spearmanr

from cavmae_mm.datasets.av_io import read_audio
from tools.data.toy import make_toy_dataset
from tools.data.toy_clips import TOY_CLASSES
from tools.data.toy_sync import (SYNC_PITCH_RANGE, active_event,
                                 event_pitch, sync_clip_params)

TINY = dict(num_classes=3, train_per_class=2, val_per_class=1,
            retrieval_per_class=1, duration=2.0, width=48, height=32,
            fps=5, sample_rate=16000, channels=1, variant='sync')


def test_clip_params_events():
    counts = set()
    for clip_index in range(40):
        params = sync_clip_params(0, 2, clip_index, num_classes=8,
                                  duration=4.0)
        assert params == sync_clip_params(0, 2, clip_index, 8, 4.0)
        events = params['events']
        counts.add(len(events))
        classes = [e['class_index'] for e in events]
        assert 2 in classes and len(set(classes)) == len(classes)
        assert all(0 <= c < 8 for c in classes)
        # In time order, inside the clip, apart from each other; each one
        # lasts at least 70 % of its slot.
        slot = 4.0 / len(events)
        for first, second in zip(events, events[1:]):
            assert first['end'] <= second['start']
        for event in events:
            assert 0 <= event['start'] < event['end'] <= 4.0
            assert event['end'] - event['start'] >= 0.7 * slot - 1e-9
            assert SYNC_PITCH_RANGE[0] <= event['pitch'] <= \
                SYNC_PITCH_RANGE[1]
            ends = event_pitch(event, np.array([event['start'],
                                                event['end']]))
            assert ends[1] / ends[0] == pytest.approx(2**event['glide'])
    assert counts == {2, 3, 4}
    # Fewer classes than events: repeats allowed, the clip's class stays.
    params = sync_clip_params(0, 0, 5, num_classes=1, duration=4.0)
    assert {e['class_index'] for e in params['events']} == {0}


def test_dataset_deterministic_with_base_annotations(tmp_path):
    first = make_toy_dataset(str(tmp_path / 'a'), seed=2, **TINY)
    second = make_toy_dataset(str(tmp_path / 'b'), seed=2, workers=2, **TINY)
    names = sorted(os.listdir(first['videos']))
    assert len(names) == 9
    _, mismatch, errors = filecmp.cmpfiles(first['videos'], second['videos'],
                                           names, shallow=False)
    assert not mismatch and not errors
    for role in ('pretrain', 'finetune_train', 'finetune_val', 'retrieval',
                 'label_csv', 'weights', 'meta'):
        assert filecmp.cmp(first[role], second[role], shallow=False), role
    entry = json.load(open(first['pretrain']))['data'][0]
    assert set(entry) == {'video_id', 'video', 'labels'}
    meta = json.load(open(first['meta']))
    assert meta['variant'] == 'sync'
    clip = meta['clips'][entry['video_id']]
    assert f'/toy/c{clip["class_index"]:02d}' == entry['labels']
    assert clip['class_index'] in [e['class_index'] for e in clip['events']]
    with pytest.raises(ValueError, match='variant'):
        make_toy_dataset(str(tmp_path / 'c'), variant='other')


@pytest.fixture(scope='module')
def sync_clips(tmp_path_factory):
    """8 sync clips (one per class) of 4 s, decoded, with their events."""
    root = str(tmp_path_factory.mktemp('toy_sync'))
    out = make_toy_dataset(root, num_classes=8, train_per_class=1,
                           val_per_class=0, duration=4.0, width=96,
                           height=72, fps=10, sample_rate=16000, channels=1,
                           seed=1, variant='sync')
    meta = json.load(open(out['meta']))['clips']
    clips = []
    for video_id, params in sorted(meta.items()):
        path = osp.join(root, 'videos', f'{video_id}.mp4')
        with av.open(path) as container:
            frames = np.stack([
                f.to_ndarray(format='rgb24')
                for f in container.decode(video=0)
            ]).astype(np.int32)
        waveform, _ = read_audio(path)
        clips.append((params, frames, waveform))
    return clips


def inside(params, t, margin):
    event = active_event(params, t)
    if event is None or not (event['start'] + margin <= t <=
                             event['end'] - margin):
        return None
    return event


def test_picture_follows_the_events(sync_clips):
    """Each frame shows the event of its moment: its colour, at the height
    of its pitch then; nothing between events."""
    log_pitch, rows, shown, gaps = [], [], 0, 0
    for params, frames, _ in sync_clips:
        for i, frame in enumerate(frames):
            t = i / 10
            bright = frame.max(-1) > 150  # shapes are bright, backgrounds not
            event = inside(params, t, 0.1)
            if active_event(params, t) is None and all(
                    abs(t - e[b]) > 0.1 for e in params['events']
                    for b in ('start', 'end')):
                assert bright.sum() == 0
                gaps += 1
            if event is None:
                continue
            color = np.array(TOY_CLASSES[event['class_index']][2])
            # (h264 blurs the edges: most, not all, bright pixels match)
            near = np.abs(frame - color).max(-1) < 60
            assert near.sum() > 30 and near.sum() >= 0.7 * bright.sum()
            shown += 1
            log_pitch.append(np.log(event_pitch(event, np.array(t))))
            rows.append(np.nonzero(near)[0].mean())
    assert shown > 200 and gaps > 0
    assert spearmanr(log_pitch, rows)[0] < -0.9  # high pitch = high up


def test_sound_follows_the_events(sync_clips):
    """The tone of the event of each moment at its pitch then; hiss only
    between events."""
    tonal = ('sine', 'square', 'saw', 'vibrato', 'tremolo', 'fifth')
    checked = 0
    for params, _, waveform in sync_clips:
        for t in np.arange(0.2, 3.8, 0.1):
            window = waveform[int((t - 0.1) * 16000):int((t + 0.1) * 16000)]
            rms = np.sqrt(np.mean(window**2))
            hiss = 10**(params['hiss_db'] / 20)  # its rms
            event = inside(params, t, 0.15)
            if active_event(params, t - 0.12) is None and \
                    active_event(params, t + 0.12) is None:
                assert rms < 1.2 * hiss
            if event is None:
                continue
            assert rms > 3 * hiss, (event, t)
            if TOY_CLASSES[event['class_index']][3] not in tonal:
                continue
            spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
            peak = np.fft.rfftfreq(len(window), 1 / 16000)[spectrum.argmax()]
            assert peak / event_pitch(event, np.array(t)) == pytest.approx(
                1, abs=0.05)
            checked += 1
    assert checked > 50
