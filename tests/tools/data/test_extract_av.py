"""tools/data/extract_av.py: frames and 16 kHz wavs of a folder, a list
or a glob of videos, resumable, in the reference's annotation format."""
import json
import os

import pytest
import soundfile

from ..tool_utils import import_tool


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
    tool = import_tool('data/extract_av.py')
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
    tool = import_tool('data/extract_av.py')
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


def test_extract_and_validate_any_num_positions(tmp_path, videos, capsys,
                                                mmaction_scope):
    """--num-positions 16 (CAV-MAE Sync): frame_0..frame_15, the frames
    the raw-video path takes at those positions; validate.py checks the
    same number of positions."""
    good, _ = videos
    out = tmp_path / 'out16'
    tool = import_tool('data/extract_av.py')
    assert tool.main([good[0], '--out-dir', str(out), '--no-progress',
                      '--num-positions', '16']) == 0
    assert (out / 'frames/frame_15/good0.jpg').exists()
    assert not (out / 'frames/frame_16').exists()
    from cavmae_mm.datasets.transforms import LoadAVFrames, SampleAVFrames
    positions = SampleAVFrames('all', num_positions=16)(dict())
    decoded = LoadAVFrames()(dict(positions, filename=good[0]))
    # 2 s at 10 fps: position k is frame int(k * 20 / 16)
    assert decoded['frame_inds'].tolist() == [int(k * 20 / 16)
                                              for k in range(16)]
    extracted = LoadAVFrames()(dict(positions, frame_dir=str(out / 'frames'),
                                    video_id='good0'))
    assert extracted['frame_inds'].tolist() == list(range(16))
    validate = import_tool('data/validate.py')
    ann = str(out / 'annotation.json')
    capsys.readouterr()
    assert validate.main([ann, '--no-progress', '--all-frames',
                          '--num-positions', '16']) == 0
    # 8 positions extracted, 10 expected: positions 8 and 9 are missing.
    out8 = tmp_path / 'out8'
    assert tool.main([good[0], '--out-dir', str(out8), '--no-progress',
                      '--num-positions', '8']) == 0
    ann8 = str(out8 / 'annotation.json')
    capsys.readouterr()
    assert validate.main([ann8, '--no-progress']) == 1
    assert 'frame positions [8, 9] missing' in capsys.readouterr().out
    assert validate.main([ann8, '--no-progress', '--all-frames',
                          '--num-positions', '8']) == 0
