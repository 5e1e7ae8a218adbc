"""tools/adapt_imagenet_mae.py: an ImageNet MAE checkpoint (keys and shapes
of facebookresearch/mae) into CAV-MAE's initialization (SPEC §5)."""
import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from ..utils.spec_checkpoints import (block_keys, build, random_state,
                                      shape_only_state)
from .tool_utils import TINY_PRETRAIN, load_tool

adapt_tool = load_tool('adapt_imagenet_mae')


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
