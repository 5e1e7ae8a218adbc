"""Check every item of an annotation file and report the bad ones.

Reports each missing, unreadable, no-audio, no-video, silent, too-short,
missing-frames or bad-label item with the file and the reason, a summary by
kind, and exits with status 1 when any are found (0 when all are fine).

Example::

    python tools/data/validate.py data/toy_av/finetune_train.json \\
        --label-csv data/toy_av/class_labels_indices.csv --workers 2
"""
import argparse
import json
import os.path as osp
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

KINDS = ('missing', 'unreadable', 'no-audio', 'no-video', 'silent',
         'too-short', 'missing-frames', 'bad-label', 'bad-entry')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('ann_file', help='JSON annotation or video list')
    parser.add_argument('--label-csv', help='also check the labels')
    parser.add_argument(
        '--source', default='auto', choices=('auto', 'extracted', 'video'))
    parser.add_argument(
        '--data-root',
        help='root of relative paths (default: the annotation folder)')
    parser.add_argument(
        '--min-duration',
        type=float,
        default=1.0,
        help='shorter audio is reported as too-short (seconds)')
    parser.add_argument(
        '--silence-threshold',
        type=float,
        default=1e-4,
        help='peak amplitude below which audio is silent')
    parser.add_argument(
        '--all-frames',
        action='store_true',
        help='decode all frame positions (default: the middle one)')
    parser.add_argument(
        '--num-positions',
        type=int,
        default=10,
        help='frame positions per clip (10: CAV-MAE; CAV-MAE Sync: as '
        'extracted, e.g. 16)')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--report', help='write the problems as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def _classify(err) -> str:
    reason = err.reason
    if reason == 'file not found':
        return 'missing'
    if reason == 'no audio track':
        return 'no-audio'
    if reason in ('no video track', 'no decodable video frames'):
        return 'no-video'
    if reason.startswith('missing frame'):
        return 'no-video'
    if reason.startswith('audio too short'):
        return 'too-short'
    return 'unreadable'


def check_item(job):
    """Problems ``(kind, path, reason)`` of one parsed annotation item."""
    from cavmae_mm.datasets.av_io import (TARGET_SAMPLE_RATE, AVDataError,
                                          frame_jpeg_path, is_silent,
                                          read_audio, read_frame_jpegs,
                                          read_video_frames)
    info, args = job
    problems = []
    audio_path = info.get('audio_path') or info.get('filename')
    try:
        waveform, _ = read_audio(audio_path, TARGET_SAMPLE_RATE)
        duration = waveform.shape[0] / TARGET_SAMPLE_RATE
        if duration < args['min_duration']:
            problems.append(('too-short', audio_path,
                             f'audio lasts {duration:.3f} s < '
                             f'{args["min_duration"]} s'))
        if is_silent(waveform, args['silence_threshold']):
            problems.append(('silent', audio_path,
                             f'peak amplitude < {args["silence_threshold"]}'))
    except AVDataError as err:
        problems.append((_classify(err), err.path, err.reason))
    except Exception as err:
        problems.append(('unreadable', audio_path,
                         f'{type(err).__name__}: {err}'))

    num_positions = args['num_positions']
    positions = (list(range(num_positions))
                 if args['all_frames'] else [num_positions // 2])
    try:
        if info.get('audio_path'):
            frame_dir = info.get('frame_dir')
            if not frame_dir:
                problems.append(('no-video', audio_path,
                                 'no `video_path` (frame folder) given'))
                return problems
            missing = [
                i for i in range(num_positions) if not osp.exists(
                    frame_jpeg_path(frame_dir, info['video_id'], i))
            ]
            if missing and len(missing) < num_positions:
                problems.append(
                    ('missing-frames',
                     frame_jpeg_path(frame_dir, info['video_id'],
                                     missing[0]),
                     f'frame positions {missing} missing (the loader falls '
                     'back to lower positions)'))
            read_frame_jpegs(frame_dir, info['video_id'], positions)
        else:
            read_video_frames(info['filename'], positions, num_positions)
    except AVDataError as err:
        kind = _classify(err)
        # The same missing/unreadable file was reported for the audio.
        if (err.path, kind) not in {(p[1], p[0]) for p in problems}:
            problems.append((kind, err.path, err.reason))
    except Exception as err:
        problems.append(('unreadable', info.get('filename') or
                         info.get('frame_dir'),
                         f'{type(err).__name__}: {err}'))
    return problems


def check_items(infos, check_args, workers=1, progress=True):
    """Problems of many parsed items (:func:`check_item` each), in order.

    Args:
        infos (list[dict]): What ``parse_entry`` returned for each item.
        check_args (dict): ``min_duration``, ``silence_threshold``,
            ``all_frames``.
        workers (int): Parallel processes (1: in this process).
        progress (bool): Show items done / total with an ETA.

    Returns:
        list[list[tuple]]: ``(kind, path, reason)`` of each item.
    """
    from cavmae_mm.datasets.av_io import init_worker_process
    from cavmae_mm.utils.progress import track
    jobs = [(info, check_args) for info in infos]

    def run(executor_map):
        results = executor_map(check_item, jobs)
        return track(results, len(jobs), desc='validate items',
                     enabled=progress)

    if workers > 1:
        with ProcessPoolExecutor(
                workers, initializer=init_worker_process) as pool:
            return list(run(lambda f, it: pool.map(f, it, chunksize=4)))
    return list(run(map))


def main(argv=None):
    args = parse_args(argv)
    from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
    from cavmae_mm.datasets.class_labels import load_label_csv
    media_root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
    label_names = None
    if args.label_csv:
        rows = load_label_csv(args.label_csv)
        label_names = {row['mid'] for row in rows}
        label_names |= {row['display_name'] for row in rows}
        label_names |= {str(i) for i in range(len(rows))}

    problems, jobs = [], []
    check_args = dict(
        min_duration=args.min_duration,
        silence_threshold=args.silence_threshold,
        all_frames=args.all_frames,
        num_positions=args.num_positions)
    entries = read_annotation(args.ann_file)
    for i, entry in enumerate(entries):
        where = f'item {i}'
        try:
            info = parse_entry(entry, args.source, media_root, where)
        except ValueError as err:
            problems.append((i, 'bad-entry', args.ann_file, str(err)))
            continue
        if label_names is not None:
            labels = entry.get('labels') or ''
            tokens = labels.split(',') if isinstance(labels,
                                                     str) else labels
            unknown = [
                str(t) for t in tokens
                if str(t).strip() and str(t).strip() not in label_names
            ]
            if unknown:
                problems.append((i, 'bad-label', args.ann_file,
                                 f'{where}: unknown labels {unknown}'))
        jobs.append((i, info))

    checked = check_items([info for _, info in jobs], check_args,
                          args.workers, progress=not args.no_progress)
    for (i, _), item_problems in zip(jobs, checked):
        problems.extend((i, *problem) for problem in item_problems)

    problems.sort(key=lambda p: p[0])
    for i, kind, path, reason in problems:
        print(f'[{kind}] item {i}: {path}: {reason}')
    counts = Counter(kind for _, kind, _, _ in problems)
    bad_items = len({i for i, *_ in problems})
    summary = ', '.join(f'{counts[k]} {k}' for k in KINDS if counts[k])
    print(f'{len(entries)} items checked: {bad_items} with problems' +
          (f' ({summary})' if summary else '') + '.')
    if args.report:
        with open(args.report, 'w') as f:
            json.dump([
                dict(item=i, kind=kind, path=path, reason=reason)
                for i, kind, path, reason in problems
            ], f, indent=1)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
