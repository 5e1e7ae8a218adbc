"""Project-wide utilities.

Importing this package allows the types MMEngine's training checkpoints
need in ``weights_only`` loading (see :func:`register_safe_globals`), so
``resume`` and ``load_from`` work on torch >= 2.6.
"""
from .checkpoint import (CheckpointMismatchError, UnsafeCheckpointError,
                         get_state_dict, load_checkpoint_safe,
                         load_state_dict_strict, register_safe_globals)

register_safe_globals()

__all__ = [
    'CheckpointMismatchError', 'UnsafeCheckpointError', 'get_state_dict',
    'load_checkpoint_safe', 'load_state_dict_strict', 'register_safe_globals'
]
