"""Write an annotation's clips into webdataset tar shards with a JSON index.

One sample per clip, the tar members ``<key>.wav`` (16 kHz mono PCM16: a
pre-extracted wav that already is one is copied byte for byte),
``<key>.frame_<i>.jpg`` (the pre-extracted JPEGs copied as they are, or the
reference's 10 positions decoded from a video, short side 224 and center
crop, JPEG quality 75, as ``extract_av.py``) and ``<key>.json``
(``video_id``, ``labels``, ``source``). ``<out>/index.json`` lists the
shards with their sample counts, sizes and label counts
(``ShardedAVDataset`` reads it). Shards close at ``--shard-size`` samples or
before passing ``--shard-bytes``, whichever comes first.

Clips are decoded in ``--workers`` processes and written in an order
shuffled with ``--shuffle-seed`` (shards are read sequentially; ``-1``
keeps the annotation's order); the index is rewritten after every
finished shard, so a stopped run continues where it stopped (finished
shards are kept, the unfinished one is redone). Every bad clip is listed
with its reason at the end and in ``<out>/shard_failures.json`` (exit
status 1 if any).

Example::

    python tools/data/make_shards.py data/audioset/audioset_2m_cleaned.json \\
        --out-dir data/audioset_shards --shard-size 1000 --workers 8
"""
import argparse
import glob
import json
import os
import os.path as osp
import random
import sys
from multiprocessing import get_context

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('ann_file', help='JSON annotation (reference layout '
                        'or `video` entries) or a video list')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--data-root', help='root of relative media paths '
                        '(default: the annotation folder)')
    parser.add_argument('--source', default='auto',
                        choices=('auto', 'extracted', 'video'))
    parser.add_argument('--shard-size', type=int, default=1000,
                        help='samples per shard')
    parser.add_argument('--shard-bytes', type=float, default=0,
                        help='bytes per shard at most (0: no limit)')
    parser.add_argument('--num-positions', type=int, default=10,
                        help='frame positions per clip')
    parser.add_argument('--size', type=int, default=224,
                        help='frame size (videos)')
    parser.add_argument('--jpeg-quality', type=int, default=75)
    parser.add_argument('--prefix', default='shard')
    parser.add_argument(
        '--shuffle-seed', type=int, default=0,
        help='write the clips in an order shuffled with this seed (shards '
        'are read sequentially: an annotation sorted by class would make '
        'single-class shards); -1 keeps the annotation order')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true',
                        help='start again, removing the shards there')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def collect_jobs(args):
    """One job per annotation entry (the entries' paths resolved); entries
    that cannot be parsed become failures."""
    from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
    media_root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
    jobs = []
    for i, entry in enumerate(read_annotation(args.ann_file)):
        labels = entry.get('labels') or []
        if isinstance(labels, str):
            labels = [t.strip() for t in labels.split(',') if t.strip()]
        job = dict(index=i, labels=[str(t) for t in labels],
                   num_positions=args.num_positions, size=args.size,
                   jpeg_quality=args.jpeg_quality)
        try:
            job.update(parse_entry(entry, args.source, media_root,
                                   f'{args.ann_file}: item {i}'))
        except ValueError as err:
            job.update(video_id=str(entry.get('video_id', i)), error=str(err))
        jobs.append(job)
    if args.shuffle_seed >= 0:
        random.Random(args.shuffle_seed).shuffle(jobs)
    return jobs


def _options(args, num_items):
    return dict(ann_file=osp.abspath(args.ann_file), source=args.source,
                shard_size=args.shard_size, shard_bytes=args.shard_bytes,
                num_positions=args.num_positions, size=args.size,
                jpeg_quality=args.jpeg_quality, prefix=args.prefix,
                shuffle_seed=args.shuffle_seed, num_items=num_items)


def start_index(args, index_path, options):
    """The index to continue (resume) or a new one; removes the shards
    of ``--overwrite`` and an unfinished shard of a stopped run."""
    from cavmae_mm.datasets.shards.index import INDEX_FORMAT
    pattern = osp.join(args.out_dir, f'{args.prefix}-*.tar*')
    if args.overwrite or not osp.exists(index_path):
        for path in glob.glob(pattern):
            os.remove(path)
        return dict(format=INDEX_FORMAT, complete=False, num_samples=0,
                    shards=[], next_item=0, failures=[], options=options)
    with open(index_path, encoding='utf-8') as f:
        index = json.load(f)
    if index.get('options') != options:
        raise SystemExit(
            f'error: {index_path} was made with other options or another '
            f'annotation ({index.get("options")}); pass --overwrite to '
            'start again')
    kept = {osp.join(args.out_dir, s['url']) for s in index['shards']}
    for path in glob.glob(pattern):
        if path not in kept:
            os.remove(path)  # the unfinished shard of a stopped run
    missing = [path for path in kept if not osp.isfile(path)]
    if missing:
        raise SystemExit(f'error: shards of {index_path} are missing '
                         f'({missing[:3]}); pass --overwrite')
    return index


