"""Pre-extract videos into the reference layout, with a JSON annotation.

For each video: 10 frames (the reference's positions, short side 224,
center crop 224 x 224) at ``<out>/frames/frame_<i>/<video_id>.jpg`` and the
first audio channel at 16 kHz as ``<out>/audio/<video_id>.wav``; then
``{"data": [{"video_id", "wav", "video_path", "labels", "video"}]}``, which
the reference's loader and ``AudioVisualDataset`` read.

Inputs: folders (every file in them, recursively: a file that is not usable
media is listed as a failure with the reason), glob patterns, list files
(``.txt``/``.csv``/``.tsv``/``.lst``: one ``<video> [labels]`` per line;
tab-separated if paths have spaces), JSON annotations with ``video`` entries
or single videos (any other file). Parallel workers, a progress bar,
resumable (finished clips are skipped), and a summary of the failures at the
end (also written to ``<out>/extract_failures.json``); a bad file never stops
the run. Exit status 1 if any clip failed.

Example::

    python tools/data/extract_av.py data/videos/ --out-dir data/extracted \\
        --workers 2
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import sys

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# A file argument with one of these endings is an annotation (a JSON with
# `video` entries or a list); any other file is a video. Files found in a
# folder are all videos to try: whatever is not usable media is reported
# with the reason, never skipped unseen.
ANNOTATION_EXTENSIONS = ('.json', '.txt', '.csv', '.tsv', '.lst')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        'inputs',
        nargs='+',
        help='folders (every file in them), glob patterns, list files '
        '(.txt/.csv/.tsv/.lst), JSON annotations with `video` entries or '
        'videos')
    parser.add_argument('--out-dir', required=True, help='output root')
    parser.add_argument(
        '--ann-out',
        default=None,
        help='annotation JSON to write (default: <out-dir>/annotation.json)')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--size', type=int, default=224, help='frame size')
    parser.add_argument(
        '--num-positions',
        type=int,
        default=10,
        help='frames per clip, frame_0..frame_<N-1> (10: CAV-MAE; '
        '16: CAV-MAE Sync)')
    parser.add_argument(
        '--jpeg-quality',
        type=int,
        default=75,
        help="JPEG quality (75: PIL's default, as the reference)")
    parser.add_argument(
        '--overwrite', action='store_true', help='redo finished clips')
    parser.add_argument(
        '--relative-paths',
        action='store_true',
        help='write paths relative to the annotation file')
    parser.add_argument(
        '--labels',
        default='',
        help='labels of inputs that have none (comma-separated mids)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def _folder_files(folder, skip_dir=None):
    """Every file under ``folder`` (sorted, recursively), except those
    under ``skip_dir`` (the output folder, when it lies inside)."""
    skip = osp.realpath(skip_dir) if skip_dir else None
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        if skip is not None:
            dirs[:] = [
                name for name in dirs
                if osp.realpath(osp.join(root, name)) != skip
            ]
        for name in sorted(files):
            yield osp.join(root, name)


def collect_inputs(inputs, default_labels='', out_dir=None):
    """Video items ``{"video", "labels", "video_id"}`` from the inputs.

    A folder contributes every file in it: whether a file is usable media
    is decided by opening it (PyAV) when it is extracted, not by its name,
    and one that is not ends in the failure list with the reason.
    ``out_dir`` (the output root) is left out of folder scans.
    """
    from cavmae_mm.datasets.av_dataset import read_annotation
    items = []
    for spec in inputs:
        if osp.isdir(spec):
            items.extend(
                dict(video=path) for path in _folder_files(spec, out_dir))
        elif osp.isfile(spec) and spec.lower().endswith(
                ANNOTATION_EXTENSIONS):
            # A JSON annotation with `video` entries or a list file.
            root = osp.dirname(osp.abspath(spec))
            for entry in read_annotation(spec):
                video = entry['video']
                items.append(
                    dict(
                        video=video if osp.isabs(video) else osp.join(
                            root, video),
                        labels=entry.get('labels', ''),
                        video_id=entry.get('video_id')))
        elif any(ch in spec for ch in '*?['):
            items.extend(
                dict(video=path)
                for path in sorted(glob.glob(spec, recursive=True)))
        else:
            items.append(dict(video=spec))  # a single video (may be missing)
    seen = set()
    for item in items:
        if isinstance(item.get('labels'), list):
            item['labels'] = ','.join(item['labels'])
        item['labels'] = item.get('labels') or default_labels
        video_id = item.get('video_id') or osp.splitext(
            osp.basename(item['video']))[0]
        if video_id in seen:  # same stem in two folders
            digest = hashlib.md5(item['video'].encode()).hexdigest()[:8]
            video_id = f'{video_id}__{digest}'
        seen.add(video_id)
        item['video_id'] = video_id
    return items


def main(argv=None):
    args = parse_args(argv)
    from tools.data.extraction import extract_clips
    items = collect_inputs(args.inputs, args.labels, args.out_dir)
    if not items:
        print('no input videos found', file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    ann_out = args.ann_out or osp.join(args.out_dir, 'annotation.json')
    entries, failures = extract_clips(
        items,
        args.out_dir,
        workers=args.workers,
        progress=not args.no_progress,
        size=args.size,
        jpeg_quality=args.jpeg_quality,
        num_positions=args.num_positions,
        overwrite=args.overwrite)
    ann_root = osp.dirname(osp.abspath(ann_out))
    counts = dict(done=0, skipped=0)
    for entry in entries:
        counts[entry.pop('status')] += 1
        for key in ('wav', 'video_path', 'video'):
            path = osp.abspath(entry[key])
            entry[key] = (
                osp.relpath(path, ann_root) if args.relative_paths else path)
    os.makedirs(ann_root, exist_ok=True)
    with open(ann_out, 'w', encoding='utf-8') as f:
        json.dump(dict(data=entries), f, indent=1)
    failures_path = osp.join(args.out_dir, 'extract_failures.json')
    with open(failures_path, 'w', encoding='utf-8') as f:
        json.dump(failures, f, indent=1)
    print(f'{len(items)} videos: {counts["done"]} extracted, '
          f'{counts["skipped"]} already done, {len(failures)} failed. '
          f'Annotation: {ann_out}')
    if failures:
        print(f'Failures ({failures_path}):')
        for failure in failures:
            print(f'  {failure["video"]}: {failure["reason"]}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
