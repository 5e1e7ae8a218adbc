"""Dataset-level fbank mean and std, to normalize a new data set.

Computes the Kaldi fbank of every clip (or of ``--max-items`` random ones)
exactly as the training pipeline does before ``NormalizeFbank``
(zero-padded/cut to ``--target-length`` frames, like the reference's
``get_norm_stats.py``) and prints:

* ``mean``: the mean over all values (with padding),
* ``std``: the standard deviation over all values,
* ``std_ref``: the mean of the per-clip standard deviations (the reference
  obtained its AudioSet numbers, -5.081 and 4.4849, as the mean of per-batch
  standard deviations),

and the pipeline line ``dict(type='NormalizeFbank', mean=..., std=...)``.
``--no-pad`` leaves the padding out.

Example::

    python tools/data/compute_norm_stats.py data/toy_av/pretrain.json
"""
import argparse
import json
import os.path as osp
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('ann_file', help='JSON annotation or video list')
    parser.add_argument(
        '--source', default='auto', choices=('auto', 'extracted', 'video'))
    parser.add_argument('--data-root')
    parser.add_argument('--target-length', type=int, default=1024)
    parser.add_argument(
        '--no-pad', action='store_true', help='exclude the zero padding')
    parser.add_argument('--max-items', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--output', help='write the statistics as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def clip_stats(job):
    """``(sum, sum of squares, count, clip std)`` of one clip's fbank, or the
    error."""
    from cavmae_mm.datasets.av_io import AVDataError, read_audio
    from cavmae_mm.datasets.transforms.audio import kaldi_fbank, pad_or_cut
    import torch
    path, target_length, no_pad = job
    try:
        waveform, _ = read_audio(path)
        if waveform.shape[0] < 400:  # one 25 ms window at 16 kHz
            raise AVDataError(path, 'audio too short for one fbank window')
        waveform = torch.from_numpy(waveform).reshape(1, -1)
        fbank = kaldi_fbank(waveform - waveform.mean())  # [n, 128]
        if no_pad:
            fbank = fbank[:target_length]
        else:
            fbank = pad_or_cut(fbank, target_length)
        values = fbank.double()
        return (float(values.sum()), float((values**2).sum()),
                int(values.numel()), float(fbank.std()), None)
    except AVDataError as err:
        return None, None, None, None, str(err)


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm
    from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
    from cavmae_mm.datasets.av_io import init_worker_process
    media_root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
    paths = []
    for i, entry in enumerate(read_annotation(args.ann_file)):
        info = parse_entry(entry, args.source, media_root, f'item {i}')
        paths.append(info.get('audio_path') or info['filename'])
    if args.max_items and args.max_items < len(paths):
        rng = np.random.default_rng(args.seed)
        paths = [paths[i] for i in sorted(
            rng.choice(len(paths), args.max_items, replace=False))]
    jobs = [(path, args.target_length, args.no_pad) for path in paths]
    if args.workers > 1:
        with ProcessPoolExecutor(
                args.workers, initializer=init_worker_process) as pool:
            results = list(
                tqdm(pool.map(clip_stats, jobs, chunksize=4),
                     total=len(jobs), disable=args.no_progress))
    else:
        results = [
            clip_stats(job) for job in tqdm(jobs, disable=args.no_progress)
        ]
    total = total_sq = count = 0
    clip_stds, errors = [], []
    for result in results:
        if result[4] is not None:
            errors.append(result[4])
            continue
        total += result[0]
        total_sq += result[1]
        count += result[2]
        clip_stds.append(result[3])
    for error in errors:
        print(f'skipped: {error}', file=sys.stderr)
    if count == 0:
        print('no readable clip', file=sys.stderr)
        return 1
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean**2, 0.0)))
    stats = dict(
        mean=mean,
        std=std,
        std_ref=float(np.mean(clip_stds)),
        clips=len(clip_stds),
        skipped=len(errors),
        target_length=args.target_length,
        padded=not args.no_pad)
    print(json.dumps(stats, indent=1))
    print(f"dict(type='NormalizeFbank', mean={mean:.4f}, std={std:.4f})")
    if args.output:
        with open(args.output, 'w') as f:
            json.dump(stats, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
