"""fp32 parity with the independent SPEC restatement (spec_reference.py)."""
import pytest
import torch

from cavmae_mm.models.modes import MODES
from . import spec_reference as ref
from .conftest import build, randomize_, reference_state_dict

RTOL = 1e-5


def assert_close(ours, theirs, rtol=RTOL):
    """Relative to the tensor's scale: |a - b| <= rtol * max|b| (+ tiny)."""
    ours, theirs = ours.detach().double(), theirs.detach().double()
    assert ours.shape == theirs.shape
    scale = theirs.abs().max().item() + 1e-12
    err = (ours - theirs).abs().max().item()
    assert err <= rtol * scale, f'max abs err {err:.3e} vs scale {scale:.3e}'


def inputs(batch, frames=1024, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, frames, 128, generator=gen),
            torch.randn(batch, 3, 224, 224, generator=gen))


@pytest.mark.parametrize('grid,dim', [((8, 64), 768), ((14, 14), 768),
                                      ((8, 64), 512), ((8, 32), 64)])
def test_position_embedding_matches_spec(grid, dim):
    from cavmae_mm.models.utils.pos_embed import sincos_2d
    assert_close(sincos_2d(*grid, dim), ref.sincos_grid(*grid, dim), 1e-6)


def test_model_pos_embeds_are_sincos(tiny_pretrain):
    sd = reference_state_dict(build('cavmae_tiny_pretrain'))
    assert_close(sd['pos_embed_a'], ref.sincos_grid(8, 64, 64), 1e-6)
    assert_close(sd['pos_embed_v'], ref.sincos_grid(14, 14, 64), 1e-6)
    assert_close(sd['decoder_pos_embed_a'], ref.sincos_grid(8, 64, 32), 1e-6)


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('mode', MODES)
def test_inference_modes_match_spec(tiny_finetune, mode, fused):
    model = tiny_finetune
    for module in model.modules():
        if hasattr(module, 'fused'):
            module.fused = fused
    sd = reference_state_dict(model)
    audio, imgs = inputs(3)
    model.mode = mode
    with torch.no_grad():
        feature = model.backbone(audio=audio, imgs=imgs, mode=mode)
        logits = model(dict(audio=audio, imgs=imgs[:, None]),
                       mode='tensor', stage='head')
    expected = ref.classify_features(sd, audio, imgs, mode, heads=4)
    assert_close(feature, expected)
    assert_close(logits, ref.head_logits(sd, expected))


@pytest.mark.slow
def test_vit_base_multimodal_and_audio_match_spec():
    model = randomize_(build('cavmae_vit_base_finetune')).eval()
    sd = reference_state_dict(model)
    audio, imgs = inputs(1)
    for mode in ('multimodal', 'audioonly'):
        with torch.no_grad():
            feature = model.backbone(audio=audio, imgs=imgs, mode=mode)
        assert feature.shape == (1, 768)
        assert_close(feature, ref.classify_features(sd, audio, imgs, mode,
                                                    heads=12))


@pytest.mark.parametrize('bidirectional', [False, True])
@pytest.mark.parametrize('norm_pix', [True, False])
def test_pretraining_losses_match_spec(bidirectional, norm_pix):
    model = randomize_(build(
        'cavmae_tiny_pretrain',
        head=dict(loss_mae=dict(norm_pix=norm_pix),
                  loss_contrastive=dict(bidirectional=bidirectional)))).eval()
    sd = reference_state_dict(model)
    audio, imgs = inputs(4)
    gen = torch.Generator().manual_seed(3)
    noise_a, noise_v = torch.rand(4, 512, generator=gen), torch.rand(
        4, 196, generator=gen)
    with torch.no_grad():
        ours = model(dict(audio=audio, imgs=imgs[:, None]), mode='loss',
                     noise_a=noise_a, noise_v=noise_v)
        tensors = model(dict(audio=audio, imgs=imgs), mode='tensor',
                        noise_a=noise_a, noise_v=noise_v)
    theirs = ref.pretrain_losses(sd, audio, imgs, noise_a, noise_v, heads=4,
                                 dec_heads=4, norm_pix=norm_pix,
                                 bidirectional=bidirectional)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'):
        assert_close(ours[key], theirs[key])
    for key in ('joint', 'audio', 'visual', 'mask_a', 'mask_v', 'pred_a',
                'pred_v'):
        assert_close(tensors[key], theirs[key])


