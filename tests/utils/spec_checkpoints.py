"""The reference's checkpoint format written out from the text of SPEC
§3-§5 (key names and shapes), not from our model, so that tests check our
model against the reference's format; and our model of a config to compare
with."""
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS

# ViT-B: dim 768, 11 + 11 + 1 blocks, MLP 4x, 16x16 patches, 8 x 64 audio
# and 14 x 14 visual grid; decoder dim 512, 8 blocks; heads 527 (AudioSet).
VIT_B = dict(dim=768, specific=11, shared=1, dec_dim=512, dec_depth=8)
TINY = dict(dim=64, specific=2, shared=1, dec_dim=32, dec_depth=1)
BLOCK_NORMS = ('norm1', 'norm1_a', 'norm1_v', 'norm2', 'norm2_a', 'norm2_v')


def block_keys(prefix, dim, norms=BLOCK_NORMS):
    keys = {}
    for norm in norms:
        keys[f'{prefix}.{norm}.weight'] = (dim, )
        keys[f'{prefix}.{norm}.bias'] = (dim, )
    keys.update({
        f'{prefix}.attn.qkv.weight': (3 * dim, dim),
        f'{prefix}.attn.qkv.bias': (3 * dim, ),
        f'{prefix}.attn.proj.weight': (dim, dim),
        f'{prefix}.attn.proj.bias': (dim, ),
        f'{prefix}.mlp.fc1.weight': (4 * dim, dim),
        f'{prefix}.mlp.fc1.bias': (4 * dim, ),
        f'{prefix}.mlp.fc2.weight': (dim, 4 * dim),
        f'{prefix}.mlp.fc2.bias': (dim, ),
    })
    return keys


def spec_reference_shapes(dim, specific, shared, dec_dim, dec_depth,
                          decoder=False, num_classes=None,
                          decoder_norm_copies=True, prefix='module.'):
    """The reference state dict's keys and shapes per SPEC §3-§5."""
    keys = {
        'patch_embed_a.proj.weight': (dim, 1, 16, 16),
        'patch_embed_a.proj.bias': (dim, ),
        'patch_embed_v.proj.weight': (dim, 3, 16, 16),
        'patch_embed_v.proj.bias': (dim, ),
        'modality_a': (1, 1, dim),
        'modality_v': (1, 1, dim),
        'pos_embed_a': (1, 8 * 64, dim),
        'pos_embed_v': (1, 14 * 14, dim),
    }
    for group, depth in (('blocks_a', specific), ('blocks_v', specific),
                         ('blocks_u', shared)):
        for i in range(depth):
            keys.update(block_keys(f'{group}.{i}', dim))
    for norm in ('norm_a', 'norm_v', 'norm'):
        keys.update({f'{norm}.weight': (dim, ), f'{norm}.bias': (dim, )})
    if decoder:
        keys.update({
            'decoder_embed.weight': (dec_dim, dim),
            'decoder_embed.bias': (dec_dim, ),
            'mask_token': (1, 1, dec_dim),
            'decoder_modality_a': (1, 1, dec_dim),
            'decoder_modality_v': (1, 1, dec_dim),
            'decoder_pos_embed_a': (1, 8 * 64, dec_dim),
            'decoder_pos_embed_v': (1, 14 * 14, dec_dim),
            'decoder_norm.weight': (dec_dim, ),
            'decoder_norm.bias': (dec_dim, ),
            'decoder_pred_a.weight': (256, dec_dim),
            'decoder_pred_a.bias': (256, ),
            'decoder_pred_v.weight': (768, dec_dim),
            'decoder_pred_v.bias': (768, ),
        })
        norms = BLOCK_NORMS if decoder_norm_copies else ('norm1', 'norm2')
        for i in range(dec_depth):
            keys.update(block_keys(f'decoder_blocks.{i}', dec_dim, norms))
    if num_classes:
        keys.update({
            'mlp_head.0.weight': (dim, ),
            'mlp_head.0.bias': (dim, ),
            'mlp_head.1.weight': (num_classes, dim),
            'mlp_head.1.bias': (num_classes, ),
        })
    return {prefix + key: shape for key, shape in keys.items()}


def random_state(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {key: torch.randn(shape, generator=gen)
            for key, shape in shapes.items()}


def shape_only_state(shapes):
    """Zero-stride tensors: any shape, no memory (key/shape tests)."""
    return {key: torch.zeros(()).expand(shape) for key, shape in
            shapes.items()}


def build(config):
    init_default_scope('mmaction')
    return MODELS.build(Config.fromfile(config).model)


def sync_reference_shapes(dim, specific, shared, dec_dim, dec_depth,
                          registers=8, cls_token=True, heads=False,
                          audio_length=416, prefix='module.', **kwargs):
    """A CAV-MAE Sync reference state dict's keys and shapes
    (SPEC_SYNC "Released checkpoint"): the CAV-MAE keys at
    ``audio_length``, ``register_tokens [2R, D]``, ``cls_token_a/_v
    [1, 1, D]`` and 2 ``constrative_head_audio/_visual`` blocks."""
    keys = spec_reference_shapes(dim, specific, shared, dec_dim, dec_depth,
                                 prefix='', **kwargs)
    time_patches = audio_length // 16
    keys['pos_embed_a'] = (1, 8 * time_patches, dim)
    if 'decoder_pos_embed_a' in keys:
        keys['decoder_pos_embed_a'] = (1, 8 * time_patches, dec_dim)
    if registers:
        keys['register_tokens'] = (2 * registers, dim)
    if cls_token:
        keys['cls_token_a'] = keys['cls_token_v'] = (1, 1, dim)
    if heads:
        for modality in ('audio', 'visual'):
            for i in range(2):
                keys.update(block_keys(f'constrative_head_{modality}.{i}',
                                       dim))
    return {prefix + key: shape for key, shape in keys.items()}
