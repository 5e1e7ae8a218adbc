"""Checkpoint I/O: safe loading, reference ↔ MMEngine key mapping and
strict loading with a readable report.

Safe loading. Since torch 2.6 ``torch.load`` unpickles with
``weights_only=True`` by default: only tensors, containers and an allow-list
of globals may be rebuilt. MMEngine's own training checkpoints carry a few
more (the message hub's ``HistoryBuffer`` objects and the numpy arrays and
scalars inside them), so without help neither ``resume`` nor ``load_from``
can read them. :func:`register_safe_globals` allows exactly those types,
nothing else: a file that pickles any other global (for instance an object
whose ``__reduce__`` runs a shell command) is still refused before anything
of it runs. It is called when :mod:`cavmae_mm.utils` is imported.

Key mapping. The reference implementation saves ``torch.nn.DataParallel``
state dicts (SPEC §5): ``module.<encoder key>``, ``module.<decoder key>``
and ``module.mlp_head.{0,1}.*``. Our parameter names are the same after a
prefix change: encoder keys live under ``backbone.``, decoder keys under
``neck.``, ``mlp_head.0`` is ``cls_head.norm`` and ``mlp_head.1`` is
``cls_head.fc_cls``.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import (Callable, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple)

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MMLogger

# --------------------------------------------------------------------------
# Safe loading
# --------------------------------------------------------------------------

# The statistics methods MMEngine registers on every HistoryBuffer. A pickled
# HistoryBuffer carries its ``statistics_methods`` table, and pickle protocol
# 2 writes each of these functions as ``getattr(HistoryBuffer, '<name>')``.
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
# numpy dtypes whose (data-only) state weights_only loading may set.
NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8',
                  'uint16', 'uint32', 'uint64', 'float16', 'float32',
                  'float64')


def history_buffer_method(owner: object, name: str) -> Callable:
    """A ``getattr`` that only returns HistoryBuffer's statistics methods.

    Registered under the name ``builtins.getattr`` for ``weights_only``
    loading. The real ``getattr`` would let a crafted file reach any
    attribute of any object it can build (function globals, module
    dictionaries) and plant them where MMEngine later calls them.

    Args:
        owner (object): The object the pickle asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For anything but ``HistoryBuffer`` and one of
            :data:`HISTORY_BUFFER_METHODS`.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    owner_name = getattr(owner, '__qualname__', type(owner).__qualname__)
    owner_module = getattr(owner, '__module__', type(owner).__module__)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL {owner_module}.{owner_name}.{name} '
        f'(reached through builtins.getattr): only getattr(HistoryBuffer, '
        f'name) for name in {HISTORY_BUFFER_METHODS} is allowed')


def _numpy_pickle_functions() -> Dict[str, Callable]:
    """The functions numpy's own pickles call, under the names numpy 2.x
    (``numpy._core``) and numpy 1.x (``numpy.core``) write them."""
    reconstruct = np.zeros(1).__reduce__()[0]  # ndarray -> _reconstruct
    scalar = np.float64(0).__reduce__()[0]  # numpy scalar -> scalar
    functions = {}
    for package in ('numpy._core', 'numpy.core'):
        functions[f'{package}.multiarray._reconstruct'] = reconstruct
        functions[f'{package}.multiarray.scalar'] = scalar
    return functions