def test_masking_noise_is_drawn_like_the_reference(tiny_pretrain):
    """Same seed: audio noise [B, 512] first, then visual [B, 196]."""
    sd = reference_state_dict(tiny_pretrain)
    audio, imgs = inputs(2)
    torch.manual_seed(123)
    with torch.no_grad():
        ours = tiny_pretrain(dict(audio=audio, imgs=imgs[:, None]),
                             mode='loss')
    torch.manual_seed(123)
    noise_a, noise_v = torch.rand(2, 512), torch.rand(2, 196)
    theirs = ref.pretrain_losses(sd, audio, imgs, noise_a, noise_v, heads=4,
                                 dec_heads=4)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c'):
        assert_close(ours[key], theirs[key])


def test_loss_weights_scale_and_zero_weights_skip():
    audio, imgs = inputs(2)
    noise = dict(noise_a=torch.rand(2, 512), noise_v=torch.rand(2, 196))
    data = dict(audio=audio, imgs=imgs[:, None])
    base = randomize_(build('cavmae_tiny_pretrain')).eval()
    weighted = randomize_(build('cavmae_tiny_pretrain', head=dict(
        loss_mae=dict(loss_weight=2.0),
        loss_contrastive=dict(loss_weight=0.5)))).eval()
    with torch.no_grad():
        a = base(data, mode='loss', **noise)
        b = weighted(data, mode='loss', **noise)
    assert_close(b['loss_mae_a'], 2 * a['loss_mae_a'])
    assert_close(b['loss_mae_v'], 2 * a['loss_mae_v'])
    assert_close(b['loss_c'], 50 * a['loss_c'])

    no_contrast = build('cavmae_tiny_pretrain', head=dict(
        loss_contrastive=dict(loss_weight=0.0)))
    losses = no_contrast(data, mode='loss', **noise)
    assert losses['loss_c'].item() == 0 and losses['loss_mae_a'] > 0
    # No decoder when the reconstruction weight is 0: contrastive only.
    contrast_only = build('cavmae_tiny_pretrain', neck=None, head=dict(
        loss_mae=dict(loss_weight=0.0)))
    losses = contrast_only(data, mode='loss', **noise)
    assert losses['loss_mae_a'].item() == 0 and losses['loss_c'] > 0
    with pytest.raises(ValueError, match='decoder'):
        build('cavmae_tiny_pretrain', neck=None)


def test_auto_attention_picks_explicit_path_under_cpu_bf16():
    from cavmae_mm.models.utils.transformer import Attention
    attn = Attention(64, 4)  # fused='auto'
    x = torch.randn(2, 10, 64)
    assert attn._use_fused(x)
    assert not attn._use_fused(x.bfloat16())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not attn._use_fused(x)
    # Both paths compute the same attention.
    explicit = Attention(64, 4, fused=False)
    explicit.load_state_dict(attn.state_dict())
    assert_close(attn(x), explicit(x))


def test_chunked_attention_matches_explicit_values_and_gradients():
    from cavmae_mm.models.utils.transformer import (chunked_attention,
                                                    explicit_attention)
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 4, 37, 8, generator=gen, requires_grad=True)
               for _ in range(3))
    grad_out = torch.randn(3, 4, 37, 8, generator=gen)
    expected = explicit_attention(q, k, v, 0.3)
    expected_grads = torch.autograd.grad(expected, (q, k, v), grad_out)
    # 37 * 37 * 5 score elements per chunk: 5 of the 12 (batch, head)
    # pairs, so the last chunk is short.
    chunked = chunked_attention(q, k, v, 0.3, chunk_elements=37 * 37 * 5)
    assert_close(chunked, expected)
    for got, want in zip(torch.autograd.grad(chunked, (q, k, v), grad_out),
                         expected_grads):
        assert_close(got, want)


def test_activation_checkpointing_gives_the_same_losses_and_gradients():
    """``with_cp`` in the encoder and the decoder recomputes activations in
    backward: the same numbers, less memory."""
    audio, imgs = inputs(2)
    noise = dict(noise_a=torch.rand(2, 512), noise_v=torch.rand(2, 196))
    data = dict(audio=audio, imgs=imgs[:, None])
    plain = randomize_(build('cavmae_tiny_pretrain')).train()
    ckpt = build('cavmae_tiny_pretrain', backbone=dict(with_cp=True),
                 neck=dict(with_cp=True)).train()
    ckpt.load_state_dict(plain.state_dict())
    grads = []
    for model in (plain, ckpt):
        losses = model(data, mode='loss', **noise)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()
                      if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 50
    for name, grad in grads[0].items():
        assert_close(grads[1][name], grad)
