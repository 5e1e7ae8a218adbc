"""tools/data/make_shards.py on the toy data: the pre-extracted files go
into the shards byte for byte and load as from the files; raw videos;
bad clips listed with their reasons; shard size limits; resuming keeps
finished shards."""
import glob
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from webdataset.tariterators import group_by_keys, tar_file_expander

from cavmae_mm.datasets.shards.index import load_index, shard_key
from mmaction.registry import DATASETS
from ..tool_utils import load_tool

make_shards = load_tool('data/make_shards')
TOY_DATA = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                    '_base_', 'datasets', 'toy_av.py')


def run(*argv):
    return make_shards.main([str(a) for a in argv] + ['--no-progress'])


def members(path):
    with open(path, 'rb') as f:
        files = tar_file_expander([dict(url=path, stream=f)])
        return list(group_by_keys(files))


def test_extracted_clips_go_in_byte_for_byte_and_load_as_files(
        toy, tmp_path, mmaction_scope):
    out = tmp_path / 'shards'
    ann = osp.join(toy, 'pretrain.json')
    assert run(ann, '--out-dir', out, '--shard-size', 2, '--workers',
               2, '--shuffle-seed', -1) == 0
    index = load_index(str(out / 'index.json'))
    with open(ann) as f:
        entries = json.load(f)['data']
    assert index['num_samples'] == len(entries)
    assert [s['num_samples'] for s in index['shards']] == \
        [2] * (len(entries) // 2) + [len(entries) % 2] * (len(entries) % 2)
    first = members(str(out / index['shards'][0]['url']))[0]
    entry = entries[0]
    assert first['__key__'] == shard_key(entry['video_id'])
    with open(osp.join(toy, entry['wav']), 'rb') as f:
        assert first['wav'] == f.read()
    with open(osp.join(toy, entry['video_path'], 'frame_3',
                       f'{entry["video_id"]}.jpg'), 'rb') as f:
        assert first['frame_3.jpg'] == f.read()
    assert json.loads(first['json'])['labels'] == entry['labels'].split(',')

    # The evaluation pipeline gives the same tensors from shards as from
    # the files.
    cfg = Config.fromfile(TOY_DATA)
    common = dict(label_csv=osp.join(toy, 'class_labels_indices.csv'),
                  multi_label=False, pipeline=cfg.eval_pipeline)
    files = DATASETS.build(dict(type='AudioVisualDataset', ann_file=ann,
                                **common))
    by_id = {files.get_data_info(i)['video_id']: i
             for i in range(len(files))}
    shards = DATASETS.build(dict(type='ShardedAVDataset', batch_size=1,
                                 index_file=str(out / 'index.json'),
                                 **common))
    seen = 0
    for sample in shards:
        reference = files[by_id[sample['data_samples'].video_id]]
        for key in ('audio', 'imgs'):
            assert torch.equal(sample['inputs'][key],
                               reference['inputs'][key])
        assert torch.equal(sample['data_samples'].gt_labels.item,
                           reference['data_samples'].gt_labels.item)
        seen += 1
    assert seen == len(entries)


def test_videos_and_bad_clips_are_listed(toy, tmp_path, mmaction_scope,
                                         capsys):
    videos = sorted(glob.glob(osp.join(toy, 'videos', '*.mp4')))[:2]
    (tmp_path / 'notes.mp4').write_text('not a video')
    listing = tmp_path / 'list.txt'
    listing.write_text('\n'.join(
        [f'{videos[0]} /toy/c00', f'{tmp_path}/notes.mp4 /toy/c00',
         f'{tmp_path}/gone.mp4 /toy/c01', f'{videos[1]} /toy/c01']) + '\n')
    out = tmp_path / 'shards'
    assert run(listing, '--out-dir', out, '--size', 32) == 1
    # (written in a shuffled order, the failures listed in the list's)
    failures = json.loads((out / 'shard_failures.json').read_text())
    assert [f['video_id'] for f in failures] == ['notes', 'gone']
    assert 'file not found' in failures[1]['reason']
    assert 'notes.mp4' in capsys.readouterr().out
    index = load_index(str(out / 'index.json'))
    assert index['num_samples'] == 2
    sample = members(str(out / index['shards'][0]['url']))[0]
    assert sorted(k for k in sample if k.startswith('frame_')) == \
        [f'frame_{i}.jpg' for i in range(10)]
    dataset = DATASETS.build(dict(
        type='ShardedAVDataset', index_file=str(out / 'index.json'),
        label_csv=osp.join(toy, 'class_labels_indices.csv'),
        multi_label=False, batch_size=1,
        pipeline=[dict(type='LoadAudioWaveform'),
                  dict(type='SampleAVFrames', mode='all'),
                  dict(type='LoadAVFrames')]))
    loaded = list(dataset)
    assert [r['imgs'][0].shape for r in loaded] == [(32, 32, 3)] * 2


def test_shard_bytes_close_shards_before_the_limit(toy, tmp_path):
    out = tmp_path / 'shards'
    ann = osp.join(toy, 'pretrain.json')
    sizes = [osp.getsize(p) for p in glob.glob(osp.join(toy, 'audio', '*'))]
    limit = int(2.5 * max(sizes))
    assert run(ann, '--out-dir', out, '--shard-size', 100, '--shard-bytes',
               limit) == 0
    index = load_index(str(out / 'index.json'))
    assert len(index['shards']) > 1
    assert all(s['bytes'] <= limit + 10240 for s in index['shards'])


def test_a_stopped_run_continues_and_keeps_finished_shards(toy, tmp_path):
    out = tmp_path / 'shards'
    ann = osp.join(toy, 'pretrain.json')
    assert run(ann, '--out-dir', out, '--shard-size', 1) == 0
    done = json.loads((out / 'index.json').read_text())
    # As if stopped while writing the third shard:
    stopped = dict(done, complete=False, shards=done['shards'][:2],
                   next_item=2,
                   num_samples=sum(s['num_samples']
                                   for s in done['shards'][:2]))
    (out / 'index.json').write_text(json.dumps(stopped))
    os.remove(out / done['shards'][2]['url'])
    (out / 'shard-000002.tar.tmp').write_bytes(b'half a shard')
    kept = {name: os.stat(out / name).st_mtime_ns
            for name in ('shard-000000.tar', 'shard-000001.tar')}
    assert run(ann, '--out-dir', out, '--shard-size', 1) == 0
    assert json.loads((out / 'index.json').read_text()) == done
    assert not (out / 'shard-000002.tar.tmp').exists()
    assert {name: os.stat(out / name).st_mtime_ns for name in kept} == kept
    with pytest.raises(SystemExit, match='other options'):
        run(ann, '--out-dir', out, '--shard-size', 2)
