"""tools/convert_official_ckpt.py.

Reference checkpoints are generated here from the text of SPEC §3-§5 (key
names and shapes), not from our model, so the tests check our model against
the reference's format.
"""
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from cavmae_mm.apis import init_model
from ..utils.spec_checkpoints import (TINY, build, random_state,
                                      spec_reference_shapes,
                                      sync_reference_shapes)
from .tool_utils import ROOT, TINY_FINETUNE, TINY_PRETRAIN, load_tool

convert_tool = load_tool('convert_official_ckpt')


def assert_round_trip(original, back):
    assert set(back) == set(original)
    for key, value in original.items():
        assert back[key].dtype == value.dtype, key
        assert torch.equal(back[key], value), key


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


def test_decoder_without_norm_copies_is_filled_and_logged(tmp_path, logged):
    src, original = write_reference(tmp_path, 'pretrain',
                                    decoder_norm_copies=False)
    assert convert_tool.main([src, str(tmp_path / 'ours.pth'),
                              '--config', TINY_PRETRAIN]) == 0
    converted = torch.load(tmp_path / 'ours.pth')
    filled = converted['meta']['filled_keys']
    assert filled == sorted(
        f'neck.decoder_blocks.0.{norm}.{p}'
        for norm in ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v')
        for p in ('weight', 'bias'))
    assert any(all(key in m for key in filled) for m in logged())
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


SYNC_OPTIONS = ['model.backbone.num_register_tokens=8',
                'model.backbone.cls_token=True',
                'model.backbone.audio_length=416']


@pytest.mark.parametrize('heads', [False, True])
def test_sync_checkpoint_round_trip(tmp_path, capsys, heads):
    shapes = sync_reference_shapes(**TINY, decoder=True, heads=heads)
    original = random_state(shapes)
    src = str(tmp_path / 'sync.pth')
    torch.save(original, src)
    ours_path = str(tmp_path / 'ours.pth')
    options = SYNC_OPTIONS + [f'model.backbone.contrastive_heads={heads}']
    assert convert_tool.main([src, ours_path, '--config', TINY_PRETRAIN,
                              '--cfg-options', *options]) == 0
    printed = capsys.readouterr().out
    assert 'model: CAV-MAE Sync (num_register_tokens=8, cls_token=True, ' \
        f'contrastive_heads={heads}, audio_length=416)' in printed
    assert 'verified' in printed
    converted = torch.load(ours_path)
    assert converted['meta']['model'] == dict(variant='sync', backbone=dict(
        num_register_tokens=8, cls_token=True, contrastive_heads=heads,
        audio_length=416))
    assert ('backbone.contrastive_head_visual.0.attn.qkv.weight'
            in converted['state_dict']) == heads
    back_path = str(tmp_path / 'back.pth')
    assert convert_tool.main([ours_path, back_path, '--to-official']) == 0
    assert_round_trip(original, torch.load(back_path))


def test_sync_checkpoint_refused_by_a_disagreeing_backbone(tmp_path, capsys):
    src = str(tmp_path / 'sync.pth')
    torch.save(random_state(sync_reference_shapes(**TINY, decoder=True)),
               src)
    out = tmp_path / 'ours.pth'
    assert convert_tool.main([src, str(out), '--config', TINY_PRETRAIN]) == 1
    printed = capsys.readouterr().out
    assert 'ERROR: model.backbone.num_register_tokens=0 but the checkpoint ' \
        'has num_register_tokens=8' in printed
    assert 'model.backbone.cls_token=False but the checkpoint has ' \
        'cls_token=True' in printed
    assert 'note: model.backbone.audio_length=1024, the checkpoint has 416' \
        in printed
    assert not out.exists()
    # Only the audio length differs: adapted on load, converted.
    assert convert_tool.main([src, str(out), '--config', TINY_PRETRAIN,
                              '--cfg-options', *SYNC_OPTIONS[:2]]) == 0