def safe_globals() -> List[Tuple[object, str]]:
    """The globals an MMEngine training checkpoint of this project needs,
    as ``(object, pickled name)`` pairs for
    ``torch.serialization.add_safe_globals``.

    * ``mmengine.logging.history_buffer.HistoryBuffer``: the message hub's
      logged scalars (``message_hub.log_scalars``), needed to resume.
    * ``numpy.ndarray``, ``numpy.dtype`` and numpy's
      ``multiarray._reconstruct``: the arrays inside each HistoryBuffer.
    * numpy's ``multiarray.scalar``: numpy scalars, e.g. the runtime info's
      ``eta`` and metric values kept by the checkpoint hook.
    * the dtype classes of numpy's fixed-width numeric types (bool, int8-64,
      uint8-64, float16-64; ``numpy.dtypes.Float64DType`` ...): unpickling
      a dtype sets its state, which ``weights_only`` allows only for listed
      types. HistoryBuffers need float64 and int64; the others keep a hook
      or metric that stores another numeric numpy value resumable. The
      object dtype is not listed, so object arrays stay refused.
    * ``builtins.getattr``, bound to :func:`history_buffer_method`: the
      HistoryBuffer statistics table.

    The numpy functions are listed under both their numpy 2.x and numpy 1.x
    module names, so checkpoints written with either load.

    Returns:
        list[tuple]: ``(object, 'module.qualname')`` pairs.
    """
    pairs = [(HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
             (np.ndarray, 'numpy.ndarray'), (np.dtype, 'numpy.dtype'),
             (history_buffer_method, 'builtins.getattr')]
    pairs += [(function, name)
              for name, function in _numpy_pickle_functions().items()]
    for name in NUMERIC_DTYPES:
        dtype_class = type(np.dtype(name))
        pairs.append((dtype_class, f'{dtype_class.__module__}.'
                      f'{dtype_class.__qualname__}'))
    return pairs


def register_safe_globals() -> None:
    """Allow the globals of :func:`safe_globals` in ``weights_only`` loads.

    Idempotent. Does nothing on torch versions without
    ``torch.serialization.add_safe_globals`` (< 2.4), whose ``torch.load``
    does not default to ``weights_only=True``.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(safe_globals())


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint file pickles a global that is not allowed.

    Args:
        path (str): The file.
        offending_global (str): The refused global, e.g. ``posix.system``
            (``'unknown'`` when torch's message does not name it).
        detail (str): The unpickler's message.
    """

    def __init__(self, path: str, offending_global: str, detail: str) -> None:
        self.path = path
        self.offending_global = offending_global
        super().__init__(
            f"refused to load checkpoint '{path}': it pickles the global "
            f"'{offending_global}', which is not on the allow-list of types "
            f'a cavmae_mm / MMEngine checkpoint needs (tensors, containers, '
            f'numpy arrays and scalars, mmengine HistoryBuffer). Unpickling '
            f'it could run arbitrary code, so loading stopped there and '
            f'nothing from the file was run. Only if you trust the file and '
            f'know why it holds '
            f"'{offending_global}', load it with torch.load(path, "
            f'weights_only=False) yourself.\nUnpickler message: {detail}')


_OFFENDING_GLOBAL_PATTERNS = (
    r'GLOBAL (\S+)',
    r'unrecognized function (.+?)(?: which belongs|$)',
    r"but got <class '([^']+)'>",
    r'but got (\S+)',
)


def _offending_global(message: str) -> str:
    for pattern in _OFFENDING_GLOBAL_PATTERNS:
        match = re.search(pattern, message, flags=re.MULTILINE)
        if match:
            return match.group(1).rstrip('.')
    return 'unknown'


def load_checkpoint_safe(path: str, map_location: str = 'cpu') -> object:
    """Load a checkpoint file with ``weights_only=True``.

    Args:
        path (str): Local file (``~`` is expanded).
        map_location (str): Where tensors go, as for ``torch.load``.
            Defaults to ``'cpu'``.

    Returns:
        object: What the file holds (usually a dict).

    Raises:
        FileNotFoundError: No such file.
        UnsafeCheckpointError: The file pickles a global outside
            :func:`safe_globals`; nothing of it was executed.
    """
    register_safe_globals()
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: '{path}'")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = str(err)
        raise UnsafeCheckpointError(path, _offending_global(detail),
                                    detail) from None


def get_state_dict(checkpoint: object,
                   source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint.

    Args:
        checkpoint (object): A dict of tensors, or a dict holding one under
            ``'state_dict'`` (MMEngine) or ``'model'`` (MAE, DeiT).
        source (str): Name for error messages. Defaults to ``'checkpoint'``.

    Returns:
        dict[str, torch.Tensor]: A new dict (the tensors are not copied).

    Raises:
        ValueError: No state dict found.
    """
    if isinstance(checkpoint, Mapping):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), Mapping):
                checkpoint = checkpoint[key]
                break
        not_tensors = [k for k, v in checkpoint.items()
                       if not isinstance(v, torch.Tensor)]
        if checkpoint and not not_tensors:
            return OrderedDict(checkpoint)
        if not checkpoint:
            raise ValueError(f'{source}: the state dict is empty')
        raise ValueError(
            f"{source}: no state dict found: expected a dict of tensors or "
            f"one under 'state_dict' or 'model'; entries that are not "
            f'tensors: {sorted(map(str, not_tensors))[:10]}')
    raise ValueError(f'{source}: no state dict found in a '
                     f'{type(checkpoint).__name__}')


# --------------------------------------------------------------------------
# Reference (official) key names <-> ours
# --------------------------------------------------------------------------

OFFICIAL_PREFIX = 'module.'
# SPEC §5: top-level reference names, parameters (exact) and modules
# (prefixes ending with a dot).
ENCODER_PARAMS = ('modality_a', 'modality_v', 'pos_embed_a', 'pos_embed_v')
ENCODER_MODULES = ('patch_embed_a.', 'patch_embed_v.', 'blocks_a.',
                   'blocks_v.', 'blocks_u.', 'norm_a.', 'norm_v.', 'norm.')
DECODER_PARAMS = ('mask_token', 'decoder_modality_a', 'decoder_modality_v',
                  'decoder_pos_embed_a', 'decoder_pos_embed_v')
DECODER_MODULES = ('decoder_embed.', 'decoder_blocks.', 'decoder_norm.',
                   'decoder_pred_a.', 'decoder_pred_v.')
# reference prefix -> our prefix; a key takes the first that matches.
_TO_OURS = (('mlp_head.0.', 'cls_head.norm.'),
            ('mlp_head.1.', 'cls_head.fc_cls.'))
_TO_OFFICIAL = (('backbone.', ''), ('neck.', ''),
                ('cls_head.norm.', 'mlp_head.0.'),
                ('cls_head.fc_cls.', 'mlp_head.1.'))
# LayerNorm copies a reference decoder block may lack.
DECODER_NORM_COPIES = ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v')


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
    converted: Dict[str, torch.Tensor] = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key in skip_keys:
            continue
        for ours, official in _TO_OFFICIAL:
            if key.startswith(ours):
                converted[OFFICIAL_PREFIX + official + key[len(ours):]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} key(s) have no reference name (only backbone., '
            f'neck. and cls_head.norm/fc_cls keys do):\n{format_keys(unknown)}'
        )
    return converted


# --------------------------------------------------------------------------
# Checking a state dict against a model
# --------------------------------------------------------------------------


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
