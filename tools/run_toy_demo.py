"""The toy demo (``make demo``): CAV-MAE learning end to end on this CPU.

1. Generate the toy audio-visual data set (``tools/data/make_toy_av.py``,
   real mp4 files, pre-extracted into the reference's layout).
2. Evaluate audio<->visual retrieval of a randomly initialized tiny CAV-MAE
   (the baseline).
3. Pre-train it with masked reconstruction + contrastive learning
   (``configs/cavmae_toy_pretrain.py``).
4. Evaluate retrieval of the pre-trained model.
5. Fine-tune it for classification of the toy classes, with weight
   averaging (``configs/cavmae_toy_finetune.py``), and evaluate top-1/top-5
   accuracy with the 10-frame ensemble, for the last and the averaged
   weights.

Training runs through ``tools/train.py`` (MMEngine's per-iteration loss
logging), evaluation through MMEngine's test loop. A results table is
printed and written to ``<work-dir>/results.json``. Every step's output
lands under ``--work-dir``; ``--skip-data`` reuses existing data.

``--shards`` pre-trains from webdataset shards of the same clips
(``tools/data/make_shards.py``, then
``configs/cavmae_toy_pretrain_shards.py``), everything else unchanged: the
comparison of the two data sources.

    python tools/run_toy_demo.py [--work-dir work_dirs/toy_demo]
    python tools/run_toy_demo.py --seeds 0 1 2 --shards \
        --work-dir work_dirs/toy_demo_shards
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
PRETRAIN_CFG = osp.join(ROOT, 'configs', 'cavmae_toy_pretrain.py')
SHARDS_PRETRAIN_CFG = osp.join(ROOT, 'configs',
                               'cavmae_toy_pretrain_shards.py')
FINETUNE_CFG = osp.join(ROOT, 'configs', 'cavmae_toy_finetune.py')
RETRIEVAL_CFG = osp.join(ROOT, 'configs', 'cavmae_toy_retrieval.py')
# The data set the toy configs are sized for (configs/_base_/datasets/
# toy_av.py): 8 classes, 64 training clips per class, 4 s clips.
DATA_ARGS = ['--num-classes', '8', '--train-per-class', '64',
             '--val-per-class', '6', '--retrieval-per-class', '5',
             '--duration', '4', '--width', '160', '--height', '120',
             '--extract']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/toy_demo')
    parser.add_argument('--data-root', default='data/toy_av')
    parser.add_argument('--skip-data', action='store_true',
                        help='use the data already in --data-root')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes for data generation')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='one run per seed in <work-dir>/seed_<s> (the '
                        'data made once, by the first) and the mean '
                        '[min-max] over them')
    parser.add_argument('--pretrain-epochs', type=int,
                        help='override the config (quick runs)')
    parser.add_argument('--finetune-epochs', type=int,
                        help='override the config (quick runs)')
    parser.add_argument('--shards', action='store_true',
                        help='pre-train from shards of the training clips '
                        '(made in <data-root>/shards if absent)')
    parser.add_argument('--data-args', nargs=argparse.REMAINDER,
                        help='replace the generator arguments (last option)')
    return parser.parse_args(argv)


class Timer:
    """Wall-clock time per step, for the table and the log."""

    def __init__(self):
        self.start = time.perf_counter()
        self.steps = {}

    def step(self, name, what):
        print(f'\n=== [{self.elapsed():6.1f} s] {name}: {what}', flush=True)
        self.steps[name] = time.perf_counter()

    def done(self, name):
        self.steps[name] = time.perf_counter() - self.steps[name]
        print(f'=== {name}: {self.steps[name]:.1f} s', flush=True)

    def elapsed(self):
        return time.perf_counter() - self.start


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def check_existing_data(data_root, data_args):
    """Refuse to mix clips of other generator settings into ``data_root``
    (the generator keeps existing clips)."""
    meta_path = osp.join(data_root, 'toy_meta.json')
    if not osp.isfile(meta_path):
        return
    from tools.data import make_toy_av
    wanted = make_toy_av.parse_args(['--out-dir', data_root] + data_args)
    with open(meta_path) as f:
        meta = json.load(f)
    have = dict(meta['clip'], seed=meta['seed'])
    want = dict(duration=wanted.duration, width=wanted.width,
                height=wanted.height, fps=wanted.fps,
                sample_rate=wanted.sample_rate, channels=wanted.channels,
                audio_codec=wanted.audio_codec, seed=wanted.seed)
    differ = {k: (have.get(k), v) for k, v in want.items()
              if have.get(k) != v}
    if differ:
        raise SystemExit(
            f'{data_root} holds a toy data set made with other settings '
            f'({differ}, existing vs wanted); remove it or pass another '
            f'--data-root')


def latest_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def evaluate(config, checkpoint, work_dir, data_root, options=()):
    """Metrics of ``checkpoint`` on ``config``'s test set (in process)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from tools.launch import set_data_root
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(option.split('=', 1) for option in options))
    set_data_root(cfg, data_root)  # what --data-root does
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    cfg.experiment_name = osp.basename(work_dir)
    return Runner.from_cfg(cfg).test()


