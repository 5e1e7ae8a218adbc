"""Train a CAV-MAE model (pre-training or fine-tuning) with MMEngine.

MMAction2's ``tools/train.py`` with five additions: ``--amp`` selects
``MixedPrecisionOptimWrapper`` (float16 with loss scaling on CUDA, bfloat16
on the CPU; ``--amp-dtype`` forces one), ``--launcher pytorch`` also works
on machines without a GPU (gloo process group, CPU DDP),
``--tensorboard`` adds a TensorBoard writer, CPU jobs get the fast
path's process settings (:mod:`cavmae_mm.engine.cpu_runtime`; a config
opts out with ``cpu_fast_path = False``), and the validation loops report
their progress with an ETA as ``tools/test.py`` does (``ProgressHook``;
``--no-progress``: not). Examples::

    python tools/train.py configs/cavmae_pretrain.py
    python tools/train.py configs/cavmae_pretrain.py --data-root /my/audioset
    python tools/train.py configs/cavmae_finetune_vggsound.py --amp \\
        --cfg-options load_from=work_dirs/cavmae_pretrain/epoch_25.pth
    bash tools/dist_train.sh configs/cavmae_pretrain.py 4 --resume
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

import cavmae_mm  # noqa: F401  (registers our modules; configs do too)
from cavmae_mm.engine.hooks import add_progress_hook
from cavmae_mm.utils.config_checks import MissingDataError

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.launch import (add_job_args, build_runner,  # noqa: E402
                          merge_job_args, parse_job_args)

AMP_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper',
                'MixedPrecisionOptimWrapper')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a CAV-MAE model')
    parser.add_argument('config', help='train config file path')
    add_job_args(
        parser,
        work_dir_help='the dir to save logs and models',
        cfg_options_help='override settings of the config, key=value (e.g. '
        'train_dataloader.batch_size=8 model.mode=audioonly)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: float16 autocast + loss scaling on CUDA, '
        'bfloat16 autocast on the CPU')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        help='autocast dtype for --amp (e.g. bfloat16 on CUDA)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size '
        '(configs set auto_scale_lr.base_batch_size to the recipe batch)')
    parser.add_argument(
        '--no-progress',
        action='store_true',
        help='no progress report of the validation loops (ProgressHook: a '
        'bar with ETA on a terminal, log lines otherwise)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='different seeds on different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN / algorithms')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also write TensorBoard logs (under <work_dir>/<time>/vis_data)')
    return parse_job_args(parser, argv)


def enable_amp(cfg: Config, dtype=None) -> None:
    """Switch the config's optimizer wrapper to mixed precision."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in AMP_WRAPPERS:
        raise ValueError(f'--amp works with {AMP_WRAPPERS}, but the config '
                         f'uses {wrapper!r}')
    if wrapper == 'AmpOptimWrapper':
        cfg.optim_wrapper.pop('use_fsdp', None)
    cfg.optim_wrapper.type = 'MixedPrecisionOptimWrapper'
    if dtype is not None:
        cfg.optim_wrapper.dtype = dtype


def merge_args(cfg: Config, args) -> Config:
    """Merge the command line into the config (MMAction2's order)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    merge_job_args(cfg, args)

    if args.amp or args.amp_dtype:
        enable_amp(cfg, args.amp_dtype)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict())
        cfg.auto_scale_lr.enable = True

    randomness = dict(cfg.get('randomness') or {})
    if args.seed is not None or not randomness:
        randomness['seed'] = args.seed if args.seed is not None \
            else randomness.get('seed')
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness

    if args.tensorboard:
        backends = list(cfg.visualizer.get('vis_backends', []))
        if not any(b.get('type') == 'TensorboardVisBackend'
                   for b in backends):
            backends.append(dict(type='TensorboardVisBackend'))
        cfg.visualizer.vis_backends = backends

    if not args.no_progress and not args.no_validate:
        cfg.custom_hooks = add_progress_hook(cfg.get('custom_hooks'))
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    runner = build_runner(cfg, args.launcher,
                          dataloaders=('train_dataloader', 'val_dataloader'))
    runner.train()


if __name__ == '__main__':
    try:
        main()
    except MissingDataError as err:
        sys.exit(f'error: {err}')
