"""ShardedAVDataset through PyTorch's DataLoader with 2 workers: each
sample once per epoch, the epoch length, a resumed epoch, a truncated
shard, class-balanced repeats, the transforms' results."""
import os

import numpy as np
import pytest
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from cavmae_mm.datasets import BadSampleError
from cavmae_mm.datasets.shards.balance import repeat_count
from mmaction.registry import DATASETS
from .shard_utils import clip_id, dataset_cfg, write_shards

SIZES = [5, 4, 6, 3, 5]  # 23 samples


def build(index, batch_size=2, **kwargs):
    return DATASETS.build(dataset_cfg(index, batch_size, **kwargs))


def batches(dataset, workers=2, epoch=0, skip=0, seed=5):
    dataset.set_epoch(seed, epoch, skip)
    loader = DataLoader(dataset, batch_size=dataset.batch_size,
                        num_workers=workers, collate_fn=pseudo_collate)
    return [list(batch['data_samples']['video_id'])
            for batch in loader]


@pytest.fixture
def index(tmp_path, mmaction_scope):
    return write_shards(str(tmp_path), SIZES)


def test_each_sample_once_per_epoch_in_whole_batches(index):
    dataset = build(index, batch_size=2)
    assert len(dataset) == 22  # 23 // 2 batches of 2
    for epoch in (0, 1):
        got = batches(dataset, epoch=epoch)
        assert len(got) == 11 and all(len(b) == 2 for b in got)
        ids = [i for b in got for i in b]
        assert len(set(ids)) == 22  # once each; one sample left out
        assert set(ids) <= {clip_id(n) for n in range(23)}
    assert batches(dataset, epoch=0) != batches(dataset, epoch=1)
    assert batches(dataset, epoch=1) == batches(dataset, epoch=1)


def test_samples_carry_labels_and_per_position_seeds(index):
    dataset = build(index, batch_size=2)
    dataset.set_epoch(5, 0)
    assert {s['data_samples']['sample_seed'] for s in dataset} == {None}
    dataset.set_sample_seed(5, 0)
    samples = list(dataset)
    seeds = [s['data_samples']['sample_seed'] for s in samples]
    assert len(set(seeds)) == len(seeds)
    for sample in samples:
        number = int(sample['data_samples']['video_id'][4:7])
        assert sample['data_samples']['label'] == number % 3
        assert sample['inputs'].item() == pytest.approx(number / 1000,
                                                        abs=1e-4)


@pytest.mark.parametrize('skip', [1, 4, 7, 11])
def test_resumed_epoch_continues_the_sequence(index, skip):
    dataset = build(index, batch_size=2)
    full = batches(dataset, epoch=1)
    assert batches(dataset, epoch=1, skip=skip) == full[skip:]


def test_truncated_shard_is_reported_and_topped_up(index, logged):
    shard = os.path.join(os.path.dirname(index), 'shard-000002.tar')
    with open(shard, 'rb') as f:
        data = f.read()
    with open(shard, 'wb') as f:
        f.write(data[:len(data) // 2])  # cut in the middle of sample 3
    dataset = build(index, batch_size=2)
    got = batches(dataset, workers=2)
    assert len(got) == 11 and all(len(b) == 2 for b in got)
    assert dataset.bad_sample_counter.total >= 1
    paths = [dataset.sample_path(i)
             for i in dataset.bad_sample_counter.entries()]
    assert any('shard-000002.tar' in p for p in paths), paths
    ids = [i for b in got for i in b]
    assert set(ids) <= {clip_id(n) for n in range(23)}
    lost = {clip_id(n) for n in range(9, 15)} - set(ids)
    assert lost  # the cut-off samples are missing, the epoch full anyway
    # In this process (its log lines are visible here), a fresh counter:
    assert len(batches(build(index, batch_size=2), workers=0)) == 11
    assert any('shard-000002.tar): shard ends after 4 of 6 samples' in m
               for m in logged())
    with pytest.raises(BadSampleError, match='shard-000002.tar'):
        list(build(index, batch_size=2, on_error='raise'))


def test_class_balanced_repeats_follow_the_weights(tmp_path, mmaction_scope):
    # 20 samples of class a, 4 of b, 0 of c: class weights 1000/20.01 and
    # 1000/4.01, so each b sample is expected ~5x as often as each a one.
    labels = ['/t/a'] * 20 + ['/t/b'] * 4
    index = write_shards(str(tmp_path), [6, 6, 6, 6], labels=labels)
    dataset = build(index, batch_size=4, balance='class',
                    shuffle_buffer=32, shuffle_initial=32)
    counts = {}
    for epoch in range(8):
        for batch in batches(dataset, workers=2, epoch=epoch):
            for video_id in batch:
                counts[video_id] = counts.get(video_id, 0) + 1
    a = np.mean([counts.get(clip_id(n), 0) for n in range(20)])
    b = np.mean([counts.get(clip_id(n), 0) for n in range(20, 24)])
    assert a * 20 + b * 4 == 8 * 24  # 6 batches of 4 per epoch
    assert 3.5 < b / a < 7.5  # expected 4.99


def test_repeat_count_is_unbiased():
    counts = [repeat_count(1.3, 10, 10., seed) for seed in range(4000)]
    assert set(counts) == {1, 2}
    assert np.mean(counts) == pytest.approx(1.3, abs=0.03)