def random_init_checkpoint(config, path, seed):
    """Save a freshly initialized model (the retrieval baseline)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import save_checkpoint
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    save_checkpoint(dict(meta=dict(seed=seed), state_dict=model.state_dict()),
                    path)
    return path


def pick(metrics, suffix):
    return next(v for k, v in metrics.items() if k.endswith(suffix))


def table(results, chance):
    rows = [('model', 'A->V R@1', 'A->V R@5', 'A->V MdR', 'V->A R@1',
             'V->A R@5', 'V->A MdR')]
    for name in ('random_init', 'pretrained'):
        m = results['retrieval'][name]
        rows.append((name.replace('_', ' '), *[
            f'{100 * m[k]:.1f}' if 'R@' in k else f'{m[k]:.1f}'
            for k in ('a2v_R@1', 'a2v_R@5', 'a2v_MdR', 'v2a_R@1', 'v2a_R@5',
                      'v2a_MdR')
        ]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['Retrieval on the toy retrieval split '
             f'({results["retrieval"]["num_clips"]} clips, chance R@1 '
             f'{100 * chance:.1f} %):']
    lines += ['  ' + '  '.join(c.rjust(w) for c, w in zip(r, widths))
              for r in rows]
    lines.append('Classification of the toy classes (fine-tuned, 10-frame '
                 f'ensemble, chance {100 / results["num_classes"]:.1f} %):')
    for name, m in results['classification'].items():
        lines.append(f'  {name:10s} top-1 {100 * m["top1"]:.1f} %   '
                     f'top-5 {100 * m["top5"]:.1f} %')
    lines.append('Time: ' + ', '.join(
        f'{k} {v:.0f} s' for k, v in results['time_s'].items()))
    return '\n'.join(lines)


def seed_argv(args, seed, first):
    """This script's arguments for one seed of ``--seeds``."""
    from tools.toy_demo.seeds import seed_dir
    argv = ['--seed', str(seed), '--work-dir', seed_dir(args.work_dir, seed),
            '--data-root', args.data_root, '--workers', str(args.workers)]
    if args.skip_data or not first:
        argv.append('--skip-data')
    if args.shards:
        argv.append('--shards')
    for flag in ('pretrain_epochs', 'finetune_epochs'):
        if getattr(args, flag):
            argv += ['--' + flag.replace('_', '-'), str(getattr(args, flag))]
    return argv + (['--data-args'] + args.data_args if args.data_args else [])


