"""Parallel extraction (tools/data/extraction.py): a worker that crashes
fails its clip only."""
import os

from tools.data import extraction


def _crashing_extract_clip(**kwargs):
    if 'crash' in kwargs['video']:
        os._exit(13)  # a decoder segfault takes the worker down like this
    return 'done'


def test_extraction_survives_a_crashing_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(extraction, 'extract_clip', _crashing_extract_clip)
    items = [dict(video=f'/v/{name}.mp4', video_id=name)
             for name in ('a', 'b', 'crash', 'c', 'd', 'e', 'f')]
    entries, failures = extraction.extract_clips(
        items, str(tmp_path), workers=2, progress=False)
    assert failures == [dict(video='/v/crash.mp4', video_id='crash',
                             reason='the decoder crashed the worker process')]
    assert [e['video_id'] for e in entries] == ['a', 'b', 'c', 'd', 'e', 'f']


def test_extraction_reports_clips_done_with_eta(tmp_path, monkeypatch,
                                                logged):
    """Off a terminal: log lines with clips done/total and an ETA, no
    carriage-return bar; progress=False: none."""
    monkeypatch.setattr(extraction, 'extract_clip', _crashing_extract_clip)
    items = [dict(video=f'/v/{i}.mp4', video_id=str(i)) for i in range(5)]
    extraction.extract_clips(items, str(tmp_path), workers=1)
    lines = [m for m in logged() if m.startswith('extract clips:')]
    assert [line.split(',')[0] for line in lines] == [
        f'extract clips: {i}/5 ({20 * i}%)' for i in range(1, 6)
    ]
    assert all('ETA ' in line and '\r' not in line for line in lines)
    extraction.extract_clips(items, str(tmp_path), workers=1,
                             progress=False)
    assert len([m for m in logged() if m.startswith('extract clips:')]) == 5
