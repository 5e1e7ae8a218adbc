"""fp32 parity of the CAV-MAE Sync options with the plain restatement of
the reference's computation (spec_sync_reference.py), on the same weights
and masking noise."""
import pytest
import torch

from cavmae_mm.models.losses import AVInfoNCELoss
from . import spec_sync_reference as sync_ref
from .conftest import build, randomize_, reference_state_dict
from .test_parity import assert_close

FRAMES = 416  # the released model's 4 s segments: an 8 x 26 audio grid
NA, NV = 8 * 26, 196

#: name -> (backbone options, restatement options). The first is the
#: released configuration.
OPTIONS = {
    'released': (dict(num_register_tokens=8, cls_token=True),
                 dict(num_registers=8, cls_token=True)),
    'heads': (dict(num_register_tokens=8, cls_token=True,
                   contrastive_heads=True),
              dict(num_registers=8, cls_token=True, contrastive_heads=True)),
    'global_local': (dict(num_register_tokens=8, cls_token=True,
                          contrastive_feature='global_local'),
                     dict(num_registers=8, cls_token=True)),
    'keep_registers': (dict(num_register_tokens=4, cls_token=True,
                            keep_register_tokens=True),
                       dict(num_registers=4, cls_token=True,
                            keep_registers=True)),
    'keep_registers_mean': (dict(num_register_tokens=4,
                                 keep_register_tokens=True),
                            dict(num_registers=4, keep_registers=True)),
    'registers_mean': (dict(num_register_tokens=2),
                       dict(num_registers=2)),
    'all': (dict(num_register_tokens=4, cls_token=True,
                 keep_register_tokens=True, contrastive_heads=True,
                 contrastive_feature='global_local'),
            dict(num_registers=4, cls_token=True, keep_registers=True,
                 contrastive_heads=True)),
}


def sync_model(backbone, **overrides):
    return randomize_(build('cavmae_tiny_pretrain', backbone=dict(
        audio_length=FRAMES, **backbone), **overrides)).eval()


def sync_state_dict(model):
    """Reference names, with the reference's ``constrative_`` spelling."""
    return {key.replace('contrastive_head_', 'constrative_head_'): value
            for key, value in reference_state_dict(model).items()}


def inputs(batch, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, FRAMES, 128, generator=gen),
            torch.randn(batch, 3, 224, 224, generator=gen),
            torch.rand(batch, NA, generator=gen),
            torch.rand(batch, NV, generator=gen))


def test_released_geometry():
    model = sync_model(OPTIONS['released'][0])
    backbone = model.backbone
    assert backbone.grid_a == (8, 26) and backbone.num_patches_a == NA
    assert backbone.num_visible_a == 52
    assert backbone.register_tokens.shape == (16, 64)
    assert backbone.cls_token_a.shape == backbone.cls_token_v.shape == (
        1, 1, 64)
    assert backbone.contrastive_feature == 'cls'
    assert model.neck.decoder_pos_embed_a.shape == (1, NA, 32)


@pytest.mark.parametrize('name', list(OPTIONS))
def test_pretraining_and_retrieval_match_the_reference(name):
    ours_options, ref_options = OPTIONS[name]
    model = sync_model(ours_options)
    sd = sync_state_dict(model)
    audio, imgs, noise_a, noise_v = inputs(4)
    with torch.no_grad():
        losses = model(dict(audio=audio, imgs=imgs[:, None]), mode='loss',
                       noise_a=noise_a, noise_v=noise_v)
        tensors = model(dict(audio=audio, imgs=imgs), mode='tensor',
                        noise_a=noise_a, noise_v=noise_v)
        features = model.extract_embeddings(dict(audio=audio, imgs=imgs))
    theirs = sync_ref.pretrain_losses(
        sd, audio, imgs, noise_a, noise_v, heads=4, dec_heads=4,
        global_local=ours_options.get('contrastive_feature') ==
        'global_local', **ref_options)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'):
        assert_close(losses[key], theirs[key])
    for key in ('joint', 'audio', 'visual', 'mask_a', 'mask_v', 'pred_a',
                'pred_v'):
        assert_close(tensors[key], theirs[key])
    if 'cls_a' in theirs:
        assert_close(tensors['audio_cls'], theirs['cls_a'])
        assert_close(tensors['visual_cls'], theirs['cls_v'])
    ref_a, ref_v = sync_ref.retrieval_features(sd, audio, imgs, heads=4,
                                               **ref_options)
    assert_close(features['audio'], ref_a)
    assert_close(features['visual'], ref_v)


