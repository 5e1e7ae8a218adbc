"""Exact resume with data loader workers: the real toy configs (2
persistent workers, shuffling, validation in between), trained 2 epochs
uninterrupted, and trained again but killed with SIGKILL after epoch 1's
checkpoint and resumed with ``--resume``: the weights and the optimizer
state at the end of epoch 2 are bit-identical. Pre-training: masking, frame
choice and noise; fine-tuning: also mixup and SpecAugment, class-balanced
sampling (with repeated draws)."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from cavmae_mm.utils import load_checkpoint_safe
from .tool_utils import ROOT, TOY_FINETUNE, TOY_PRETRAIN


def toy_config(toy_root, path, tmp_path, **extra):
    """``path`` on ``toy_root`` with its own data loaders (workers kept),
    2 epochs, a checkpoint per epoch and validation after epoch 1."""
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = toy_root
    assert cfg.train_dataloader.num_workers == 2
    assert cfg.train_dataloader.persistent_workers
    cfg.train_cfg.update(max_epochs=2, val_begin=1, val_interval=1)
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.merge_from_dict(extra)
    out = str(tmp_path / f'{len(os.listdir(tmp_path))}.py')
    cfg.dump(out)
    return out


def train(config, work_dir, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(work_dir), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def assert_ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def tensors(tree, prefix=''):
    """The tensors of a nested dict/list, by path."""
    if isinstance(tree, torch.Tensor):
        return {prefix: tree}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, (list, tuple)) else ()
    found = {}
    for key, value in items:
        found.update(tensors(value, f'{prefix}/{key}'))
    return found


def assert_same_training_state(path_a, path_b):
    a, b = load_checkpoint_safe(path_a), load_checkpoint_safe(path_b)
    weights_a, weights_b = a['state_dict'], b['state_dict']
    assert weights_a.keys() == weights_b.keys()
    differ = [k for k in weights_a if not torch.equal(weights_a[k],
                                                      weights_b[k])]
    assert not differ, \
        f'{len(differ)} of {len(weights_a)} differ, e.g. {differ[:3]}'
    state_a, state_b = tensors(a['optimizer']), tensors(b['optimizer'])
    assert state_a.keys() == state_b.keys() and len(state_a) > 0
    differ = [k for k in state_a if not torch.equal(state_a[k], state_b[k])]
    assert not differ, f'optimizer: {len(differ)} of {len(state_a)} differ'
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2


# Fine-tuning on the 4 classes of toy_root: batches of 4 (the 16 toy clips
# make 4 steps an epoch) drawn by the class-balanced sampler of the AudioSet
# recipes.
FINETUNE = {
    'model.cls_head.num_classes': 4,
    'train_dataloader.batch_size': 4,
    'train_dataloader.sampler': dict(_delete_=True,
                                     type='ClassBalancedSampler'),
}


@pytest.mark.parametrize('path,extra', [(TOY_PRETRAIN, {}),
                                        (TOY_FINETUNE, FINETUNE)],
                         ids=['pretrain', 'finetune'])
def test_resumed_after_sigkill_is_exact_with_workers(toy_root, tmp_path,
                                                     path, extra):
    config = toy_config(toy_root, path, tmp_path, **extra)
    assert_ok(train(config, tmp_path / 'full'))

    killed = toy_config(
        toy_root, path, tmp_path,
        custom_imports=dict(imports=['tests.tools.sigkill_hook']),
        custom_hooks=Config.fromfile(path).custom_hooks +
        [dict(type='SigkillAfterEpoch', epoch=1)], **extra)
    proc = train(killed, tmp_path / 'part')
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'part' / 'epoch_1.pth')
    assert not osp.exists(tmp_path / 'part' / 'epoch_2.pth')
    proc = train(config, tmp_path / 'part', '--resume')
    assert_ok(proc)
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert_same_training_state(tmp_path / 'full' / 'epoch_2.pth',
                               tmp_path / 'part' / 'epoch_2.pth')
