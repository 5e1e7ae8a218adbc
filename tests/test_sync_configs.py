"""The CAV-MAE Sync configs (``configs/cavmae_sync_*.py``): the released
model and the fine-tuning model build at ViT-B, the recipes hold the numbers
of docs/sync.md "Recipes", the pipelines turn a generated clip into what the
models take (and a model of the configs' geometry, tiny width, takes it),
and a checkpoint in the released format converts into the configs' models
strictly and back."""
import copy
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint

import cavmae_mm  # noqa: F401
from cavmae_mm.datasets.av_io import frame_jpeg_path, write_wav
from cavmae_mm.datasets.transforms.segments import frame_segment_start
from cavmae_mm.utils import load_state_dict_strict
from mmaction.registry import DATASETS, MODELS
from .tools.tool_utils import load_tool
from .utils.spec_checkpoints import (TINY, random_state,
                                     sync_reference_shapes)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN = ('cavmae_sync_pretrain.py', 'cavmae_sync_pretrain_vggsound.py')
RETRIEVAL = ('cavmae_sync_retrieval_audioset.py',
             'cavmae_sync_retrieval_vggsound.py')
FINETUNE = ('cavmae_sync_finetune_audioset20k.py',
            'cavmae_sync_finetune_audioset2m.py',
            'cavmae_sync_finetune_vggsound.py')
#: The configs' geometry (416-row segments, 224 frames, R = 8, cls) at the
#: tests' tiny width (TINY: dim 64, 2 + 1 blocks, decoder 32 x 1).
TINY_OPTIONS = dict(
    backbone=dict(embed_dims=64, num_heads=4, modality_specific_depth=2,
                  shared_depth=1),
    neck=dict(decoder_embed_dims=32, decoder_depth=1, decoder_num_heads=4),
    cls_head=dict(in_channels=128, num_heads=4))
NUM_POSITIONS, CLIP_ROWS, SEGMENT = 16, 1024, 416


def load(name):
    init_default_scope('mmaction')
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def tiny_model_cfg(cfg):
    model = copy.deepcopy(cfg.model)
    for part, options in TINY_OPTIONS.items():
        if part in model:
            model[part].update(options)
    model.backbone.pop('with_cp', None)
    return model


def tiny_cfg_options(cfg):
    """TINY_OPTIONS of the config's parts as --cfg-options strings."""
    return [f'model.{part}.{key}={value}'
            for part, options in TINY_OPTIONS.items() if part in cfg.model
            for key, value in options.items()]


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


def sampled_modes(cfg, loader):
    steps = [t for t in cfg[loader].dataset.pipeline
             if t.type == 'SampleAVFrames']
    assert len(steps) == 1 and steps[0].num_positions == 16
    return steps[0].mode


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


# ------------------------------------------------- pipelines on a clip --


@pytest.fixture(scope='module')
def clip_root(tmp_path_factory):
    """Two 10 s clips in the reference layout at 16 positions: a tone
    whose pitch rises with time and frames whose grey level is 10 k + 20
    at position k; label CSVs of AudioSet (527) and VGGSound (309) size."""
    root = tmp_path_factory.mktemp('sync_clips')
    entries = []
    for i, video_id in enumerate(('clip_a', 'clip_b')):
        t = np.arange(160000) / 16000
        wave = 0.3 * np.sin(2 * np.pi * (200 + 40 * t + 50 * i) * t)
        write_wav(str(root / f'{video_id}.wav'), wave.astype(np.float32))
        for k in range(NUM_POSITIONS):
            path = frame_jpeg_path(str(root / 'frames'), video_id, k)
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.fromarray(np.full((240, 320, 3), 10 * k + 20,
                                    np.uint8)).save(path, quality=95)
        entries.append(dict(video_id=video_id, wav=f'{video_id}.wav',
                            video_path='frames', labels=f'/m/c{i}'))
    (root / 'ann.json').write_text(json.dumps(dict(data=entries)))
    for name, count in (('as.csv', 527), ('vgg.csv', 309)):
        rows = ['index,mid,display_name'] + [
            f'{j},/m/c{j},class {j}' for j in range(count)]
        (root / name).write_text('\n'.join(rows) + '\n')
    return root


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
        with torch.no_grad():
            if loader == 'train_dataloader':
                losses = model(**data, mode='loss')
                assert torch.isfinite(losses['loss_cls'])
            else:
                out = model(**data, mode='predict')
                classes = cfg.model.cls_head.num_classes
                assert len(out) == 2  # one score per clip, not per frame
                assert tuple(out[0].pred_scores.item.shape) == (classes, )


# ------------------------------------------------------------ checkpoints --

convert_tool = load_tool('convert_official_ckpt')


@pytest.mark.parametrize('name', ('cavmae_sync_pretrain.py', ) + RETRIEVAL)
def test_released_format_converts_into_the_config_strictly(name, tmp_path,
                                                           capsys):
    """Random values in the released checkpoint's keys and shapes (R = 8,
    cls, audio_length 416, no heads; tiny width) -> the converter with
    the config -> a strict load into the config's model -> and back."""
    cfg = load(name)
    original = random_state(sync_reference_shapes(**TINY, decoder=True))
    src, ours = str(tmp_path / 'sync.pth'), str(tmp_path / 'ours.pth')
    torch.save(original, src)
    options = tiny_cfg_options(cfg)
    assert convert_tool.main([src, ours, '--config', cfg.filename,
                              '--cfg-options', *options]) == 0
    printed = capsys.readouterr().out
    assert 'model: CAV-MAE Sync (num_register_tokens=8, cls_token=True, ' \
        'contrastive_heads=False, audio_length=416)' in printed
    assert 'note: model.backbone.audio_length' not in printed  # no adapting
    model = MODELS.build(tiny_model_cfg(cfg))
    state = torch.load(ours)['state_dict']
    load_state_dict_strict(model, state)  # no missing / unexpected key
    load_checkpoint(model, ours, strict=True)  # load_from's path
    back = str(tmp_path / 'back.pth')
    assert convert_tool.main([ours, back, '--to-official']) == 0
    restored = torch.load(back)
    assert set(restored) == set(original)
    assert all(torch.equal(restored[k], v) for k, v in original.items())


def test_converted_released_checkpoint_initializes_finetuning(tmp_path):
    """load_from of the fine-tuning configs: every backbone parameter comes
    from the converted checkpoint; only the head is new."""
    original = random_state(sync_reference_shapes(**TINY, decoder=True))
    src, ours = str(tmp_path / 'sync.pth'), str(tmp_path / 'ours.pth')
    torch.save(original, src)
    pretrain = load('cavmae_sync_pretrain.py')
    assert convert_tool.main([src, ours, '--config', pretrain.filename,
                              '--cfg-options',
                              *tiny_cfg_options(pretrain)]) == 0
    model = MODELS.build(tiny_model_cfg(load(FINETUNE[0])))
    state = torch.load(ours)['state_dict']
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing and all(k.startswith('cls_head.') for k in missing)
    assert unexpected and all(k.startswith(('neck.', 'head.'))
                              for k in unexpected)
    assert torch.equal(model.backbone.register_tokens,
                       original['module.register_tokens'])
