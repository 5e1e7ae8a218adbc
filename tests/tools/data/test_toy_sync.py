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
        # In time order from 0 to the end, 0.1-0.25 s apart; each one at
        # least half a nominal slot minus a gap long.
        slot = 4.0 / len(events)
        assert events[0]['start'] == 0 and events[-1]['end'] == 4.0
        for first, second in zip(events, events[1:]):
            assert 0.1 <= second['start'] - first['end'] <= 0.25
        for event in events:
            assert event['end'] - event['start'] >= 0.5 * slot - 0.25
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
                    abs(t - e[b]) > 0.05 for e in params['events']
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
    checked = gaps = 0
    for params, _, waveform in sync_clips:
        hiss = 10**(params['hiss_db'] / 20)  # its rms
        for t in np.arange(0.05, 3.95, 0.01):
            # 20 ms of a gap, 60 ms from any event (AAC smears ~40 ms)
            if all(active_event(params, t + dt) is None
                   for dt in (-0.08, -0.04, 0, 0.04, 0.08)):
                gap = waveform[int((t - 0.02) * 16000):int((t + 0.02) *
                                                           16000)]
                assert np.sqrt(np.mean(gap**2)) < 1.5 * hiss
                gaps += 1
        for t in np.arange(0.2, 3.8, 0.1):
            window = waveform[int((t - 0.1) * 16000):int((t + 0.1) * 16000)]
            rms = np.sqrt(np.mean(window**2))
            event = inside(params, t, 0.15)
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
    assert checked > 50 and gaps > 10


def mel(freq):
    """Kaldi's mel scale."""
    return 1127 * np.log(1 + np.asarray(freq) / 700)


#: Centres of KaldiFbank's 128 mel bins (20 Hz - 8 kHz), mel.
MEL_CENTRES = mel(20) + (np.arange(128) + 1) * (mel(8000) - mel(20)) / 129


def segment_pitch(segment):
    """Mel of the fundamental at a segment's centre (rows 40-55 of 96): the
    lowest spectral peak within 0.5 (normalized log units) of the
    strongest."""
    level = segment[40:56].mean(0)
    peaks = [b for b in range(1, 127) if level[b] >= level[b - 1]
             and level[b] >= level[b + 1] and level[b] > level.max() - 0.5]
    return MEL_CENTRES[peaks[0] if peaks else level.argmax()]


def frame_pitch(img):
    """Mel of the pitch the shape's height shows (the generator's mapping),
    None without a shape."""
    bright = img.max(0) > 150  # [H, W]
    if bright.sum() < 10:
        return None
    row = np.nonzero(bright)[0].mean() / img.shape[1]
    unit = np.clip(1 - (row - 0.18) / 0.64, 0, 1)
    return mel(200 * 8**unit)


def test_segments_and_frames_pair_by_time(tmp_path, mmaction_scope):
    """Through the config's retrieval pipeline: the pitch heard at the
    centre of audio segment k is the pitch shown by frame k (tonal
    events), and not the one shown by frame k + 1."""
    from mmengine.config import Config

    from cavmae_mm.datasets import AudioVisualDataset
    from ..tool_utils import import_tool
    out = tmp_path / 'toy_sync'
    assert import_tool('data/make_toy_av.py').main([
        '--out-dir', str(out), '--variant', 'sync', '--train-per-class',
        '1', '--val-per-class', '3', '--retrieval-per-class', '3',
        '--duration', '4', '--width', '160', '--height', '120',
        '--workers', '2', '--extract', '--no-progress']) == 0
    cfg = Config.fromfile('configs/_base_/datasets/toy_av_sync.py')
    dataset = AudioVisualDataset(
        str(out / 'retrieval.json'), cfg.sync_retrieval_pipeline,
        label_csv=str(out / 'class_labels_indices.csv'),
        source='extracted', test_mode=True)
    meta = json.load(open(out / 'toy_meta.json'))['clips']
    tonal = ('sine', 'square', 'saw', 'vibrato', 'tremolo', 'fifth', 'bell')
    paired, shifted = [], []
    for index in range(len(dataset)):
        sample = dataset[index]
        params = meta[sample['data_samples'].metainfo['video_id']]
        heard = [segment_pitch(s.numpy()) for s in sample['inputs']['audio']]
        shown = [frame_pitch(i.numpy()) for i in sample['inputs']['imgs']]
        for k in range(1, 7):  # segments 0 and 7 are clamped at the ends
            event = active_event(params, k * 0.5)
            if (event is None or shown[k] is None or
                    TOY_CLASSES[event['class_index']][3] not in tonal):
                continue
            paired.append(abs(heard[k] - shown[k]) < 25)
            if shown[k + 1] is not None:
                shifted.append(abs(heard[k] - shown[k + 1]) < 25)
    assert len(paired) > 50 and len(shifted) > 40
    assert np.mean(paired) > 0.6 and np.mean(shifted) < 0.2
