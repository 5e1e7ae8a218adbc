"""Build a ready-to-run CAV-MAE model from a config and a checkpoint."""
import copy
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from ..utils.checkpoint import (get_state_dict, load_checkpoint_safe,
                                load_state_dict_strict)
from ..utils.config_checks import check_data_geometry


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model from a config, load a checkpoint, switch to eval mode.

    The checkpoint must fit the model exactly: a missing, unexpected or
    shape-mismatched key raises an error that lists them (differences the
    model adapts itself, like an audio position embedding saved for another
    audio length, are accepted). A reference-implementation checkpoint must
    first be converted with ``tools/convert_official_ckpt.py``.

    Args:
        config (str | Path | Config): Config file or object. An object is
            copied before ``cfg_options`` are merged.
        checkpoint (str, optional): MMEngine checkpoint file (state dict
            under ``'state_dict'``) or a plain state dict file, loaded with
            ``weights_only=True``. None keeps the model's own
            initialization (``init_weights``). Defaults to None.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config, as
            ``--cfg-options`` does (``{'model.cls_head.num_classes': 7}``).
            Defaults to None.

    Returns:
        nn.Module: The model in eval mode on ``device``, with the config in
        ``model.cfg`` and, when the checkpoint's meta has it,
        ``model.dataset_meta``.

    Raises:
        TypeError: ``config`` is not a path or a Config.
        ValueError: The config's data pipelines do not fit its model
            (see :func:`~cavmae_mm.utils.config_checks.check_data_geometry`).
        FileNotFoundError: The checkpoint file does not exist.
        cavmae_mm.utils.CheckpointMismatchError: The checkpoint does not
            fit the model.
        cavmae_mm.utils.UnsafeCheckpointError: The checkpoint pickles a
            disallowed object.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    check_data_geometry(config)  # its data loaders / test_pipeline, if any
    init_default_scope(config.get('default_scope', 'mmaction'))
    model = MODELS.build(config.model)
    if checkpoint is None:
        model.init_weights()
    else:
        loaded = load_checkpoint_safe(checkpoint, map_location='cpu')
        load_state_dict_strict(model, get_state_dict(loaded, str(checkpoint)),
                               source=str(checkpoint))
        meta = loaded.get('meta') if isinstance(loaded, dict) else None
        if isinstance(meta, dict) and 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    model.cfg = config
    model.to(device)
    model.eval()
    return model
