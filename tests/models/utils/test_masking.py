"""Masking invariants, hand-computable contrastive loss, reconstruction loss,
shapes and audio-length handling."""
import math

import pytest
import torch
import torch.nn.functional as F

from cavmae_mm.models.losses import (AVInfoNCELoss,
                                     MaskedPatchReconstructionLoss)
from cavmae_mm.models.utils.masking import mask_by_noise, structured_noise
from cavmae_mm.models.utils.patchify import patchify, unpatchify
from ..conftest import build, randomize_


@pytest.mark.parametrize('length,ratio,keep', [(512, 0.75, 128),
                                               (196, 0.75, 49),
                                               (196, 0.9, 19)])
def test_unstructured_masking_invariants(length, ratio, keep):
    tokens = torch.randn(5, length, 8)
    visible, mask, ids_restore = mask_by_noise(tokens, torch.rand(5, length),
                                               ratio)
    assert visible.shape == (5, keep, 8)
    # Same count per sample, 1 = dropped.
    assert torch.equal(mask.sum(1), torch.full((5, ), float(length - keep)))
    # The visible tokens are exactly the unmasked ones.
    for b in range(5):
        kept = tokens[b][mask[b] == 0]
        assert torch.equal(kept.sort(0).values, visible[b].sort(0).values)
    # Restore order: [visible; dropped] un-shuffled gives the input back.
    dropped = torch.stack([tokens[b][mask[b] == 1] for b in range(5)])
    # dropped rows in shuffled order: recover by gathering with ids_shuffle
    ids_shuffle = torch.argsort(ids_restore, dim=1)
    shuffled = torch.gather(tokens, 1, ids_shuffle[..., None].expand(-1, -1,
                                                                      8))
    assert torch.equal(shuffled[:, :keep], visible)
    restored = torch.gather(shuffled, 1,
                            ids_restore[..., None].expand(-1, -1, 8))
    assert torch.equal(restored, tokens)
    assert dropped.shape[1] == length - keep


@pytest.mark.parametrize('mode', ['time', 'freq', 'tf'])
def test_structured_masking_drops_whole_stripes(mode):
    torch.manual_seed(0)
    noise = structured_noise(torch.rand(4, 512), (8, 64), 0.75, mode)
    _, mask, _ = mask_by_noise(torch.randn(4, 512, 2), noise, 0.75)
    grid = mask.reshape(4, 8, 64)
    assert torch.equal(mask.sum(1), torch.full((4, ), 384.))
    full_cols = (grid.sum(1) == 8).sum(1)
    full_rows = (grid.sum(2) == 64).sum(1)
    if mode == 'time':
        assert (full_cols == 48).all()  # 48 of 64 time columns
    elif mode == 'freq':
        assert (full_rows == 6).all()  # 6 of 8 frequency rows
    else:
        # 33 columns + 4 rows = 388 stripe tokens > the 384 budget: the
        # whole budget goes to stripe tokens (as in the reference).
        stripe = noise > 1
        assert torch.equal(stripe.sum(1), torch.full((4, ), 388))
        assert torch.equal((mask.bool() & stripe).sum(1),
                           torch.full((4, ), 384))


def test_structured_mode_in_model_runs():
    model = build('cavmae_tiny_pretrain', backbone=dict(
        audio_mask_mode='time'))
    losses = model(dict(audio=torch.randn(2, 1024, 128),
                        imgs=torch.randn(2, 3, 224, 224)), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match='audio_mask_mode'):
        build('cavmae_tiny_pretrain', backbone=dict(audio_mask_mode='rows'))


def test_contrastive_loss_hand_computed():
    # Orthogonal unit embeddings with a permuted pairing.
    audio = torch.tensor([[1., 0.], [0., 1.]])
    visual = torch.tensor([[2., 0.], [0., 3.]])  # norms do not matter
    loss_fn = AVInfoNCELoss(temperature=0.5, loss_weight=1.0)
    loss, acc = loss_fn(audio, visual)
    # S = [[2, 0], [0, 2]]: each column's softmax gives the diagonal
    # probability e^2 / (e^2 + 1).
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert acc.item() == 1.0
    loss_w, _ = AVInfoNCELoss(temperature=0.5, loss_weight=0.01)(audio,
                                                                 visual)
    assert loss_w.item() == pytest.approx(0.01 * expected, rel=1e-6)
    # Swapped pairs: every argmax misses the diagonal.
    _, acc = loss_fn(audio, visual.flip(0))
    assert acc.item() == 0.0


def test_contrastive_directions():
    # An asymmetric case where dim-0 and dim-1 softmaxes differ.
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(4, 3, generator=gen)
    visual = torch.randn(4, 3, generator=gen)
    S = F.normalize(audio, dim=-1) @ F.normalize(visual, dim=-1).T / 0.05
    col = -torch.diag(F.log_softmax(S, 0)).mean()
    row = -torch.diag(F.log_softmax(S, 1)).mean()
    one, _ = AVInfoNCELoss(loss_weight=1.)(audio, visual)
    both, _ = AVInfoNCELoss(loss_weight=1., bidirectional=True)(audio,
                                                               visual)
    assert one.item() == pytest.approx(col.item(), rel=1e-6)
    assert both.item() == pytest.approx((col + row).item() / 2, rel=1e-6)
    assert col.item() != pytest.approx(row.item(), rel=1e-3)


