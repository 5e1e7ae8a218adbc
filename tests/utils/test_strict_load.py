"""Strict loading (cavmae_mm/utils/strict_load.py): every kind of key
difference reported, block indices folded."""
import pytest
import torch

from cavmae_mm.utils.strict_load import (CheckpointMismatchError, KeyReport,
                                         format_keys, load_state_dict_strict)


def test_format_keys_folds_block_indices():
    keys = [f'neck.decoder_blocks.{i}.norm1.weight' for i in range(8)]
    keys += ['backbone.blocks_a.0.attn.qkv.bias', 'backbone.blocks_a.2.'
             'attn.qkv.bias', 'backbone.norm.weight']
    assert format_keys(keys, indent='').splitlines() == [
        'backbone.blocks_a.[0,2].attn.qkv.bias',
        'backbone.norm.weight',
        'neck.decoder_blocks.[0-7].norm1.weight',
    ]


def test_strict_loading_reports_every_kind_of_difference():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LayerNorm(3))
    state = dict(model.state_dict())
    state['0.weight'] = torch.zeros(4, 2)  # shape
    del state['1.bias']  # missing
    state['2.weight'] = torch.zeros(1)  # unexpected
    with pytest.raises(CheckpointMismatchError) as info:
        load_state_dict_strict(model, state, source='x.pth')
    assert info.value.report == KeyReport(
        ['1.bias'], ['2.weight'], [('0.weight', (4, 2), (3, 2))])
    message = str(info.value)
    assert "'x.pth'" in message
    assert '0.weight: checkpoint [4, 2] vs model [3, 2]' in message
    assert 'missing keys' in message and 'unexpected keys' in message
