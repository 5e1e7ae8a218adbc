"""The configs: every one loads and its parts resolve; the recipes hold the
numbers of SPEC §6; the tiny and MMAction2-mixing models build and train."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope
from mmengine.structures import LabelData
from torch.utils.data import IterableDataset

import cavmae_mm  # noqa: F401
from cavmae_mm.utils.config_checks import check_data_geometry
from mmaction.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS,
                               MODELS, TRANSFORMS)
from mmaction.structures import ActionDataSample

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def load(name):
    init_default_scope('mmaction')
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_resolves(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmaction')
    assert cfg.default_scope == 'mmaction'  # MMAction2's default_runtime
    assert 'cavmae_mm' in cfg.custom_imports.imports
    assert MODELS.get(cfg.model.type) is not None
    for loader in LOADERS:
        if not cfg.get(loader):
            continue
        dataset = cfg[loader].dataset
        assert DATASETS.get(dataset.type) is not None
        if cfg[loader].sampler is None:  # a stream orders its samples
            assert issubclass(DATASETS.get(dataset.type), IterableDataset)
        else:
            assert DATA_SAMPLERS.get(cfg[loader].sampler.type) is not None
        for transform in dataset.pipeline:
            TRANSFORMS.build(transform)
    for key in ('val_evaluator', 'test_evaluator'):
        for metric in as_list(cfg.get(key) or []):
            assert METRICS.get(metric.type) is not None
    for hook in cfg.get('custom_hooks', []):
        assert HOOKS.get(hook.type) is not None
    check_data_geometry(cfg)  # the pipelines fit the model


def lr_per_epoch(cfg, epochs):
    """The learning rate of each 1-based epoch under cfg.param_scheduler."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)],
                                 lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in as_list(cfg.param_scheduler)]
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()  # after each epoch, as ParamSchedulerHook
    return lrs


def reference_lrs(base, start, step, epochs):
    """The reference: MultiStepLR(range(start, 1000, step), 0.5) stepped
    after each epoch."""
    milestones = range(start, 1000, step)
    return [base * 0.5**sum(m <= e - 1 for m in milestones)
            for e in range(1, epochs + 1)]


# SPEC §6: batch per process (x processes), epochs, lr, head multiplier,
# first halving epoch and step, weight-averaging window, sampler, loss.
RECIPES = {
    'cavmae_pretrain.py':
    dict(batch=64, procs=4, epochs=25, lr=2e-4, head=None, start=10, step=5,
         window=None, sampler='DefaultSampler'),
    'cavmae_finetune_audioset20k.py':
    dict(batch=36, procs=1, epochs=15, lr=5e-5, head=100., start=5, step=1,
         window=(3, 15), sampler='DefaultSampler', loss='BCELossWithLogits',
         classes=527),
    'cavmae_finetune_audioset2m.py':
    dict(batch=48, procs=1, epochs=10, lr=1e-5, head=50., start=2, step=1,
         window=(1, 10), sampler='ClassBalancedSampler',
         loss='BCELossWithLogits', classes=527),
    'cavmae_finetune_vggsound.py':
    dict(batch=48, procs=1, epochs=10, lr=1e-4, head=10., start=2, step=1,
         window=(3, 10), sampler='ClassBalancedSampler',
         loss='CrossEntropyLoss', classes=309),
}


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe_numbers_follow_spec(name):
    recipe, cfg = RECIPES[name], load(name)
    assert cfg.train_dataloader.batch_size * recipe['procs'] == \
        {'cavmae_pretrain.py': 256}.get(name, recipe['batch'])
    assert cfg.train_cfg.max_epochs == recipe['epochs']
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, tuple(optimizer.betas),
            optimizer.weight_decay) == ('Adam', recipe['lr'], (0.95, 0.999),
                                        5e-7)
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'  # AMP
    custom_keys = cfg.optim_wrapper.get('paramwise_cfg', {}).get(
        'custom_keys', {})
    head = custom_keys.get('cls_head', {}).get('lr_mult')
    assert head == recipe['head']
    assert lr_per_epoch(cfg, recipe['epochs']) == pytest.approx(
        reference_lrs(recipe['lr'], recipe['start'], recipe['step'],
                      recipe['epochs']))
    averaging = [h for h in cfg.custom_hooks
                 if h.type == 'WeightAveragingHook']
    window = (averaging[0].begin, averaging[0].end) if averaging else None
    assert window == recipe['window']
    assert any(h.type == 'RandomStateHook' for h in cfg.custom_hooks)
    assert cfg.train_dataloader.sampler.type == recipe['sampler']
    pipeline = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    if name == 'cavmae_pretrain.py':
        assert 'FbankNoise' in pipeline and 'AVMixup' not in pipeline
        assert 'SpecAugment' not in pipeline
        assert cfg.model.head.loss_contrastive.loss_weight == 0.01
        return
    steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['AVMixup'].prob == 0.5
    assert (steps['SpecAugment'].freqm, steps['SpecAugment'].timem) == \
        (48, 192)
    assert steps['LabelSmoothing'].eps == 0.1 and 'FbankNoise' in steps
    assert cfg.model.cls_head.loss_cls.type == recipe['loss']
    assert cfg.model.cls_head.num_classes == recipe['classes']
    # Validation on the middle frame, test with the 10-frame ensemble.
    modes = {loader: [t.mode for t in cfg[loader].dataset.pipeline
                      if t.type == 'SampleAVFrames'][0]
             for loader in ('val_dataloader', 'test_dataloader')}
    assert modes == dict(val_dataloader='middle', test_dataloader='all')