class ShardSink:
    """Writes samples into numbered shards (webdataset's ``TarWriter``),
    closes a shard at the size limits and records it in the index."""

    def __init__(self, args, index, index_path):
        self.args, self.index, self.index_path = args, index, index_path
        self.writer = self.file = None
        self.count = self.bytes = 0
        self.labels = {}
        self.failures = []

    def write(self, sample, labels, item):
        from webdataset import TarWriter
        size = sum(len(v) + 1024 for k, v in sample.items()
                   if k != '__key__')
        if self.writer is not None and self.args.shard_bytes and \
                self.bytes + size > self.args.shard_bytes:
            self.finish(item)
        if self.writer is None:
            name = f'{self.args.prefix}-{len(self.index["shards"]):06d}.tar'
            self.name, self.tmp = name, osp.join(self.args.out_dir,
                                                 name + '.tmp')
            self.file = open(self.tmp, 'wb')
            self.writer = TarWriter(self.file, encoder=False, mtime=0)
        self.bytes += self.writer.write(sample)
        self.count += 1
        for label in labels:
            self.labels[label] = self.labels.get(label, 0) + 1
        if self.count >= self.args.shard_size:
            self.finish(item + 1)

    def fail(self, failure):
        self.failures.append(failure)

    def finish(self, next_item):
        """Close the current shard (if any) and record it with the items
        before ``next_item`` as done."""
        from cavmae_mm.datasets.shards.index import write_index
        if self.writer is not None:
            self.writer.close()
            self.file.close()
            os.replace(self.tmp, osp.join(self.args.out_dir, self.name))
            self.index['shards'].append(
                dict(url=self.name, num_samples=self.count,
                     bytes=osp.getsize(osp.join(self.args.out_dir,
                                                self.name)),
                     label_counts=self.labels))
            self.index['num_samples'] += self.count
        self.writer = self.file = None
        self.count = self.bytes = 0
        self.labels = {}
        self.index['failures'] += self.failures
        self.failures = []
        self.index['next_item'] = next_item
        write_index(self.index_path, self.index)


def make_shards(args):
    """Write the shards; returns the finished index."""
    from cavmae_mm.datasets.av_io import init_worker_process
    from cavmae_mm.utils.progress import ProgressReporter
    from tools.data.sharding import encode_job
    os.makedirs(args.out_dir, exist_ok=True)
    jobs = collect_jobs(args)
    index_path = osp.join(args.out_dir, 'index.json')
    index = start_index(args, index_path, _options(args, len(jobs)))
    todo = jobs[index['next_item']:]
    sink = ShardSink(args, index, index_path)
    bar = ProgressReporter(len(jobs), desc='make shards',
                           enabled=not args.no_progress)
    bar.done = index['next_item']
    if args.workers > 1:
        pool = get_context('fork').Pool(args.workers,
                                        initializer=init_worker_process)
        results = pool.imap(encode_job, todo, chunksize=2)
    else:
        pool, results = None, map(encode_job, todo)
    try:
        for job, (sample, reason) in results:
            if sample is None:
                sink.fail(dict(video_id=job['video_id'], index=job['index'],
                               source=job.get('audio_path')
                               or job.get('filename'), reason=reason))
            else:
                sink.write(sample, job['labels'], job['index'])
            bar.update()
    finally:
        if pool is not None:
            pool.terminate()
    sink.finish(len(jobs))
    bar.close()
    index['complete'] = True
    from cavmae_mm.datasets.shards.index import write_index
    write_index(index_path, index)
    return index


def main(argv=None):
    args = parse_args(argv)
    if args.shard_size < 1:
        raise SystemExit('error: --shard-size must be at least 1')
    index = make_shards(args)
    failures = sorted(index['failures'], key=lambda f: f['index'])
    failures_path = osp.join(args.out_dir, 'shard_failures.json')
    with open(failures_path, 'w', encoding='utf-8') as f:
        json.dump(failures, f, indent=1)
    print(f'{index["num_samples"]} samples in {len(index["shards"])} shards, '
          f'{len(failures)} clips failed. Index: '
          f'{osp.join(args.out_dir, "index.json")}')
    if failures:
        print(f'Failures ({failures_path}):')
        for failure in failures:
            print(f'  {failure["source"] or failure["video_id"]}: '
                  f'{failure["reason"]}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