def test_without_the_options_sync_is_cavmae():
    """R = 0, no cls, no heads: the restatement of Sync equals the CAV-MAE
    model on the same weights (and its parity restatement)."""
    model = sync_model({})
    sd = sync_state_dict(model)
    audio, imgs, noise_a, noise_v = inputs(3)
    with torch.no_grad():
        losses = model(dict(audio=audio, imgs=imgs), mode='loss',
                       noise_a=noise_a, noise_v=noise_v)
    theirs = sync_ref.pretrain_losses(sd, audio, imgs, noise_a, noise_v,
                                      heads=4, dec_heads=4)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'):
        assert_close(losses[key], theirs[key])


@pytest.mark.parametrize('name', ['released', 'global_local'])
def test_frames_of_a_clip_are_positives(name):
    """F = 3 segments + frames per clip: the reference's evaluation-mode
    loss (FIX: negatives excluded) with the roles of the two modalities
    swapped (ours ranks audio per frame, as in training), MAE losses as
    for B * F independent pairs; retrieval features [F, D] per clip."""
    ours_options, ref_options = OPTIONS[name]
    model = sync_model(ours_options)
    sd = sync_state_dict(model)
    clips, frames = 2, 3
    audio, imgs, noise_a, noise_v = inputs(clips * frames, seed=5)
    data = dict(audio=audio.reshape(clips, frames, FRAMES, 128),
                imgs=imgs.reshape(clips, frames, 3, 224, 224))
    with torch.no_grad():
        losses = model(data, mode='loss', noise_a=noise_a, noise_v=noise_v)
        features = model.extract_embeddings(data)
    theirs = sync_ref.pretrain_losses(
        sd, audio, imgs, noise_a, noise_v, heads=4, dec_heads=4,
        global_local=name == 'global_local', mode='eval',
        total_frame=frames, frames_as_rows=True, **ref_options)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'):
        assert_close(losses[key], theirs[key])
    ref_a, ref_v = sync_ref.retrieval_features(sd, audio, imgs, heads=4,
                                               **ref_options)
    assert features['audio'].shape == (clips, frames, 64)
    assert_close(features['audio'], ref_a.reshape(clips, frames, 64))
    assert_close(features['visual'], ref_v.reshape(clips, frames, 64))


def test_eval_mode_loss_excludes_negatives():
    gen = torch.Generator().manual_seed(0)
    audio, visual = torch.randn(2, 12, 16, generator=gen)
    loss = AVInfoNCELoss(loss_weight=1.0)
    ours, acc = loss(audio, visual, frames_per_clip=4)
    theirs, their_acc = sync_ref.contrastive(visual, audio, 'eval', 4)
    assert_close(ours, theirs)
    assert_close(acc, their_acc)
    assert ours >= 0  # the reference's exp(0) terms can make it negative
    # One frame per clip: every choice is CAV-MAE's loss.
    for choice in ('positive', 'negative', 'ignore'):
        plain = AVInfoNCELoss(loss_weight=1.0, same_clip_frames=choice)
        assert torch.equal(plain(audio, visual)[0],
                           sync_ref.contrastive(audio, visual)[0])


