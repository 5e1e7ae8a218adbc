"""The reference's key names <-> ours (cavmae_mm/utils/reference_keys.py):
every key of the ViT-B reference checkpoints (SPEC §3-§5) maps onto the
model."""
import os.path as osp

import pytest
import torch

from cavmae_mm.utils import (detect_model, load_state_dict_strict,
                             mmengine_to_official, official_to_mmengine)
from ..models.conftest import build as build_model
from .spec_checkpoints import (TINY, VIT_B, block_keys, build,
                               shape_only_state,
                               spec_reference_shapes, sync_reference_shapes)

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


def test_detect_model_reads_the_variant_from_keys_and_shapes():
    cavmae = shape_only_state(spec_reference_shapes(**TINY, decoder=True))
    assert detect_model(cavmae) == dict(variant='cavmae', backbone=dict(
        num_register_tokens=0, cls_token=False, contrastive_heads=False,
        audio_length=1024))
    sync = shape_only_state(sync_reference_shapes(**TINY, decoder=True,
                                                  heads=True))
    assert detect_model(sync) == dict(variant='sync', backbone=dict(
        num_register_tokens=8, cls_token=True, contrastive_heads=True,
        audio_length=416))
    registers_only = shape_only_state(sync_reference_shapes(
        **TINY, registers=4, cls_token=False, audio_length=1024))
    assert detect_model(registers_only)['backbone'] == dict(
        num_register_tokens=4, cls_token=False, contrastive_heads=False,
        audio_length=1024)


@pytest.mark.parametrize('drop,message', [
    ('module.cls_token_v', 'cls tokens'),
    ('module.constrative_head_visual.', 'contrastive heads')])
def test_detect_model_refuses_half_a_sync_model(drop, message):
    state = shape_only_state(sync_reference_shapes(**TINY, heads=True))
    state = {k: v for k, v in state.items() if not k.startswith(drop)}
    with pytest.raises(ValueError, match=message):
        detect_model(state)
    odd = shape_only_state(sync_reference_shapes(**TINY))
    odd['module.register_tokens'] = torch.zeros(()).expand(7, 64)
    with pytest.raises(ValueError, match='2R'):
        detect_model(odd)


@pytest.mark.parametrize('heads', [False, True])
def test_sync_keys_map_onto_the_model_both_ways(heads):
    """Every key of a Sync reference checkpoint (their ``constrative_``
    spelling) maps onto a model with the detected options, and back."""
    shapes = sync_reference_shapes(**TINY, decoder=True, heads=heads)
    official = shape_only_state(shapes)
    ours, filled = official_to_mmengine(official)
    assert filled == []
    if heads:
        assert 'backbone.contrastive_head_audio.1.mlp.fc2.bias' in ours
    options = detect_model(official)['backbone']
    model = build_model('cavmae_tiny_pretrain', backbone=options)
    model_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.items()} == model_shapes
    load_state_dict_strict(model, ours)
    assert set(mmengine_to_official(ours)) == set(shapes)


def test_sync_finetuned_aggregation_keys_map_both_ways():
    """A Sync model fine-tuned multimodally with
    aggregate='self_attention_cls' (features cat(cls_a, cls_v), 2D)."""
    shapes = sync_reference_shapes(**TINY, registers=2, prefix='')
    shapes.update({'cls_cls_token': (1, 1, 128),
                   'classifier_norm.weight': (128, ),
                   'classifier_norm.bias': (128, ),
                   'classifier_head.weight': (5, 128),
                   'classifier_head.bias': (5, )})
    for i in range(2):
        shapes.update(block_keys(f'classifier_layers.{i}', 128))
    official = shape_only_state({'module.' + k: v for k, v in shapes.items()})
    ours, _ = official_to_mmengine(official)
    assert 'cls_head.blocks.1.mlp.fc1.weight' in ours
    options = detect_model(official)['backbone']
    model = build_model(
        'cavmae_tiny_finetune',
        backbone=dict(options, multimodal_feature='cls'),
        cls_head=dict(type='CAVMAEFrameAggregationHead', num_classes=5,
                      in_channels=128, num_heads=4))
    load_state_dict_strict(model, ours)
    assert set(mmengine_to_official(ours)) == set(official)


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    None, 'cavmae_sync_pretrain.py', 'cavmae_sync_retrieval_audioset.py',
    'cavmae_sync_retrieval_vggsound.py'])
def test_vit_b_released_sync_keys_map_onto_the_model(config):
    """The released Sync checkpoint's keys and shapes (ViT-B, R = 8, cls,
    audio_length 416, no heads) load strictly into the detected model and
    into the models of the Sync pre-training and retrieval configs."""
    shapes = sync_reference_shapes(**VIT_B, decoder=True)
    official = shape_only_state(shapes)
    detected = detect_model(official)
    assert detected == dict(variant='sync', backbone=dict(
        num_register_tokens=8, cls_token=True, contrastive_heads=False,
        audio_length=416))
    ours, filled = official_to_mmengine(official)
    if config is None:
        model = build_model('cavmae_vit_base_pretrain',
                            backbone=detected['backbone'])
    else:
        model = build(osp.join(ROOT, 'configs', config))
    load_state_dict_strict(model, ours)
    assert filled == [] and set(mmengine_to_official(ours)) == set(shapes)
