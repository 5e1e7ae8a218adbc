"""Shared by the tool tests: the tools as modules, the configs they run on,
and a small toy config."""
import importlib.util
import os.path as osp
import sys
from pathlib import Path

from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = Path(ROOT) / 'tools'
TINY_FINETUNE = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py')
TINY_PRETRAIN = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_pretrain.py')
TOY_PRETRAIN = osp.join(ROOT, 'configs', 'cavmae_toy_pretrain.py')
TOY_RETRIEVAL = osp.join(ROOT, 'configs', 'cavmae_toy_retrieval.py')
TOY_FINETUNE = osp.join(ROOT, 'configs', 'cavmae_toy_finetune.py')
CLIPS = ('00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4')


def load_tool(name):
    """``tools/<name>.py`` as a fresh module."""
    spec = importlib.util.spec_from_file_location(
        name.replace('/', '_'), osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_tool(relative):
    """Import a tool script as a module (registered, so that worker
    processes can find its functions)."""
    name = 'tool_' + relative.replace('/', '_').replace('.py', '')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOLS / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def small_config(toy_root, path=TOY_PRETRAIN, **loader_overrides):
    """A toy config on ``toy_root`` with small deterministic loaders."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = toy_root
            cfg[loader].update(num_workers=0, persistent_workers=False,
                               batch_size=4, **loader_overrides)
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(window_size=1)
    return cfg
