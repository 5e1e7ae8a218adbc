"""ShardStreamHook with MMEngine's runner over 2 gloo DDP processes with 2
data loader workers each, on real tar shards: every sample once per epoch
across ranks and workers, the same number of iterations on every rank,
and a run interrupted mid-epoch and resumed sees the same samples (and
per-sample seeds) in the same order as an uninterrupted one."""
import json
import os
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.hooks import Hook
from mmengine.model import BaseModel

from ...datasets.shards.shard_utils import dataset_cfg, write_shards

SIZES = [5, 4, 6, 3, 5, 7]  # 30 samples: 7 iterations x 2 ranks x 2
ITERS, EPOCHS = 7, 2


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=(self.weight * torch.stack(inputs)).mean())


class RecordIds(Hook):
    """Appends each iteration's clip ids and seeds to a file per rank."""
    priority = 'LOWEST'

    def __init__(self, path):
        self.path = path

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        samples = data_batch['data_samples']
        with open(self.path, 'a') as f:
            f.write(json.dumps(dict(
                epoch=runner.epoch, iter=runner.iter,
                ids=list(samples['video_id']),
                seeds=[int(s) for s in samples['sample_seed']])) + '\n')


class Interrupted(Exception):
    pass


class InterruptAt(Hook):
    """Stops the run (as a crash) after ``iters`` iterations."""
    priority = 'LOWEST'

    def __init__(self, iters):
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 >= self.iters:
            raise Interrupted


def _run(rank, port, index, work_dir, record, interrupt, resume):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    from mmengine.config import Config
    from mmengine.runner import Runner
    import cavmae_mm  # noqa: F401
    hooks = [dict(type='ShardStreamHook'),
             RecordIds(osp.join(record, f'rank{rank}.jsonl'))]
    if interrupt:
        hooks.append(InterruptAt(interrupt))
    runner = Runner(
        model=TinyModel(), work_dir=work_dir,
        train_dataloader=dict(
            batch_size=2, num_workers=2, persistent_workers=True,
            sampler=None, collate_fn=dict(type='pseudo_collate'),
            dataset=dataset_cfg(index, 2)),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=hooks,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3,
                                           by_epoch=False)),
        launcher='pytorch',
        cfg=Config(dict(model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', device_ids=None,
            broadcast_buffers=False))),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=11), resume=resume, default_scope='mmaction',
        experiment_name=f'shards_{osp.basename(record)}')
    try:
        runner.train()
    except Interrupted:
        pass
    dist.barrier()
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _train(index, work_dir, record, interrupt=0, resume=False):
    os.makedirs(record, exist_ok=True)
    mp.spawn(_run, args=(_free_port(), index, work_dir, record, interrupt,
                         resume), nprocs=2)
    records = []
    for rank in range(2):
        with open(osp.join(record, f'rank{rank}.jsonl')) as f:
            records.append([json.loads(line) for line in f])
    return records


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('shard_runs')
    index = write_shards(str(root), SIZES)
    full = _train(index, str(root / 'full'), str(root / 'rec_full'))
    # Checkpoints every 3 iterations; stopped after 10 (the 3rd of epoch
    # 2), resumed from iteration 9.
    cut = _train(index, str(root / 'cut'), str(root / 'rec_cut'),
                 interrupt=10)
    resumed = _train(index, str(root / 'cut'), str(root / 'rec_resumed'),
                     resume=True)
    return full, cut, resumed


def test_each_sample_once_per_epoch_over_ranks_and_workers(runs):
    full, _, _ = runs
    for epoch in range(EPOCHS):
        per_rank = [[r for r in rank if r['epoch'] == epoch] for rank in full]
        assert [len(r) for r in per_rank] == [ITERS, ITERS]
        ids = [i for rank in per_rank for r in rank for i in r['ids']]
        assert len(ids) == len(set(ids)) == 28  # 30 - (30 mod 4) dropped
        seeds = [s for rank in per_rank for r in rank for s in r['seeds']]
        assert len(set(seeds)) == 28
    first = {i for rank in full for r in rank if r['epoch'] == 0
             for i in r['ids']}
    second = [i for rank in full for r in rank if r['epoch'] == 1
              for i in r['ids']]
    assert [i for i in second if i in first] != sorted(first)  # reshuffled


def test_resumed_mid_epoch_run_sees_the_same_sequence(runs):
    full, cut, resumed = runs
    for rank in range(2):
        assert len(cut[rank]) == 10
        assert [r['iter'] for r in resumed[rank]] == \
            list(range(9, EPOCHS * ITERS))
        joined = cut[rank][:9] + resumed[rank]
        assert [(r['ids'], r['seeds']) for r in joined] == \
            [(r['ids'], r['seeds']) for r in full[rank]]