def run_seeds(args):
    """The demo once per seed (a process each), then the summary."""
    from tools.toy_demo.seeds import seed_dir, write_summary
    from tools.toy_demo.summaries import cavmae_demo_table
    per_seed, start = [], time.perf_counter()
    out = osp.join(args.work_dir, 'results.json')
    os.makedirs(args.work_dir, exist_ok=True)
    for i, seed in enumerate(args.seeds):
        run([sys.executable, osp.abspath(__file__)] +
            seed_argv(args, seed, i == 0))
        with open(osp.join(seed_dir(args.work_dir, seed),
                           'results.json')) as f:
            per_seed.append(dict(json.load(f), seed=seed))
        write_summary(out, args.seeds[:i + 1], per_seed,
                      time_s=round(time.perf_counter() - start, 1))
    print('\n' + cavmae_demo_table(per_seed, args.seeds))
    print(f'\nTime: {time.perf_counter() - start:.0f} s in all; results '
          f'written to {out}')
    return 0


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    if args.seeds:
        args.work_dir = osp.abspath(args.work_dir)
        args.data_root = osp.abspath(args.data_root)
        return run_seeds(args)
    python = sys.executable
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    timer = Timer()

    name = 'data'
    timer.step(name, f'toy data set -> {data_root}')
    if args.skip_data:
        print('(skipped, --skip-data)')
    else:
        data_args = ['--workers', str(args.workers), '--seed',
                     str(args.seed)] + (args.data_args or DATA_ARGS)
        check_existing_data(data_root, data_args)
        run([python, 'tools/data/make_toy_av.py', '--out-dir', data_root] +
            data_args)
    pretrain_cfg = PRETRAIN_CFG
    if args.shards:
        pretrain_cfg = SHARDS_PRETRAIN_CFG
        shard_dir = osp.join(data_root, 'shards')
        if not args.skip_data:  # shards of the clips just made
            shutil.rmtree(shard_dir, ignore_errors=True)
        if not osp.isfile(osp.join(shard_dir, 'index.json')):
            run([python, 'tools/data/make_shards.py',
                 osp.join(data_root, 'pretrain.json'), '--out-dir',
                 shard_dir, '--shard-size', '64', '--workers',
                 str(args.workers)])
    timer.done(name)

    import cavmae_mm  # noqa: F401  (after the data step: fast start)

    name = 'baseline'
    timer.step(name, 'retrieval of a randomly initialized model')
    init_ckpt = random_init_checkpoint(
        RETRIEVAL_CFG, osp.join(work_dir, 'random_init.pth'), args.seed)
    retrieval_init = evaluate(RETRIEVAL_CFG, init_ckpt,
                              osp.join(work_dir, 'eval_random_init'),
                              data_root)
    timer.done(name)

    name = 'pretrain'
    timer.step(name, osp.relpath(pretrain_cfg, ROOT))
    pretrain_dir = osp.join(work_dir, 'pretrain')
    options = [f'randomness.seed={args.seed}']
    if args.pretrain_epochs:
        options += [f'train_cfg.max_epochs={args.pretrain_epochs}']
    run([python, 'tools/train.py', pretrain_cfg, '--work-dir', pretrain_dir,
         '--data-root', data_root, '--cfg-options'] + options)
    pretrained = latest_checkpoint(pretrain_dir)
    timer.done(name)

    name = 'retrieval'
    timer.step(name, 'retrieval of the pre-trained model')
    retrieval_pt = evaluate(RETRIEVAL_CFG, pretrained,
                            osp.join(work_dir, 'eval_pretrained'),
                            data_root)
    timer.done(name)

    name = 'finetune'
    timer.step(name, osp.relpath(FINETUNE_CFG, ROOT))
    finetune_dir = osp.join(work_dir, 'finetune')
    options = [f'randomness.seed={args.seed}', f'load_from={pretrained}']
    if args.finetune_epochs:
        options += [f'train_cfg.max_epochs={args.finetune_epochs}']
    run([python, 'tools/train.py', FINETUNE_CFG, '--work-dir', finetune_dir,
         '--data-root', data_root, '--cfg-options'] + options)
    timer.done(name)

    name = 'classification'
    timer.step(name, 'accuracy of the fine-tuned model (10 frames)')
    classification = {}
    checkpoints = [('last', latest_checkpoint(finetune_dir))]
    averaged = osp.join(finetune_dir, 'averaged.pth')
    if osp.isfile(averaged):
        checkpoints.append(('averaged', averaged))
    for label, ckpt in checkpoints:
        metrics = evaluate(FINETUNE_CFG, ckpt,
                           osp.join(work_dir, f'eval_finetuned_{label}'),
                           data_root)
        classification[label] = dict(top1=pick(metrics, 'top1'),
                                     top5=pick(metrics, 'top5'))
    timer.done(name)

    with open(osp.join(data_root, 'retrieval.json')) as f:
        num_clips = len(json.load(f)['data'])
    with open(osp.join(data_root, 'class_labels_indices.csv')) as f:
        num_classes = sum(1 for _ in f) - 1
    strip = lambda m: {k.split('/')[-1]: float(v) for k, v in m.items()}  # noqa
    results = dict(
        retrieval=dict(num_clips=num_clips,
                       chance_r1=1 / num_clips,
                       random_init=strip(retrieval_init),
                       pretrained=strip(retrieval_pt)),
        classification=classification,
        pretrain_config=osp.relpath(pretrain_cfg, ROOT),
        num_classes=num_classes,
        checkpoints=dict(pretrained=pretrained, finetuned=checkpoints),
        time_s={**{k: round(v, 1) for k, v in timer.steps.items()},
                'total': round(timer.elapsed(), 1)})
    out = osp.join(work_dir, 'results.json')
    with open(out, 'w') as f:
        json.dump(results, f, indent=2)
    print('\n' + table(results, 1 / num_clips))
    print(f'\nresults written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
