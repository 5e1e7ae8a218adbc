"""Evaluate a CAV-MAE checkpoint with MMEngine (MMAction2's tools/test.py).

The config's test dataloader and evaluator decide what is measured:
classification (mAP / accuracy), multi-frame ensembles, retrieval.
Examples::

    python tools/test.py configs/cavmae_finetune_vggsound.py ckpt.pth
    python tools/test.py configs/cavmae_retrieval_audioset.py ckpt.pth \\
        --dump work_dirs/retrieval_features.pkl
    python tools/test.py configs/cavmae_finetune_audioset20k.py ckpt.pth \\
        --cfg-options model.mode=missingvideoonly
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import cavmae_mm  # noqa: F401
from cavmae_mm.engine import (configure_cpu_runtime_from_cfg,
                              setup_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a CAV-MAE model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump the predictions (data samples) to a pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError('--dump needs a .pkl or .pickle file name')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    setup_cpu_distributed(cfg, args.launcher)
    configure_cpu_runtime_from_cfg(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
