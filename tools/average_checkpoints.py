"""Average per-epoch checkpoints (SPEC §6 weight averaging) and evaluate.

The plain mean of the model weights of several checkpoints, written as an
MMEngine checkpoint (``state_dict`` + ``meta``); with ``--config`` it is
then evaluated with that config's test dataloader and evaluator.
``WeightAveragingHook`` does the same during training from the weights in
memory; this tool is for runs made without it or for another window.
Examples::

    # epochs 3..15 of a fine-tuning run (epoch_3.pth ... epoch_15.pth)
    python tools/average_checkpoints.py --work-dir work_dirs/ft_as20k \\
        --begin 3 --end 15 --out work_dirs/ft_as20k/averaged_3-15.pth \\
        --config configs/cavmae_finetune_audioset20k.py
    # explicit files
    python tools/average_checkpoints.py a.pth b.pth c.pth --out avg.pth
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint

import cavmae_mm  # noqa: F401
from cavmae_mm.engine import StateDictAverager
from cavmae_mm.utils import get_state_dict, load_checkpoint_safe

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.launch import check_checkpoint  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Average the weights of several checkpoints')
    parser.add_argument('checkpoints', nargs='*', help='checkpoint files')
    parser.add_argument('--work-dir', help='take epoch_<i>.pth from here')
    parser.add_argument('--begin', type=int, help='first epoch (1-based)')
    parser.add_argument('--end', type=int, help='last epoch (inclusive)')
    parser.add_argument('--out', required=True, help='output checkpoint')
    parser.add_argument(
        '--config', help='evaluate the average with this config\'s test set')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the evaluation config, key=value')
    args = parser.parse_args(argv)
    if bool(args.checkpoints) == bool(args.work_dir):
        parser.error('give checkpoint files or --work-dir (not both)')
    if args.work_dir and (args.begin is None or args.end is None):
        parser.error('--work-dir needs --begin and --end')
    return args


def checkpoint_paths(args):
    if args.checkpoints:
        return list(args.checkpoints)
    paths = [osp.join(args.work_dir, f'epoch_{epoch}.pth')
             for epoch in range(args.begin, args.end + 1)]
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f'missing per-epoch checkpoints {missing}; keep them all '
            f'(default_hooks.checkpoint.max_keep_ckpts=-1) or use '
            f'WeightAveragingHook')
    return paths


def average_checkpoints(paths):
    """Plain mean of the ``state_dict`` of each checkpoint file."""
    averager = StateDictAverager()
    for path in paths:
        averager.add(get_state_dict(load_checkpoint_safe(path), path))
        print(f'added {path}', flush=True)
    return averager.average()


def evaluate(config, checkpoint, cfg_options=None):
    """Test ``checkpoint`` with ``config``'s test loop; the metrics (the
    average must fit the config's model, as for ``tools/test.py``)."""
    cfg = Config.fromfile(config)
    cfg.load_from = checkpoint
    cfg.launcher = 'none'
    cfg.work_dir = osp.join(osp.dirname(osp.abspath(checkpoint)),
                            'averaged_eval')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_checkpoint(cfg, cfg.load_from)
    return Runner.from_cfg(cfg).test()


def main(argv=None):
    args = parse_args(argv)
    paths = checkpoint_paths(args)
    averaged = average_checkpoints(paths)
    save_checkpoint(dict(meta=dict(averaged_checkpoints=paths),
                         state_dict=averaged), args.out)
    print(f'wrote the average of {len(paths)} checkpoints to {args.out}')
    if args.config:
        metrics = evaluate(args.config, args.out, args.cfg_options)
        out_json = osp.splitext(args.out)[0] + '_metrics.json'
        with open(out_json, 'w') as f:
            json.dump(dict(checkpoints=paths, metrics=metrics), f, indent=2,
                      default=float)
        print(json.dumps(metrics, indent=2, default=float))
        print(f'metrics written to {out_json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
