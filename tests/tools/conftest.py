"""Data and checkpoints the tool tests share, each made once per test
session: a tiny toy data set with tiny random-weight checkpoints (the user
tools), and a larger toy data set (tools/train.py and tools/test.py)."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS
from .tool_utils import (ROOT, TINY_FINETUNE, TINY_PRETRAIN, TOY_PRETRAIN,
                         load_tool)

TOY_DATA = osp.join(ROOT, 'configs/_base_/datasets/toy_av.py')
AV_PIPELINES = osp.join(ROOT, 'configs/_base_/datasets/av_pipelines.py')
NUM_TOY_CLASSES = 3


def save_random_checkpoint(config, path, seed=0, **meta):
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path)


@pytest.fixture(scope='session')
def toy(tmp_path_factory):
    """The data engineer's toy generator at a tiny size: 3 classes x (1
    train + 2 val) clips of 2 s at 64 x 48, pre-extracted too."""
    root = str(tmp_path_factory.mktemp('toy_av'))
    make_toy = load_tool('data/make_toy_av')
    make_toy.main([
        '--out-dir', root, '--num-classes', str(NUM_TOY_CLASSES),
        '--train-per-class', '1', '--val-per-class', '2',
        '--retrieval-per-class', '2', '--duration', '2', '--width', '64',
        '--height', '48', '--fps', '5', '--workers', '1', '--extract',
        '--no-progress'
    ])
    return root


@pytest.fixture(scope='session')
def ckpts(tmp_path_factory):
    """Tiny checkpoints: pre-training, an AudioSet-sized (527-class)
    recognizer, and configs + a recognizer for the toy classes. The tiny
    models' configs get the full-size evaluation pipeline as their test
    pipeline, which the tools build their inputs from."""
    out = tmp_path_factory.mktemp('ckpts')
    tiny_configs = {}
    for name, model_config in (('tiny_ft_config', TINY_FINETUNE),
                               ('tiny_pt_config', TINY_PRETRAIN)):
        path = out / f'{name}.py'
        path.write_text(f'_base_ = [{model_config!r}, {AV_PIPELINES!r}]\n'
                        'test_pipeline = {{_base_.eval_pipeline}}\n')
        tiny_configs[name] = str(path)
    toy_ft_config = out / 'toy_finetune.py'
    toy_ft_config.write_text(
        f'_base_ = [{TINY_FINETUNE!r}, {TOY_DATA!r}]\n'
        'model = dict(backbone=dict(audio_length={{_base_.target_length}}, '
        'img_size={{_base_.img_size}}), '
        f'cls_head=dict(num_classes={NUM_TOY_CLASSES}, '
        "multi_class=False, loss_cls=dict(type='CrossEntropyLoss'), "
        "average_clips='prob'))\n"
        'test_dataloader = {{_base_.finetune_val_dataloader}}\n'
        "test_evaluator = dict(type='AccMetric')\n"
        "test_cfg = dict(type='TestLoop')\n")
    toy_pt_config = out / 'toy_pretrain.py'
    toy_pt_config.write_text(f'_base_ = [{TOY_PRETRAIN!r}]\n')
    return dict(
        **tiny_configs,
        pretrain=save_random_checkpoint(TINY_PRETRAIN, out / 'pt.pth'),
        audioset=save_random_checkpoint(TINY_FINETUNE, out / 'as.pth'),
        toy_ft_config=str(toy_ft_config),
        toy_pt_config=str(toy_pt_config),
        # sized like the toy configs (their frames are smaller)
        toy_pt=save_random_checkpoint(str(toy_pt_config), out / 'toy_pt.pth'),
        toy_ft=save_random_checkpoint(
            str(toy_ft_config), out / 'toy_ft.pth', seed=1,
            dataset_meta=dict(classes=[f'toy class {i}'
                                       for i in range(NUM_TOY_CLASSES)])),
        toy_ft_b=save_random_checkpoint(str(toy_ft_config),
                                        out / 'toy_ft_b.pth', seed=2))


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """4 classes x (4 train + 2 val) clips of the demo's format."""
    root = str(tmp_path_factory.mktemp('toy_av'))
    subprocess.run([
        sys.executable, 'tools/data/make_toy_av.py', '--out-dir', root,
        '--num-classes', '4', '--train-per-class', '4', '--val-per-class',
        '2', '--retrieval-per-class', '2', '--duration', '4', '--width',
        '160', '--height', '120', '--extract', '--workers', '2',
        '--no-progress'
    ], check=True, cwd=ROOT, capture_output=True)
    return root


@pytest.fixture(scope='session')
def sync_toy_root(tmp_path_factory):
    """The sync toy variant in the demo's format, small: 4 classes x (4
    train + 2 val) clips, 2 per class for retrieval, 8 frame positions."""
    root = str(tmp_path_factory.mktemp('toy_av_sync'))
    subprocess.run([
        sys.executable, 'tools/data/make_toy_av.py', '--out-dir', root,
        '--variant', 'sync', '--num-classes', '4', '--train-per-class', '4',
        '--val-per-class', '2', '--retrieval-per-class', '2', '--duration',
        '4', '--width', '160', '--height', '120', '--extract', '--workers',
        '2', '--no-progress'
    ], check=True, cwd=ROOT, capture_output=True)
    return root
