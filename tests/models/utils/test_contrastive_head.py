"""The contrastive projection heads (models/utils/contrastive_head.py)."""
import torch

from cavmae_mm.models.backbones import CAVMAEViT
from cavmae_mm.models.utils.contrastive_head import ContrastiveHead
from ..backbones.test_cavmae_vit import TINY


def test_head_blocks_run_on_the_joint_norms_only():
    head = ContrastiveHead(64, 4)
    assert len(head) == 2
    frozen = {n for n, p in head.named_parameters() if not p.requires_grad}
    assert frozen == {f'{i}.{norm}.{p}' for i in range(2)
                      for norm in ('norm1_a', 'norm1_v', 'norm2_a',
                                   'norm2_v') for p in ('weight', 'bias')}
    tokens = torch.randn(2, 5, 64)
    expected = head[1](head[0](tokens))
    assert torch.equal(head(tokens), expected)


def test_heads_sit_between_the_shared_layer_and_the_final_norm():
    model = CAVMAEViT(**TINY, contrastive_heads=True)
    model.init_weights()
    names = [n for n, _ in model.named_parameters()]
    assert 'contrastive_head_audio.1.mlp.fc2.weight' in names
    assert 'contrastive_head_visual.0.attn.qkv.bias' in names
    tokens = torch.randn(2, 7, 64)
    with torch.no_grad():
        out = model.contrastive_stream(tokens, 'v')['tokens']
        shared = model._run_blocks(tokens, model.blocks_u, 'v')
        expected = model.norm_v(model.contrastive_head_visual(shared))
    assert torch.equal(out, expected)
    # Fine-tuning paths do not use them.
    with torch.no_grad():
        plain = model(imgs=torch.randn(2, 3, 32, 32), mode='videoonly')
    assert plain.shape == (2, 64)