def test_modality_variants_and_linear_probe():
    assert load('cavmae_finetune_audioset20k_audioonly.py').model.mode == \
        'audioonly'
    assert load('cavmae_finetune_audioset20k_videoonly.py').model.mode == \
        'videoonly'
    assert load('cavmae_finetune_vggsound_audioonly.py').model.mode == \
        'audioonly'
    probe = load('cavmae_linear_probe_audioset20k.py').optim_wrapper
    assert probe.paramwise_cfg.custom_keys['backbone'] == dict(
        lr_mult=0., decay_mult=0.)
    assert probe.paramwise_cfg.custom_keys['cls_head'] == dict(lr_mult=100.)


def test_toy_warmup_then_halving():
    """The optional linear warmup (per iteration) composes with the halving
    schedule (per epoch), stepped as MMEngine's ParamSchedulerHook does."""
    cfg = load('cavmae_toy_pretrain.py')
    base = cfg.optim_wrapper.optimizer.lr
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)],
                                 lr=base)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    iters_per_epoch, lrs = 64, []
    for _ in range(cfg.train_cfg.max_epochs):
        for _ in range(iters_per_epoch):
            lrs.append(optimizer.param_groups[0]['lr'])
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    assert lrs[0] == pytest.approx(0.01 * base)
    assert lrs[:100] == sorted(lrs[:100])  # linear ramp
    assert lrs[100] == pytest.approx(base)
    first, second = cfg.param_scheduler[1].milestones
    assert lrs[first * iters_per_epoch - 1] == pytest.approx(base)
    assert lrs[first * iters_per_epoch] == pytest.approx(base / 2)
    assert lrs[second * iters_per_epoch] == pytest.approx(base / 4)


def synthetic_batch(model_cfg, batch=2, num_classes=8, frames=1):
    """A packed batch as the toy pipelines produce it."""
    audio_len = model_cfg.backbone.get('audio_length', 1024)
    img = model_cfg.backbone.get('img_size', 224)
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(batch):
        sample = ActionDataSample()
        sample.gt_labels = LabelData(item=torch.tensor([i % num_classes]))
        samples.append(sample)
    audio = [torch.randn(audio_len, 128, generator=gen) for _ in range(batch)]
    imgs = [torch.randint(0, 256, (frames, 3, img, img), generator=gen,
                          dtype=torch.uint8) for _ in range(batch)]
    return audio, imgs, samples


def train_step(cfg, inputs, samples):
    model = MODELS.build(cfg.model)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    log_vars = model.train_step(dict(inputs=inputs, data_samples=samples),
                                wrapper)
    changed = {k for k, v in model.named_parameters()
               if not torch.equal(before[k], v)}
    return model, wrapper, log_vars, changed


def test_toy_pretrain_step_keeps_fixed_position_embeddings():
    cfg = load('cavmae_toy_pretrain.py')
    audio, imgs, samples = synthetic_batch(cfg.model, batch=4)
    _, _, log_vars, changed = train_step(
        cfg, dict(audio=audio, imgs=imgs), samples)
    assert {'loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'} <= set(log_vars)
    assert torch.isfinite(log_vars['loss'])
    assert 'backbone.pos_embed_a' not in changed
    assert 'neck.decoder_pos_embed_v' not in changed
    assert 'backbone.blocks_a.0.attn.qkv.weight' in changed


def test_toy_finetune_head_lr_multiplier_and_step():
    cfg = load('cavmae_toy_finetune.py')
    audio, imgs, samples = synthetic_batch(cfg.model)
    model, wrapper, log_vars, changed = train_step(
        cfg, dict(audio=audio, imgs=imgs), samples)
    base = cfg.optim_wrapper.optimizer.lr
    mult = cfg.optim_wrapper.paramwise_cfg.custom_keys.cls_head.lr_mult
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        name = names[id(group['params'][0])]
        expected = base * mult if name.startswith('cls_head.') else base
        assert group['lr'] == pytest.approx(expected), name
    assert 'loss_cls' in log_vars
    # Fine-tuning trains the position embeddings (the reference does).
    assert 'backbone.pos_embed_a' in changed


