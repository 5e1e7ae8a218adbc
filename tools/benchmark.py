"""Benchmarks of cavmae_mm, one sub-command each.

``data``: per-worker loading speed (ms per sample, clips/s) of the training
pipeline on the pre-extracted path and the raw-video path, next to a
re-implementation of the reference's loader, on ``../shared/samples/`` and
on generated 360p toy clips::

    python tools/benchmark.py data --samples-dir ../shared/samples

``train`` / ``infer``: step speed, MFU, peak memory and speed-up of the
fast implementation against the reference-style one, each in a fresh
worker process of its own, alternating rounds
(``tools/benchmarking/``)::

    python tools/benchmark.py train --batch 4 --iters 7 --breakdown
    python tools/benchmark.py infer --batch 4 --iters 5 --no-memory

``extract``: ``tools/extract_features.py``'s end-to-end clips/s on generated
360p clips beside the model-only rate (same model, dtype, batch) and the
ratio (``tools/benchmarking/extract_commands.py``)::

    python tools/benchmark.py extract --workers 2 --dtype bf16 --target 0.8

Sub-commands are registered by ``add_<name>_command(subparsers)`` functions
(each sets ``func``), so ``train``, ``infer``, ``retrieval-metric``... can be
added beside ``data``.
"""
import argparse
import os.path as osp
import sys

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The model and metric benchmarks live beside this tool (tools/benchmarking).
from tools.benchmarking.commands import (  # noqa: E402
    add_infer_command, add_train_command)
from tools.benchmarking.metric_commands import (  # noqa: E402
    add_retrieval_metric_command)
from tools.benchmarking.data_commands import add_data_command  # noqa: E402
from tools.benchmarking.extract_commands import (  # noqa: E402
    add_extract_command)

# ------------------------------------------------------------------ main


def build_parser():
    parser = argparse.ArgumentParser(
        description='cavmae_mm benchmarks',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    subparsers = parser.add_subparsers(
        dest='command', required=True, metavar='COMMAND')
    add_data_command(subparsers)
    add_train_command(subparsers)
    add_infer_command(subparsers)
    add_retrieval_metric_command(subparsers)
    add_extract_command(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
