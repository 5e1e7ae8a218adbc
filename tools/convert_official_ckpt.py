"""Convert a checkpoint of the CAV-MAE reference implementation to an
MMEngine checkpoint of ``cavmae_mm``, or back.

Reference checkpoints (SPEC §5) are ``DataParallel`` state dicts:
``module.<encoder key>``, ``module.<decoder key>`` (pre-trained models) and
``module.mlp_head.{0,1}.*`` (fine-tuned models). They become
``{'state_dict': ..., 'meta': {...}}`` with keys under ``backbone.``,
``neck.`` and ``cls_head.``; ``--to-official`` goes back (re-adding
``module.``), bit-exact.

Examples::

    python tools/convert_official_ckpt.py cav-mae-scale++.pth \\
        work_dirs/cavmae_scalepp.pth \\
        --config configs/_base_/models/cavmae_vit_base_pretrain.py
    python tools/convert_official_ckpt.py work_dirs/epoch_10.pth \\
        ours_as_official.pth --to-official

With ``--config`` the result is loaded into the model of that config first;
any missing, unexpected or shape-mismatched key is listed and the tool exits
with status 1 without writing the output.

The tool says which model the checkpoint holds (CAV-MAE or CAV-MAE Sync,
with the backbone options it needs: ``num_register_tokens``, ``cls_token``,
``contrastive_heads``, ``audio_length``; see
:func:`cavmae_mm.utils.detect_model`) and records it in ``meta['model']``;
with ``--config`` a backbone that disagrees on the first three is refused,
naming both values (another ``audio_length`` is adapted on load and only
noted). Sync's contrastive heads are spelled ``constrative_head_*`` there
and ``backbone.contrastive_head_*`` here.
"""
import inspect
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import cavmae_mm
from mmaction.registry import MODELS
from cavmae_mm.utils import (compare_and_load, detect_model, format_keys,
                             get_state_dict, load_checkpoint_safe,
                             mmengine_to_official, official_to_mmengine)

#: Backbone options a checkpoint fixes (detect_model) and must match.
STRICT_OPTIONS = ('num_register_tokens', 'cls_token', 'contrastive_heads')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line (``argv`` None: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Convert CAV-MAE reference checkpoints to cavmae_mm '
        '(MMEngine) checkpoints and back.')
    parser.add_argument('input', help='checkpoint to convert')
    parser.add_argument('output', help='where to write the result')
    parser.add_argument(
        '--config',
        help='model config to verify the cavmae_mm state dict against (no '
        'missing, unexpected or shape-mismatched key)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides of the config, e.g. model.cls_head.num_classes=309')
    parser.add_argument(
        '--to-official', action='store_true',
        help='convert a cavmae_mm checkpoint to the reference format')
    return parser.parse_args(argv)


def kind_of(state_dict: dict) -> str:
    """What a cavmae_mm state dict holds.

    Args:
        state_dict (dict): Our key names.

    Returns:
        str: ``'pretrain'`` (with decoder), ``'finetune'`` (with classifier)
        or ``'encoder'``.
    """
    if any(key.startswith('neck.') for key in state_dict):
        return 'pretrain'
    if any(key.startswith('cls_head.') for key in state_dict):
        return 'finetune'
    return 'encoder'


def describe(detected: dict) -> str:
    """One line naming the model :func:`detect_model` found."""
    name = {'cavmae': 'CAV-MAE', 'sync': 'CAV-MAE Sync'}[detected['variant']]
    options = ', '.join(f'{k}={v!r}' for k, v in detected['backbone'].items())
    return f'{name} ({options})'


def backbone_disagreements(detected: dict, backbone_cfg: dict) -> List[str]:
    """What the config's backbone says differently from the checkpoint.

    Args:
        detected (dict): :func:`detect_model`'s answer.
        backbone_cfg (dict): ``model.backbone`` of the config.

    Returns:
        list[str]: One message per disagreeing option; ``audio_length``
        messages start with ``'note:'`` (the model adapts it on load).
    """
    cls = backbone_cfg.get('type')
    cls = MODELS.get(cls) if isinstance(cls, str) else cls
    defaults = {} if cls is None else {
        name: param.default
        for name, param in inspect.signature(cls).parameters.items()}
    messages = []
    for name, value in detected['backbone'].items():
        given = backbone_cfg.get(name, defaults.get(name))
        if given is None or given == value:
            continue
        if name in STRICT_OPTIONS:
            messages.append(f'model.backbone.{name}={given!r} but the '
                            f'checkpoint has {name}={value!r}')
        else:
            messages.append(f'note: model.backbone.{name}={given!r}, the '
                            f'checkpoint has {value!r} (adapted on load)')
    return messages


