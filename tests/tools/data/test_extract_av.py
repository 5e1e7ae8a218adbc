"""The data tools: extract_av, validate, compute_norm_stats, make_toy_av
and ``benchmark.py data``."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tools.data import extraction

TOOLS = Path(__file__).resolve().parents[3] / 'tools'


def load_tool(relative):
    """Import a tool script as a module (registered, so that worker
    processes can find its functions)."""
    name = 'tool_' + relative.replace('/', '_').replace('.py', '')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOLS / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def videos(tmp_path, make_clip):
    """A folder with two good clips and a corrupt one."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    good = [make_clip(name=f'videos/good{i}.mp4', sample_rate=44100,
                      channels=2, size=(80, 60)) for i in range(2)]
    corrupt = folder / 'corrupt.mp4'
    corrupt.write_bytes(b'\x00garbage' * 50)
    return good, str(corrupt)


def test_extract_av(tmp_path, videos, capsys, mmaction_scope):
    good, corrupt = videos
    tool = load_tool('data/extract_av.py')
    out = tmp_path / 'out'
    rc = tool.main([str(tmp_path / 'videos'), '--out-dir', str(out),
                    '--workers', '2', '--no-progress', '--labels', '/m/a'])
    printed = capsys.readouterr().out
    assert rc == 1  # one clip failed, the others are done
    assert '3 videos: 2 extracted, 0 already done, 1 failed' in printed
    assert f'{corrupt}: cannot open media file' in printed
    failures = json.load(open(out / 'extract_failures.json'))
    assert [f['video'] for f in failures] == [corrupt]
    entries = json.load(open(out / 'annotation.json'))['data']
    assert [e['video_id'] for e in entries] == ['good0', 'good1']
    entry = entries[0]
    assert entry['labels'] == '/m/a'
    assert entry['video_path'] == str(out / 'frames')
    from PIL import Image
    for position in range(10):
        with Image.open(out / f'frames/frame_{position}/good0.jpg') as img:
            assert img.size == (224, 224) and img.mode == 'RGB'
    info = soundfile.info(entry['wav'])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1,
                                                              'PCM_16')
    # Resumable: a second run skips the finished clips.
    stamp = os.stat(entry['wav']).st_mtime_ns
    rc = tool.main([str(tmp_path / 'videos'), '--out-dir', str(out),
                    '--no-progress', '--relative-paths'])
    assert '0 extracted, 2 already done, 1 failed' in capsys.readouterr().out
    assert os.stat(entry['wav']).st_mtime_ns == stamp
    entries = json.load(open(out / 'annotation.json'))['data']
    assert entries[0]['wav'] == 'audio/good0.wav'
    # The annotation loads in the dataset (reference format).
    from cavmae_mm.datasets import AudioVisualDataset
    label_csv = tmp_path / 'labels.csv'
    label_csv.write_text('index,mid,display_name\n0,/m/a,A\n')
    dataset = AudioVisualDataset(
        str(out / 'annotation.json'),
        [dict(type='LoadAudioWaveform'),
         dict(type='SampleAVFrames', mode='middle'),
         dict(type='LoadAVFrames')],
        label_csv=str(label_csv), test_mode=True)
    sample = dataset[1]
    assert sample['imgs'][0].shape == (224, 224, 3)
    assert sample['audio_path'] == str(out / 'audio/good1.wav')


def test_extract_inputs_from_list_and_glob(tmp_path, videos):
    good, corrupt = videos
    tool = load_tool('data/extract_av.py')
    listing = tmp_path / 'list.txt'
    listing.write_text(f'{good[0]}\t/m/a,/m/b\nvideos/good1.mp4 /m/c\n')
    items = tool.collect_inputs([str(listing), str(tmp_path / 'vid*/good1*'),
                                 str(tmp_path / 'none.mp4')])
    assert [i['labels'] for i in items] == ['/m/a,/m/b', '/m/c', '', '']
    assert items[1]['video'] == str(tmp_path / 'videos/good1.mp4')
    # The same stem twice gets a distinct id.
    assert items[1]['video_id'] == 'good1'
    assert items[2]['video_id'].startswith('good1__')
    assert items[3]['video_id'] == 'none'


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


def test_validate(tmp_path, make_clip, capsys):
    tool = load_tool('data/validate.py')
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


