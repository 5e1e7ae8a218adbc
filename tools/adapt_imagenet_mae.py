"""Turn an ImageNet MAE ViT-B checkpoint into the CAV-MAE pre-training
initialization (SPEC §5).

The MAE checkpoint (facebookresearch/mae, state dict under ``'model'``) maps
onto the pre-training model of ``--config`` (default: the ViT-B pre-training
model) as the reference's ``adapt_vmae_weights.py`` does:

* MAE block ``i`` < ``modality_specific_depth`` (11) → ``blocks_a.i`` and
  ``blocks_v.i``; the following blocks → ``blocks_u.<i - 11>``, their
  ``norm1``/``norm2`` also into the ``_a`` and ``_v`` norm pairs;
* ``norm`` → ``norm``, ``norm_a`` and ``norm_v``;
* ``patch_embed`` → ``patch_embed_v``; the audio patch kernel is the RGB
  kernel summed over its 3 input channels, the bias is copied;
* ``decoder_embed``, ``mask_token``, ``decoder_blocks``, ``decoder_norm`` by
  name; ``decoder_pred`` → ``decoder_pred_v``, and its first ``p * p`` (256)
  output rows → ``decoder_pred_a``;
* ``cls_token``, ``pos_embed`` and ``decoder_pos_embed`` are dropped: our
  position embeddings are the fixed sin-cos tables the model builds itself
  (MAE's are the same sin-cos code, plus a cls row).

What the MAE has no counterpart for (modality embeddings, position
embeddings, the unused norm copies of the modality-specific and decoder
blocks) is left out of the output, listed, and keeps the model's own
initialization when the output is given as ``load_from``.

Example::

    python tools/adapt_imagenet_mae.py mae_pretrain_vit_base_full.pth \\
        work_dirs/cavmae_init_from_mae.pth
"""
import argparse
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import cavmae_mm
from cavmae_mm.utils import (compare_and_load, format_keys, get_state_dict,
                             load_checkpoint_safe)
from mmaction.registry import MODELS

DEFAULT_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))),
    'configs/_base_/models/cavmae_vit_base_pretrain.py')
# MAE keys with no CAV-MAE counterpart.
DROPPED = ('cls_token', 'pos_embed', 'decoder_pos_embed')
# MAE keys copied by name into the decoder (neck).
DECODER_BY_NAME = ('decoder_embed.', 'decoder_blocks.', 'decoder_norm.')


