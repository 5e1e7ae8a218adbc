"""The ``data`` sub-command of ``tools/benchmark.py``: per-worker loading
speed of the training pipeline on the pre-extracted and raw-video paths,
next to a re-implementation of the reference's loader."""
import argparse
import json
import os
import os.path as osp
import random
import tempfile
import time

import numpy as np

from .reference_loader import ReferenceStyleLoader
from .shard_bench import add_shard_args, print_shard_table, shard_rows

#: Training recipes of SPEC §6 as far as the loader is concerned.
RECIPES = {
    'pretrain': dict(mixup=0.0, freqm=0, timem=0, noise=True,
                     label_smooth=0.0),
    'finetune': dict(mixup=0.5, freqm=48, timem=192, noise=True,
                     label_smooth=0.1),
}


def train_pipeline(recipe: dict, target_length: int = 1024):
    """The training pipeline of a recipe (reference order)."""
    pipeline = [
        dict(type='LoadAudioWaveform'),
        dict(type='SampleAVFrames', mode='random'),
        dict(type='LoadAVFrames'),
        dict(type='AVResize', scale=(-1, 224)),
        dict(type='CenterCrop', crop_size=224),
    ]
    if recipe['mixup'] > 0:
        pipeline.append(dict(type='AVMixup', prob=recipe['mixup']))
    pipeline += [
        dict(type='KaldiFbank', target_length=target_length),
        dict(type='SpecAugment', freqm=recipe['freqm'],
             timem=recipe['timem']),
        dict(type='NormalizeFbank'),
    ]
    if recipe['noise']:
        pipeline.append(dict(type='FbankNoise'))
    if recipe['label_smooth'] > 0:
        pipeline.append(
            dict(type='LabelSmoothing', eps=recipe['label_smooth']))
    pipeline += [
        dict(type='FormatShape', input_format='NCHW'),
        dict(
            type='PackActionInputs',
            collect_keys=('audio', 'imgs'),
            meta_keys=('video_id', )),
    ]
    return pipeline


def time_loaders(loaders: dict, iters: int, rounds: int = 10,
                 warmup: int = 3, seed: int = 0) -> dict:
    """Time per sample of each loader. The loaders take turns in
    ``rounds`` blocks of ``iters / rounds`` consecutive samples (the same
    random indices for all), so a shared machine's changing load hits them
    alike while each block runs warm, as in a data loader worker.

    CPU time (``time.process_time``: what the process itself spends, less
    sensitive to other processes on the machine) is the per-worker cost;
    wall time is reported beside it.

    Returns:
        dict: loader name -> dict of mean CPU and wall seconds per sample.
    """
    rng = random.Random(seed)
    length = min(len(loader) for loader in loaders.values())
    per_round = max(iters // rounds, 1)
    for loader in loaders.values():
        for _ in range(warmup):
            loader[rng.randrange(length)]
    names = list(loaders)
    cpu = {name: 0.0 for name in names}
    wall = {name: 0.0 for name in names}
    for round_index in range(rounds):
        indices = [rng.randrange(length) for _ in range(per_round)]
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            for index in indices:
                loaders[name][index]
            cpu[name] += time.process_time() - cpu_start
            wall[name] += time.perf_counter() - wall_start
    count = per_round * rounds
    return {
        name: dict(cpu=cpu[name] / count, wall=wall[name] / count)
        for name in names
    }


def time_dataloader(dataset, workers: int, batches: int, batch_size: int):
    """Clips/s of a torch DataLoader with ``workers`` processes (start-up
    and the first batch excluded)."""
    import torch
    from mmengine.dataset import pseudo_collate
    sampler = torch.utils.data.RandomSampler(
        dataset, replacement=True, num_samples=(batches + 1) * batch_size)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        sampler=sampler,
        collate_fn=pseudo_collate)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = sum(len(batch['data_samples']) for batch in iterator)
    return count / (time.perf_counter() - start)