def test_multi_ratio_masking_draws_then_masks_like_the_reference():
    """Two ratio draws from the global generator, then the masking noise;
    a new ratio pair every call (the reference re-seeds with 0)."""
    ours_options, ref_options = OPTIONS['released']
    model = sync_model(dict(ours_options, multi_ratio_masking=True))
    sd = sync_state_dict(model)
    audio, imgs, _, _ = inputs(2)
    torch.manual_seed(11)
    with torch.no_grad():
        losses = model(dict(audio=audio, imgs=imgs), mode='loss')
        tensors = model(dict(audio=audio, imgs=imgs), mode='tensor')
    torch.manual_seed(11)
    draws = []
    for _ in range(2):
        u_a, u_v = torch.rand(2).tolist()
        ratios = dict(ratio_a=0.6 + 0.3 * u_a, ratio_v=0.6 + 0.3 * u_v)
        draws.append((ratios, torch.rand(2, NA), torch.rand(2, NV)))
    assert draws[0][0] != draws[1][0]
    (ratios, noise_a, noise_v), (ratios_2, noise_a2, noise_v2) = draws
    theirs = sync_ref.pretrain_losses(sd, audio, imgs, noise_a, noise_v,
                                      heads=4, dec_heads=4, **ratios,
                                      **ref_options)
    for key in ('loss_mae_a', 'loss_mae_v', 'loss_c', 'acc_c'):
        assert_close(losses[key], theirs[key])
    second = sync_ref.forward_encoder(sd, audio, imgs, noise_a2, noise_v2,
                                      heads=4, **ratios_2, **ref_options)
    assert_close(tensors['mask_a'], second['mask_a'])
    assert_close(tensors['joint'], second['joint'])
    assert tensors['num_visible_a'] == int(NA * (1 - ratios_2['ratio_a']))
    for ratio in (ratios['ratio_a'], ratios['ratio_v'], ratios_2['ratio_a']):
        assert 0.6 <= ratio <= 0.9


FINETUNE = {
    'cls': (dict(num_register_tokens=2, cls_token=True,
                 multimodal_feature='cls'),
            dict(num_registers=2, cls_token=True)),
    'keep_registers_mean': (dict(num_register_tokens=2,
                                 keep_register_tokens=True,
                                 multimodal_feature='mean'),
                            dict(num_registers=2, keep_registers=True)),
}


@pytest.mark.parametrize('name', list(FINETUNE))
@pytest.mark.parametrize('mode', ['multimodal', 'audioonly', 'videoonly'])
def test_finetuning_features_match_the_reference(name, mode):
    ours_options, ref_options = FINETUNE[name]
    model = randomize_(build(
        'cavmae_tiny_finetune', backbone=dict(
            audio_length=FRAMES, unimodal_norms='joint', **ours_options),
        cls_head=dict(num_classes=5, in_channels=128 if mode ==
                      'multimodal' else 64), mode=mode)).eval()
    sd = sync_state_dict(model)
    audio, imgs, _, _ = inputs(3)
    with torch.no_grad():
        ours = model.backbone(audio=audio, imgs=imgs, mode=mode)
    theirs = sync_ref.finetune_features(sd, audio, imgs, mode, heads=4,
                                        **ref_options)
    assert ours.shape == theirs.shape
    assert_close(ours, theirs)


def test_frame_aggregation_matches_the_reference():
    """Sync's fine-tuning: [B, F] paired frames, cat(cls_a, cls_v) per
    frame, self-attention over the frames with a learned cls token."""
    model = randomize_(build(
        'cavmae_tiny_finetune',
        backbone=dict(audio_length=FRAMES, num_register_tokens=2,
                      cls_token=True, multimodal_feature='cls'),
        cls_head=dict(type='CAVMAEFrameAggregationHead', num_classes=5,
                      in_channels=128, num_heads=4))).eval()
    sd = sync_state_dict(model)
    head_keys = {'cls_head.cls_token': 'cls_cls_token',
                 'cls_head.blocks.': 'classifier_layers.',
                 'cls_head.norm.': 'classifier_norm.',
                 'cls_head.fc_cls.': 'classifier_head.'}
    for key, value in model.state_dict().items():
        for ours, theirs in head_keys.items():
            if key.startswith(ours):
                sd[theirs + key[len(ours):]] = value
    clips, frames = 2, 3
    audio, imgs, _, _ = inputs(clips * frames)
    with torch.no_grad():
        logits = model(dict(audio=audio.reshape(clips, frames, FRAMES, 128),
                            imgs=imgs.reshape(clips, frames, 3, 224, 224)),
                       mode='tensor', stage='head')
    features = sync_ref.finetune_features(sd, audio, imgs, 'multimodal',
                                          heads=4, num_registers=2,
                                          cls_token=True)
    expected = sync_ref.aggregate_frames(sd, features, frames, heads=4)
    assert logits.shape == (clips, 5)
    assert_close(logits, expected)