def adapt_mae_state_dict(
        mae: Mapping[str, torch.Tensor], modality_specific_depth: int,
        audio_pred_dim: int
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Map an MAE state dict onto CAV-MAE parameter names (ours).

    Args:
        mae (Mapping[str, torch.Tensor]): The MAE state dict.
        modality_specific_depth (int): Blocks per modality (11 for ViT-B);
            the MAE's later blocks become the shared blocks.
        audio_pred_dim (int): Output rows of ``decoder_pred_a`` (``p * p``,
            256), taken from the start of MAE's ``decoder_pred``.

    Returns:
        tuple: The adapted state dict (values may share memory with
        ``mae``) and the sorted list of dropped MAE keys.

    Raises:
        ValueError: MAE keys this mapping does not know.
    """
    adapted: Dict[str, torch.Tensor] = OrderedDict()
    dropped, unknown = [], []
    for key, value in mae.items():
        block = re.fullmatch(r'blocks\.(\d+)\.(.+)', key)
        if key in DROPPED:
            dropped.append(key)
        elif block:
            index, name = int(block[1]), block[2]
            if index < modality_specific_depth:
                adapted[f'backbone.blocks_a.{index}.{name}'] = value
                adapted[f'backbone.blocks_v.{index}.{name}'] = value
            else:
                shared = f'backbone.blocks_u.{index - modality_specific_depth}'
                adapted[f'{shared}.{name}'] = value
                norm = re.fullmatch(r'(norm[12])\.(weight|bias)', name)
                if norm:  # the shared block's audio and visual norm pairs
                    for modality in ('a', 'v'):
                        adapted[f'{shared}.{norm[1]}_{modality}.{norm[2]}'] = \
                            value
        elif key.startswith('norm.'):
            for norm in ('norm', 'norm_a', 'norm_v'):
                adapted[f'backbone.{norm}.{key[len("norm."):]}'] = value
        elif key == 'patch_embed.proj.weight':
            adapted['backbone.patch_embed_v.proj.weight'] = value
            # [D, 3, p, p] -> [D, 1, p, p]
            adapted['backbone.patch_embed_a.proj.weight'] = value.sum(
                dim=1, keepdim=True)
        elif key == 'patch_embed.proj.bias':
            adapted['backbone.patch_embed_v.proj.bias'] = value
            adapted['backbone.patch_embed_a.proj.bias'] = value
        elif key == 'mask_token' or key.startswith(DECODER_BY_NAME):
            adapted[f'neck.{key}'] = value
        elif key.startswith('decoder_pred.'):
            param = key[len('decoder_pred.'):]
            adapted[f'neck.decoder_pred_v.{param}'] = value
            adapted[f'neck.decoder_pred_a.{param}'] = value[:audio_pred_dim]
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'{len(unknown)} key(s) are not MAE ViT keys:\n'
                         f'{format_keys(unknown)}')
    return adapted, sorted(dropped)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Adapt an ImageNet MAE checkpoint to the CAV-MAE '
        'pre-training initialization.')
    parser.add_argument('input', help='MAE checkpoint (state dict under '
                        '"model")')
    parser.add_argument('output', help='where to write the MMEngine '
                        'checkpoint')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG,
        help='CAV-MAE pre-training config (default: the ViT-B model)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides of the config')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the adaptation.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Defaults to None.

    Returns:
        int: Exit status, 0 on success, 1 on any error (printed).
    """
    args = parse_args(argv)
    try:
        mae = get_state_dict(load_checkpoint_safe(args.input), args.input)
    except (OSError, ValueError) as err:
        print(f'ERROR: {err}')
        return 1

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    if getattr(model, 'neck', None) is None:
        print(f'ERROR: {args.config} is not a pre-training model with a '
              f'decoder (neck)')
        return 1
    specific_depth = len(model.backbone.blocks_a)
    depth = specific_depth + len(model.backbone.blocks_u)
    mae_depth = 1 + max((int(m[1]) for m in (
        re.match(r'blocks\.(\d+)\.', key) for key in mae) if m), default=-1)
    if mae_depth != depth:
        print(f'ERROR: the MAE has {mae_depth} blocks, the model of '
              f'{args.config} {depth} ({specific_depth} per modality + '
              f'{depth - specific_depth} shared)')
        return 1
    try:
        adapted, dropped = adapt_mae_state_dict(
            mae, specific_depth, model.neck.decoder_pred_a.out_features)
    except ValueError as err:
        print(f'ERROR: {args.input}: {err}')
        return 1

    report = compare_and_load(model, adapted)
    if report.unexpected or report.shape_mismatched:
        print(f'ERROR: the adapted MAE does not fit the model of '
              f'{args.config}:\n{report.format()}\nnot written: '
              f'{args.output}')
        return 1
    print(f'dropped {len(dropped)} MAE keys: {", ".join(dropped)}')
    print(f'left to the model initialization ({len(report.missing)} keys, '
          f'not in the output):\n{format_keys(report.missing)}')
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    torch.save(
        dict(state_dict=adapted,
             meta=dict(adapted_from=osp.basename(args.input),
                       source_format='ImageNet MAE ViT (facebookresearch/'
                       'mae)',
                       config=osp.basename(args.config),
                       dropped_keys=dropped,
                       left_to_init=report.missing,
                       cavmae_mm_version=cavmae_mm.__version__)),
        args.output)
    print(f'wrote {args.output}: {len(adapted)} tensors adapted from '
          f'{len(mae)} MAE tensors')
    return 0


if __name__ == '__main__':
    sys.exit(main())
