"""What ``tools/train.py`` and ``tools/test.py`` share: the job options
(work dir, data root, config overrides, launcher), their merging into the
config, checking that the data is there, building the runner once the
process is set up, and checking the
checkpoint to evaluate (strictly unless asked otherwise;
``tools/leaderboard.py`` loads the same way)."""
import argparse
import copy
import os
import os.path as osp
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, RUNNERS, init_default_scope
from mmengine.runner import Runner

from cavmae_mm.engine.cpu_runtime import configure_cpu_runtime_from_cfg
from cavmae_mm.engine.distributed import setup_cpu_distributed
from cavmae_mm.utils.config_checks import (DATALOADERS, check_data_files,
                                           check_data_geometry,
                                           iter_datasets)
from cavmae_mm.utils import (CheckpointMismatchError, compare_and_load,
                             get_state_dict, load_checkpoint_safe)

#: Appended to a mismatch error by the tools that accept ``--non-strict``.
NON_STRICT_HINT = ('to evaluate a partial load on purpose, pass --non-strict '
                   '(loads the matching keys, warns with the lists above)')


def add_job_args(parser: argparse.ArgumentParser, work_dir_help: str,
                 cfg_options_help: str) -> None:
    """``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher``
    and the ``--local-rank`` that ``torch.distributed.launch`` passes."""
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='the data set folder: the data_root of every data loader\'s '
        'data set (relative annotation, label CSV and media paths are '
        'taken from it)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_job_args(parser: argparse.ArgumentParser, argv=None):
    """Parse, and export ``LOCAL_RANK`` as MMEngine expects it."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_job_args(cfg: Config, args) -> None:
    """Launcher, work dir (``./work_dirs/<config name>`` unless set) and
    data root (:func:`set_data_root`)."""
    cfg.launcher = args.launcher
    if getattr(args, 'data_root', None) is not None:
        set_data_root(cfg, args.data_root)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def set_data_root(cfg: Config, data_root: str) -> None:
    """Set ``data_root`` of the data sets of every ``*_dataloader`` of
    ``cfg`` (of the wrapped data sets, not of ``RepeatDataset`` or
    ``ConcatDataset`` themselves) and the config's own ``data_root``.

    The data set base configs copy their ``data_root`` into each data
    loader when the config is parsed, so overriding the top-level
    ``data_root`` alone would move nothing.
    """
    if 'data_root' in cfg:
        cfg.data_root = data_root
    for key in list(cfg.keys()):
        loader = cfg.get(key)
        if not (key.endswith('_dataloader') and isinstance(loader, dict)):
            continue
        for _, dataset in iter_datasets(loader.get('dataset'), key):
            wraps = [dataset.get('dataset')] + list(
                dataset.get('datasets') or [])
            if not any(isinstance(inner, dict) for inner in wraps):
                dataset['data_root'] = data_root


def build_runner(cfg: Config, launcher: str,
                 dataloaders: Sequence[str] = DATALOADERS):
    """Check that the data fits the model (:func:`check_data_geometry`)
    and is there (:func:`check_data_files`, for the ``dataloaders`` the job
    runs), set up the process (CPU process groups,
    the CPU fast path) and build the config's runner (MMEngine's
    ``Runner`` unless ``runner_type``).

    Raises:
        MissingDataError: A data file or folder is missing (before any
            model is built).
    """
    check_data_geometry(cfg)
    check_data_files(cfg, dataloaders)
    setup_cpu_distributed(cfg, launcher)
    configure_cpu_runtime_from_cfg(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def load_checkpoint_to_model(model: nn.Module, checkpoint: dict, source: str,
                             strict: bool = True,
                             logger: Optional[MMLogger] = None) -> None:
    """Load a checkpoint's state dict into ``model``, as the user tools do.

    Args:
        model (nn.Module): The model (not a DDP wrapper).
        checkpoint (dict): What :func:`load_checkpoint_safe` returned.
        source (str): The file, for the messages.
        strict (bool): A missing, unexpected or shape-mismatched key raises.
            False loads the keys that match and logs a warning with the
            same key lists. Defaults to True.
        logger (MMLogger, optional): Where the warning goes. Defaults to the
            current MMLogger.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fit.
    """
    report = compare_and_load(model, get_state_dict(checkpoint, source))
    if not report:
        return
    mismatch = CheckpointMismatchError(source, type(model).__name__, report)
    if strict:
        raise mismatch
    (logger or MMLogger.get_current_instance()).warning(
        f'non-strict loading (--non-strict): {mismatch}\n  only the '
        f'matching keys were loaded; the missing ones keep their initial '
        f'values')


def check_checkpoint(cfg: Config, filename: str, strict: bool = True) -> None:
    """Check, before the runner loads it, that a checkpoint fits the model.

    MMEngine's ``load_from`` loads non-strictly: a pre-training checkpoint
    under a fine-tuning config evaluates a randomly initialized head and
    exits 0. So the evaluating tools first load the file into a plain copy
    of ``cfg.model`` on the CPU, as the user tools' ``init_model`` does, and
    stop on a mismatch; the runner then loads the same file as usual (with
    its hooks, any runner type and strategy).

    Args:
        cfg (Config): The job's config (its ``default_scope`` and
            ``model``).
        filename (str): The checkpoint file.
        strict (bool): See :func:`load_checkpoint_to_model`. Defaults to
            True.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fit.
    """
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    load_checkpoint_to_model(model, load_checkpoint_safe(filename), filename,
                             strict)


def init_model_for_eval(cfg: Config, checkpoint: str,
                        strict: bool = True) -> nn.Module:
    """The user tools' ``init_model``, strict by default; non-strict: the
    model's own initialization, then the checkpoint's matching keys (see
    :func:`load_checkpoint_to_model`)."""
    from cavmae_mm.apis import init_model
    if strict:
        return init_model(cfg, checkpoint)
    model = init_model(cfg)
    load_checkpoint_to_model(model, load_checkpoint_safe(checkpoint),
                             checkpoint, strict=False)
    return model
