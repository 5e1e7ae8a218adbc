"""Shared by the inference and feature tests: tiny models with the
full-size evaluation pipeline as their test pipeline, and random-weight
checkpoints."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_FINETUNE = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py')
TINY_PRETRAIN = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_pretrain.py')
TOY_DATA = osp.join(ROOT, 'configs/_base_/datasets/toy_av.py')
AV_PIPELINES = osp.join(ROOT, 'configs/_base_/datasets/av_pipelines.py')
CLIPS = ('00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4')


def with_eval_pipeline(model_config):
    """A model-only config with the full-size evaluation pipeline (middle
    frame) as its ``test_pipeline``, which inference builds from."""
    cfg = Config.fromfile(model_config)
    cfg.test_pipeline = Config.fromfile(AV_PIPELINES).eval_pipeline
    return cfg


def toy_eval_pipeline_for(model):
    """The toy data set's eval pipeline sized to ``model`` (the toy set
    itself is sized for the CPU demo): built independently of the API."""
    pipeline = Config.fromfile(TOY_DATA).eval_pipeline
    size = model.backbone.img_size
    for step in pipeline:
        if step['type'] == 'KaldiFbank':
            step['target_length'] = model.backbone.audio_length
        elif step['type'] == 'AVResize':
            step['scale'] = (-1, size)
        elif step['type'] == 'CenterCrop':
            step['crop_size'] = size
    return Compose(pipeline)


def save_random_checkpoint(config, path, seed=0, cfg_options=None, **meta):
    """Build ``config``'s model with seeded random weights and save it as an
    MMEngine checkpoint (``meta`` e.g. ``dataset_meta=...``)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path)
