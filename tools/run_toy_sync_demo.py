"""The toy comparison (``make demo-sync``): CAV-MAE vs CAV-MAE Sync in time.

1. Generate the sync toy data once (``make_toy_av.py --variant sync``:
   clips of 2-4 timed sound + picture events, 8 frame positions 0.5 s
   apart; 512 training clips, 96 retrieval clips).
2. For each seed, pre-train on the same clips with the same recipe and
   budget (``_base_/schedules/cavmae_toy_pretrain_60e.py``) through
   ``tools/train.py``:
   * CAV-MAE (``configs/cavmae_toy_pretrain_on_sync_data.py``): the whole
     4 s clip's fbank with one random frame;
   * CAV-MAE Sync (``configs/cavmae_sync_toy_pretrain.py``): the frame's
     own 0.96 s audio segment, cls and register tokens.
3. Evaluate on the retrieval split: clip-level retrieval (R@1, R@5, median
   rank, both directions) and frame alignment (within each clip, the right
   segment among its 8 for each frame and the right frame for each
   segment), each beside chance and beside the randomly initialized model:
   * CAV-MAE, clip: its own protocol, the clip's audio against its 8 frames
     (features averaged); no alignment (one audio feature per clip);
   * CAV-MAE, per segment: its encoders on each frame and segment (the 400
     row checkpoint in a 96 row model: the fixed sin-cos table's first
     columns; ``configs/cavmae_toy_retrieval_on_sync_data.py``),
     max-aggregated clip retrieval and alignment, as Sync's;
   * CAV-MAE Sync, per segment (``configs/cavmae_sync_toy_retrieval.py``).
4. Print a table per seed and, with several seeds, the mean [min-max] over
   them; write ``<work-dir>/results.json`` (after every seed).

    python tools/run_toy_sync_demo.py [--seeds 0 1 2] [--epochs N]
"""
import argparse
import json
import os
import os.path as osp
import sys

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools.run_toy_demo import (Timer, check_existing_data,  # noqa: E402
                                latest_checkpoint, random_init_checkpoint,
                                run)
from tools.toy_demo.seeds import (cell, format_rows, seed_dir,  # noqa: E402
                                  summarize, value_cell, write_summary)


def config(name):
    return osp.join(ROOT, 'configs', name + '.py')


#: Per model: the pre-training config and the evaluations (name, config).
MODELS = dict(
    cavmae=dict(train=config('cavmae_toy_pretrain_on_sync_data'),
                evals=(('clip', config('cavmae_toy_pretrain_on_sync_data')),
                       ('segments',
                        config('cavmae_toy_retrieval_on_sync_data')))),
    sync=dict(train=config('cavmae_sync_toy_pretrain'),
              evals=(('segments', config('cavmae_sync_toy_retrieval')), )))
#: Table rows: (label, model, evaluation).
ROWS = (('CAV-MAE, clip audio vs 8 frames', 'cavmae', 'clip'),
        ('CAV-MAE, per segment (max)', 'cavmae', 'segments'),
        ('CAV-MAE Sync, per segment (max)', 'sync', 'segments'))
#: The sync toy data set the comparison runs on (configs/_base_/datasets/
#: toy_av_sync.py): 8 classes x 64 training clips, 12 retrieval clips per
#: class (96: one clip is ~1 point of R@1), 4 s clips.
DATA_ARGS = ['--variant', 'sync', '--num-classes', '8', '--train-per-class',
             '64', '--val-per-class', '12', '--retrieval-per-class', '12',
             '--duration', '4', '--width', '160', '--height', '120',
             '--extract']
COLUMNS = ('A->V R@1', 'R@5', 'MdR', 'V->A R@1', 'R@5', 'MdR',
           'align A->V', 'align V->A')
