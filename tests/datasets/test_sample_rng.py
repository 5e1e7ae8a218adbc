"""Per-sample random streams (cavmae_mm/datasets/sample_rng.py): seeds from
(seed, epoch, index) that reach persistent data loader workers, and every
random transform's draw a function of the sample's seed alone."""
import logging
import os
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset, RepeatDataset
from torch.utils.data import DataLoader, Dataset

from cavmae_mm.datasets import AudioVisualDataset
from cavmae_mm.datasets.sample_rng import (SEED_KEY, SampleIndex,
                                           SampleSeeds, SeededSamples,
                                           derived_seed, sample_python_random,
                                           sample_random_state, sample_seed,
                                           sample_torch_generator,
                                           set_sample_seeds)
from cavmae_mm.datasets.transforms import (AVMixup, FbankNoise,
                                           SampleAVFrames, SpecAugment)
from .test_av_dataset import build, pipeline, toy  # noqa: F401


def test_seeds_of_seed_epoch_index():
    seeds = {sample_seed(s, e, i) for s in (0, 1) for e in (0, 1)
             for i in (0, 1)}
    assert len(seeds) == 8 and all(0 <= s < 2**63 for s in seeds)
    assert sample_seed(0, 1, 2) == sample_seed(0, 1, 2)
    assert derived_seed(5, 'a') != derived_seed(5, 'b') != 5


def test_unseeded_samples_draw_from_the_global_generators():
    for results in ({}, {SEED_KEY: None}, None):
        assert sample_random_state(results, 'x') is np.random.mtrand._rand
        assert sample_torch_generator(results, 'x') is None
        assert sample_python_random(results, 'x') is random._inst


def test_streams_are_reproducible_and_independent():
    results = {SEED_KEY: sample_seed(0, 0, 3)}
    draws = [(sample_random_state(results, s).rand(),
              float(torch.rand(1, generator=sample_torch_generator(
                  results, s))),
              sample_python_random(results, s).random())
             for s in ('a', 'a', 'b')]
    assert draws[0] == draws[1]
    assert all(x != y for x, y in zip(draws[0], draws[2]))


class SeedEcho(SeededSamples, Dataset):
    """Each item: the worker's pid and the sample's seed."""

    def __init__(self):
        self.sample_seeds = SampleSeeds()

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return os.getpid(), self.sample_seeds.seed_for(index)


def test_the_epoch_reaches_persistent_workers():
    dataset = SeedEcho()
    order = [SampleIndex(i, 1) if i == 5 else i for i in range(6)]
    loader = DataLoader(dataset, batch_size=2, num_workers=2,
                        persistent_workers=True, sampler=order,
                        collate_fn=list)
    assert all(seed is None for batch in loader for _, seed in batch)
    workers = set()
    for epoch in (1, 2):
        dataset.set_sample_seed(7, epoch)  # after the workers started
        items = [item for batch in loader for item in batch]
        workers.update(pid for pid, _ in items)
        expected = [sample_seed(7, epoch, i) for i in range(6)]
        expected[5] = derived_seed(expected[5], 'repeat1')
        assert [seed for _, seed in items] == expected
    assert len(workers) == 2 and os.getpid() not in workers
    dataset.clear_sample_seed()
    assert all(seed is None for batch in loader for _, seed in batch)


def test_set_sample_seeds_walks_the_wrappers(mmaction_scope, logged):
    def lazy():
        return AudioVisualDataset('x.json', pipeline=[], lazy_init=True,
                                  metainfo=dict(classes=('a', )))

    a, b, c = lazy(), lazy(), lazy()
    concat = ConcatDataset([a, b], lazy_init=True)
    assert set_sample_seeds(concat, 3, 1) == [a, b]
    assert a.sample_seeds.seed_for(4) == sample_seed(3, 1, 4)
    assert b.sample_seeds.seed_for(4) == derived_seed(sample_seed(3, 1, 4),
                                                      'dataset1')
    # Repeated indices would share their augmentation: left unseeded.
    c.set_sample_seed(3, 0)
    assert set_sample_seeds(RepeatDataset(c, 2, lazy_init=True), 3, 2) == []
    assert c.sample_seeds.seed_for(0) is None
    assert any('RepeatDataset' in m for m in logged(logging.WARNING))
    assert set_sample_seeds(a, None, 0) == []
    assert a.sample_seeds.seed_for(0) is None


def seeded(index, **results):
    return dict(results, **{SEED_KEY: sample_seed(0, 1, index)})


def noisy_globals():
    """Move the global generators on: seeded draws must not care."""
    random.random(), np.random.rand(), torch.rand(3)


@pytest.mark.parametrize('name', ['frames', 'spec_augment', 'noise',
                                  'mixup'])
def test_each_random_transform_depends_only_on_the_seed(name):
    audio = torch.randn(64, 16)
    waveform = np.random.randn(800).astype(np.float32)

    def run(index):
        noisy_globals()
        if name == 'frames':
            return SampleAVFrames('random')(seeded(index))['frame_positions']
        if name == 'spec_augment':
            return SpecAugment(8, 16)(seeded(index, audio=audio))['audio']
        if name == 'noise':
            return FbankNoise()(seeded(index, audio=audio))['audio']
        mixup = AVMixup(prob=0.5)
        results = seeded(index, waveform=waveform, label=1, num_classes=3)
        partners = mixup.get_indexes(range(100), results)
        results['mix_results'] = [
            dict(waveform=waveform[::-1].copy(), label=2)
            for _ in partners]
        out = mixup(results)
        return partners, out['label'], out['waveform']

    def same(x, y):
        if isinstance(x, (tuple, list)):
            return len(x) == len(y) and all(map(same, x, y))
        return np.array_equal(np.asarray(x), np.asarray(y))

    outputs = [run(index) for index in range(8)]
    assert all(same(run(index), outputs[index]) for index in range(8))
    assert not all(same(outputs[0], other) for other in outputs[1:])


def test_a_sample_is_the_same_in_any_order_and_worker(toy):  # noqa: F811
    """Mixup (partner seeds derived from the sample's), frame choice and
    fbank through the dataset: the same in the main process in two orders
    and in 2 data loader workers."""
    dataset = build(toy['reference'], toy['label_csv'],
                    pipeline=pipeline(mixup=1.0))
    dataset.set_sample_seed(11, 3)

    def key(sample):
        meta = sample['data_samples']
        return (meta.mix_video_id, meta.mixup_lambda,
                sample['inputs']['audio'], sample['inputs']['imgs'])

    forward = [key(dataset[i]) for i in range(len(dataset))]
    noisy_globals()
    backward = [key(dataset[i]) for i in reversed(range(len(dataset)))]
    loader = DataLoader(dataset, batch_size=2, num_workers=2,
                        collate_fn=list)
    workers = [key(s) for batch in loader for s in batch]
    for a, b, c in zip(forward, backward[::-1], workers):
        assert a[:2] == b[:2] == c[:2]
        for x, y, z in zip(a[2:], b[2:], c[2:]):
            assert torch.equal(x, y) and torch.equal(x, z)
    assert len({m[1] for m in forward}) == len(forward)  # per-sample draws
