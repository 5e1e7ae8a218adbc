"""CAVMAE: wiring of backbone, neck and head."""
import re

import pytest
import torch
from mmaction.structures import ActionDataSample

from cavmae_mm.models.utils.embeddings import retrieval_embeddings
from ..conftest import build

TOY_SIZES = dict(audio_length=384, img_size=112)


def test_neck_and_head_geometry_come_from_the_backbone():
    model = build('cavmae_tiny_pretrain', backbone=TOY_SIZES)
    assert model.neck.grid_a == (8, 24) and model.neck.grid_v == (7, 7)
    assert model.neck.patch_size == model.head.patch_size == 16
    assert model.neck.decoder_embed.in_features == 64  # backbone embed_dims
    assert model.neck.decoder_pos_embed_a.shape == (1, 8 * 24, 32)
    with torch.no_grad():
        losses = model(dict(audio=torch.randn(2, 384, 128),
                            imgs=torch.randn(2, 1, 3, 112, 112)),
                       mode='loss')
    assert torch.isfinite(losses['loss_mae_a'])


def test_agreeing_explicit_geometry_is_accepted():
    model = build('cavmae_tiny_pretrain', backbone=TOY_SIZES,
                  neck=dict(grid_a=[8, 24], grid_v=(7, 7), embed_dims=64),
                  head=dict(patch_size=16))
    assert model.neck.grid_a == (8, 24)


