"""A plain-torch restatement of CAV-MAE Sync's pre-training and retrieval
forward (/work/shared/SPEC_SYNC.md, the reference's ``cav_mae_sync.py``)
for parity tests.

It works on a reference-named state dict (``register_tokens``,
``cls_token_a``/``_v``, ``constrative_head_audio``/``_visual`` as the
reference spells them; no ``module.`` prefix) and shares no code with
``cavmae_mm``; the CAV-MAE pieces come from ``spec_reference``. Where the
reference is broken it computes the evident intent, each marked ``FIX``:
the kept registers are removed from the joint sequence at the visible
audio count (not the unmasked one), the kept registers are not averaged
into retrieval features, and the evaluation-mode contrastive loss
excludes the negatives from its positive term.
"""
import torch
import torch.nn.functional as F

from .spec_reference import (embed, layer_norm, linear, patchify,
                             random_masking, run)


def add_tokens(sd, x, modality, num_registers, cls_token):
    """[cls] + patches + [registers] (no position/modality embedding)."""
    batch = x.shape[0]
    if cls_token:
        x = torch.cat([sd['cls_token_' + modality].expand(batch, -1, -1), x],
                      1)
    if num_registers:
        rows = sd['register_tokens'][:num_registers] if modality == 'a' \
            else sd['register_tokens'][num_registers:]
        x = torch.cat([x, rows[None].expand(batch, -1, -1)], 1)
    return x


def contrastive_path(sd, x, modality, heads, contrastive_heads):
    """blocks_u with the modality's norms, then the reference's heads
    (plain blocks), no final norm yet."""
    x = run(sd, 'blocks_u', x, heads, '_' + modality)
    if contrastive_heads:
        name = 'constrative_head_audio' if modality == 'a' else \
            'constrative_head_visual'
        x = run(sd, name, x, heads)
    return x


def forward_encoder(sd, audio, imgs, noise_a, noise_v, heads, ratio_a=0.75,
                    ratio_v=0.75, num_registers=0, cls_token=False,
                    keep_registers=False, contrastive_heads=False):
    """The reference's ``forward_encoder`` (unstructured masking)."""
    a, v = embed(sd, audio, imgs)
    a, mask_a, restore_a = random_masking(a, ratio_a, noise_a)
    v, mask_v, restore_v = random_masking(v, ratio_v, noise_v)
    visible_a = a.shape[1]
    a = run(sd, 'blocks_a', add_tokens(sd, a, 'a', num_registers, cls_token),
            heads)
    v = run(sd, 'blocks_v', add_tokens(sd, v, 'v', num_registers, cls_token),
            heads)
    if num_registers and not keep_registers:
        a, v = a[:, :-num_registers], v[:, :-num_registers]
    x = torch.cat([a[:, 1:] if cls_token else a,
                   v[:, 1:] if cls_token else v], 1)
    x = layer_norm(sd, 'norm', run(sd, 'blocks_u', x, heads))
    ca = contrastive_path(sd, a, 'a', heads, contrastive_heads)
    cv = contrastive_path(sd, v, 'v', heads, contrastive_heads)
    if num_registers and keep_registers:
        ca, cv = ca[:, :-num_registers], cv[:, :-num_registers]
        # FIX: the reference cuts at the unmasked audio count.
        x = torch.cat([x[:, :visible_a],
                       x[:, visible_a + num_registers:-num_registers]], 1)
    out = dict(joint=x, mask_a=mask_a, mask_v=mask_v, restore_a=restore_a,
               restore_v=restore_v)
    if cls_token:
        out['cls_a'] = layer_norm(sd, 'norm_a', ca[:, 0])
        out['cls_v'] = layer_norm(sd, 'norm_v', cv[:, 0])
        ca, cv = ca[:, 1:], cv[:, 1:]
    out['audio'] = layer_norm(sd, 'norm_a', ca)
    out['visual'] = layer_norm(sd, 'norm_v', cv)
    return out


