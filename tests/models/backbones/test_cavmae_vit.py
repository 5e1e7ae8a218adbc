"""CAVMAEViT: initialization from init_cfg, masking, embeddings, other
audio lengths and the adaptation of checkpoints to them."""
import pytest
import torch

from cavmae_mm.models.backbones import CAVMAEViT
from ..conftest import build, randomize_
from ..init_cfg_utils import assert_holds, save_random_checkpoint

TINY = dict(embed_dims=64, num_heads=4, modality_specific_depth=2,
            shared_depth=1, audio_length=256, img_size=32)


@pytest.mark.parametrize('as_list', [False, True])
def test_pretrained_init_cfg_is_kept(tmp_path, as_list):
    """A Pretrained init_cfg, alone or in a list (MMEngine accepts both),
    wins over the reference initialization."""
    path = tmp_path / 'model.pth'
    state = save_random_checkpoint(CAVMAEViT(**TINY), path,
                                   prefix='backbone.')
    init_cfg = dict(type='Pretrained', checkpoint=str(path),
                    prefix='backbone.')
    if as_list:
        init_cfg = [init_cfg, dict(type='Constant', val=0., layer='Conv2d')]
    backbone = CAVMAEViT(**TINY, init_cfg=init_cfg)
    backbone.init_weights()
    assert_holds(backbone, state)


@pytest.mark.parametrize('mode', ['unstructured', 'time', 'freq', 'tf'])
@pytest.mark.parametrize('ratio', [0.75, 0.5, 0.3])
def test_num_visible_a_is_what_masking_keeps(mode, ratio):
    """The int the decoder splits the joint sequence at, known without a
    forward, equals the visible audio tokens of every sample."""
    backbone = CAVMAEViT(**TINY, mask_ratio_a=ratio, audio_mask_mode=mode)
    backbone.init_weights()
    with torch.no_grad():
        encoded = backbone.forward_pretrain(
            torch.randn(3, 256, 128), torch.randn(3, 3, 32, 32),
            with_joint=False)
    assert isinstance(backbone.num_visible_a, int)
    visible = (1 - encoded['mask_a']).sum(1)  # [B]
    assert visible.tolist() == [backbone.num_visible_a] * 3
    assert encoded['audio'].shape[1] == backbone.num_visible_a


def test_structured_mode_in_model_runs():
    model = build('cavmae_tiny_pretrain', backbone=dict(
        audio_mask_mode='time'))
    losses = model(dict(audio=torch.randn(2, 1024, 128),
                        imgs=torch.randn(2, 3, 224, 224)), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match='audio_mask_mode'):
        build('cavmae_tiny_pretrain', backbone=dict(audio_mask_mode='rows'))


def test_other_audio_length_and_checkpoint_adaptation(logged):
    short = build('cavmae_tiny_finetune', backbone=dict(audio_length=512))
    assert short.backbone.pos_embed_a.shape == (1, 8 * 32, 64)
    with torch.no_grad():
        out = short.backbone(audio=torch.randn(2, 512, 128),
                             mode='audioonly')
    assert out.shape == (2, 64)
    # A 1024-frame checkpoint loads into the 512-frame model: the fixed
    # sin-cos embedding is cut to the first 32 time columns, which equals
    # the embedding built for 512 frames, and a log line says so.
    long_model = randomize_(build('cavmae_tiny_finetune'))
    state = long_model.state_dict()
    short.load_state_dict(state, strict=True)
    messages = logged()
    assert any('backbone.pos_embed_a' in m and '64 to 32' in m
               for m in messages), messages
    assert torch.allclose(short.backbone.pos_embed_a,
                          build('cavmae_tiny_finetune', backbone=dict(
                              audio_length=512)).backbone.pos_embed_a)
    assert torch.equal(short.backbone.blocks_a[0].attn.qkv.weight,
                       long_model.backbone.blocks_a[0].attn.qkv.weight)
    # Longer than the checkpoint: interpolated along time, right shape.
    longer = build('cavmae_tiny_finetune', backbone=dict(audio_length=2048))
    longer.load_state_dict(state)
    assert longer.backbone.pos_embed_a.shape == (1, 8 * 128, 64)
