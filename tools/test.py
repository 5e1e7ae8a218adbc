"""Evaluate a CAV-MAE checkpoint with MMEngine (MMAction2's tools/test.py).

The config's test dataloader and evaluator decide what is measured:
classification (mAP / accuracy), multi-frame ensembles, retrieval. The
checkpoint must fit the model, as for the user tools' ``init_model``: a
missing, unexpected or shape-mismatched key stops with the key lists and
exit status 1 (MMEngine's ``load_from`` alone would load what fits and
evaluate the rest at random); ``--non-strict`` loads the matching keys and
warns with the same lists. Examples::

    python tools/test.py configs/cavmae_finetune_vggsound.py ckpt.pth
    python tools/test.py configs/cavmae_retrieval_audioset.py ckpt.pth \\
        --dump work_dirs/retrieval_features.pkl
    python tools/test.py configs/cavmae_finetune_audioset20k.py ckpt.pth \\
        --cfg-options model.mode=missingvideoonly
    python tools/test.py configs/cavmae_retrieval_audioset.py ckpt.pth \\
        --show-dir work_dirs/show  # reconstruction pictures
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

import cavmae_mm  # noqa: F401
from cavmae_mm.engine.hooks import add_progress_hook
from cavmae_mm.utils import CheckpointMismatchError, UnsafeCheckpointError
from cavmae_mm.utils.config_checks import MissingDataError, check_data_files

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.launch import (NON_STRICT_HINT, add_job_args,  # noqa: E402
                          build_runner, check_checkpoint, merge_job_args,
                          parse_job_args)


#: The data loaders a test runs.
TEST_DATALOADERS = ('test_dataloader',)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a CAV-MAE model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_job_args(
        parser,
        work_dir_help='the directory to save the file containing '
        'evaluation metrics',
        cfg_options_help='override settings of the config, key=value')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump the predictions (data samples) to a pickle file')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load only the checkpoint keys that match the model (a partial '
        'load on purpose) and warn with the missing/unexpected keys, '
        'instead of stopping')
    parser.add_argument(
        '--show-dir',
        metavar='DIR',
        help='write pictures of the first test samples here (up to '
        '--show-max): reconstructions of a pre-training model, '
        'spectrogram + frame + top-5 classes of a recognizer')
    parser.add_argument('--show-max', type=int, default=16,
                        help='pictures written with --show-dir')
    parser.add_argument(
        '--no-progress',
        action='store_true',
        help='no progress report (ProgressHook: a bar with ETA on a '
        'terminal, log lines otherwise)')
    return parse_job_args(parser, argv)


def merge_args(cfg: Config, args) -> Config:
    merge_job_args(cfg, args)
    cfg.load_from = args.checkpoint
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError('--dump needs a .pkl or .pickle file name')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]
    if not args.no_progress:
        cfg.custom_hooks = add_progress_hook(cfg.get('custom_hooks'))
    if args.show_dir is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='TestVisualizationHook', out_dir=args.show_dir,
                 max_items=args.show_max)
        ]
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    """Test; returns the metrics.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the model (and
            no ``--non-strict``).
        MissingDataError: The test data is not there.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    check_data_files(cfg, TEST_DATALOADERS)  # before check_checkpoint's model
    if cfg.get('load_from') is not None:
        check_checkpoint(cfg, cfg.load_from, strict=not args.non_strict)
    runner = build_runner(cfg, args.launcher, dataloaders=TEST_DATALOADERS)
    return runner.test()


if __name__ == '__main__':
    try:
        main()
    except CheckpointMismatchError as err:
        sys.exit(f'error: {err}\n  {NON_STRICT_HINT}')
    except (MissingDataError, UnsafeCheckpointError) as err:
        sys.exit(f'error: {err}')
