"""The single-modality branches: what they freeze, with CAV-MAE's and
with Sync's (joint) norms."""
import pytest
import torch

from cavmae_mm.models.backbones import CAVMAEAudioBranch, CAVMAEVisualBranch
from .test_cavmae_vit import TINY


def frozen(branch):
    return {n for n, p in branch.named_parameters() if not p.requires_grad}


@pytest.mark.parametrize('norms', ['modality', 'joint'])
def test_audio_branch_freezes_what_it_does_not_use(norms):
    branch = CAVMAEAudioBranch(**TINY, unimodal_norms=norms, cls_token=True,
                               contrastive_heads=True)
    branch.init_weights()
    off = frozen(branch)
    used = ('norm1', 'norm2') if norms == 'joint' else ('norm1_a', 'norm2_a')
    for name in ('norm1', 'norm2', 'norm1_a', 'norm2_a', 'norm1_v',
                 'norm2_v'):
        assert (f'blocks_u.0.{name}.weight' in off) == (name not in used)
    final = 'norm.weight' if norms == 'joint' else 'norm_a.weight'
    for name in ('norm.weight', 'norm_a.weight', 'norm_v.weight'):
        assert (name in off) == (name != final)
    assert 'cls_token_v' in off and 'cls_token_a' not in off
    assert any(n.startswith('contrastive_head_audio.') for n in off)
    assert 'blocks_v.0.attn.qkv.weight' in off
    assert 'blocks_a.0.attn.qkv.weight' not in off
    # The forward uses exactly the trainable ones.
    out = branch(torch.randn(2, 1, 256, 128))
    out.sum().backward()
    with_grad = {n for n, p in branch.named_parameters()
                 if p.grad is not None and p.grad.abs().sum() > 0}
    trainable = {n for n, p in branch.named_parameters() if p.requires_grad}
    assert with_grad == trainable - {'register_tokens'}


def test_visual_branch_with_joint_norms():
    branch = CAVMAEVisualBranch(**TINY, unimodal_norms='joint')
    off = frozen(branch)
    assert 'norm.weight' not in off and 'norm_v.weight' in off
    assert 'blocks_u.0.norm1.weight' not in off
    assert 'blocks_u.0.norm1_v.weight' in off
    assert branch(torch.randn(2, 3, 32, 32)).shape == (2, 64, 2, 2)


@pytest.mark.parametrize('options,message', [
    (dict(unimodal_norms='own'), 'unimodal_norms must be one of'),
    (dict(multimodal_feature='cls'), 'needs cls_token=True'),
])
def test_finetuning_options_are_checked_at_build(options, message):
    from cavmae_mm.models.backbones import CAVMAEViT
    with pytest.raises(ValueError, match=message):
        CAVMAEViT(**TINY, **options)
