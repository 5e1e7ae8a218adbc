"""tools/data/validate.py: every kind of problem in an annotation file
found and reported."""
import json
import os

from tools.data import extraction
from ..tool_utils import import_tool


def test_validate(tmp_path, make_clip, capsys):
    tool = import_tool('data/validate.py')
    label_csv = tmp_path / 'labels.csv'
    label_csv.write_text('index,mid,display_name\n0,/m/a,A\n')
    good = make_clip(name='good.mp4')
    extraction.extract_clip(good, str(tmp_path / 'ext'), 'good')
    extraction.extract_clip(good, str(tmp_path / 'ext'), 'holes')
    os.remove(tmp_path / 'ext/frames/frame_7/holes.jpg')
    corrupt = tmp_path / 'corrupt.mp4'
    corrupt.write_bytes(b'junk' * 100)
    items = [
        dict(video=good, labels='/m/a'),
        dict(video=str(tmp_path / 'missing.mp4'), labels='/m/a'),
        dict(video=str(corrupt), labels='/m/a'),
        dict(video=make_clip(name='mute.mp4', audio=False), labels='/m/a'),
        dict(video=make_clip(name='radio.m4a', video=False), labels='/m/a'),
        dict(video=make_clip(name='silent.mp4', freqs=[0.0],
                             audio_codec='pcm_s16le'), labels='/m/a'),
        dict(video=make_clip(name='short.mp4', duration=0.4), labels='/m/a'),
        dict(video=good, labels='/m/zzz'),
        dict(video_id='holes', wav=str(tmp_path / 'ext/audio/holes.wav'),
             video_path=str(tmp_path / 'ext/frames'), labels='/m/a'),
        dict(video_id='good', wav=str(tmp_path / 'ext/audio/good.wav'),
             video_path=str(tmp_path / 'ext/frames'), labels='/m/a'),
        dict(labels='/m/a'),
    ]
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(data=items)))
    report = tmp_path / 'report.json'
    rc = tool.main([str(ann), '--label-csv', str(label_csv), '--workers',
                    '2', '--no-progress', '--report', str(report)])
    printed = capsys.readouterr().out
    assert rc == 1
    problems = {(p['item'], p['kind']) for p in json.load(open(report))}
    assert problems == {(1, 'missing'), (2, 'unreadable'), (3, 'no-audio'),
                        (4, 'no-video'), (5, 'silent'), (6, 'too-short'),
                        (7, 'bad-label'), (8, 'missing-frames'),
                        (10, 'bad-entry')}
    assert f'[missing] item 1: {tmp_path / "missing.mp4"}: file not found' \
        in printed
    assert 'no audio track' in printed and 'frame positions [7]' in printed
    assert '11 items checked: 9 with problems' in printed
    good_only = tmp_path / 'good.json'
    good_only.write_text(json.dumps(dict(data=[items[0], items[9]])))
    assert tool.main([str(good_only), '--no-progress', '--all-frames']) == 0
    assert '2 items checked: 0 with problems.' in capsys.readouterr().out