def time_raw_clips(name, raw_ann, label_csv, args):
    """Raw-video pre-training pipeline timed on each clip alone."""
    from cavmae_mm.datasets import AudioVisualDataset
    with open(raw_ann) as f:
        entries = json.load(f)['data']
    rows = []
    for entry in entries[:args.per_clip]:
        one = osp.join(osp.dirname(raw_ann), f'one_{entry["video_id"]}.json')
        with open(one, 'w') as f:
            json.dump(dict(data=[entry]), f)
        dataset = AudioVisualDataset(
            one, train_pipeline(RECIPES['pretrain']), label_csv=label_csv,
            source='video', on_error='raise')
        timing = time_loaders({'raw': dataset}, max(args.iters // 10, 1),
                              rounds=1)['raw']
        rows.append(dict(data=name, clip=entry['video_id'],
                         recipe='pretrain',
                         cpu_ms_per_sample=timing['cpu'] * 1e3,
                         clips_per_s=1.0 / timing['cpu']))
    return rows


def prepare_sets(args, work_dir):
    """Extract the sample clips and generate + extract 360p toy clips.

    Returns:
        dict: name -> (extracted annotation, raw-video annotation, label
        csv, description).
    """
    from tools.data.extraction import extract_clips
    from tools.data.toy import make_toy_dataset
    sets = {}
    if args.samples_dir:
        label_csv = osp.join(args.samples_dir, 'class_labels_indices_as.csv')
        videos = sorted(
            osp.join(args.samples_dir, name)
            for name in os.listdir(args.samples_dir)
            if name.endswith('.mp4'))
        items = [
            dict(
                video=osp.abspath(v),
                video_id=osp.splitext(osp.basename(v))[0],
                labels='/m/09x0r') for v in videos
        ]
        sets['samples'] = _extracted_sets(
            items, osp.join(work_dir, 'samples'), label_csv,
            f'{len(items)} sample clips (144p + 720p, AAC 44.1 kHz stereo)',
            extract_clips)
    if args.toy_clips > 0:
        toy_dir = osp.join(work_dir, 'toy360p')
        width, height = (int(v) for v in args.toy_size.split('x'))
        num_classes = min(8, args.toy_clips)
        per_class = -(-args.toy_clips // num_classes)
        outputs = make_toy_dataset(
            toy_dir,
            num_classes=num_classes,
            train_per_class=per_class,
            val_per_class=0,
            duration=10.0,
            width=width,
            height=height,
            fps=25,
            sample_rate=44100,
            channels=2,
            seed=0,
            workers=args.workers)
        with open(outputs['pretrain']) as f:
            entries = json.load(f)['data']
        items = [
            dict(entry, video=osp.join(toy_dir, entry['video']))
            for entry in entries
        ]
        sets['toy360p'] = _extracted_sets(
            items, toy_dir, outputs['label_csv'],
            f'{len(items)} toy clips ({width}x{height} 25 fps h264, '
            'AAC 44.1 kHz stereo)', extract_clips)
    return sets


def _extracted_sets(items, out_dir, label_csv, description, extract_clips):
    entries, failures = extract_clips(items, out_dir, workers=1,
                                      progress=False)
    if failures:
        raise RuntimeError(f'extraction failed: {failures}')
    for entry in entries:
        entry.pop('status')
    extracted = osp.join(out_dir, 'bench_extracted.json')
    raw = osp.join(out_dir, 'bench_video.json')
    with open(extracted, 'w') as f:
        json.dump(dict(data=entries), f)
    with open(raw, 'w') as f:
        json.dump(
            dict(data=[
                dict(video_id=e['video_id'], video=e['video'],
                     labels=e['labels']) for e in entries
            ]), f)
    return extracted, raw, label_csv, description


def run_data(args):
    import torch
    from mmengine.registry import init_default_scope
    import cavmae_mm  # noqa: F401  (registers the modules)
    from cavmae_mm.datasets import AudioVisualDataset
    init_default_scope('mmaction')
    torch.set_num_threads(1)  # what a data loader worker gets
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='cavmae_bench_')
    load_before = tuple(round(v, 2) for v in os.getloadavg())
    sets = prepare_sets(args, work_dir)
    rows, per_clip = [], []
    for name, (extracted, raw, label_csv, description) in sets.items():
        for recipe_name in args.recipes:
            recipe = RECIPES[recipe_name]
            loaders = {
                'reference loader (pre-extracted)':
                ReferenceStyleLoader(extracted, label_csv, recipe),
                'cavmae_mm pre-extracted':
                AudioVisualDataset(
                    extracted, train_pipeline(recipe), label_csv=label_csv,
                    source='extracted', on_error='raise'),
                'cavmae_mm raw video':
                AudioVisualDataset(
                    raw, train_pipeline(recipe), label_csv=label_csv,
                    source='video', on_error='raise'),
            }
            timings = time_loaders(loaders, args.iters, args.rounds)
            for loader_name, loader in loaders.items():
                timing = timings[loader_name]
                row = dict(
                    data=name,
                    recipe=recipe_name,
                    loader=loader_name,
                    cpu_ms_per_sample=timing['cpu'] * 1e3,
                    clips_per_s=1.0 / timing['cpu'],
                    wall_ms_per_sample=timing['wall'] * 1e3)
                if args.loader_workers and loader_name.startswith(
                        'cavmae_mm'):
                    row['dataloader_clips_per_s'] = time_dataloader(
                        loader, args.loader_workers, args.loader_batches,
                        args.batch_size)
                rows.append(row)
                print(json.dumps(row), flush=True)
        print(f'{name}: {description}')
        if args.per_clip:
            per_clip.extend(time_raw_clips(name, raw, label_csv, args))
    print(f'\nload average before/after: {load_before} / '
          f'{tuple(round(v, 2) for v in os.getloadavg())} '
          f'({os.cpu_count()} CPUs); {args.iters} samples per loader in '
          f'{args.rounds} interleaved blocks; one process, one torch thread')
    header = ('| data | recipe | loader | CPU ms / sample | clips/s per '
              'worker | wall ms / sample |')
    if args.loader_workers:
        header += f' clips/s, DataLoader {args.loader_workers} workers |'
    print('\n' + header)
    print('|' + '---|' * (header.count('|') - 1))
    for row in rows:
        line = (f'| {row["data"]} | {row["recipe"]} | {row["loader"]} | '
                f'{row["cpu_ms_per_sample"]:.2f} | {row["clips_per_s"]:.1f} '
                f'| {row["wall_ms_per_sample"]:.2f} |')
        if args.loader_workers:
            value = row.get('dataloader_clips_per_s')
            line += f' {value:.1f} |' if value else ' – |'
        print(line)
    if per_clip:
        print('\n| data | clip | recipe | raw video CPU ms / sample | '
              'clips/s per worker |\n|---|---|---|---|---|')
        for row in per_clip:
            print(f'| {row["data"]} | {row["clip"]} | {row["recipe"]} | '
                  f'{row["cpu_ms_per_sample"]:.2f} | '
                  f'{row["clips_per_s"]:.1f} |')
    shards = shard_rows(sets, args, work_dir) if args.shard_workers else []
    print_shard_table(shards, args)
    if args.output:
        with open(args.output, 'w') as f:
            json.dump(dict(sets={k: v[3] for k, v in sets.items()},
                           load_before=load_before,
                           load_after=os.getloadavg(), rows=rows,
                           per_clip=per_clip, shards=shards), f,
                      indent=1)
    return 0


def add_data_command(subparsers):
    parser = subparsers.add_parser(
        'data',
        help='data loading speed per worker',
        description='Loading speed per worker (one process, one torch '
        'thread) of the training pipelines, pre-extracted vs raw video, '
        'against the reference loader.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # <repository>/../shared/samples (this file: tools/benchmarking/)
    default_samples = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '..',
        'shared', 'samples')
    parser.add_argument(
        '--samples-dir',
        default=osp.normpath(default_samples)
        if osp.isdir(default_samples) else None,
        help='folder with the sample mp4s and class_labels_indices_as.csv')
    parser.add_argument(
        '--toy-clips', type=int, default=8, help='0: no toy clips')
    parser.add_argument('--toy-size', default='640x360')
    parser.add_argument(
        '--recipes',
        nargs='+',
        default=['pretrain', 'finetune'],
        choices=sorted(RECIPES))
    parser.add_argument('--iters', type=int, default=200,
                        help='samples timed per loader')
    parser.add_argument('--rounds', type=int, default=10,
                        help='blocks the timed samples are split into')
    parser.add_argument(
        '--per-clip',
        type=int,
        default=2,
        help='also time the raw-video path on each of the first N clips of '
        'every set alone')
    parser.add_argument(
        '--loader-workers',
        type=int,
        default=0,
        help='also time a DataLoader with this many workers')
    parser.add_argument('--loader-batches', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--workers', type=int, default=2,
                        help='processes to generate the toy clips')
    parser.add_argument(
        '--work-dir', help='where the data goes (default: a temp folder)')
    parser.add_argument('--output', help='write the results as JSON here')
    add_shard_args(parser)
    parser.set_defaults(func=run_data)


# --------------------------------------------- train / infer / retrieval
