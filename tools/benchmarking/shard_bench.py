"""Part of ``tools/benchmark.py data``: samples/s through a DataLoader from
tar shards (``ShardedAVDataset``) against the per-file layouts
(pre-extracted wav + JPEGs, raw video), with one and several workers.

The sets are the data benchmark's (sample clips, toy clips), written into
shards by ``tools/data/make_shards.py``; the index lists those shards
``repeats`` times, so that an epoch is long enough to time whatever the set
size (each sample is then read ``repeats`` times per epoch, as the files'
random sampler with replacement reads them).
"""
import gc
import json
import math
import os.path as osp
import time


def add_shard_args(parser) -> None:
    """The shard options of the ``data`` sub-command."""
    parser.add_argument(
        '--shard-workers', type=int, nargs='*', default=[],
        help='also time shards against the file layouts through a '
        'DataLoader with each of these numbers of workers (0: in the main '
        'process), e.g. 1 2')
    parser.add_argument('--shard-size', type=int, default=4,
                        help='samples per shard of the benchmark shards')
    parser.add_argument('--shard-buffer', type=int, default=64,
                        help='shuffle buffer of the shard data set')


def repeated_index(shard_dir: str, min_samples: int) -> str:
    """An index listing the shards of ``shard_dir`` as often as needed to
    hold at least ``min_samples`` samples."""
    from cavmae_mm.datasets.shards.index import load_index, write_index
    index = load_index(osp.join(shard_dir, 'index.json'))
    repeats = max(1, math.ceil(min_samples / index['num_samples']))
    bench = dict(index, shards=index['shards'] * repeats,
                 num_samples=index['num_samples'] * repeats)
    path = osp.join(shard_dir, 'bench_index.json')
    write_index(path, bench)
    return path


def time_stream(dataset, workers: int, batches: int) -> float:
    """Samples/s of a DataLoader over a streamed data set: ``batches``
    batches after the first (start-up excluded), epoch after epoch."""
    import torch
    from mmengine.dataset import pseudo_collate
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=dataset.batch_size, num_workers=workers,
        collate_fn=pseudo_collate, persistent_workers=workers > 0)
    count, start, epoch = -1, None, 0
    while count < batches * dataset.batch_size:
        dataset.set_epoch(0, epoch)
        for batch in loader:
            if start is None:
                start, count = time.perf_counter(), 0
                continue
            count += len(batch['data_samples'])
            if count >= batches * dataset.batch_size:
                break
        epoch += 1
    return count / (time.perf_counter() - start)


def shard_rows(sets: dict, args, work_dir: str) -> list:
    """Rows ``data, recipe, loader, workers, samples_per_s`` for each set,
    recipe and number of workers."""
    from cavmae_mm.datasets import AudioVisualDataset, ShardedAVDataset
    from tools.benchmarking.data_commands import (RECIPES, time_dataloader,
                                                  train_pipeline)
    from tools.data import make_shards
    rows = []
    batch_size, batches = args.batch_size, args.loader_batches
    for name, (extracted, raw, label_csv, _) in sets.items():
        shard_dir = osp.join(work_dir, name, 'shards')
        make_shards.main([extracted, '--out-dir', shard_dir, '--shard-size',
                          str(args.shard_size), '--no-progress'])
        index = repeated_index(
            shard_dir, (batches + 2) * batch_size * max(args.shard_workers
                                                        + [1]))
        for recipe_name in args.recipes:
            pipeline = train_pipeline(RECIPES[recipe_name])
            loaders = {
                'shards': ShardedAVDataset(
                    index, pipeline, batch_size=batch_size,
                    label_csv=label_csv, shuffle_buffer=args.shard_buffer,
                    shuffle_initial=args.shard_buffer),
                'files, pre-extracted': AudioVisualDataset(
                    extracted, pipeline, label_csv=label_csv,
                    source='extracted', on_error='raise'),
                'files, raw video': AudioVisualDataset(
                    raw, pipeline, label_csv=label_csv, source='video',
                    on_error='raise'),
            }
            for workers in args.shard_workers:
                for loader_name, dataset in loaders.items():
                    # Free the PyAV objects of earlier in-process decoding
                    # here: collected in a forked worker, whose parent's
                    # FFmpeg threads are gone, they deadlock it.
                    gc.collect()
                    if loader_name == 'shards':
                        speed = time_stream(dataset, workers, batches)
                    else:
                        speed = time_dataloader(dataset, workers, batches,
                                                batch_size)
                    row = dict(data=name, recipe=recipe_name,
                               loader=loader_name, workers=workers,
                               samples_per_s=speed)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def print_shard_table(rows: list, args) -> None:
    if not rows:
        return
    print(f'\nDataLoader samples/s (wall, batch {args.batch_size}, '
          f'{args.loader_batches} batches after the first)\n')
    print('| data | recipe | loader | workers | samples/s |')
    print('|---|---|---|---|---|')
    for row in rows:
        print(f'| {row["data"]} | {row["recipe"]} | {row["loader"]} | '
              f'{row["workers"]} | {row["samples_per_s"]:.1f} |')
