"""The reference implementation's checkpoint keys <-> ours.

The reference implementation saves ``torch.nn.DataParallel`` state dicts
(SPEC §5): ``module.<encoder key>``, ``module.<decoder key>`` and
``module.mlp_head.{0,1}.*``. Our parameter names are the same after a
prefix change: encoder keys live under ``backbone.``, decoder keys under
``neck.``, ``mlp_head.0`` is ``cls_head.norm`` and ``mlp_head.1`` is
``cls_head.fc_cls``.

CAV-MAE Sync's pre-trained checkpoints (SPEC_SYNC "Released checkpoint")
add ``register_tokens``, ``cls_token_a``, ``cls_token_v`` (encoder keys)
and, with contrastive heads, ``constrative_head_audio.*`` /
``constrative_head_visual.*`` (their spelling; ours is
``backbone.contrastive_head_audio.*``). Its fine-tuned checkpoints with
``aggregate='self_attention_cls'`` hold ``cls_cls_token``,
``classifier_layers.*``, ``classifier_norm.*`` and ``classifier_head.*``:
``CAVMAEFrameAggregationHead``'s ``cls_head.cls_token``,
``cls_head.blocks.*``, ``cls_head.norm.*`` and ``cls_head.fc_cls.*``.
:func:`detect_model` reads which model a reference state dict holds.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import torch
from mmengine.logging import MMLogger

from .strict_load import format_keys

OFFICIAL_PREFIX = 'module.'
# SPEC §5: top-level reference names, parameters (exact) and modules
# (prefixes ending with a dot).
ENCODER_PARAMS = ('modality_a', 'modality_v', 'pos_embed_a', 'pos_embed_v',
                  'cls_token_a', 'cls_token_v', 'register_tokens')
ENCODER_MODULES = ('patch_embed_a.', 'patch_embed_v.', 'blocks_a.',
                   'blocks_v.', 'blocks_u.', 'norm_a.', 'norm_v.', 'norm.')
DECODER_PARAMS = ('mask_token', 'decoder_modality_a', 'decoder_modality_v',
                  'decoder_pos_embed_a', 'decoder_pos_embed_v')
DECODER_MODULES = ('decoder_embed.', 'decoder_blocks.', 'decoder_norm.',
                   'decoder_pred_a.', 'decoder_pred_v.')
# reference prefix -> our prefix; a key takes the first that matches.
_TO_OURS = (('mlp_head.0.', 'cls_head.norm.'),
            ('mlp_head.1.', 'cls_head.fc_cls.'),
            ('constrative_head_audio.', 'backbone.contrastive_head_audio.'),
            ('constrative_head_visual.', 'backbone.contrastive_head_visual.'),
            ('cls_cls_token', 'cls_head.cls_token'),
            ('classifier_layers.', 'cls_head.blocks.'),
            ('classifier_norm.', 'cls_head.norm.'),
            ('classifier_head.', 'cls_head.fc_cls.'))
_TO_OFFICIAL = (('backbone.contrastive_head_audio.',
                 'constrative_head_audio.'),
                ('backbone.contrastive_head_visual.',
                 'constrative_head_visual.'),
                ('backbone.', ''), ('neck.', ''),
                ('cls_head.norm.', 'mlp_head.0.'),
                ('cls_head.fc_cls.', 'mlp_head.1.'))
# CAVMAEFrameAggregationHead (self-attention) -> Sync's classifier names.
_AGGREGATION_TO_OFFICIAL = (('cls_head.cls_token', 'cls_cls_token'),
                            ('cls_head.blocks.', 'classifier_layers.'),
                            ('cls_head.norm.', 'classifier_norm.'),
                            ('cls_head.fc_cls.', 'classifier_head.'))
# LayerNorm copies a reference decoder block may lack.
DECODER_NORM_COPIES = ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v')


def detect_model(state_dict: Mapping[str, torch.Tensor],
                 patch_size: int = 16, num_mel_bins: int = 128) -> dict:
    """Which model a reference state dict holds, from its keys and shapes.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Reference keys, with or
            without ``module.``.
        patch_size (int): Defaults to 16 (the reference's).
        num_mel_bins (int): Defaults to 128 (the reference's).

    Returns:
        dict: ``variant`` (``'cavmae'`` or ``'sync'``) and ``backbone``,
        the ``CAVMAEViT`` options that checkpoint needs:
        ``num_register_tokens`` (``R`` from ``register_tokens`` ``[2R,
        D]``), ``cls_token`` (``cls_token_a``), ``contrastive_heads``
        (``constrative_head_*`` keys) and ``audio_length`` (from
        ``pos_embed_a``).

    Raises:
        ValueError: An inconsistent Sync checkpoint (one cls token, an odd
            register count, one contrastive head).
    """
    names = {_strip(key, OFFICIAL_PREFIX): value
             for key, value in state_dict.items()}
    has_cls = ['cls_token_a' in names, 'cls_token_v' in names]
    heads = [any(key.startswith(f'constrative_head_{m}.') for key in names)
             for m in ('audio', 'visual')]
    if len(set(has_cls)) > 1 or len(set(heads)) > 1:
        raise ValueError(f'a Sync checkpoint has both modalities\' cls tokens '
                         f'and contrastive heads or neither; got cls '
                         f'(audio, visual) {has_cls}, heads {heads}')
    registers = 0
    if 'register_tokens' in names:
        rows = names['register_tokens'].shape[0]
        if rows % 2:
            raise ValueError(f'register_tokens holds {rows} rows: expected '
                             f'2R (audio then visual)')
        registers = rows // 2
    backbone = dict(num_register_tokens=registers, cls_token=has_cls[0],
                    contrastive_heads=heads[0])
    if 'pos_embed_a' in names:
        rows = num_mel_bins // patch_size
        backbone['audio_length'] = \
            names['pos_embed_a'].shape[1] // rows * patch_size
    sync = registers > 0 or has_cls[0] or heads[0]
    return dict(variant='sync' if sync else 'cavmae', backbone=backbone)


def _official_name_to_ours(name: str) -> Optional[str]:
    """A reference key without ``module.`` → ours, None if unknown."""
    if name in ENCODER_PARAMS or name.startswith(ENCODER_MODULES):
        return 'backbone.' + name
    if name in DECODER_PARAMS or name.startswith(DECODER_MODULES):
        return 'neck.' + name
    for official, ours in _TO_OURS:
        if name.startswith(official):
            return ours + name[len(official):]
    return None


def is_official_state_dict(state_dict: Mapping[str, object]) -> bool:
    """Whether the keys are the reference implementation's (SPEC §5).

    Args:
        state_dict (Mapping): A state dict.

    Returns:
        bool: True if every key, ``module.`` removed, is a reference name.
    """
    return bool(state_dict) and all(
        _official_name_to_ours(_strip(key, OFFICIAL_PREFIX)) is not None
        for key in state_dict)


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix):] if key.startswith(prefix) else key


def official_to_mmengine(
        state_dict: Mapping[str, torch.Tensor]
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Reference state dict → our parameter names.

    Reference decoder blocks that lack the (unused, frozen) ``norm1_a``,
    ``norm1_v``, ``norm2_a``, ``norm2_v`` copies get them filled with
    LayerNorm's initial values (weight 1, bias 0), which is exactly how
    ``CAVMAEBlock`` initializes them; the filled keys are logged and
    returned.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Keys with or without the
            ``module.`` prefix.

    Returns:
        tuple: The converted state dict (same tensor objects) and the sorted
        list of filled keys (ours).

    Raises:
        ValueError: A key that is not a reference name, or two keys that map
            to the same name.
    """
    converted: Dict[str, torch.Tensor] = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        ours = _official_name_to_ours(_strip(key, OFFICIAL_PREFIX))
        if ours is None:
            unknown.append(key)
        elif ours in converted:
            raise ValueError(f'two checkpoint keys map to {ours!r} (one with '
                             f'and one without the {OFFICIAL_PREFIX!r} '
                             f'prefix?)')
        else:
            converted[ours] = value
    if unknown:
        hint = ''
        if any(k.startswith(('backbone.', 'neck.', 'cls_head.'))
               for k in unknown):
            hint = (' (keys starting with backbone./neck./cls_head. are '
                    'already in the cavmae_mm format)')
        raise ValueError(
            f'{len(unknown)} key(s) are not CAV-MAE reference names (SPEC '
            f'§5){hint}:\n{format_keys(unknown)}')
    filled = _fill_decoder_norm_copies(converted)
    if filled:
        MMLogger.get_current_instance().warning(
            f'the reference checkpoint has no {"/".join(DECODER_NORM_COPIES)}'
            f' copies in its decoder blocks; filled {len(filled)} keys with '
            f'LayerNorm initial values (weight 1, bias 0; unused by decoder '
            f'blocks):\n{format_keys(filled)}')
    return converted, filled


def _fill_decoder_norm_copies(state_dict: Dict[str, torch.Tensor]
                              ) -> List[str]:
    filled = []
    block_prefixes = sorted({
        key[:-len('norm1.weight')]
        for key in state_dict
        if re.fullmatch(r'neck\.decoder_blocks\.\d+\.norm1\.weight', key)
    })
    for prefix in block_prefixes:
        template = state_dict[prefix + 'norm1.weight']
        for norm in DECODER_NORM_COPIES:
            for suffix, init in (('.weight', torch.ones_like),
                                 ('.bias', torch.zeros_like)):
                key = prefix + norm + suffix
                if key not in state_dict:
                    state_dict[key] = init(template)
                    filled.append(key)
    return sorted(filled)


def mmengine_to_official(
        state_dict: Mapping[str, torch.Tensor],
        skip_keys: Iterable[str] = ()) -> Dict[str, torch.Tensor]:
    """Our state dict → reference names with the ``module.`` prefix.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Keys under ``backbone.``,
            ``neck.``, ``cls_head.``.
        skip_keys (Iterable[str]): Keys to leave out (those
            :func:`official_to_mmengine` filled). Defaults to ().

    Returns:
        dict[str, torch.Tensor]: Same tensor objects, reference keys.

    Raises:
        ValueError: Keys outside those modules.
    """
    skip_keys = set(skip_keys)
    table = _TO_OFFICIAL
    if 'cls_head.cls_token' in state_dict:  # a self-attention aggregation
        table = _AGGREGATION_TO_OFFICIAL + _TO_OFFICIAL
    converted: Dict[str, torch.Tensor] = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key in skip_keys:
            continue
        for ours, official in table:
            if key.startswith(ours):
                converted[OFFICIAL_PREFIX + official + key[len(ours):]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} key(s) have no reference name (only backbone., '
            f'neck. and cls_head.norm/fc_cls(/cls_token/blocks) keys do):\n'
            f'{format_keys(unknown)}')
    return converted
