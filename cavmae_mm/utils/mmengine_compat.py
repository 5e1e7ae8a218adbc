"""A narrow fix that lets ``_base_ = 'mmaction::...'`` resolve with the
pinned mmaction2 1.1.0 wheel.

MMEngine 0.10.7 resolves ``mmaction::x.py`` by first scanning every
``metafile.yml`` of the installed package for a model whose ``Config`` is
``x.py``, and only on ``ValueError`` falls back to ``.mim/configs/x.py``.
mmaction2 1.1.0 ships one metafile (BSN) whose ``Config`` is a list, so the
scan dies with ``AttributeError`` before the fallback. We wrap the scan so
that it skips such entries; the result for every well-formed entry is what
MMEngine itself returns.
"""
import os.path as osp

from mmengine.config import utils as config_utils
from mmengine.fileio import load

_original = config_utils._get_cfg_metainfo


def _get_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    try:
        return _original(package_path, cfg_path)
    except AttributeError:
        pass
    meta_index = load(osp.join(package_path, '.mim', 'model-index.yml'))
    found = {}
    for meta_path in meta_index['Import']:
        meta = load(osp.join(package_path, '.mim', meta_path))
        for model_cfg in meta['Models']:
            config = model_cfg.get('Config')
            if isinstance(config, str):
                found.setdefault(config.partition('/')[-1], model_cfg)
    if cfg_path not in found:
        # MMEngine's caller turns this into the ``.mim/configs`` fallback.
        raise ValueError(f'{cfg_path} is not a model config of '
                         f'{package_path}')
    return found[cfg_path]


def patch_config_base_resolution() -> None:
    """Install the wrapper (idempotent)."""
    config_utils._get_cfg_metainfo = _get_cfg_metainfo
