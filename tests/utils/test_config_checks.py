"""check_data_geometry: the data pipelines of a config against its
backbone, and where it runs (runner, inference API)."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

import cavmae_mm  # noqa: F401
from cavmae_mm.apis import init_model
from tools.launch import build_runner
from cavmae_mm.utils.config_checks import check_data_geometry

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def step(cfg, loader, kind):
    """(index, config) of the first ``kind`` step of ``loader``."""
    pipeline = cfg[loader].dataset.pipeline
    index = [t.type for t in pipeline].index(kind)
    return index, pipeline[index]


def test_fbank_length_mismatch_names_both_keys():
    cfg = load('cavmae_toy_pretrain.py')
    index, fbank = step(cfg, 'train_dataloader', 'KaldiFbank')
    fbank.target_length = 1024
    with pytest.raises(ValueError, match=re.escape(
            f'train_dataloader.dataset.pipeline[{index}] '
            f'KaldiFbank.target_length=1024 vs '
            f'model.backbone.audio_length=384')):
        check_data_geometry(cfg)


def test_segment_pipelines_are_checked_by_the_segment_length():
    """With FrameAudioSegments (CAV-MAE Sync) the model gets the segments:
    their length is checked against audio_length, the clip fbank's
    target_length (longer) is not."""
    cfg = load('cavmae_sync_toy_pretrain.py')
    _, fbank = step(cfg, 'train_dataloader', 'KaldiFbank')
    assert fbank.target_length != cfg.model.backbone.audio_length
    check_data_geometry(cfg)  # fits
    index, segments = step(cfg, 'train_dataloader', 'FrameAudioSegments')
    segments.segment_length = 192
    with pytest.raises(ValueError, match=re.escape(
            f'train_dataloader.dataset.pipeline[{index}] '
            f'FrameAudioSegments.segment_length=192 vs '
            f'model.backbone.audio_length=96')):
        check_data_geometry(cfg)


def test_transform_default_is_checked_and_said():
    cfg = load('cavmae_toy_finetune.py')
    index, fbank = step(cfg, 'val_dataloader', 'KaldiFbank')
    fbank.pop('target_length')
    with pytest.raises(ValueError, match=re.escape(
            f'val_dataloader.dataset.pipeline[{index}] '
            f'KaldiFbank.target_length=1024 (its default) vs '
            f'model.backbone.audio_length=384')):
        check_data_geometry(cfg)


def test_mel_bins_mismatch():
    cfg = load('cavmae_toy_finetune.py')
    index, fbank = step(cfg, 'test_dataloader', 'KaldiFbank')
    fbank.num_mel_bins = 64
    with pytest.raises(ValueError, match=re.escape(
            f'test_dataloader.dataset.pipeline[{index}] '
            f'KaldiFbank.num_mel_bins=64 vs model.backbone.num_mel_bins=128')):
        check_data_geometry(cfg)


def test_frame_size_mismatch_names_both_keys():
    """The toy pipelines crop 112 x 112 frames; a full-size model takes
    224 x 224 (and 1024 frames): every mismatch is listed."""
    cfg = load('cavmae_toy_retrieval.py')
    cfg.model.backbone.img_size = 224
    index, _ = step(cfg, 'test_dataloader', 'CenterCrop')
    with pytest.raises(ValueError) as info:
        check_data_geometry(cfg)
    assert str(info.value).splitlines()[1:] == [
        f'test_dataloader.dataset.pipeline[{index}] CenterCrop.crop_size=112'
        f' vs model.backbone.img_size=224'
    ]


@pytest.mark.parametrize('steps,fits', [
    # the last fixed size decides
    ([dict(type='Resize', scale=(128, 128), keep_ratio=False),
      dict(type='CenterCrop', crop_size=112)], True),
    ([dict(type='CenterCrop', crop_size=112),
      dict(type='Resize', scale=(96, 96), keep_ratio=False)], False),
    # MMPretrain-style RandomResizedCrop with an output scale
    ([dict(type='RandomResizedCrop', scale=96)], False),
    # a keep-ratio resize after the crop leaves the size open: unchecked
    ([dict(type='CenterCrop', crop_size=96),
      dict(type='Resize', scale=(-1, 128))], True),
])
def test_final_frame_size(steps, fits):
    cfg = load('cavmae_toy_finetune.py')
    pipeline = [t for t in cfg.val_dataloader.dataset.pipeline
                if t.type not in ('AVResize', 'CenterCrop')]
    cfg.val_dataloader.dataset.pipeline = pipeline[:5] + steps + \
        pipeline[5:]
    if fits:
        check_data_geometry(cfg)
    else:
        with pytest.raises(ValueError, match=re.escape(
                "val_dataloader.dataset.pipeline[")):
            check_data_geometry(cfg)


def test_test_pipeline_and_wrapped_datasets_are_checked():
    cfg = load('cavmae_toy_finetune.py')
    cfg.test_pipeline = [dict(type='mmaction.KaldiFbank', target_length=512)]
    with pytest.raises(ValueError, match=re.escape(
            'test_pipeline[0] KaldiFbank.target_length=512 vs '
            'model.backbone.audio_length=384')):
        check_data_geometry(cfg)
    cfg = load('cavmae_toy_finetune.py')
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=cfg.train_dataloader.dataset)
    _, fbank = step(cfg.train_dataloader, 'dataset', 'KaldiFbank')
    fbank.target_length = 1024
    with pytest.raises(ValueError, match=re.escape(
            'train_dataloader.dataset.dataset.pipeline[')):
        check_data_geometry(cfg)


def test_other_backbones_are_not_checked():
    cfg = load('mmaction_tsn_cavmae_toy.py')
    cfg.model.backbone.img_size = 224  # the branch: not a CAVMAEViT
    check_data_geometry(cfg)


def test_runner_and_init_model_check_before_building(tmp_path):
    cfg = load('cavmae_toy_finetune.py')
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.audio_length = 512
    message = re.escape('KaldiFbank.target_length=384 vs '
                        'model.backbone.audio_length=512')
    with pytest.raises(ValueError, match=message):
        build_runner(cfg, 'none')
    with pytest.raises(ValueError, match=message):
        init_model(cfg)
    # a model-only config has no data to check
    init_model(osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py'),
               cfg_options={'model.backbone.audio_length': 512})


def sync_cfg(target_length=1024, segment_length=416, audio_length=416):
    """A CAV-MAE Sync pipeline at the released size: the clip fbank, then
    one segment per frame."""
    return Config(dict(
        model=dict(backbone=dict(type='CAVMAEViT',
                                 audio_length=audio_length)),
        train_dataloader=dict(dataset=dict(pipeline=[
            dict(type='KaldiFbank', target_length=target_length),
            dict(type='FrameAudioSegments', segment_length=segment_length),
            dict(type='CenterCrop', crop_size=224)]))))


def test_released_sync_segments_are_what_the_model_sees():
    check_data_geometry(sync_cfg())  # 1024-row clip, 416-row segments
    with pytest.raises(ValueError, match=re.escape(
            'train_dataloader.dataset.pipeline[1] '
            'FrameAudioSegments.segment_length=416 vs '
            'model.backbone.audio_length=1024')):
        check_data_geometry(sync_cfg(audio_length=1024))
