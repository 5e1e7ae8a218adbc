"""The reference's key names <-> ours (cavmae_mm/utils/reference_keys.py):
every key of the ViT-B reference checkpoints (SPEC §3-§5) maps onto the
model."""
import os.path as osp

import pytest
import torch

from cavmae_mm.utils import (load_state_dict_strict, mmengine_to_official,
                             official_to_mmengine)
from .spec_checkpoints import (VIT_B, build, shape_only_state,
                               spec_reference_shapes)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs/_base_/models')
VIT_B_PRETRAIN = f'{CONFIGS}/cavmae_vit_base_pretrain.py'
VIT_B_FINETUNE = f'{CONFIGS}/cavmae_vit_base_finetune.py'


def test_library_logs_with_mmengine_logger(logged):
    # keep library code free of print: the fill warning goes to MMLogger
    from cavmae_mm.utils.reference_keys import official_to_mmengine
    official_to_mmengine({
        'module.decoder_blocks.0.norm1.weight': torch.ones(4),
        'module.decoder_blocks.0.norm1.bias': torch.zeros(4)
    })
    assert any('neck.decoder_blocks.0.norm1_a.weight' in m
               for m in logged())


@pytest.fixture(scope='module')
def vit_b_models():
    return {'pretrain': build(VIT_B_PRETRAIN),
            'finetune': build(VIT_B_FINETUNE)}


@pytest.mark.slow
@pytest.mark.parametrize('kind,decoder_norm_copies', [
    ('pretrain', True), ('pretrain', False), ('finetune', True)])
def test_vit_b_spec_keys_map_onto_the_model(vit_b_models, kind,
                                            decoder_norm_copies):
    shapes = spec_reference_shapes(
        **VIT_B, decoder=kind == 'pretrain',
        num_classes=527 if kind == 'finetune' else None,
        decoder_norm_copies=decoder_norm_copies)
    num_blocks = (11 + 11 + 1) + (8 if kind == 'pretrain' else 0)
    assert len(shapes) == (num_blocks * 20 + 14 + (13 if kind == 'pretrain'
                                                   else 4)
                           - (0 if decoder_norm_copies else 8 * 8))
    official = shape_only_state(shapes)
    ours, filled = official_to_mmengine(official)

    model = vit_b_models[kind]
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.items()} == model_shapes
    expected_filled = [] if decoder_norm_copies else sorted(
        f'neck.decoder_blocks.{i}.{norm}.{p}' for i in range(8)
        for norm in ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v')
        for p in ('weight', 'bias'))
    assert filled == expected_filled
    load_state_dict_strict(model, ours)  # the real loading path
    assert set(mmengine_to_official(ours, skip_keys=filled)) == set(shapes)
