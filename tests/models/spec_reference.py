"""An independent, minimal restatement of SPEC §3-§4 for parity tests.

Written from the SPEC text in plain tensor operations on a reference-style
state dict (the key names of SPEC §5, no ``module.`` prefix); it shares no
code with ``cavmae_mm``. Tests load the same weights into both and compare.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-5


def sincos_grid(rows, cols, dim):
    """SPEC §3: token k -> first half encodes column k % cols, second half
    row k // cols; 1-D code with omega_d = 1 / 10000^(d / (D/4))."""
    out = np.zeros((rows * cols, dim), dtype=np.float64)
    quarter = dim // 4
    for k in range(rows * cols):
        for half, pos in enumerate((k % cols, k // cols)):
            for d in range(quarter):
                omega = 1.0 / 10000**(d / quarter)
                out[k, half * 2 * quarter + d] = math.sin(pos * omega)
                out[k, half * 2 * quarter + quarter + d] = math.cos(
                    pos * omega)
    return torch.from_numpy(out).float()[None]


def layer_norm(sd, name, x):
    return F.layer_norm(x, x.shape[-1:], sd[name + '.weight'],
                        sd[name + '.bias'], eps=EPS)


def linear(sd, name, x):
    return x @ sd[name + '.weight'].T + sd[name + '.bias']


def block(sd, prefix, x, heads, suffix=''):
    """Pre-norm block with explicit softmax attention and exact GELU."""
    batch, length, dim = x.shape
    h = layer_norm(sd, f'{prefix}.norm1{suffix}', x)
    qkv = linear(sd, f'{prefix}.attn.qkv', h)
    qkv = qkv.reshape(batch, length, 3, heads, dim // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dim // heads),
                         dim=-1)
    h = (attn @ v).transpose(1, 2).reshape(batch, length, dim)
    x = x + linear(sd, f'{prefix}.attn.proj', h)
    h = layer_norm(sd, f'{prefix}.norm2{suffix}', x)
    h = linear(sd, f'{prefix}.mlp.fc2',
               F.gelu(linear(sd, f'{prefix}.mlp.fc1', h)))
    return x + h


def n_blocks(sd, name):
    return len({k.split('.')[1] for k in sd if k.startswith(name + '.')})


def patch_tokens(sd, name, image):
    """Conv2d(kernel 16, stride 16) -> tokens, row-major."""
    out = F.conv2d(image, sd[name + '.proj.weight'], sd[name + '.proj.bias'],
                   stride=16)
    return out.flatten(2).transpose(1, 2)


def embed(sd, audio, imgs):
    a = v = None
    if audio is not None:
        # [B, T, F] -> [B, 1, F, T]
        a = patch_tokens(sd, 'patch_embed_a', audio.unsqueeze(1).transpose(
            2, 3)) + sd['pos_embed_a'] + sd['modality_a']
    if imgs is not None:
        v = patch_tokens(sd, 'patch_embed_v', imgs) + sd['pos_embed_v'] + \
            sd['modality_v']
    return a, v


def run(sd, name, x, heads, suffix=''):
    for i in range(n_blocks(sd, name)):
        x = block(sd, f'{name}.{i}', x, heads, suffix)
    return x


def classify_features(sd, audio, imgs, mode, heads):
    """Mean-pooled clip feature of each inference mode (SPEC §3)."""
    a, v = embed(sd, audio, imgs)
    if a is not None:
        a = run(sd, 'blocks_a', a, heads)
    if v is not None:
        v = run(sd, 'blocks_v', v, heads)
    if mode == 'multimodal':
        x = run(sd, 'blocks_u', torch.cat([a, v], 1), heads)
        return layer_norm(sd, 'norm', x).mean(1)
    if mode == 'audioonly':
        return layer_norm(
            sd, 'norm_a', run(sd, 'blocks_u', a, heads, '_a')).mean(1)
    if mode == 'videoonly':
        return layer_norm(
            sd, 'norm_v', run(sd, 'blocks_u', v, heads, '_v')).mean(1)
    tokens, suffix = (a, 'a') if mode == 'missingaudioonly' else (v, 'v')
    joint = layer_norm(sd, 'norm', run(sd, 'blocks_u', tokens, heads))
    own = layer_norm(sd, 'norm_' + suffix,
                     run(sd, 'blocks_u', tokens, heads, '_' + suffix))
    return (joint.mean(1) + own.mean(1)) / 2


def head_logits(sd, feature):
    return linear(sd, 'mlp_head.1', layer_norm(sd, 'mlp_head.0', feature))


def random_masking(x, ratio, noise):
    batch, length, dim = x.shape
    keep = int(length * (1 - ratio))
    shuffle = torch.argsort(noise, dim=1)
    restore = torch.argsort(shuffle, dim=1)
    visible = torch.gather(x, 1, shuffle[:, :keep, None].repeat(1, 1, dim))
    mask = torch.ones(batch, length)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, restore)
    return visible, mask, restore


def patchify(image, p=16):
    batch, c, h, w = image.shape
    x = image.reshape(batch, c, h // p, p, w // p, p)
    x = torch.einsum('nchpwq->nhwpqc', x)
    return x.reshape(batch, (h // p) * (w // p), p * p * c)


def pretrain_losses(sd, audio, imgs, noise_a, noise_v, heads, dec_heads,
                    ratio_a=0.75, ratio_v=0.75, norm_pix=True, w_mae=1.0,
                    w_c=0.01, bidirectional=False):
    """SPEC §3 steps 1-4 and §4: returns a dict of losses and tensors."""
    a, v = embed(sd, audio, imgs)
    a, mask_a, restore_a = random_masking(a, ratio_a, noise_a)
    v, mask_v, restore_v = random_masking(v, ratio_v, noise_v)
    a = run(sd, 'blocks_a', a, heads)
    v = run(sd, 'blocks_v', v, heads)
    x = layer_norm(sd, 'norm', run(sd, 'blocks_u', torch.cat([a, v], 1),
                                   heads))
    ca = layer_norm(sd, 'norm_a', run(sd, 'blocks_u', a, heads, '_a'))
    cv = layer_norm(sd, 'norm_v', run(sd, 'blocks_u', v, heads, '_v'))
    encoded = x

    # decoder
    x = linear(sd, 'decoder_embed', x)
    batch, _, dim = x.shape
    la, lv = mask_a.shape[1], mask_v.shape[1]
    ka = a.shape[1]
    filled_a = torch.cat([x[:, :ka], sd['mask_token'].repeat(
        batch, la - ka, 1)], 1)
    filled_a = torch.gather(filled_a, 1, restore_a[..., None].repeat(
        1, 1, dim))
    filled_v = torch.cat([x[:, ka:], sd['mask_token'].repeat(
        batch, lv - v.shape[1], 1)], 1)
    filled_v = torch.gather(filled_v, 1, restore_v[..., None].repeat(
        1, 1, dim))
    x = torch.cat([filled_a, filled_v], 1)
    x = x + torch.cat([sd['decoder_pos_embed_a'], sd['decoder_pos_embed_v']],
                      1)
    x = torch.cat([x[:, :la] + sd['decoder_modality_a'],
                   x[:, la:] + sd['decoder_modality_v']], 1)
    x = run(sd, 'decoder_blocks', x, dec_heads)
    x = layer_norm(sd, 'decoder_norm', x)
    pred_a = linear(sd, 'decoder_pred_a', x[:, :la])
    pred_v = linear(sd, 'decoder_pred_v', x[:, la:])

    def mae(pred, target, mask):
        if norm_pix:
            mean = target.mean(-1, keepdim=True)
            var = target.var(-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6)**.5
        loss = ((pred - target)**2).mean(-1)
        return (loss * mask).sum() / mask.sum()

    loss_a = mae(pred_a, patchify(audio.unsqueeze(1).transpose(2, 3)),
                 mask_a)
    loss_v = mae(pred_v, patchify(imgs), mask_v)

    A = F.normalize(ca.mean(1), dim=-1)
    V = F.normalize(cv.mean(1), dim=-1)
    S = A @ V.T / 0.05

    def nce(s):
        value = -torch.mean(torch.diag(F.log_softmax(s, dim=0)))
        acc = (torch.argmax(F.softmax(s, dim=0), dim=0) == torch.arange(
            s.shape[0])).float().mean()
        return value, acc

    loss_c, acc = nce(S)
    if bidirectional:
        loss_c2, acc2 = nce(S.T)
        loss_c, acc = (loss_c + loss_c2) / 2, (acc + acc2) / 2
    return dict(loss_mae_a=w_mae * loss_a, loss_mae_v=w_mae * loss_v,
                loss_c=w_c * loss_c, acc_c=acc, joint=encoded, audio=ca,
                visual=cv, mask_a=mask_a, mask_v=mask_v, pred_a=pred_a,
                pred_v=pred_v)
