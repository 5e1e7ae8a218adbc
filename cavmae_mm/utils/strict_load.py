"""Strict loading: a state dict must fit the model key for key, and a
mismatch is reported as readable key lists with a guess at the cause."""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, NamedTuple, Sequence, Tuple

import torch
import torch.nn as nn


def format_keys(keys: Iterable[str], indent: str = '    ') -> str:
    """One line per key pattern, block indices folded: ``a.[0-7].b``.

    Every key is represented; ``neck.decoder_blocks.[0-7].norm1.weight``
    stands for the 8 keys with indices 0 to 7.

    Args:
        keys (Iterable[str]): Keys.
        indent (str): Line prefix. Defaults to four spaces.

    Returns:
        str: The lines joined by newlines.
    """
    groups: Dict[Tuple[str, str], List[int]] = OrderedDict()
    for key in sorted(set(keys)):
        match = re.fullmatch(r'(.*?\.)(\d+)(\..*)', key)
        if match:
            groups.setdefault((match[1], match[3]), []).append(int(match[2]))
        else:
            groups.setdefault((key, ''), [])
    lines = []
    for (head, tail), indices in groups.items():
        if not indices:
            lines.append(indent + head)
        elif len(indices) == 1:
            lines.append(f'{indent}{head}{indices[0]}{tail}')
        else:
            lines.append(f'{indent}{head}[{_ranges(sorted(indices))}]{tail}')
    return '\n'.join(lines)


def _ranges(indices: Sequence[int]) -> str:
    parts, start = [], indices[0]
    for prev, cur in zip(indices, list(indices[1:]) + [None]):
        if cur != prev + 1:
            parts.append(str(start) if start == prev else f'{start}-{prev}')
            start = cur
    return ','.join(parts)


class KeyReport(NamedTuple):
    """How a state dict differs from a model's.

    Attributes:
        missing (list[str]): In the model, not in the state dict.
        unexpected (list[str]): In the state dict, not in the model.
        shape_mismatched (list[tuple]): ``(key, checkpoint shape, model
            shape)`` the model could not adapt.
    """
    missing: List[str]
    unexpected: List[str]
    shape_mismatched: List[Tuple[str, tuple, tuple]]

    def __bool__(self) -> bool:
        """True when there is any difference."""
        return bool(self.missing or self.unexpected or self.shape_mismatched)

    def format(self) -> str:
        """The three lists as indented text."""
        parts = []
        if self.missing:
            parts.append(f'  missing keys (in the model, not in the '
                         f'checkpoint): {len(self.missing)}\n'
                         f'{format_keys(self.missing)}')
        if self.unexpected:
            parts.append(f'  unexpected keys (in the checkpoint, not in the '
                         f'model): {len(self.unexpected)}\n'
                         f'{format_keys(self.unexpected)}')
        if self.shape_mismatched:
            lines = '\n'.join(f'    {key}: checkpoint {list(ckpt)} vs model '
                              f'{list(model)}'
                              for key, ckpt, model in self.shape_mismatched)
            parts.append(f'  shape mismatches: '
                         f'{len(self.shape_mismatched)}\n{lines}')
        return '\n'.join(parts)

    def hint(self) -> str:
        """A guess at the cause, or ''."""
        # Imported here: reference_keys formats its messages with this
        # module's format_keys.
        from .reference_keys import OFFICIAL_PREFIX
        if self.unexpected and all(
                k.startswith(OFFICIAL_PREFIX) for k in self.unexpected):
            return ('the keys start with "module.": this looks like a '
                    'checkpoint of the reference implementation; convert it '
                    'with tools/convert_official_ckpt.py')
        if any(k.startswith('neck.') for k in self.unexpected) and any(
                k.startswith('cls_head.') for k in self.missing):
            return ('a pre-training checkpoint (with decoder) given to a '
                    'classification model: fine-tune from it with load_from '
                    'in a training config instead')
        if any(k.startswith('cls_head.') for k in self.unexpected) and any(
                k.startswith('neck.') for k in self.missing):
            return ('a fine-tuned checkpoint given to a pre-training model')
        return ''


class CheckpointMismatchError(RuntimeError):
    """A state dict does not fit a model.

    Args:
        source (str): What was loaded (a path).
        model_name (str): The model's class name.
        report (KeyReport): The differences.
    """

    def __init__(self, source: str, model_name: str,
                 report: KeyReport) -> None:
        self.source = source
        self.report = report
        message = (f"checkpoint '{source}' does not match the model "
                   f'({model_name}):\n{report.format()}')
        if report.hint():
            message += f'\n  hint: {report.hint()}'
        super().__init__(message)


def compare_and_load(model: nn.Module,
                     state_dict: Mapping[str, torch.Tensor]) -> KeyReport:
    """Load what fits of ``state_dict`` into ``model`` and report the rest.

    Loading runs the modules' own hooks first, so a difference they adapt
    (an audio position embedding saved for another audio length) is not a
    mismatch. When shapes mismatch, the other tensors are still loaded.

    Args:
        model (nn.Module): The model.
        state_dict (Mapping[str, torch.Tensor]): Keys as in
            ``model.state_dict()``.

    Returns:
        KeyReport: Missing, unexpected and shape-mismatched keys.
    """
    model_state = model.state_dict()
    missing = sorted(set(model_state) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(model_state))
    shape_mismatched = []
    try:
        model.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:
        names = re.findall(r'size mismatch for (\S+?): copying', str(err))
        if not names:
            raise
        shape_mismatched = [(name, tuple(state_dict[name].shape),
                             tuple(model_state[name].shape))
                            for name in sorted(names)]
    return KeyReport(missing, unexpected, shape_mismatched)


def load_state_dict_strict(model: nn.Module,
                           state_dict: Mapping[str, torch.Tensor],
                           source: str = 'checkpoint') -> None:
    """Load ``state_dict`` into ``model``; every key must match.

    Args:
        model (nn.Module): The model.
        state_dict (Mapping[str, torch.Tensor]): Its new state.
        source (str): Name for the error message. Defaults to
            ``'checkpoint'``.

    Raises:
        CheckpointMismatchError: Lists missing, unexpected and
            shape-mismatched keys (the model may then be partly loaded).
    """
    report = compare_and_load(model, state_dict)
    if report:
        raise CheckpointMismatchError(source, type(model).__name__, report)
