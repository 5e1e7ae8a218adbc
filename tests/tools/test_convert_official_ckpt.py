"""tools/convert_official_ckpt.py and tools/adapt_imagenet_mae.py.

Reference checkpoints are generated here from the text of SPEC §3-§5 (key
names and shapes), not from our model, so the tests check our model against
the reference's format.
"""
import importlib.util
import logging
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint

import cavmae_mm  # noqa: F401
from cavmae_mm.apis import init_model
from cavmae_mm.utils import (load_state_dict_strict, mmengine_to_official,
                             official_to_mmengine)
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs/_base_/models')
VIT_B_PRETRAIN = f'{CONFIGS}/cavmae_vit_base_pretrain.py'
VIT_B_FINETUNE = f'{CONFIGS}/cavmae_vit_base_finetune.py'
TINY_PRETRAIN = f'{CONFIGS}/cavmae_tiny_pretrain.py'
TINY_FINETUNE = f'{CONFIGS}/cavmae_tiny_finetune.py'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_tool = load_tool('convert_official_ckpt')
adapt_tool = load_tool('adapt_imagenet_mae')

# --------------------------------------------------------------------------
# SPEC §3-§5 written out: reference key -> shape
# --------------------------------------------------------------------------
# ViT-B: dim 768, 11 + 11 + 1 blocks, MLP 4x, 16x16 patches, 8 x 64 audio
# and 14 x 14 visual grid; decoder dim 512, 8 blocks; heads 527 (AudioSet).
VIT_B = dict(dim=768, specific=11, shared=1, dec_dim=512, dec_depth=8)
TINY = dict(dim=64, specific=2, shared=1, dec_dim=32, dec_depth=1)
BLOCK_NORMS = ('norm1', 'norm1_a', 'norm1_v', 'norm2', 'norm2_a', 'norm2_v')


def block_keys(prefix, dim, norms=BLOCK_NORMS):
    keys = {}
    for norm in norms:
        keys[f'{prefix}.{norm}.weight'] = (dim, )
        keys[f'{prefix}.{norm}.bias'] = (dim, )
    keys.update({
        f'{prefix}.attn.qkv.weight': (3 * dim, dim),
        f'{prefix}.attn.qkv.bias': (3 * dim, ),
        f'{prefix}.attn.proj.weight': (dim, dim),
        f'{prefix}.attn.proj.bias': (dim, ),
        f'{prefix}.mlp.fc1.weight': (4 * dim, dim),
        f'{prefix}.mlp.fc1.bias': (4 * dim, ),
        f'{prefix}.mlp.fc2.weight': (dim, 4 * dim),
        f'{prefix}.mlp.fc2.bias': (dim, ),
    })
    return keys


def spec_reference_shapes(dim, specific, shared, dec_dim, dec_depth,
                          decoder=False, num_classes=None,
                          decoder_norm_copies=True, prefix='module.'):
    """The reference state dict's keys and shapes per SPEC §3-§5."""
    keys = {
        'patch_embed_a.proj.weight': (dim, 1, 16, 16),
        'patch_embed_a.proj.bias': (dim, ),
        'patch_embed_v.proj.weight': (dim, 3, 16, 16),
        'patch_embed_v.proj.bias': (dim, ),
        'modality_a': (1, 1, dim),
        'modality_v': (1, 1, dim),
        'pos_embed_a': (1, 8 * 64, dim),
        'pos_embed_v': (1, 14 * 14, dim),
    }
    for group, depth in (('blocks_a', specific), ('blocks_v', specific),
                         ('blocks_u', shared)):
        for i in range(depth):
            keys.update(block_keys(f'{group}.{i}', dim))
    for norm in ('norm_a', 'norm_v', 'norm'):
        keys.update({f'{norm}.weight': (dim, ), f'{norm}.bias': (dim, )})
    if decoder:
        keys.update({
            'decoder_embed.weight': (dec_dim, dim),
            'decoder_embed.bias': (dec_dim, ),
            'mask_token': (1, 1, dec_dim),
            'decoder_modality_a': (1, 1, dec_dim),
            'decoder_modality_v': (1, 1, dec_dim),
            'decoder_pos_embed_a': (1, 8 * 64, dec_dim),
            'decoder_pos_embed_v': (1, 14 * 14, dec_dim),
            'decoder_norm.weight': (dec_dim, ),
            'decoder_norm.bias': (dec_dim, ),
            'decoder_pred_a.weight': (256, dec_dim),
            'decoder_pred_a.bias': (256, ),
            'decoder_pred_v.weight': (768, dec_dim),
            'decoder_pred_v.bias': (768, ),
        })
        norms = BLOCK_NORMS if decoder_norm_copies else ('norm1', 'norm2')
        for i in range(dec_depth):
            keys.update(block_keys(f'decoder_blocks.{i}', dec_dim, norms))
    if num_classes:
        keys.update({
            'mlp_head.0.weight': (dim, ),
            'mlp_head.0.bias': (dim, ),
            'mlp_head.1.weight': (num_classes, dim),
            'mlp_head.1.bias': (num_classes, ),
        })
    return {prefix + key: shape for key, shape in keys.items()}