def forward_decoder(sd, x, mask_a, restore_a, mask_v, restore_v, heads):
    """The reference's ``forward_decoder`` (split at the visible audio
    count of sample 0)."""
    x = linear(sd, 'decoder_embed', x)
    batch, _, dim = x.shape
    length_a = mask_a.shape[1]
    masked_a, masked_v = int(mask_a[0].sum()), int(mask_v[0].sum())
    visible_a = length_a - masked_a
    a = torch.cat([x[:, :visible_a],
                   sd['mask_token'].repeat(batch, masked_a, 1)], 1)
    a = torch.gather(a, 1, restore_a[..., None].repeat(1, 1, dim))
    v = torch.cat([x[:, visible_a:],
                   sd['mask_token'].repeat(batch, masked_v, 1)], 1)
    v = torch.gather(v, 1, restore_v[..., None].repeat(1, 1, dim))
    x = torch.cat([a, v], 1) + torch.cat(
        [sd['decoder_pos_embed_a'], sd['decoder_pos_embed_v']], 1)
    x = torch.cat([x[:, :length_a] + sd['decoder_modality_a'],
                   x[:, length_a:] + sd['decoder_modality_v']], 1)
    x = layer_norm(sd, 'decoder_norm', run(sd, 'decoder_blocks', x, heads))
    return (linear(sd, 'decoder_pred_a', x[:, :length_a]),
            linear(sd, 'decoder_pred_v', x[:, length_a:]))


def mae_loss(pred, target, mask):
    """norm_pix_loss=True, mean over the masked patches."""
    mean = target.mean(-1, keepdim=True)
    var = target.var(-1, keepdim=True)
    target = (target - mean) / (var + 1.e-6)**.5
    loss = ((pred - target)**2).mean(-1)
    return (loss * mask).sum() / mask.sum()


