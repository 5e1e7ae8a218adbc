"""tools/train.py and tools/dist_train.sh on a small generated toy data
set: argument merging, 2-process CPU DDP with the global contrastive batch,
FSDP, exact resume (then tools/test.py with --dump and
tools/average_checkpoints.py on the result), and the MMAction2-recognizer
configs on the real pipeline."""
import glob
import json
import os
import os.path as osp
import pickle
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import cavmae_mm  # noqa: F401
from cavmae_mm.utils import get_state_dict, load_checkpoint_safe
from mmaction.registry import DATASETS, MODELS
from .tool_utils import (ROOT, TOY_PRETRAIN, TOY_RETRIEVAL, load_tool,
                         small_config)

sys.path.insert(0, osp.join(ROOT, 'tools'))
import average_checkpoints  # noqa: E402
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

sys.path.pop(0)
TOY_PRETRAIN_SHARDS = osp.join(ROOT, 'configs',
                               'cavmae_toy_pretrain_shards.py')


# ------------------------------------------------------------ arguments --
def merged(argv, config=TOY_PRETRAIN):
    args = train_tool.parse_args([config] + argv)
    return train_tool.merge_args(Config.fromfile(config), args)


def test_amp_selects_the_mixed_precision_wrapper():
    assert merged([]).optim_wrapper.get('type', 'OptimWrapper') == \
        'OptimWrapper'
    cfg = merged(['--amp'])
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper  # fp16 on CUDA, bf16 on CPU
    cfg = merged(['--amp', '--amp-dtype', 'bfloat16'])
    assert cfg.optim_wrapper.dtype == 'bfloat16'


def test_amp_refuses_other_wrappers():
    args = train_tool.parse_args([TOY_PRETRAIN, '--amp'])
    cfg = Config.fromfile(TOY_PRETRAIN)
    cfg.optim_wrapper.type = 'SomeOtherWrapper'
    with pytest.raises(ValueError, match='--amp'):
        train_tool.merge_args(cfg, args)


def test_validation_progress_hook_once_unless_no_progress_or_validate():
    def progress_hooks(argv):
        cfg = merged(argv)
        return [h['type'] for h in cfg.get('custom_hooks', [])
                ].count('ProgressHook')

    assert progress_hooks([]) == 1
    args = train_tool.parse_args([TOY_PRETRAIN])
    cfg = train_tool.merge_args(merged([]), args)  # already there: once
    assert [h['type'] for h in cfg.custom_hooks].count('ProgressHook') == 1
    assert progress_hooks(['--no-progress']) == 0
    assert progress_hooks(['--no-validate']) == 0


def test_resume_seed_validation_and_tensorboard_flags(tmp_path):
    cfg = merged(['--resume'])
    assert cfg.resume is True and cfg.load_from is None
    cfg = merged(['--resume', 'x.pth', '--work-dir', str(tmp_path)])
    assert (cfg.resume, cfg.load_from, cfg.work_dir) == (True, 'x.pth',
                                                         str(tmp_path))
    assert merged([]).randomness.seed == 0  # the config's
    assert merged(['--seed', '5']).randomness.seed == 5
    cfg = merged(['--no-validate', '--tensorboard',
                  '--cfg-options', 'train_cfg.max_epochs=3'])
    assert cfg.val_dataloader is None and cfg.train_cfg.max_epochs == 3
    assert {'type': 'TensorboardVisBackend'} in cfg.visualizer.vis_backends
    assert merged([]).work_dir.endswith('work_dirs/cavmae_toy_pretrain')


# ------------------------------------------------------------ toy data --
# (toy_root: tests/tools/conftest.py, small_config: tests/tools/tool_utils.py)
def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def scalars(work_dir):
    """The LocalVisBackend's scalars.json records of a run."""
    runs = [d for d in sorted(os.listdir(work_dir))
            if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json'))]
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


def contrastive_loss(cfg, checkpoint, indices):
    """``loss_c`` of one batch of the given samples, in this process."""
    model = MODELS.build(cfg.model)
    model.load_state_dict(get_state_dict(load_checkpoint_safe(checkpoint)))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    data = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in indices]), True)
    with torch.no_grad():
        return model.loss(data['inputs'])['loss_c'].item()


