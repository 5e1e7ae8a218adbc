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
