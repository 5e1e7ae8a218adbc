"""Project-wide utilities: checkpoint loading in three parts.

* :mod:`.safe_load`: ``weights_only`` loading with an allow-list of types.
  Importing this package allows the types MMEngine's training checkpoints
  need (see :func:`register_safe_globals`), so ``resume`` and
  ``load_from`` work on torch >= 2.6.
* :mod:`.reference_keys`: the reference implementation's key names <->
  ours.
* :mod:`.strict_load`: strict loading with the missing / unexpected /
  shape-mismatched keys listed.
"""
from .reference_keys import (detect_model, is_official_state_dict,
                             mmengine_to_official, official_to_mmengine)
from .safe_load import (UnsafeCheckpointError, get_state_dict,
                        load_checkpoint_safe, register_safe_globals)
from .strict_load import (CheckpointMismatchError, KeyReport,
                          compare_and_load, format_keys,
                          load_state_dict_strict)

register_safe_globals()

__all__ = [
    'CheckpointMismatchError', 'UnsafeCheckpointError', 'get_state_dict',
    'load_checkpoint_safe', 'load_state_dict_strict', 'register_safe_globals',
    'KeyReport', 'compare_and_load', 'format_keys', 'is_official_state_dict',
    'mmengine_to_official', 'official_to_mmengine', 'detect_model'
]