def test_two_cpu_processes_use_the_global_contrastive_batch(
        toy_root, tmp_path):
    """tools/dist_train.sh with 2 gloo processes: the logged loss_c of rank
    0 equals one process's loss on both ranks' samples (8 clips), not on
    its own 4."""
    cfg = small_config(toy_root, sampler=dict(type='DefaultSampler',
                                              shuffle=False))
    # Deterministic inputs: evaluation pipeline, no masking (the masks'
    # random draws would differ between the runs), hence no reconstruction
    # loss (it is taken over masked patches) and no decoder.
    cfg.train_dataloader.dataset.pipeline = cfg.val_dataloader.dataset.pipeline
    cfg.model.backbone.update(mask_ratio_a=0., mask_ratio_v=0.)
    cfg.model.neck = None
    cfg.model.head.loss_mae = None
    cfg.find_unused_parameters = True  # the joint path is not run
    cfg.train_cfg.max_epochs = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    init = str(tmp_path / 'init.pth')
    torch.save(dict(state_dict=model.state_dict()), init)
    cfg.load_from = init
    cfg.dump(str(tmp_path / 'ddp.py'))

    work_dir = str(tmp_path / 'work')
    output = run_dist_train(str(tmp_path / 'ddp.py'), work_dir)
    assert 'Distributed training: True' in output
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    records = [r for r in scalars(work_dir) if 'loss_c' in r]
    assert [r['step'] for r in records] == [1, 2]
    assert all(r['loss'] == r['loss'] for r in records)  # not NaN
    first = records[0]

    # DefaultSampler(shuffle=False): rank r takes samples r, r + 2, ...
    rank0, rank1 = [0, 2, 4, 6], [1, 3, 5, 7]
    global_loss = contrastive_loss(cfg, init, rank0 + rank1)
    local_loss = contrastive_loss(cfg, init, rank0)
    assert first['loss_c'] == pytest.approx(global_loss, rel=1e-4)
    assert abs(local_loss - global_loss) > 1e-2 * abs(global_loss)


def run_dist_train(config, work_dir, processes=2):
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable,
               OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, str(processes),
         '--work-dir', work_dir],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_fsdp_with_the_flexible_runner_on_two_cpu_processes(
        toy_root, tmp_path):
    """FSDPStrategy (each transformer block sharded) trains, validates and
    writes a full checkpoint that the plain model loads."""
    cfg = small_config(toy_root)
    cfg.runner_type = 'FlexibleRunner'
    cfg.strategy = Config.fromfile(
        osp.join(ROOT, 'configs', 'cavmae_pretrain_fsdp.py')).strategy
    cfg.strategy.model_wrapper.pop('mixed_precision')  # fp16: GPU only
    cfg.train_cfg.update(max_epochs=2, val_begin=2, val_interval=1)
    cfg.dump(str(tmp_path / 'fsdp.py'))
    work_dir = str(tmp_path / 'work')
    run_dist_train(str(tmp_path / 'fsdp.py'), work_dir)
    records = [r for r in scalars(work_dir) if 'loss' in r]
    assert len(records) == 4 and all(r['loss'] == r['loss'] for r in records)
    assert any('retrieval/a2v_R@1' in r for r in scalars(work_dir))
    model = MODELS.build(cfg.model)
    state = get_state_dict(load_checkpoint_safe(
        osp.join(work_dir, 'epoch_2.pth')))
    model.load_state_dict(state, strict=True)