#: (metric key, shown in percent) per column.
KEYS = (('a2v_R@1', True), ('a2v_R@5', True), ('a2v_MdR', False),
        ('v2a_R@1', True), ('v2a_R@5', True), ('v2a_MdR', False),
        ('align_a2v_acc', True), ('align_v2a_acc', True))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/toy_sync_demo')
    parser.add_argument('--data-root', default='data/toy_av_sync')
    parser.add_argument('--skip-data', action='store_true',
                        help='use the data already in --data-root')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes for data generation')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds (the data: --data-seed)')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--epochs', type=int,
                        help='pre-training epochs for both models (default: '
                        "the configs' 60; the halving milestones scale "
                        'with it)')
    parser.add_argument('--no-baseline', action='store_true',
                        help='skip the randomly initialized models')
    parser.add_argument('--data-args', nargs=argparse.REMAINDER,
                        help='replace the generator arguments (last option)')
    return parser.parse_args(argv)


def epoch_options(train_config, epochs):
    """--cfg-options that shorten (or lengthen) the schedule to ``epochs``,
    the halving milestones at the same fractions of the run."""
    if not epochs:
        return []
    from mmengine.config import Config
    cfg = Config.fromfile(train_config)
    options = [f'train_cfg.max_epochs={epochs}']
    for i, scheduler in enumerate(cfg.param_scheduler):
        if scheduler.get('by_epoch', True) and 'milestones' in scheduler:
            total = cfg.train_cfg.max_epochs
            milestones = [max(1, round(m * epochs / total))
                          for m in scheduler.milestones]
            options += [f'param_scheduler.{i}.end={epochs}',
                        f'param_scheduler.{i}.milestones='
                        f'[{",".join(map(str, milestones))}]']
    return options


def train_command(python, model, seed, work_dir, data_root, epochs=None):
    """tools/train.py for one model and seed (no validation: the demo
    evaluates the last checkpoint itself)."""
    train_config = MODELS[model]['train']
    cmd = [python, 'tools/train.py', train_config, '--work-dir', work_dir,
           '--data-root', data_root, '--seed', str(seed), '--no-validate']
    options = epoch_options(train_config, epochs)
    return cmd + (['--cfg-options'] + options if options else [])


def data_command(python, data_root, data_seed, workers, data_args=None):
    return [python, 'tools/data/make_toy_av.py', '--out-dir', data_root,
            '--workers', str(workers), '--seed', str(data_seed)] + \
        list(data_args or DATA_ARGS)


def strip(metrics):
    """``retrieval/a2v_R@1`` -> ``a2v_R@1``, ``alignment/v2a_acc`` ->
    ``align_v2a_acc``."""
    out = {}
    for key, value in metrics.items():
        prefix, _, name = key.rpartition('/')
        out[('align_' if prefix == 'alignment' else '') + name] = float(value)
    return out