def test_linear_probe_freezes_the_backbone():
    cfg = load('cavmae_toy_finetune.py')
    cfg.optim_wrapper.paramwise_cfg = load(
        'cavmae_linear_probe_audioset20k.py').optim_wrapper.paramwise_cfg
    audio, imgs, samples = synthetic_batch(cfg.model)
    _, _, _, changed = train_step(cfg, dict(audio=audio, imgs=imgs),
                                  samples)
    assert changed and all(name.startswith('cls_head.') for name in changed)


def test_mmaction_audio_recognizer_with_cavmae_branch():
    cfg = load('mmaction_audio_recognizer_cavmae_toy.py')
    audio, _, samples = synthetic_batch(cfg.model)
    # MMAction2's audio layout: [clips=1, 1, T, F] per sample.
    inputs = [a[None, None] for a in audio]
    model, _, log_vars, changed = train_step(cfg, inputs, samples)
    assert type(model).__name__ == 'RecognizerAudio'
    assert type(model.cls_head).__name__ == 'TSNAudioHead'
    assert torch.isfinite(log_vars['loss_cls'])
    assert 'backbone.blocks_a.0.attn.qkv.weight' in changed
    assert not any(n.startswith('backbone.blocks_v') for n in changed)
    model.eval()
    with torch.no_grad():
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
    assert out[0].pred_scores.item.shape == (8, )


def test_mmaction_tsn_with_cavmae_visual_branch():
    cfg = load('mmaction_tsn_cavmae_toy.py')
    _, imgs, samples = synthetic_batch(cfg.model)
    model, _, log_vars, changed = train_step(cfg, imgs, samples)
    assert type(model).__name__ == 'Recognizer2D'
    assert type(model.cls_head).__name__ == 'TSNHead'
    assert torch.isfinite(log_vars['loss_cls'])
    assert 'backbone.blocks_v.0.attn.qkv.weight' in changed
    assert not any(n.startswith('backbone.blocks_a') for n in changed)
    # 10 frames per clip at test time: TSN consensus over the frames.
    _, imgs10, samples = synthetic_batch(cfg.model, frames=10)
    model.eval()
    with torch.no_grad():
        out = model.test_step(dict(inputs=imgs10, data_samples=samples))
    assert len(out) == 2 and out[0].pred_scores.item.shape == (8, )


def test_cavmae_checkpoint_loads_into_the_branches():
    """A CAV-MAE state dict fits the branch backbones by name."""
    pretrain = MODELS.build(load('cavmae_toy_pretrain.py').model)
    encoder = {k[len('backbone.'):]: v for k, v in
               pretrain.state_dict().items() if k.startswith('backbone.')}
    for name in ('mmaction_audio_recognizer_cavmae_toy.py',
                 'mmaction_tsn_cavmae_toy.py'):
        cfg = load(name)
        cfg.model.backbone.update(audio_length=pretrain.backbone.audio_length,
                                  img_size=pretrain.backbone.img_size)
        branch = MODELS.build(cfg.model).backbone
        result = branch.load_state_dict(encoder, strict=True)
        assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize('shards,files', [
    ('cavmae_toy_pretrain_shards.py', 'cavmae_toy_pretrain.py'),
    ('cavmae_pretrain_shards.py', 'cavmae_pretrain.py'),
    ('cavmae_finetune_audioset2m_shards.py',
     'cavmae_finetune_audioset2m.py'),
])
def test_shard_configs_change_only_the_training_data_source(shards, files):
    """The shard configs are their file-based recipe with the training
    data loader (the same pipeline and batch size) and ShardStreamHook."""
    cfg, base = load(shards), load(files)
    own = {'train_dataloader', 'custom_hooks', 'data_preparation',
           'shard_index', 'batch_size'}
    assert {k: v for k, v in cfg.items() if k not in own} == \
        {k: v for k, v in base.items() if k not in own}
    loader, base_loader = cfg.train_dataloader, base.train_dataloader
    assert loader.dataset.type == 'ShardedAVDataset'
    assert loader.sampler is None
    assert loader.batch_size == loader.dataset.batch_size == \
        base_loader.batch_size
    assert loader.dataset.pipeline == base_loader.dataset.pipeline
    assert loader.dataset.data_root == base_loader.dataset.data_root
    hooks = [h.type for h in cfg.custom_hooks]
    assert 'ShardStreamHook' in hooks
    assert [h for h in base.custom_hooks if h.type not in hooks] == []
    if 'ClassBalancedSampler' in str(base_loader.sampler):
        assert loader.dataset.balance == 'class'