def random_state(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {key: torch.randn(shape, generator=gen)
            for key, shape in shapes.items()}


def shape_only_state(shapes):
    """Zero-stride tensors: any shape, no memory (key/shape tests)."""
    return {key: torch.zeros(()).expand(shape) for key, shape in
            shapes.items()}


def build(config):
    init_default_scope('mmaction')
    return MODELS.build(Config.fromfile(config).model)


@pytest.fixture(scope='module')
def vit_b_models():
    return {'pretrain': build(VIT_B_PRETRAIN),
            'finetune': build(VIT_B_FINETUNE)}


def assert_round_trip(original, back):
    assert set(back) == set(original)
    for key, value in original.items():
        assert back[key].dtype == value.dtype, key
        assert torch.equal(back[key], value), key


# --------------------------------------------------------------------------
# ViT-B key coverage
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# convert_official_ckpt.py
# --------------------------------------------------------------------------


def write_reference(tmp_path, kind, container=None, num_classes=527,
                    decoder_norm_copies=True, seed=0):
    shapes = spec_reference_shapes(
        **TINY, decoder=kind == 'pretrain',
        num_classes=num_classes if kind == 'finetune' else None,
        decoder_norm_copies=decoder_norm_copies)
    state = random_state(shapes, seed)
    path = str(tmp_path / f'reference_{kind}.pth')
    torch.save(state if container is None else {container: state}, path)
    return path, state


@pytest.mark.parametrize('kind,container', [
    ('pretrain', None), ('pretrain', 'state_dict'), ('pretrain', 'model'),
    ('finetune', None)])
def test_round_trip_is_lossless(tmp_path, capsys, kind, container):
    config = TINY_PRETRAIN if kind == 'pretrain' else TINY_FINETUNE
    src, original = write_reference(tmp_path, kind, container)
    ours_path = str(tmp_path / 'ours.pth')
    assert convert_tool.main([src, ours_path, '--config', config]) == 0
    assert 'verified' in capsys.readouterr().out

    converted = torch.load(ours_path)
    assert set(converted) == {'state_dict', 'meta'}
    assert converted['meta']['kind'] == kind
    assert converted['meta']['filled_keys'] == []
    assert all(k.startswith(('backbone.', 'neck.', 'cls_head.'))
               for k in converted['state_dict'])
    # load_from (MMEngine) and init_model accept it without any difference
    model = build(config)
    load_checkpoint(model, ours_path, strict=True)
    init_model(config, ours_path)

    back_path = str(tmp_path / 'back.pth')
    assert convert_tool.main([ours_path, back_path, '--to-official',
                              '--config', config]) == 0
    assert_round_trip(original, torch.load(back_path))


def test_decoder_without_norm_copies_is_filled_and_logged(tmp_path):
    src, original = write_reference(tmp_path, 'pretrain',
                                    decoder_norm_copies=False)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert convert_tool.main([src, str(tmp_path / 'ours.pth'),
                                  '--config', TINY_PRETRAIN]) == 0
    finally:
        logger.removeHandler(handler)
    converted = torch.load(tmp_path / 'ours.pth')
    filled = converted['meta']['filled_keys']
    assert filled == sorted(
        f'neck.decoder_blocks.0.{norm}.{p}'
        for norm in ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v')
        for p in ('weight', 'bias'))
    assert any(all(key in r.getMessage() for key in filled) for r in records)
    fresh = build(TINY_PRETRAIN)
    fresh.init_weights()  # the model's own initialization of these norms
    for key in filled:
        assert torch.equal(converted['state_dict'][key],
                           fresh.state_dict()[key]), key
    # the filled keys do not go back
    assert convert_tool.main([str(tmp_path / 'ours.pth'),
                              str(tmp_path / 'back.pth'),
                              '--to-official']) == 0
    assert_round_trip(original, torch.load(tmp_path / 'back.pth'))


def test_wrong_kind_is_refused_with_key_lists(tmp_path, capsys):
    src, _ = write_reference(tmp_path, 'pretrain')
    out = tmp_path / 'ours.pth'
    assert convert_tool.main([src, str(out), '--config', TINY_FINETUNE]) == 1
    printed = capsys.readouterr().out
    assert 'missing keys' in printed and 'unexpected keys' in printed
    assert 'cls_head.fc_cls.weight' in printed
    assert 'neck.decoder_blocks.0.attn.qkv.weight' in printed
    assert not out.exists()


def test_wrong_size_is_refused_with_shape_list(tmp_path, capsys):
    src, _ = write_reference(tmp_path, 'finetune', num_classes=7)
    out = tmp_path / 'ours.pth'
    assert convert_tool.main([src, str(out), '--config', TINY_FINETUNE]) == 1
    printed = capsys.readouterr().out
    assert 'shape mismatches: 2' in printed
    assert 'cls_head.fc_cls.weight: checkpoint [7, 64] vs model [527, 64]' \
        in printed
    assert not out.exists()
    # with the matching head it converts
    assert convert_tool.main([
        src, str(out), '--config', TINY_FINETUNE, '--cfg-options',
        'model.cls_head.num_classes=7']) == 0


def test_unknown_and_already_converted_keys_are_refused(tmp_path, capsys):
    src, state = write_reference(tmp_path, 'finetune')
    state['module.not_a_cavmae_key'] = torch.zeros(1)
    torch.save(state, tmp_path / 'extra.pth')
    assert convert_tool.main([str(tmp_path / 'extra.pth'),
                              str(tmp_path / 'o.pth')]) == 1
    assert 'module.not_a_cavmae_key' in capsys.readouterr().out

    assert convert_tool.main([src, str(tmp_path / 'ours.pth')]) == 0
    assert convert_tool.main([str(tmp_path / 'ours.pth'),
                              str(tmp_path / 'again.pth')]) == 1
    assert 'already in the cavmae_mm format' in capsys.readouterr().out


def test_convert_cli_exit_status(tmp_path):
    src, _ = write_reference(tmp_path, 'pretrain')
    result = subprocess.run(
        [sys.executable, 'tools/convert_official_ckpt.py', src,
         str(tmp_path / 'o.pth'), '--config', TINY_FINETUNE],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert 'cls_head.fc_cls.weight' in result.stdout
    assert not (tmp_path / 'o.pth').exists()


# --------------------------------------------------------------------------
# adapt_imagenet_mae.py
# --------------------------------------------------------------------------


def mae_shapes(dim, depth, dec_dim, dec_depth):
    """facebookresearch/mae ViT keys (224 x 224, patch 16, with cls)."""
    keys = {
        'cls_token': (1, 1, dim),
        'pos_embed': (1, 197, dim),
        'patch_embed.proj.weight': (dim, 3, 16, 16),
        'patch_embed.proj.bias': (dim, ),
        'norm.weight': (dim, ),
        'norm.bias': (dim, ),
        'mask_token': (1, 1, dec_dim),
        'decoder_pos_embed': (1, 197, dec_dim),
        'decoder_embed.weight': (dec_dim, dim),
        'decoder_embed.bias': (dec_dim, ),
        'decoder_norm.weight': (dec_dim, ),
        'decoder_norm.bias': (dec_dim, ),
        'decoder_pred.weight': (768, dec_dim),
        'decoder_pred.bias': (768, ),
    }
    for i in range(depth):
        keys.update(block_keys(f'blocks.{i}', dim, ('norm1', 'norm2')))
    for i in range(dec_depth):
        keys.update(block_keys(f'decoder_blocks.{i}', dec_dim,
                               ('norm1', 'norm2')))
    return keys


def expected_left_to_init(specific, dec_depth):
    """SPEC §5: what an ImageNet MAE has no counterpart for."""
    keys = ['backbone.modality_a', 'backbone.modality_v',
            'backbone.pos_embed_a', 'backbone.pos_embed_v',
            'neck.decoder_modality_a', 'neck.decoder_modality_v',
            'neck.decoder_pos_embed_a', 'neck.decoder_pos_embed_v']
    unused = [f'{norm}.{p}' for norm in ('norm1_a', 'norm1_v', 'norm2_a',
                                         'norm2_v')
              for p in ('weight', 'bias')]
    for i in range(specific):
        keys += [f'backbone.{group}.{i}.{name}'
                 for group in ('blocks_a', 'blocks_v') for name in unused]
    for i in range(dec_depth):
        keys += [f'neck.decoder_blocks.{i}.{name}' for name in unused]
    return sorted(keys)


def test_adapt_mae_follows_spec(tmp_path, capsys):
    mae = random_state(mae_shapes(64, 3, 32, 1))
    src = str(tmp_path / 'mae.pth')
    torch.save({'model': mae}, src)
    out = str(tmp_path / 'init.pth')
    assert adapt_tool.main([src, out, '--config', TINY_PRETRAIN]) == 0
    printed = capsys.readouterr().out
    assert 'left to the model initialization (' in printed

    checkpoint = torch.load(out)
    adapted = checkpoint['state_dict']
    left = expected_left_to_init(specific=2, dec_depth=1)
    assert checkpoint['meta']['left_to_init'] == left
    assert checkpoint['meta']['dropped_keys'] == [
        'cls_token', 'decoder_pos_embed', 'pos_embed']
    model_keys = set(build(TINY_PRETRAIN).state_dict())
    assert set(adapted) == model_keys - set(left)

    def same(ours, theirs):
        assert torch.equal(adapted[ours], theirs), ours

    block_params = [k[len('blocks.0.'):] for k in mae
                    if k.startswith('blocks.0.')]
    for i in range(2):  # MAE block i < 2 -> blocks_a.i and blocks_v.i
        for name in block_params:
            same(f'backbone.blocks_a.{i}.{name}', mae[f'blocks.{i}.{name}'])
            same(f'backbone.blocks_v.{i}.{name}', mae[f'blocks.{i}.{name}'])
    for name in block_params:  # MAE block 2 -> blocks_u.0
        same(f'backbone.blocks_u.0.{name}', mae[f'blocks.2.{name}'])
    for norm in ('norm1', 'norm2'):  # ... its norms into all three pairs
        for suffix in ('', '_a', '_v'):
            for p in ('weight', 'bias'):
                same(f'backbone.blocks_u.0.{norm}{suffix}.{p}',
                     mae[f'blocks.2.{norm}.{p}'])
    for norm in ('norm', 'norm_a', 'norm_v'):
        for p in ('weight', 'bias'):
            same(f'backbone.{norm}.{p}', mae[f'norm.{p}'])
    kernel = mae['patch_embed.proj.weight']
    same('backbone.patch_embed_v.proj.weight', kernel)
    same('backbone.patch_embed_a.proj.weight', kernel.sum(1, keepdim=True))
    same('backbone.patch_embed_a.proj.bias', mae['patch_embed.proj.bias'])
    same('backbone.patch_embed_v.proj.bias', mae['patch_embed.proj.bias'])
    for key in mae:
        if key.startswith(('decoder_embed.', 'decoder_blocks.',
                           'decoder_norm.')) or key == 'mask_token':
            same(f'neck.{key}', mae[key])
    for p in ('weight', 'bias'):
        same(f'neck.decoder_pred_v.{p}', mae[f'decoder_pred.{p}'])
        same(f'neck.decoder_pred_a.{p}', mae[f'decoder_pred.{p}'][:256])

    # as load_from: adapted weights in, the rest keeps the initialization
    model = build(TINY_PRETRAIN)
    model.init_weights()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    load_checkpoint(model, out, strict=False)
    for key in left:
        assert torch.equal(model.state_dict()[key], initial[key]), key
    same('backbone.blocks_a.1.attn.qkv.weight',
         model.state_dict()['backbone.blocks_a.1.attn.qkv.weight'])


@pytest.mark.slow
def test_adapt_mae_vit_b_default_config(tmp_path, capsys):
    """The ViT-B MAE (12 blocks, decoder 8 x 512) against the default
    config; zero-stride tensors keep it fast."""
    src = str(tmp_path / 'mae_vit_b.pth')
    torch.save({'model': shape_only_state(mae_shapes(768, 12, 512, 8))}, src)
    out = str(tmp_path / 'init.pth')
    assert adapt_tool.main([src, out]) == 0
    meta = torch.load(out)['meta']
    assert meta['config'] == 'cavmae_vit_base_pretrain.py'
    assert meta['left_to_init'] == expected_left_to_init(11, 8)


def test_adapt_mae_refuses_other_depths_and_keys(tmp_path, capsys):
    src = str(tmp_path / 'mae.pth')
    torch.save({'model': shape_only_state(mae_shapes(64, 4, 32, 1))}, src)
    assert adapt_tool.main([src, str(tmp_path / 'o.pth'), '--config',
                            TINY_PRETRAIN]) == 1
    assert 'the MAE has 4 blocks' in capsys.readouterr().out

    shapes = mae_shapes(64, 3, 32, 1)
    shapes['head.weight'] = (1000, 64)
    torch.save({'model': shape_only_state(shapes)}, src)
    assert adapt_tool.main([src, str(tmp_path / 'o.pth'), '--config',
                            TINY_PRETRAIN]) == 1
    assert 'head.weight' in capsys.readouterr().out
    assert not (tmp_path / 'o.pth').exists()