def test_reconstruction_loss_on_masked_patches_only():
    pred = torch.zeros(1, 4, 3)
    target = torch.tensor([[[1., 1., 1.], [2., 2., 2.], [0., 0., 0.],
                            [3., 3., 3.]]])
    mask = torch.tensor([[1., 0., 1., 0.]])
    loss = MaskedPatchReconstructionLoss(norm_pix=False)(pred, target, mask)
    assert loss.item() == pytest.approx((1 + 0) / 2)
    # norm_pix standardizes each patch with the unbiased variance.
    target = torch.tensor([[[1., 2., 3.]]])
    loss = MaskedPatchReconstructionLoss(norm_pix=True)(
        torch.zeros(1, 1, 3), target, torch.ones(1, 1))
    expected = ((torch.tensor([-1., 0., 1.]) / (1 + 1e-6)**.5)**2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_reconstruction_loss_is_zero_when_nothing_is_masked():
    pred = torch.randn(2, 4, 3, requires_grad=True)
    loss = MaskedPatchReconstructionLoss()(pred, torch.randn(2, 4, 3),
                                           torch.zeros(2, 4))
    assert loss.item() == 0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_patchify_roundtrip_and_order():
    image = torch.arange(2 * 3 * 32 * 48, dtype=torch.float32).reshape(
        2, 3, 32, 48)
    patches = patchify(image, 16)
    assert patches.shape == (2, 6, 768)
    # Patch 1 is row 0, column 1; its first value is pixel (0, 16), ch 0.
    assert patches[0, 1, 0] == image[0, 0, 0, 16]
    assert patches[0, 1, 1] == image[0, 1, 0, 16]  # channel fastest
    assert torch.equal(unpatchify(patches, 16, 2, 3), image)


@pytest.mark.parametrize('name,dim', [('cavmae_tiny_pretrain', 64),
                                      pytest.param(
                                          'cavmae_vit_base_pretrain', 768,
                                          marks=pytest.mark.slow)])
def test_pretrain_shapes(name, dim):
    model = build(name)
    with torch.no_grad():
        out = model(dict(audio=torch.randn(2, 1024, 128),
                         imgs=torch.randn(2, 1, 3, 224, 224)),
                    mode='tensor')
        emb = model(dict(audio=torch.randn(2, 1024, 128),
                         imgs=torch.randn(2, 1, 3, 224, 224)),
                    mode='predict')
    assert out['joint'].shape == (2, 128 + 49, dim)
    assert out['audio'].shape == (2, 128, dim)
    assert out['visual'].shape == (2, 49, dim)
    assert out['pred_a'].shape == (2, 512, 256)
    assert out['pred_v'].shape == (2, 196, 768)
    assert out['mask_a'].shape == (2, 512) and out['mask_v'].shape == (2,
                                                                        196)
    assert emb['audio'].shape == (2, dim) and emb['visual'].shape == (2, dim)
    assert torch.allclose(emb['audio'].norm(dim=-1), torch.ones(2))


def test_recognizer_multi_frame_averages_frame_scores(tiny_finetune):
    model = tiny_finetune
    model.cls_head._sigmoid_average = True  # AudioSet-style averaging
    audio = torch.randn(2, 1024, 128)
    imgs = torch.randn(2, 3, 3, 224, 224)  # 3 frames per clip
    from mmaction.structures import ActionDataSample
    samples = [ActionDataSample() for _ in range(2)]
    with torch.no_grad():
        preds = model(dict(audio=audio, imgs=imgs), samples, mode='predict')
        per_frame = [torch.sigmoid(model(
            dict(audio=audio, imgs=imgs[:, f]), mode='tensor',
            stage='head')) for f in range(3)]
    expected = torch.stack(per_frame).mean(0)
    for i, sample in enumerate(preds):
        assert torch.allclose(sample.pred_scores.item, expected[i],
                              atol=1e-6)


def test_missing_input_errors_name_the_mode(tiny_finetune):
    tiny_finetune.mode = 'multimodal'
    with pytest.raises(ValueError, match="'multimodal' needs.*imgs"):
        tiny_finetune(dict(audio=torch.randn(1, 1024, 128)), mode='tensor')
    with pytest.raises(ValueError, match='mode must be one of'):
        tiny_finetune.mode = 'audio'
    with pytest.raises(ValueError, match='audio must be'):
        tiny_finetune.backbone(audio=torch.randn(1, 512, 128),
                               mode='audioonly')


def test_other_audio_length_and_checkpoint_adaptation():
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
    import logging
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        short.load_state_dict(state, strict=True)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
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


def test_decoder_audio_position_embedding_is_adapted_too():
    """A pre-training checkpoint at 1024 frames loads into a 512-frame
    model: the decoder's sin-cos embedding is cut like the encoder's."""
    state = build('cavmae_tiny_pretrain').state_dict()
    short = build('cavmae_tiny_pretrain', backbone=dict(audio_length=512),
                  neck=dict(grid_a=(8, 32)))
    fresh = short.neck.decoder_pos_embed_a.clone()
    short.load_state_dict(state, strict=True)
    assert short.neck.decoder_pos_embed_a.shape == fresh.shape
    assert short.neck.decoder_pos_embed_a.shape[1] == 8 * 32
    assert torch.allclose(short.neck.decoder_pos_embed_a, fresh)
