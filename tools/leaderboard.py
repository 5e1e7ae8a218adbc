"""Evaluate (config, checkpoint) pairs on a list of tasks; one table.

Tasks:

* ``cls``: the config's test set and metric (``MultiLabelMetric`` mAP for
  AudioSet, ``AccMetric`` top-1 for VGGSound) with the config's recognizer
  mode; ``cls:<mode>`` forces a mode (``cls:audioonly``, ``cls:videoonly``,
  ``cls:missingvideoonly``...). Not applicable to pre-training models.
* ``retrieval``: audio→visual and visual→audio R@1/5/10 (and MdR) with
  ``AVRetrievalMetric`` on the config's ``retrieval_dataloader`` (else its
  test set), for pre-trained and fine-tuned models alike (SPEC §3
  retrieval features).

Every evaluation is MMEngine's test loop on a model loaded strictly by
``init_model`` (a mismatched checkpoint stops with the missing/unexpected
keys, exit status 1); ``--non-strict`` loads the matching keys into the
model's own initialization and warns with the same lists, as
``tools/test.py --non-strict`` does. Results are cached per (config,
checkpoint, task; and ``--non-strict``) under
``OUT_DIR/cache/``, keyed by a hash of the config (after ``--cfg-options``)
and the checkpoint's path, modification time and size, so adding a model
evaluates only that model. Writes ``OUT_DIR/leaderboard.md`` and
``OUT_DIR/leaderboard.json`` and prints the table: one row per model, one
column per task metric (percent; MdR as a rank). Example::

    python tools/leaderboard.py \\
        --model configs/cavmae_toy_pretrain.py work_dirs/pt/best.pth pt \\
        --model configs/cavmae_toy_finetune.py work_dirs/ft/best.pth ft \\
        --tasks cls cls:audioonly retrieval --out-dir work_dirs/leaderboard
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, Optional

from mmengine.config import Config, DictAction

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.evaluation.table import (markdown_table,  # noqa: E402
                                    table_columns)
from tools.evaluation.tasks import evaluate, parse_task  # noqa: E402

#: Bump when what a cached result means changes.
CACHE_VERSION = 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate CAV-MAE models on tasks and tabulate them')
    parser.add_argument(
        '--model', nargs='+', action='append', default=[],
        metavar='CONFIG CHECKPOINT [NAME]',
        help='a model to evaluate; repeatable')
    parser.add_argument(
        '--models-file',
        help='JSON list of {"config", "checkpoint", "name"} (added after '
        '--model entries)')
    parser.add_argument('--tasks', nargs='+', default=['cls', 'retrieval'],
                        help='cls, cls:<mode>, retrieval')
    parser.add_argument('--out-dir', default='work_dirs/leaderboard')
    parser.add_argument('--force', action='store_true',
                        help='ignore cached results')
    parser.add_argument('--keep-going', action='store_true',
                        help='record a failing evaluation as an error and '
                        'go on')
    parser.add_argument('--log-level', default='WARNING')
    parser.add_argument(
        '--no-progress', action='store_true',
        help='no progress bar with ETA for each evaluation')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load only the checkpoint keys that match each model (a '
        'partial load on purpose) and warn with the missing/unexpected '
        'keys, instead of stopping')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides merged into every config (data paths...), '
        'key=value')
    return parser.parse_args(argv)


# --------------------------------------------------------------- inputs --


def model_specs(args) -> List[Dict]:
    """``{'name', 'config', 'checkpoint'}`` per model; paths checked."""
    specs = []
    for values in args.model:
        if len(values) not in (2, 3):
            raise ValueError(f'--model takes CONFIG CHECKPOINT [NAME], got '
                             f'{values}')
        specs.append(dict(config=values[0], checkpoint=values[1],
                          name=values[2] if len(values) == 3 else None))
    if args.models_file:
        if not osp.isfile(args.models_file):
            raise FileNotFoundError(
                f'models file not found: {args.models_file}')
        with open(args.models_file) as f:
            for entry in json.load(f):
                specs.append(dict(config=entry['config'],
                                  checkpoint=entry['checkpoint'],
                                  name=entry.get('name')))
    if not specs:
        raise ValueError('no model given: use --model CONFIG CHECKPOINT '
                         '[NAME] or --models-file')
    missing = [f'  config not found: {s["config"]}' for s in specs
               if not osp.isfile(s['config'])]
    missing += [f'  checkpoint not found: {s["checkpoint"]}' for s in specs
                if not osp.isfile(s['checkpoint'])]
    if missing:
        raise FileNotFoundError('bad paths:\n' + '\n'.join(missing))
    for spec in specs:
        spec['name'] = spec['name'] or osp.splitext(
            osp.basename(spec['checkpoint']))[0]
    names = [spec['name'] for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f'model names must be unique, repeated: '
                         f'{duplicates} (give NAME after the checkpoint)')
    return specs


def load_config(path: str, cfg_options: Optional[Dict]) -> Config:
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def cache_key(cfg: Config, checkpoint: str, task: str,
              non_strict: bool = False) -> str:
    """sha256 of the config text, the checkpoint's path, mtime and size,
    the task and, when set, ``--non-strict`` (so that a partial load's
    result never answers a strict run)."""
    stat = os.stat(checkpoint)
    fields = dict(
        config=json.dumps(cfg.to_dict(), sort_keys=True, default=repr),
        checkpoint=osp.abspath(checkpoint), mtime_ns=stat.st_mtime_ns,
        size=stat.st_size, task=task, version=CACHE_VERSION)
    if non_strict:
        fields['non_strict'] = True
    payload = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def run(args) -> Dict:
    """Evaluate what is not cached; returns the leaderboard data."""
    import cavmae_mm  # noqa: F401
    from tools.launch import init_model_for_eval

    specs = model_specs(args)
    tasks = list(dict.fromkeys(args.tasks))
    for task in tasks:
        parse_task(task)
    cache_dir = osp.join(args.out_dir, 'cache')
    os.makedirs(cache_dir, exist_ok=True)
    rows, evaluated = [], []
    for spec in specs:
        cfg = load_config(spec['config'], args.cfg_options)
        model = None
        results = {}
        for task in tasks:
            key = cache_key(cfg, spec['checkpoint'], task, args.non_strict)
            cache_file = osp.join(cache_dir, f'{key}.json')
            if osp.isfile(cache_file) and not args.force:
                with open(cache_file) as f:
                    results[task] = json.load(f)['result']
                continue
            try:
                if model is None:
                    model = init_model_for_eval(cfg, spec['checkpoint'],
                                                strict=not args.non_strict)
                experiment = re.sub(r'[^\w.-]+', '_',
                                    f'{spec["name"]}_{task}')
                result = evaluate(model, cfg, task,
                                  osp.join(args.out_dir, 'runs', key[:16]),
                                  args.log_level, experiment,
                                  progress=not getattr(args, 'no_progress',
                                                       False))
            except Exception as err:
                if not args.keep_going:
                    raise RuntimeError(f'{spec["name"]} ({spec["config"]}, '
                                       f'{spec["checkpoint"]}), task {task}: '
                                       f'{err}') from err
                results[task] = dict(status='error',
                                     reason=f'{type(err).__name__}: {err}')
                continue
            evaluated.append((spec['name'], task))
            results[task] = result
            record = dict(name=spec['name'], config=spec['config'],
                          checkpoint=osp.abspath(spec['checkpoint']),
                          task=task, key=key, result=result,
                          evaluated_at=time.strftime('%Y-%m-%d %H:%M:%S'))
            tmp_file = f'{cache_file}.tmp{os.getpid()}'
            with open(tmp_file, 'w') as f:
                json.dump(record, f, indent=1)
            os.replace(tmp_file, cache_file)
        rows.append(dict(model=spec['name'], config=spec['config'],
                         checkpoint=spec['checkpoint'], results=results))
    return dict(tasks=tasks, columns=table_columns(tasks, rows), rows=rows,
                evaluated=evaluated)


def main(argv=None) -> int:
    args = parse_args(argv)
    from cavmae_mm.utils import (CheckpointMismatchError,
                                 UnsafeCheckpointError)
    from tools.launch import NON_STRICT_HINT
    try:
        board = run(args)
    except (FileNotFoundError, CheckpointMismatchError,
            UnsafeCheckpointError, ValueError, RuntimeError) as err:
        print(f'error: {err}', file=sys.stderr)
        if isinstance(err.__cause__, CheckpointMismatchError):
            print(f'  {NON_STRICT_HINT}', file=sys.stderr)
        return 1
    table = markdown_table(board)
    with open(osp.join(args.out_dir, 'leaderboard.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.out_dir, 'leaderboard.json'), 'w') as f:
        json.dump({k: v for k, v in board.items() if k != 'evaluated'}, f,
                  indent=1)
    print(table)
    cached = sum(len(row['results']) for row in board['rows']) - \
        len(board['evaluated'])
    print(f'evaluated {len(board["evaluated"])}, from cache {cached}; '
          f'written to {args.out_dir}/leaderboard.{{md,json}}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
