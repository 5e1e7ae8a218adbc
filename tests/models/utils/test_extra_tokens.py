"""Sync's extra tokens on CAVMAEViT (cavmae_mm/models/utils/extra_tokens.py):
option checks, sequence layout, initialization, and that the defaults add
nothing."""
import pytest
import torch

from cavmae_mm.models.backbones import CAVMAEViT
from ..backbones.test_cavmae_vit import TINY


def backbone(**options):
    model = CAVMAEViT(**TINY, **options)
    model.init_weights()
    return model.eval()


def test_defaults_add_no_parameter():
    names = set(backbone().state_dict())
    assert not any(n.startswith(('cls_token', 'register_tokens',
                                 'contrastive_head')) for n in names)
    assert backbone().contrastive_feature == 'mean'


@pytest.mark.parametrize('options,message', [
    (dict(contrastive_feature='cls'), 'needs cls_token=True'),
    (dict(contrastive_feature='global_local'), 'needs cls_token=True'),
    (dict(cls_token=True, contrastive_feature='max'), 'one of'),
    (dict(keep_register_tokens=True), 'needs num_register_tokens > 0'),
    (dict(num_register_tokens=-1), '>= 0'),
])
def test_inconsistent_options_fail_at_build(options, message):
    with pytest.raises(ValueError, match=message):
        CAVMAEViT(**TINY, **options)


def test_sequence_layout_and_initialization():
    torch.manual_seed(0)
    model = backbone(cls_token=True, num_register_tokens=3)
    assert model.register_tokens.shape == (6, 64)
    # The reference's init: cls normal(0.02), registers standard normal.
    assert model.cls_token_a.std() < 0.05
    assert 0.7 < model.register_tokens.std() < 1.3
    patches = torch.randn(2, 5, 64)
    audio = model.add_extra_tokens(patches, 'a')
    visual = model.add_extra_tokens(patches, 'v')
    assert audio.shape == (2, 1 + 5 + 3, 64)
    assert torch.equal(audio[:, 0], model.cls_token_a[0].expand(2, -1))
    assert torch.equal(visual[:, 0], model.cls_token_v[0].expand(2, -1))
    assert torch.equal(audio[:, 1:6], patches)
    assert torch.equal(audio[0, 6:], model.register_tokens[:3])
    assert torch.equal(visual[0, 6:], model.register_tokens[3:])
    cls, rest = model.split_extra_tokens(audio[:, :6])  # registers dropped
    assert torch.equal(cls, audio[:, 0]) and torch.equal(rest, patches)


@pytest.mark.parametrize('keep', [False, True])
def test_registers_are_never_reconstructed_or_pooled(keep):
    """Whatever passes the shared layer, the decoder input and the
    contrastive tokens hold the patch tokens only."""
    model = backbone(cls_token=True, num_register_tokens=2,
                     keep_register_tokens=keep)
    with torch.no_grad():
        encoded = model.forward_pretrain(torch.randn(2, 256, 128),
                                         torch.randn(2, 3, 32, 32))
        tokens = model.forward_tokens(torch.randn(2, 256, 128),
                                      torch.randn(2, 3, 32, 32))
    visible = model.num_visible_a + 1  # 128 * 0.25 audio, 4 * 0.25 visual
    assert encoded['joint'].shape == (2, visible, 64)
    assert encoded['audio'].shape == (2, model.num_visible_a, 64)
    assert encoded['visual'].shape == (2, 1, 64)
    assert encoded['audio_cls'].shape == (2, 64)
    assert tokens['joint'].shape == (2, 128 + 4, 64)


def test_registers_change_the_result_only_when_present():
    """Registers are attended to: the patch tokens differ with them."""
    plain = backbone()
    with_registers = backbone(num_register_tokens=2)
    with_registers.load_state_dict(plain.state_dict(), strict=False)
    audio = torch.randn(2, 256, 128)
    with torch.no_grad():
        a = plain(audio=audio, mode='audioonly')
        b = with_registers(audio=audio, mode='audioonly')
    assert a.shape == b.shape and not torch.allclose(a, b)
