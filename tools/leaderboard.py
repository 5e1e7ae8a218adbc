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
import copy
import hashlib
import json
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, Optional

from mmengine.config import Config, DictAction

from cavmae_mm.models.modes import MODES

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Bump when what a cached result means changes.
CACHE_VERSION = 1
RETRIEVAL_COLUMNS = tuple(f'retrieval/{direction}_R@{k}'
                          for direction in ('a2v', 'v2a')
                          for k in (1, 5, 10))
# The headline classification metric of each evaluator, best first.
CLS_COLUMNS = ('multilabel/mAP', 'acc/mean_average_precision', 'acc/top1')


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
def parse_task(task: str):
    """``'cls'`` / ``'cls:<mode>'`` / ``'retrieval'`` → (kind, mode)."""
    kind, _, mode = task.partition(':')
    if kind == 'retrieval' and not mode:
        return kind, None
    if kind == 'cls' and (not mode or mode in MODES):
        return kind, mode or None
    raise ValueError(f"unknown task {task!r}: use 'cls', 'cls:<mode>' "
                     f"(mode in {MODES}) or 'retrieval'")


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


# ----------------------------------------------------------- evaluation --
def _evaluator_types(evaluator) -> List[str]:
    evaluators = evaluator if isinstance(evaluator, (list, tuple)) else \
        [evaluator]
    return [str(e.get('type', '')).split('.')[-1] for e in evaluators
            if isinstance(e, dict)]


def _dataloader(cfg_dataloader) -> Dict:
    dataloader = copy.deepcopy(cfg_dataloader)
    if dataloader.get('num_workers', 0) == 0:
        dataloader['persistent_workers'] = False  # torch refuses both
    return dataloader


def evaluate(model, cfg: Config, task: str, work_dir: str,
             log_level: str, experiment: str, progress: bool = True) -> Dict:
    """One task of one model with MMEngine's test loop (with a
    ``ProgressHook`` unless not ``progress``).

    Returns:
        dict: ``status`` ``'ok'`` with ``metrics``, or ``'n/a'`` with a
        ``reason``.
    """
    from mmengine.runner import Runner

    from cavmae_mm.apis.inference import is_recognizer
    from cavmae_mm.engine.hooks import add_progress_hook
    from cavmae_mm.models import AVEmbeddingModel

    kind, mode = parse_task(task)
    if kind == 'cls':
        if not is_recognizer(model):
            return dict(status='n/a', reason=f'{type(model).__name__} is a '
                        f'pre-training model (no classification head)')
        if 'test_dataloader' not in cfg or 'test_evaluator' not in cfg:
            return dict(status='n/a', reason='the config has no '
                        'test_dataloader / test_evaluator')
        if 'AVRetrievalMetric' in _evaluator_types(cfg.test_evaluator):
            return dict(status='n/a', reason="the config's test set is a "
                        'retrieval set')
        dataloader, evaluator = cfg.test_dataloader, cfg.test_evaluator
        model.mode = mode or cfg.model.get('mode', 'multimodal')
        runner_model = model
    else:
        dataloader = cfg.get('retrieval_dataloader') or \
            cfg.get('test_dataloader')
        if not dataloader:
            return dict(status='n/a', reason='the config has neither '
                        'retrieval_dataloader nor test_dataloader')
        evaluator = dict(type='AVRetrievalMetric')
        runner_model = AVEmbeddingModel(model)  # any model's embeddings
    runner = Runner(
        model=runner_model,
        work_dir=work_dir,
        test_dataloader=_dataloader(dataloader),
        test_evaluator=copy.deepcopy(evaluator),
        test_cfg=dict(type='TestLoop'),
        default_hooks=dict(checkpoint=None),
        custom_hooks=add_progress_hook([]) if progress else None,
        env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
        default_scope=cfg.get('default_scope', 'mmaction'),
        log_level=log_level,
        experiment_name=experiment,
        cfg=None)  # the cache record names the config; skips its dump
    metrics = runner.test()
    del runner
    return dict(status='ok', metrics={k: float(v)
                                      for k, v in metrics.items()})


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


# ---------------------------------------------------------------- table --
def _selected_metrics(task: str, metrics: Dict[str, float]) -> List[str]:
    kind, _ = parse_task(task)
    if kind == 'retrieval':
        return [key for key in RETRIEVAL_COLUMNS if key in metrics]
    for key in CLS_COLUMNS:
        if key in metrics:
            return [key]
    return sorted(metrics)


def table_columns(tasks: List[str], rows: List[Dict]) -> List[Dict]:
    """``{'task', 'metric', 'header'}`` per column, in task order, the
    union over models."""
    columns = []
    for task in tasks:
        keys: List[str] = []
        for row in rows:
            result = row['results'].get(task, {})
            for key in _selected_metrics(task, result.get('metrics', {})):
                if key not in keys:
                    keys.append(key)
        if not keys:
            keys = [RETRIEVAL_COLUMNS[0] if task == 'retrieval' else
                    'metric']
        for key in keys:
            columns.append(dict(task=task, metric=key,
                                header=f'{task} {key.split("/")[-1]}'))
    return columns


def format_value(metric: str, value: float) -> str:
    """Percent with one decimal; a median rank as is."""
    if metric.endswith('MdR'):
        return f'{value:.1f}'
    return f'{100 * value:.1f}'


def markdown_table(board: Dict) -> str:
    headers = ['model'] + [column['header'] for column in board['columns']]
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * len(board['columns'])) +
             '|']
    for row in board['rows']:
        cells = [row['model']]
        for column in board['columns']:
            result = row['results'].get(column['task'], {})
            value = result.get('metrics', {}).get(column['metric'])
            if value is not None:
                cells.append(format_value(column['metric'], value))
            else:
                cells.append('error' if result.get('status') == 'error'
                             else 'n/a')
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = [f'- {row["model"]}, {task}: {result["reason"]}'
             for row in board['rows']
             for task, result in row['results'].items()
             if result.get('status') != 'ok']
    text = '\n'.join(lines)
    text += ('\n\nMetrics in percent (R@k, mAP, top-1); MdR is a median '
             'rank.')
    if notes:
        text += '\n\n' + '\n'.join(notes)
    return text + '\n'


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
