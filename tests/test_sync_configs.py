"""The CAV-MAE Sync configs (``configs/cavmae_sync_*.py``): the released
model and the fine-tuning model build at ViT-B, the recipes hold the numbers
of docs/sync.md "Recipes", and the pipelines turn a generated clip into what
the models take (and a model of the configs' geometry, tiny width, takes
it). Checkpoints: test_sync_config_checkpoints.py."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from cavmae_mm.datasets.transforms.segments import frame_segment_start
from mmaction.registry import DATASETS, MODELS
from .sync_config_helpers import (CLIP_ROWS, FINETUNE, PRETRAIN, RETRIEVAL,
                                  SEGMENT, load, make_sync_clips,
                                  sampled_modes, tiny_model_cfg)


# ---------------------------------------------------------------- models --


def test_released_and_finetuning_models_build_at_vit_b():
    pretrain = MODELS.build(load('cavmae_sync_pretrain.py').model)
    backbone = pretrain.backbone
    assert (backbone.audio_length, backbone.num_register_tokens) == (416, 8)
    assert tuple(backbone.register_tokens.shape) == (16, 768)
    assert tuple(backbone.cls_token_a.shape) == (1, 1, 768)
    assert tuple(backbone.pos_embed_a.shape) == (1, 8 * 26, 768)
    assert not backbone.keep_register_tokens
    assert not backbone.multi_ratio_masking
    assert (backbone.mask_ratio_a, backbone.mask_ratio_v) == (0.75, 0.75)
    assert not any('contrastive_head' in k for k in pretrain.state_dict())
    del pretrain
    finetune = MODELS.build(load(FINETUNE[0]).model)
    assert finetune.backbone.unimodal_norms == 'joint'
    assert finetune.backbone.multimodal_feature == 'cls'
    head = finetune.cls_head
    assert type(head).__name__ == 'CAVMAEFrameAggregationHead'
    assert head.aggregate == 'self_attention_cls'
    assert tuple(head.cls_token.shape) == (1, 1, 1536)
    assert len(head.blocks) == 2 and head.fc_cls.in_features == 1536


def test_all_sync_configs_share_the_two_models():
    """Pre-training and retrieval: the released model; fine-tuning: the
    fine-tuning model, only classes and loss per data set."""
    released = load('cavmae_sync_pretrain.py').model.to_dict()
    for name in PRETRAIN + RETRIEVAL:
        assert load(name).model.to_dict() == released, name
    for name in FINETUNE:
        model = load(name).model
        assert model.backbone.with_cp  # 16 frame pairs per clip
        expected = (309, 'CrossEntropyLoss', False) if 'vggsound' in name \
            else (527, 'BCELossWithLogits', True)
        assert (model.cls_head.num_classes, model.cls_head.loss_cls.type,
                model.cls_head.multi_class) == expected


# --------------------------------------------------------------- recipes --

#: docs/sync.md "Recipes": clips per step (processes x per process),
#: epochs, lr, head multiplier, averaging window, sampler.
RECIPES = {
    'cavmae_sync_pretrain.py': (256, 25, 2e-4, None, None, 'DefaultSampler'),
    'cavmae_sync_pretrain_vggsound.py':
    (256, 25, 2e-4, None, None, 'DefaultSampler'),
    FINETUNE[0]: (36, 15, 5e-5, 100., (3, 15), 'DefaultSampler'),
    FINETUNE[1]: (48, 10, 1e-5, 50., (1, 10), 'ClassBalancedSampler'),
    FINETUNE[2]: (48, 10, 1e-4, 10., (3, 10), 'ClassBalancedSampler'),
}


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe_numbers(name):
    batch, epochs, lr, head, window, sampler = RECIPES[name]
    cfg = load(name)
    processes = 4 if name in PRETRAIN else 1
    assert cfg.train_dataloader.batch_size * processes == batch
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.optim_wrapper.optimizer.lr == lr
    custom_keys = cfg.optim_wrapper.get('paramwise_cfg', {}).get(
        'custom_keys', {})
    assert custom_keys.get('cls_head', {}).get('lr_mult') == head
    averaging = [(h.begin, h.end) for h in cfg.custom_hooks
                 if h.type == 'WeightAveragingHook']
    assert (averaging[0] if averaging else None) == window
    assert cfg.train_dataloader.sampler.type == sampler
    steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['KaldiFbank'].target_length == 1024
    assert steps['FrameAudioSegments'].segment_length == 416
    assert 'FbankNoise' not in steps
    if name in PRETRAIN:
        assert sampled_modes(cfg, 'train_dataloader') == 'random'
        assert {'AVMixup', 'SpecAugment'}.isdisjoint(steps)
        assert cfg.model.head.loss_contrastive.loss_weight == 0.01
        assert cfg.model.head.loss_contrastive.temperature == 0.05
        assert sampled_modes(cfg, 'val_dataloader') == 'all'
        assert cfg.val_evaluator[0].aggregate == 'diagonal_mean'
    else:
        assert sampled_modes(cfg, 'train_dataloader') == 'all'
        assert sampled_modes(cfg, 'val_dataloader') == 'all'
        assert sampled_modes(cfg, 'test_dataloader') == 'all'
        assert steps['AVMixup'].prob == 0.5
        assert (steps['SpecAugment'].freqm, steps['SpecAugment'].timem) == \
            (48, 192)
        assert steps['LabelSmoothing'].eps == 0.1
        assert cfg.find_unused_parameters


@pytest.mark.parametrize('name', RETRIEVAL)
def test_retrieval_aggregates_all_16_frames(name):
    cfg = load(name)
    assert sampled_modes(cfg, 'test_dataloader') == 'all'
    assert [m.type for m in cfg.test_evaluator] == [
        'AVRetrievalMetric', 'AVFrameAlignmentMetric']
    assert cfg.test_evaluator[0].aggregate == 'diagonal_mean'
    cfg.merge_from_dict({'test_evaluator.0.aggregate': 'max'})
    assert cfg.test_evaluator[0].aggregate == 'max'  # as docs say


@pytest.fixture(scope='module')
def clip_root(tmp_path_factory):
    return make_sync_clips(tmp_path_factory.mktemp('sync_clips'))


def dataset_of(cfg, loader, root, **overrides):
    dataset = copy.deepcopy(cfg[loader].dataset)
    csv = 'vgg.csv' if 'vggsound' in cfg.filename else 'as.csv'
    dataset.update(data_root=str(root), ann_file='ann.json', label_csv=csv,
                   **overrides)
    return DATASETS.build(dataset)


def check_pairs(sample, positions):
    """Segment v is cut for frame v's position; frame v is position v's
    JPEG."""
    audio, imgs = sample['inputs']['audio'], sample['inputs']['imgs']
    count = len(positions)
    assert tuple(audio.shape) == (count, SEGMENT, 128)
    assert audio.dtype == torch.float32
    assert tuple(imgs.shape) == (count, 3, 224, 224)
    meta = sample['data_samples'].metainfo
    assert list(meta['frame_positions']) == list(positions)
    grey = imgs.float().mean(dim=(1, 2, 3))
    if imgs.dtype == torch.uint8:  # not mixed
        expected = [10. * int(k) + 20 for k in positions]
        assert torch.allclose(grey, torch.tensor(expected), atol=1.5)


def clip_fbank(root, video_id):
    """The clip's normalized 1024-row fbank, by the package's transforms."""
    from mmcv.transforms import Compose
    from cavmae_mm.datasets.transforms import (KaldiFbank,
                                               LoadAudioWaveform,
                                               NormalizeFbank)
    results = Compose([LoadAudioWaveform(), KaldiFbank(target_length=1024),
                       NormalizeFbank()])(
        dict(audio_path=str(root / f'{video_id}.wav')))
    return results['audio']


@pytest.mark.parametrize('name', PRETRAIN + RETRIEVAL)
def test_pretrain_and_retrieval_pipelines(name, clip_root):
    cfg = load(name)
    loaders = (['train_dataloader'] if name in PRETRAIN else []) + \
        ['test_dataloader']
    model = MODELS.build(tiny_model_cfg(cfg))
    model.init_weights()
    fbank = clip_fbank(clip_root, 'clip_a')
    for loader in loaders:
        samples = [dataset_of(cfg, loader, clip_root)[i] for i in range(2)]
        mode = sampled_modes(cfg, loader)
        for sample in samples:
            positions = sample['data_samples'].metainfo['frame_positions']
            if mode == 'all':
                assert list(positions) == list(range(16))
            check_pairs(sample, positions)
        # segment v = rows [start, start + 416) of the normalized clip fbank
        for v, k in enumerate(samples[0]['data_samples'].frame_positions):
            start = frame_segment_start(int(k), 16, CLIP_ROWS, SEGMENT)
            assert torch.allclose(samples[0]['inputs']['audio'][v],
                                  fbank[start:start + SEGMENT], atol=1e-5)
        data = model.data_preprocessor(pseudo_collate(samples),
                                       loader == 'train_dataloader')
        with torch.no_grad():
            if loader == 'train_dataloader':
                losses = model(**data, mode='loss')
                assert all(torch.isfinite(v).all() for v in losses.values())
            else:
                out = model(**data, mode='predict')
                assert tuple(out[0].audio_feature.shape) == (16, 64)
                assert tuple(out[0].visual_feature.shape) == (16, 64)


@pytest.mark.parametrize('name', [FINETUNE[0], FINETUNE[2]])
def test_finetune_pipelines(name, clip_root):
    cfg = load(name)
    model = MODELS.build(tiny_model_cfg(cfg))
    model.init_weights()
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = dataset_of(cfg, loader, clip_root)
        if loader == 'train_dataloader':  # mix every sample here
            for step in dataset.pipeline.transforms:
                if type(step).__name__ == 'AVMixup':
                    step.prob = 1.0
        samples = [dataset[i] for i in range(2)]
        for sample in samples:
            check_pairs(sample, range(16))
        if loader == 'train_dataloader':
            assert samples[0]['inputs']['imgs'].dtype == torch.float32
            label = samples[0]['data_samples'].gt_labels.item
            assert label.min() > 0  # smoothed (and mixed)
        data = model.data_preprocessor(pseudo_collate(samples),
                                       loader == 'train_dataloader')
        if loader == 'train_dataloader':
            # with the configs' activation checkpointing
            assert model.backbone.with_cp
            model.train()
            losses = model(**data, mode='loss')
            assert torch.isfinite(losses['loss_cls'])
            losses['loss_cls'].backward()
            grads = {n for n, p in model.named_parameters()
                     if p.grad is not None and p.grad.abs().sum() > 0}
            assert {'cls_head.cls_token', 'backbone.cls_token_a',
                    'backbone.register_tokens',
                    'backbone.blocks_v.0.attn.qkv.weight'} <= grads
            assert 'backbone.norm.weight' not in grads  # 'cls': unused
            model.eval()
        else:
            with torch.no_grad():
                out = model(**data, mode='predict')
                classes = cfg.model.cls_head.num_classes
                assert len(out) == 2  # one score per clip, not per frame
                assert tuple(out[0].pred_scores.item.shape) == (classes, )