def contrastive(audio_rep, video_rep, mode='train', total_frame=1):
    """The reference's ``forward_contrastive`` (single-directional).

    ``'train'``: CAV-MAE's. ``'eval'``: rows (audio) against columns
    (frames); a row's positives are the frames of its clip; accuracy = the
    row's argmax lies in its clip."""
    audio_rep = F.normalize(audio_rep, dim=-1)
    video_rep = F.normalize(video_rep, dim=-1)
    total = audio_rep @ video_rep.T / 0.05
    if mode == 'train':
        nce = -torch.mean(torch.diag(F.log_softmax(total, dim=0)))
        acc = (total.argmax(0) == torch.arange(total.shape[0])).float()
        return nce, acc.mean()
    clips = total.shape[1] // total_frame
    video_indices = torch.arange(clips).repeat_interleave(total_frame)
    correct = video_indices[total.argmax(1)] == torch.arange(
        total.shape[0] // total_frame).repeat_interleave(total_frame)
    positive = video_indices[None] == video_indices[:, None]
    # FIX: the reference multiplies the negatives by 0 (exp(0) terms
    # stay); exclude them.
    nce = -torch.mean(
        torch.logsumexp(total.masked_fill(~positive, float('-inf')), 1) -
        torch.logsumexp(total, 1))
    return nce, correct.float().mean()


def pretrain_losses(sd, audio, imgs, noise_a, noise_v, heads, dec_heads,
                    global_local=False, mode='train', total_frame=1,
                    frames_as_rows=False, **encoder_options):
    """The reference's ``forward``: MAE losses (weight 1) and the
    contrastive loss (weight 0.01) on the cls tokens (``cls_token``), the
    patch means (no cls), or both averaged (``global_local``).
    ``frames_as_rows`` swaps the two arguments of ``contrastive``."""
    out = forward_encoder(sd, audio, imgs, noise_a, noise_v, heads,
                          **encoder_options)
    pred_a, pred_v = forward_decoder(sd, out['joint'], out['mask_a'],
                                     out['restore_a'], out['mask_v'],
                                     out['restore_v'], dec_heads)
    loss_a = mae_loss(pred_a, patchify(audio.unsqueeze(1).transpose(2, 3)),
                      out['mask_a'])
    loss_v = mae_loss(pred_v, patchify(imgs), out['mask_v'])
    local = (out['audio'].mean(1), out['visual'].mean(1))
    cls = (out.get('cls_a'), out.get('cls_v'))
    if frames_as_rows:
        local, cls = local[::-1], cls[::-1]
    if 'cls_a' not in out:
        loss_c, acc = contrastive(*local, mode, total_frame)
    elif global_local:
        global_c, global_acc = contrastive(*cls, mode, total_frame)
        local_c, local_acc = contrastive(*local, mode, total_frame)
        loss_c, acc = (global_c + local_c) / 2, (global_acc + local_acc) / 2
    else:
        loss_c, acc = contrastive(*cls, mode, total_frame)
    out.update(loss_mae_a=loss_a, loss_mae_v=loss_v, loss_c=0.01 * loss_c,
               acc_c=acc, pred_a=pred_a, pred_v=pred_v)
    return out


def retrieval_features(sd, audio, imgs, heads, num_registers=0,
                       cls_token=False, keep_registers=False,
                       contrastive_heads=False):
    """The reference's ``forward_feat`` and retrieval pooling: cls token if
    ``cls_token`` else the token mean, L2-normalized; ``[N, D]`` each."""
    a, v = embed(sd, audio, imgs)
    a = run(sd, 'blocks_a', add_tokens(sd, a, 'a', num_registers, cls_token),
            heads)
    v = run(sd, 'blocks_v', add_tokens(sd, v, 'v', num_registers, cls_token),
            heads)
    if num_registers and not keep_registers:
        a, v = a[:, :-num_registers], v[:, :-num_registers]
    ca = contrastive_path(sd, a, 'a', heads, contrastive_heads)
    cv = contrastive_path(sd, v, 'v', heads, contrastive_heads)
    if num_registers and keep_registers:
        # FIX: the reference leaves the kept registers in the mean.
        ca, cv = ca[:, :-num_registers], cv[:, :-num_registers]
    if cls_token:
        feat_a = layer_norm(sd, 'norm_a', ca[:, 0])
        feat_v = layer_norm(sd, 'norm_v', cv[:, 0])
    else:
        feat_a = layer_norm(sd, 'norm_a', ca).mean(1)
        feat_v = layer_norm(sd, 'norm_v', cv).mean(1)
    return F.normalize(feat_a, dim=-1), F.normalize(feat_v, dim=-1)


def finetune_features(sd, audio, imgs, mode, heads, num_registers=0,
                      cls_token=False, keep_registers=False):
    """The reference's ``CAVMAEFT`` features before its classifier.

    ``audioonly`` / ``videoonly``: the modality's blocks, the shared block
    with the JOINT norms, ``norm``, token 0 (cls) or the mean (FIX: kept
    registers not in the mean). ``multimodal``: ``cat(cls_a, cls_v)`` of
    the ``blocks_a`` / ``blocks_v`` outputs, or of their patch means (the
    reference computes the joint layer and discards it)."""
    a, v = embed(sd, audio, imgs)
    outputs = {}
    for name, x, modality in (('a', a, 'a'), ('v', v, 'v')):
        if x is None:
            continue
        x = run(sd, 'blocks_' + modality,
                add_tokens(sd, x, modality, num_registers, cls_token), heads)
        if num_registers and not keep_registers:
            x = x[:, :-num_registers]
        outputs[name] = x
    if mode == 'multimodal':
        a, v = outputs['a'], outputs['v']
        if num_registers and keep_registers:
            a, v = a[:, :-num_registers], v[:, :-num_registers]
        if cls_token:
            return torch.cat([a[:, 0], v[:, 0]], 1)
        return torch.cat([a.mean(1), v.mean(1)], 1)
    x = outputs['a' if mode == 'audioonly' else 'v']
    x = layer_norm(sd, 'norm', run(sd, 'blocks_u', x, heads))
    if cls_token:
        return x[:, 0]
    if num_registers and keep_registers:
        x = x[:, :-num_registers]
    return x.mean(1)


def aggregate_frames(sd, features, total_frame, heads):
    """The reference's ``aggregate='self_attention_cls'`` on ``[N * F, C]``
    features: ``cls_cls_token``, 2 ``classifier_layers``,
    ``classifier_norm``, ``classifier_head`` on token 0."""
    x = features.reshape(-1, total_frame, features.shape[-1])
    x = torch.cat([sd['cls_cls_token'].expand(x.shape[0], -1, -1), x], 1)
    x = layer_norm(sd, 'classifier_norm',
                   run(sd, 'classifier_layers', x, heads))
    return linear(sd, 'classifier_head', x[:, 0])
