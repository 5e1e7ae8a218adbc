"""Safe checkpoint loading.

Since torch 2.6 ``torch.load`` unpickles with ``weights_only=True`` by
default: only tensors, containers and an allow-list of globals may be
rebuilt. MMEngine's own training checkpoints carry a few more (the message
hub's ``HistoryBuffer`` objects and the numpy arrays and scalars inside
them), so without help neither ``resume`` nor ``load_from`` can read them.
:func:`register_safe_globals` allows exactly those types, nothing else: a
file that pickles any other global (for instance an object whose
``__reduce__`` runs a shell command) is still refused before anything of it
runs. It is called when :mod:`cavmae_mm.utils` is imported.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

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
