"""What ``tools/train.py`` and ``tools/test.py`` share: the job options
(work dir, config overrides, launcher), their merging into the config, and
building the runner once the process is set up."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..utils.config_checks import check_data_geometry
from .cpu_runtime import configure_cpu_runtime_from_cfg
from .distributed import setup_cpu_distributed


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