def evaluate(eval_config, checkpoint, work_dir, data_root):
    """Metrics of ``checkpoint`` on ``eval_config``'s test set."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(eval_config)
    cfg.test_dataloader.dataset.data_root = data_root
    # Persistent workers outlive the runner and take seconds to stop.
    cfg.test_dataloader.persistent_workers = False
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    # Unique per run: MMEngine's logger and visualizer are per name.
    cfg.experiment_name = osp.relpath(work_dir, osp.dirname(
        osp.dirname(work_dir))).replace(os.sep, '_')
    return strip(Runner.from_cfg(cfg).test())


def run_seed(args, seed, data_root, timer):
    """Train and evaluate both models for one seed; its results dict."""
    work_dir = seed_dir(osp.abspath(args.work_dir), seed)
    results = dict(seed=seed)
    for model, spec in MODELS.items():
        if not args.no_baseline:
            name = f'seed {seed} {model} random init'
            timer.step(name, 'evaluation of a randomly initialized model')
            init = random_init_checkpoint(
                spec['train'], osp.join(work_dir, f'{model}_init.pth'), seed)
            results.setdefault('random_init', {})[model] = {
                label: evaluate(cfg, init, osp.join(
                    work_dir, f'eval_{model}_init_{label}'), data_root)
                for label, cfg in spec['evals']}
            timer.done(name)
        name = f'seed {seed} {model} pretrain'
        timer.step(name, osp.relpath(spec['train'], ROOT))
        train_dir = osp.join(work_dir, model)
        run(train_command(sys.executable, model, seed, train_dir, data_root,
                          args.epochs))
        timer.done(name)
        name = f'seed {seed} {model} evaluation'
        timer.step(name, 'retrieval and alignment of the pre-trained model')
        checkpoint = latest_checkpoint(train_dir)
        results[model] = {
            label: evaluate(cfg, checkpoint,
                            osp.join(work_dir, f'eval_{model}_{label}'),
                            data_root)
            for label, cfg in spec['evals']}
        results.setdefault('checkpoints', {})[model] = checkpoint
        timer.done(name)
    return results


def chance(num_clips, num_positions):
    """What a model that cannot tell clips or moments apart scores."""
    return {'a2v_R@1': 1 / num_clips, 'a2v_R@5': min(5, num_clips) /
            num_clips, 'a2v_MdR': (num_clips + 1) / 2,
            'v2a_R@1': 1 / num_clips, 'v2a_R@5': min(5, num_clips) /
            num_clips, 'v2a_MdR': (num_clips + 1) / 2,
            'align_a2v_acc': 1 / num_positions,
            'align_v2a_acc': 1 / num_positions}


def table(per_seed, chance_row, title):
    """One seed's table (``per_seed`` of length 1) or the mean [min-max]
    over several."""
    summary = summarize(per_seed)
    single = len(per_seed) == 1
    rows = [('', *COLUMNS)]
    for prefix, label_prefix in (('random_init/', 'random init: '),
                                 ('', '')):
        for label, model, evaluation in ROWS:
            base = f'{prefix}{model}/{evaluation}/'
            if base + 'a2v_R@1' not in summary:
                continue
            row = [label_prefix + label]
            for key, percent in KEYS:
                stats = summary.get(base + key)
                row.append('-' if stats is None else
                           value_cell(stats['mean'], percent) if single else
                           cell(stats, percent))
            rows.append(row)
    rows.append(['chance'] + [value_cell(chance_row[k], p) for k, p in KEYS])
    return '\n'.join([title] + format_rows(rows))


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    os.makedirs(work_dir, exist_ok=True)
    timer = Timer()
    timer.step('data', f'sync toy data set -> {data_root}')
    if args.skip_data:
        print('(skipped, --skip-data)')
    else:
        data_args = list(args.data_args or DATA_ARGS)
        check_existing_data(data_root, ['--seed', str(args.data_seed)] +
                            data_args)
        run(data_command(sys.executable, data_root, args.data_seed,
                         args.workers, data_args))
    timer.done('data')
    with open(osp.join(data_root, 'toy_meta.json')) as f:
        if json.load(f).get('variant') != 'sync':
            raise SystemExit(f'{data_root} is not a sync toy data set')
    with open(osp.join(data_root, 'retrieval.json')) as f:
        num_clips = len(json.load(f)['data'])
    import cavmae_mm  # noqa: F401  (after the data step: fast start)
    from mmengine.config import Config
    num_positions = Config.fromfile(
        MODELS['sync']['train']).num_positions
    chance_row = chance(num_clips, num_positions)
    what = (f'{num_clips} retrieval clips x {num_positions} frame '
            f'positions; R@k and alignment accuracy in %')
    per_seed, out = [], osp.join(work_dir, 'results.json')
    for seed in args.seeds:
        results = run_seed(args, seed, data_root, timer)
        results['time_s'] = {k: round(v, 1) for k, v in timer.steps.items()
                             if k.startswith(f'seed {seed} ')}
        per_seed.append(results)
        write_summary(out, args.seeds[:len(per_seed)], per_seed,
                      chance=chance_row, num_clips=num_clips,
                      num_positions=num_positions, epochs=args.epochs,
                      data_seed=args.data_seed)
        print('\n' + table([results], chance_row,
                           f'Seed {seed} ({what}):'), flush=True)
    if len(per_seed) > 1:
        print('\n' + table(per_seed, chance_row,
                           f'Mean [min-max] over seeds {args.seeds} '
                           f'({what}):'))
    import torch  # the numbers depend on the thread count (sum order)
    write_summary(out, args.seeds, per_seed, chance=chance_row,
                  num_clips=num_clips, num_positions=num_positions,
                  epochs=args.epochs, data_seed=args.data_seed,
                  torch_threads=torch.get_num_threads(),
                  time_s=dict(data=round(timer.steps['data'], 1),
                              total=round(timer.elapsed(), 1)))
    print(f'\nTime: {timer.elapsed():.0f} s in all; results written to '
          f'{out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