def verify(state_dict: dict, config_path: str, cfg_options: dict,
           detected: Optional[dict] = None) -> bool:
    """Load ``state_dict`` into the config's model; print what differs.

    Args:
        state_dict (dict): Our key names.
        config_path (str): Model config.
        cfg_options (dict): Overrides merged into the config.
        detected (dict, optional): :func:`detect_model` of the reference
            state dict, checked against the config's backbone.
            Defaults to None.

    Returns:
        bool: True when every key matches.
    """
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    if detected is not None:
        messages = backbone_disagreements(detected,
                                          cfg.model.get('backbone', {}))
        errors = [m for m in messages if not m.startswith('note:')]
        for message in messages:
            print(message if message.startswith('note:') else
                  f'ERROR: {message}')
        if errors:
            print(f'the checkpoint holds {describe(detected)}; set these '
                  f'options in {config_path}')
            return False
    model = MODELS.build(cfg.model)
    report = compare_and_load(model, state_dict)
    if report:
        print(f'ERROR: the converted state dict does not match the model of '
              f'{config_path} ({type(model).__name__}):\n{report.format()}')
        if report.hint():
            print(f'  hint: {report.hint()}')
        return False
    print(f'verified: all {len(state_dict)} keys match the model of '
          f'{config_path} (no missing, unexpected or shape-mismatched key)')
    return True


def main(argv: Optional[List[str]] = None) -> int:
    """Run the conversion.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Defaults to None.

    Returns:
        int: Exit status, 0 on success, 1 on any error (printed).
    """
    args = parse_args(argv)
    try:
        checkpoint = load_checkpoint_safe(args.input)
        state_dict = get_state_dict(checkpoint, args.input)
    except (OSError, ValueError) as err:
        print(f'ERROR: {err}')
        return 1

    detected = None
    if args.to_official:
        meta = checkpoint.get('meta') or {}
        filled = meta.get('filled_keys', [])
        ours = state_dict
        try:
            result = mmengine_to_official(state_dict, skip_keys=filled)
        except ValueError as err:
            print(f'ERROR: {args.input}: {err}')
            return 1
        if filled:
            print(f'left out {len(filled)} keys the forward conversion had '
                  f'filled:\n{format_keys(filled)}')
        print(f'model: {describe(detect_model(result))}')
    else:
        try:
            detected = detect_model(state_dict)
            ours, filled = official_to_mmengine(state_dict)
        except ValueError as err:
            print(f'ERROR: {args.input}: {err}')
            return 1
        if filled:
            print(f'filled {len(filled)} decoder norm keys absent from the '
                  f'reference checkpoint with LayerNorm initial values '
                  f'(weight 1, bias 0):\n{format_keys(filled)}')
        result = dict(
            state_dict=ours,
            meta=dict(
                converted_from=osp.basename(args.input),
                source_format='CAV-MAE reference implementation (SPEC §5)',
                kind=kind_of(ours),
                had_module_prefix=all(
                    k.startswith('module.') for k in state_dict),
                filled_keys=filled,
                model=detected,
                cavmae_mm_version=cavmae_mm.__version__))
        print(f'model: {describe(detected)}')

    if args.config and not verify(ours, args.config, args.cfg_options,
                                  detected):
        print(f'not written: {args.output}')
        return 1
    out_dir = osp.dirname(osp.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(result, args.output)
    if args.to_official:
        print(f'wrote {args.output}: {len(result)} tensors, reference '
              f'format')
    else:
        print(f'wrote {args.output}: {len(ours)} tensors, cavmae_mm format, '
              f'kind {kind_of(ours)!r}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