def test_resume_is_exact_on_toy_data(toy_root, tmp_path):
    """Stopped after epoch 1 and resumed == 2 uninterrupted epochs, with
    masking, augmentation, shuffling and validation in between."""
    cfg = small_config(toy_root)
    cfg.train_cfg.update(val_begin=1, val_interval=1)
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    path = str(tmp_path / 'resume.py')
    cfg.dump(path)

    def train(work_dir, epochs, *extra):
        train_tool.main([
            path, '--work-dir', str(tmp_path / work_dir), '--cfg-options',
            f'train_cfg.max_epochs={epochs}',
            f'experiment_name={work_dir}_{epochs}_{len(extra)}'
        ] + list(extra))

    train('full', 2)
    train('part', 1)
    train('part', 2, '--resume')
    full = get_state_dict(load_checkpoint_safe(
        str(tmp_path / 'full' / 'epoch_2.pth')))
    resumed = get_state_dict(load_checkpoint_safe(
        str(tmp_path / 'part' / 'epoch_2.pth')))
    assert full.keys() == resumed.keys()
    for key in full:
        assert torch.equal(full[key], resumed[key]), key

    # tools/test.py on the result: retrieval metrics and a --dump file.
    dump = str(tmp_path / 'features.pkl')
    cfg = small_config(toy_root, path=TOY_RETRIEVAL)
    cfg.dump(str(tmp_path / 'retrieval.py'))
    metrics = test_tool.main([
        str(tmp_path / 'retrieval.py'),
        str(tmp_path / 'full' / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--dump', dump, '--cfg-options',
        'experiment_name=toy_retrieval_test'
    ])
    assert 0 <= metrics['retrieval/a2v_R@1'] <= 1
    assert metrics['retrieval/v2a_MdR'] >= 1
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 8 and 'audio_feature' in samples[0]

    # tools/average_checkpoints.py: the mean of epochs 1-2, evaluated.
    out = str(tmp_path / 'avg.pth')
    average_checkpoints.main([
        '--work-dir', str(tmp_path / 'full'), '--begin', '1', '--end', '2',
        '--out', out, '--config', str(tmp_path / 'retrieval.py'),
        '--cfg-options', 'experiment_name=toy_average_test'
    ])
    first = get_state_dict(load_checkpoint_safe(
        str(tmp_path / 'full' / 'epoch_1.pth')))
    averaged = get_state_dict(load_checkpoint_safe(out))
    key = 'backbone.blocks_a.0.attn.qkv.weight'
    assert torch.equal(averaged[key], (first[key] + full[key]) / 2)
    with open(str(tmp_path / 'avg_metrics.json')) as f:
        report = json.load(f)
    assert 'retrieval/a2v_R@1' in report['metrics']


@pytest.mark.parametrize('config', ['mmaction_audio_recognizer_cavmae_toy.py',
                                    'mmaction_tsn_cavmae_toy.py'])
def test_mmaction_recognizer_configs_train_on_toy_data(
        toy_root, tmp_path, config):
    cfg = small_config(toy_root, path=osp.join(ROOT, 'configs', config))
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    path = str(tmp_path / config)
    cfg.dump(path)
    train_tool.main([path, '--work-dir', str(tmp_path / 'work'),
                     '--cfg-options', f'experiment_name={config}'])
    records = scalars(str(tmp_path / 'work'))
    assert any('loss_cls' in r for r in records)
    assert any('acc/top1' in r for r in records)


@pytest.mark.parametrize('config', ['cavmae_sync_toy_pretrain.py',
                                    'cavmae_toy_pretrain_on_sync_data.py'])
def test_sync_toy_configs_train_on_sync_toy_data(
        sync_toy_root, tmp_path, config):
    """The toy comparison's pre-trainings through tools/train.py on a small
    sync toy set (--data-root): a few iterations and a validation with the
    config's metrics (frame-aggregated retrieval + alignment for Sync)."""
    cfg = small_config(sync_toy_root, path=osp.join(ROOT, 'configs', config))
    cfg.train_cfg.update(max_epochs=1, val_begin=1, val_interval=1)
    path = str(tmp_path / config)
    cfg.dump(path)
    train_tool.main([path, '--work-dir', str(tmp_path / 'work'),
                     '--data-root', sync_toy_root, '--cfg-options',
                     f'experiment_name={config}'])
    records = scalars(str(tmp_path / 'work'))
    assert [r['step'] for r in records if 'loss_c' in r] == [1, 2, 3, 4]
    assert all(r['loss'] == r['loss'] for r in records if 'loss' in r)
    [val] = [r for r in records if 'retrieval/a2v_R@1' in r]
    if config.startswith('cavmae_sync'):
        assert val['alignment/chance'] == 1 / 8
        assert 0 <= val['alignment/v2a_acc'] <= 1
    state = get_state_dict(load_checkpoint_safe(
        str(tmp_path / 'work' / 'epoch_1.pth')))
    assert ('backbone.cls_token_a' in state) == \
        config.startswith('cavmae_sync')


def test_the_log_has_the_config_once_and_no_per_parameter_lines(
        toy_root, tmp_path):
    """One tools/train.py run: the config dumped once in its log file, and
    MMEngine's initialization report (3 lines per parameter) kept for
    ``log_level='DEBUG'``."""
    cfg = small_config(toy_root)
    cfg.train_cfg.max_epochs = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    path = str(tmp_path / 'log.py')
    cfg.dump(path)

    def log_of(work_dir, *options):
        train_tool.main([path, '--work-dir', str(tmp_path / work_dir),
                         '--cfg-options', f'experiment_name={work_dir}',
                         *options])
        [log_file] = glob.glob(str(tmp_path / work_dir / '*' / '*.log'))
        with open(log_file) as f:
            return f.read()

    log = log_of('info')
    assert log.count(' - INFO - Config:\n') == 1
    assert 'Initialization information' not in log
    assert 'backbone.pos_embed_a' not in log
    assert 'torch.Size' not in log
    log = log_of('debug', 'log_level=DEBUG')
    assert log.count(' - DEBUG - Initialization of each parameter:\n') == 1
    assert 'backbone.pos_embed_a - (1, ' in log


def test_toy_pretraining_trains_from_shards(toy_root, tmp_path):
    """configs/cavmae_toy_pretrain_shards.py trains with tools/train.py
    (2 data loader workers, validation on the files) from the shards that
    tools/data/make_shards.py makes of the toy data."""
    shards = str(tmp_path / 'shards')
    make_shards = load_tool('data/make_shards')
    assert make_shards.main([osp.join(toy_root, 'pretrain.json'),
                             '--out-dir', shards, '--shard-size', '3',
                             '--no-progress']) == 0
    with open(osp.join(shards, 'index.json')) as f:
        num_samples = json.load(f)['num_samples']
    cfg = small_config(toy_root, path=TOY_PRETRAIN_SHARDS)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.train_dataloader.dataset.update(batch_size=4,
                                        index_file=shards + '/index.json')
    cfg.train_cfg.update(max_epochs=2, val_begin=2, val_interval=1)
    path = str(tmp_path / 'shards.py')
    cfg.dump(path)
    train_tool.main([path, '--work-dir', str(tmp_path / 'work'),
                     '--cfg-options', 'experiment_name=toy_shards'])
    records = scalars(str(tmp_path / 'work'))
    losses = [r for r in records if 'loss_c' in r]
    assert len(losses) == 2 * (num_samples // 4)
    assert all(r['loss'] == r['loss'] for r in losses)  # not NaN
    assert any('retrieval/a2v_R@1' in r for r in records)