def test_compute_norm_stats(tmp_path, make_clip, capsys):
    from cavmae_mm.datasets.av_io import read_audio
    from cavmae_mm.datasets.transforms.audio import kaldi_fbank, pad_or_cut
    tool = load_tool('data/compute_norm_stats.py')
    paths = [make_clip(name=f'{i}.mp4', freqs=[300.0 * (i + 1)],
                       duration=1.0 + i) for i in range(3)]
    ann = tmp_path / 'list.txt'
    ann.write_text('\n'.join(paths))
    output = tmp_path / 'stats.json'
    assert tool.main([str(ann), '--target-length', '256', '--no-progress',
                      '--output', str(output)]) == 0
    stats = json.load(open(output))
    fbanks = []
    for path in paths:
        waveform = torch.from_numpy(read_audio(path)[0])[None]
        fbanks.append(pad_or_cut(kaldi_fbank(waveform - waveform.mean()),
                                 256))
    values = torch.stack(fbanks).double()
    assert stats['clips'] == 3 and stats['padded']
    assert stats['mean'] == pytest.approx(values.mean().item(), rel=1e-9)
    assert stats['std'] == pytest.approx(
        values.std(unbiased=False).item(), rel=1e-6)
    assert stats['std_ref'] == pytest.approx(
        np.mean([f.std().item() for f in fbanks]), rel=1e-6)
    assert "dict(type='NormalizeFbank', mean=" in capsys.readouterr().out
    assert tool.main([str(ann), '--target-length', '256', '--no-pad',
                      '--no-progress', '--max-items', '2',
                      '--workers', '2']) == 0


def test_make_toy_av_with_extraction(tmp_path, mmaction_scope):
    tool = load_tool('data/make_toy_av.py')
    out = tmp_path / 'toy'
    assert tool.main(['--out-dir', str(out), '--num-classes', '2',
                      '--train-per-class', '2', '--val-per-class', '1',
                      '--duration', '1', '--width', '64', '--height', '48',
                      '--fps', '5', '--workers', '1', '--extract',
                      '--no-progress']) == 0
    entries = json.load(open(out / 'finetune_train.json'))['data']
    assert len(entries) == 4
    assert entries[0]['wav'] == 'audio/toy_c00_000.wav'
    assert entries[0]['video_path'] == 'frames'
    assert (out / 'frames/frame_9/toy_c01_002.jpg').exists()  # val clip
    from cavmae_mm.datasets import AudioVisualDataset
    for source in ('extracted', 'video'):
        dataset = AudioVisualDataset(
            str(out / 'finetune_val.json'),
            [dict(type='LoadAudioWaveform'),
             dict(type='SampleAVFrames', mode='middle'),
             dict(type='LoadAVFrames'),
             dict(type='AVResize'),
             dict(type='CenterCrop', crop_size=224)],
            label_csv=str(out / 'class_labels_indices.csv'), source=source,
            test_mode=True)
        assert dataset[1]['imgs'][0].shape == (224, 224, 3)


def test_benchmark_data_command(tmp_path, capsys):
    tool = load_tool('benchmark.py')
    with pytest.raises(SystemExit):
        tool.build_parser().parse_args([])  # a sub-command is required
    output = tmp_path / 'bench.json'
    assert tool.main([
        'data', '--samples-dir', '', '--toy-clips', '2', '--toy-size',
        '64x48', '--iters', '2', '--rounds', '1', '--recipes', 'finetune',
        '--workers', '1', '--work-dir', str(tmp_path / 'work'), '--output',
        str(output)
    ]) == 0
    rows = json.load(open(output))['rows']
    assert [row['loader'] for row in rows] == [
        'reference loader (pre-extracted)', 'cavmae_mm pre-extracted',
        'cavmae_mm raw video'
    ]
    assert all(row['cpu_ms_per_sample'] > 0 and row['wall_ms_per_sample'] > 0
               for row in rows)
    assert '| toy360p | finetune | cavmae_mm raw video |' in \
        capsys.readouterr().out


def test_gen_weight_file(tmp_path):
    from cavmae_mm.datasets.samplers import class_balanced_weights
    tool = load_tool('data/gen_weight_file.py')
    label_csv = tmp_path / 'labels.csv'
    label_csv.write_text('index,mid,display_name\n0,/m/a,A\n1,/m/b,B\n')
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(data=[
        dict(video='a.mp4', labels='/m/a'),
        dict(video='b.mp4', labels='/m/a,/m/b'),
        dict(video='c.mp4', labels='/m/a'),
    ])))
    assert tool.main([str(ann), '--label-csv', str(label_csv)]) == 0
    weights = np.loadtxt(tmp_path / 'train_weight.csv', delimiter=',')
    np.testing.assert_allclose(
        weights, class_balanced_weights([[0], [0, 1], [0]], 2))
    assert weights[1] > weights[0] == weights[2]
    ann.write_text(json.dumps(dict(data=[dict(video='a.mp4',
                                              labels='/m/zz')])))
    assert tool.main([str(ann), '--label-csv', str(label_csv)]) == 1
