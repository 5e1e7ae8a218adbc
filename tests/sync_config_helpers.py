"""What the CAV-MAE Sync config tests share: the configs, a tiny width of
their models, and generated clips in the reference layout at 16 frame
positions."""
import copy
import json
import os
import os.path as osp

import numpy as np
from PIL import Image
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from cavmae_mm.datasets.av_io import frame_jpeg_path, write_wav

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
    return model


def tiny_cfg_options(cfg):
    """TINY_OPTIONS of the config's parts as --cfg-options strings."""
    return [f'model.{part}.{key}={value}'
            for part, options in TINY_OPTIONS.items() if part in cfg.model
            for key, value in options.items()]


def sampled_modes(cfg, loader):
    """The frame sampling mode of a data loader (16 positions)."""
    steps = [t for t in cfg[loader].dataset.pipeline
             if t.type == 'SampleAVFrames']
    assert len(steps) == 1 and steps[0].num_positions == 16
    return steps[0].mode


def make_sync_clips(root):
    """Two 10 s clips in the reference layout at 16 positions: a tone
    whose pitch rises with time and frames whose grey level is 10 k + 20
    at position k; label CSVs of AudioSet (527) and VGGSound (309) size."""
    root.mkdir(parents=True, exist_ok=True)
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