@pytest.mark.parametrize('part,override,message', [
    ('neck', dict(grid_a=(8, 64)),
     'model.neck.grid_a=(8, 64) disagrees with model.backbone '
     '(num_mel_bins=128, audio_length=384, patch_size=16 -> grid (8, 24))'),
    ('neck', dict(grid_v=(14, 14)),
     'model.neck.grid_v=(14, 14) disagrees with model.backbone '
     '(img_size=112, patch_size=16 -> grid (7, 7))'),
    ('neck', dict(embed_dims=768),
     'model.neck.embed_dims=768 disagrees with '
     'model.backbone.embed_dims=64'),
    ('head', dict(patch_size=8),
     'model.head.patch_size=8 disagrees with model.backbone.patch_size=16'),
])
def test_disagreeing_geometry_fails_at_build_naming_both_keys(
        part, override, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build('cavmae_tiny_pretrain', backbone=TOY_SIZES,
              **{part: override})


def test_recognizer_head_width_must_match_the_backbone():
    with pytest.raises(ValueError, match=re.escape(
            'model.cls_head.in_channels=768 disagrees with '
            'model.backbone.embed_dims=64')):
        build('cavmae_tiny_finetune', cls_head=dict(in_channels=768))


def test_decoder_gets_the_visible_count_as_a_python_int(monkeypatch):
    """No device sync per step: the split of the joint sequence comes from
    the backbone's configuration, not from the mask tensor."""
    model = build('cavmae_tiny_pretrain',
                  backbone=dict(audio_length=256, img_size=32,
                                mask_ratio_a=0.5))
    seen = []
    neck_forward = model.neck.forward

    def spy(*args, num_visible_a):
        seen.append(num_visible_a)
        return neck_forward(*args, num_visible_a=num_visible_a)

    monkeypatch.setattr(model.neck, 'forward', spy)

    def no_sync(*args):
        raise AssertionError('tensor read back on the host')

    for name in ('item', '__int__', 'tolist'):  # what a sync would call
        monkeypatch.setattr(torch.Tensor, name, no_sync)
    with torch.no_grad():
        model(dict(audio=torch.randn(2, 256, 128),
                   imgs=torch.randn(2, 1, 3, 32, 32)), mode='tensor')
    assert seen == [64] and type(seen[0]) is int


def test_embeddings_and_predict_delegate_to_the_backbone(tiny_pretrain):
    from mmaction.structures import ActionDataSample
    audio, imgs = torch.randn(2, 1024, 128), torch.randn(2, 2, 3, 224, 224)
    with torch.no_grad():
        out = tiny_pretrain.extract_embeddings(
            dict(audio=audio, imgs=imgs), with_tokens=True)
        expected = retrieval_embeddings(
            tiny_pretrain.backbone, audio, imgs.flatten(0, 1), 2,
            with_tokens=True)
        samples = tiny_pretrain.predict(
            dict(audio=audio, imgs=imgs),
            [ActionDataSample(), ActionDataSample()])
        plain = tiny_pretrain.predict(dict(audio=audio, imgs=imgs))
    assert set(out) == set(expected)
    for name in out:
        assert torch.equal(out[name], expected[name])
    assert torch.equal(samples[1].visual_feature, expected['visual'][1])
    assert set(plain) == {'audio', 'visual'}


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
    assert out['mask_a'].shape == (2, 512)
    assert out['mask_v'].shape == (2, 196)
    assert emb['audio'].shape == (2, dim) and emb['visual'].shape == (2, dim)
    assert torch.allclose(emb['audio'].norm(dim=-1), torch.ones(2))


def test_split_inputs_views_and_paired_frames():
    from cavmae_mm.models.algorithms.cavmae import split_inputs
    audio, imgs = torch.randn(2, 64, 128), torch.randn(2, 3, 3, 32, 32)
    # CAV-MAE: one spectrogram, V views of the clip
    for clip_audio in (audio, audio[:, None]):
        out = split_inputs(dict(audio=clip_audio, imgs=imgs))
        assert out.views == 3 and out.frames == 1
        assert torch.equal(out.audio, audio)
        assert out.imgs.shape == (6, 3, 32, 32)
    # Sync: F segments, each with its frame; clip-major
    segments = torch.randn(2, 3, 64, 128)
    out = split_inputs(dict(audio=segments, imgs=imgs))
    assert out.views == 1 and out.frames == 3
    assert torch.equal(out.audio[4], segments[1, 1])
    assert torch.equal(out.imgs[4], imgs[1, 1])
    assert split_inputs(dict(audio=segments)).frames == 3
    with pytest.raises(ValueError, match='3 spectrogram segments'):
        split_inputs(dict(audio=segments, imgs=imgs[:, :2]))


def test_sync_frames_train_and_predict_per_frame_features():
    """B clips x F paired frames: every frame pair is masked and
    reconstructed, the contrastive loss knows the clips, and predict
    stores one unit feature per frame ([F, D]) in each sample."""
    model = build('cavmae_tiny_pretrain', backbone=dict(
        audio_length=416, num_register_tokens=2, cls_token=True))
    data = dict(audio=torch.randn(2, 3, 416, 128),
                imgs=torch.randn(2, 3, 3, 224, 224))
    losses = model(data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.backbone.cls_token_a.grad.abs().sum() > 0
    assert model.backbone.register_tokens.grad.abs().sum() > 0
    with torch.no_grad():
        samples = model(data, [ActionDataSample(), ActionDataSample()],
                        mode='predict')
    for sample in samples:
        for name in ('audio_feature', 'visual_feature'):
            feature = sample.get(name)
            assert feature.shape == (3, 64)
            assert torch.allclose(feature.norm(dim=-1), torch.ones(3))


def test_multi_ratio_masking_in_the_model(monkeypatch):
    """A new pair of ratios per batch; the decoder splits at this batch's
    visible audio count."""
    model = build('cavmae_tiny_pretrain', backbone=dict(
        audio_length=256, img_size=32, multi_ratio_masking=True))
    seen = []
    neck_forward = model.neck.forward

    def spy(*args, num_visible_a):
        seen.append(num_visible_a)
        return neck_forward(*args, num_visible_a=num_visible_a)

    monkeypatch.setattr(model.neck, 'forward', spy)
    data = dict(audio=torch.randn(2, 256, 128),
                imgs=torch.randn(2, 3, 32, 32))
    torch.manual_seed(0)
    with torch.no_grad():
        outs = [model(data, mode='tensor') for _ in range(4)]
    for out, count in zip(outs, seen):
        assert isinstance(count, int)
        assert ((1 - out['mask_a']).sum(1) == count).all()
        assert 128 * 0.1 <= count <= 128 * 0.4 + 1
    assert len(set(seen)) > 1


def test_recognizer_head_width_follows_the_multimodal_feature():
    with pytest.raises(ValueError, match=re.escape(
            "model.cls_head.in_channels=64 disagrees with the backbone's "
            "multimodal feature of 128 channels (multimodal_feature='cls'")):
        build('cavmae_tiny_finetune', backbone=dict(
            cls_token=True, multimodal_feature='cls'),
            cls_head=dict(in_channels=64))
    model = build('cavmae_tiny_finetune', backbone=dict(
        cls_token=True, multimodal_feature='mean'),
        cls_head=dict(in_channels=128))
    assert model.backbone.feature_dims('multimodal') == 128
    assert model.backbone.feature_dims('audioonly') == 64
