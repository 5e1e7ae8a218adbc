"""What ``tools/train.py`` and ``tools/test.py`` share: the job options
(work dir, config overrides, launcher), their merging into the config,
building the runner once the process is set up, and checking the
checkpoint to evaluate (strictly unless asked otherwise;
``tools/leaderboard.py`` loads the same way)."""
import argparse
import copy
import os
import os.path as osp
from typing import Optional

import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, RUNNERS, init_default_scope
from mmengine.runner import Runner

from cavmae_mm.engine.cpu_runtime import configure_cpu_runtime_from_cfg
from cavmae_mm.engine.distributed import setup_cpu_distributed
from cavmae_mm.utils.config_checks import check_data_geometry
from cavmae_mm.utils import (CheckpointMismatchError, compare_and_load,
                             get_state_dict, load_checkpoint_safe)

#: Appended to a mismatch error by the tools that accept ``--non-strict``.
NON_STRICT_HINT = ('to evaluate a partial load on purpose, pass --non-strict '
                   '(loads the matching keys, warns with the lists above)')


def add_job_args(parser: argparse.ArgumentParser, work_dir_help: str,
                 cfg_options_help: str) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and the
    ``--local-rank`` that ``torch.distributed.launch`` passes."""
    parser.add_argument('--work-dir', help=work_dir_help)
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
    """Launcher and work dir (``./work_dirs/<config name>`` unless set)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def build_runner(cfg: Config, launcher: str):
    """Check that the data fits the model (:func:`check_data_geometry`),
    set up the process (CPU process groups, the CPU fast path) and build
    the config's runner (MMEngine's ``Runner`` unless ``runner_type``)."""
    check_data_geometry(cfg)
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
