"""Make a data set of a folder of videos, ready to train on in one line.

Every file of the folder is tried (PyAV decides, not the extension) and
checked as ``validate.py`` checks an item (audio and a frame decode, too
short, silent); with ``--extract`` the usable clips are first extracted into
the reference layout (``extract_av.py``'s code: ``frames/frame_<i>/<id>.jpg``
and ``audio/<id>.wav`` under ``--out-dir``). Then, under ``--out-dir``, with
the file names the shipped configs read under their ``data_root``:

* the training, validation and retrieval annotations: a deterministic split
  (``--seed``), stratified by label, ``--val-fraction`` of each class held
  out and ``--retrieval-per-class`` of those for retrieval;
* the class-label CSV (``index,mid,display_name``) and the class-balanced
  weights of the training annotation (``gen_weight_file.py``'s formula);
* ``prepare_report.json``: every file, used (its split) or skipped (the
  reason), and the labels CSV rows that match no file.

It ends with the ``tools/train.py`` lines that train on it, ``--data-root``
their only path override. One label per clip: the VGGSound recipes
(continued pre-training, fine-tuning with accuracy); several labels: the
AudioSet ones (pre-training from scratch, fine-tuning with mAP). Without
``--labels``: pre-training and retrieval only (no classes to fine-tune on).

Example::

    python tools/data/prepare_dataset.py data/my_videos \\
        --labels labels.csv --out-dir data/mine --extract --workers 2
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Problems (validate.py's kinds) that leave a clip usable, with a note.
KEPT_KINDS = ('silent', )
#: The one class of the label CSV of a data set without labels.
UNLABELLED = 'unlabelled'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('folder', help='folder of videos (recursively)')
    parser.add_argument(
        '--labels',
        help='CSV "file,label[,label...]" (file: a path relative to FOLDER, '
        'a file name or a name without extension; a header row is allowed)')
    parser.add_argument('--out-dir', required=True, help='the data set root')
    parser.add_argument(
        '--extract',
        action='store_true',
        help='pre-extract wavs + frames (the reference layout; faster '
        'training) instead of reading the videos')
    parser.add_argument('--val-fraction', type=float, default=0.1)
    parser.add_argument('--retrieval-per-class', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--layout',
        default='auto',
        choices=('auto', 'vggsound', 'audioset'),
        help='whose configs and file names (auto: vggsound for one label '
        'per clip, audioset for several or none)')
    parser.add_argument(
        '--min-duration',
        type=float,
        default=1.0,
        help='shorter audio is skipped (seconds)')
    parser.add_argument(
        '--num-positions',
        type=int,
        default=10,
        help='frame positions per clip, extracted and checked (10: CAV-MAE; '
        '16: CAV-MAE Sync)')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def _check(items, args, source):
    """validate.py's problems of each item: ``{video: [(kind, reason)]}``."""
    from cavmae_mm.datasets.av_dataset import parse_entry
    from tools.data.validate import check_items
    infos = [
        parse_entry(item['entry'], source, args.out_dir, item['video'])
        for item in items
    ]
    checked = check_items(
        infos,
        dict(min_duration=args.min_duration, silence_threshold=1e-4,
             all_frames=source == 'extracted',
             num_positions=args.num_positions),
        args.workers,
        progress=not args.no_progress)
    return {
        item['video']: [(kind, reason) for kind, _, reason in problems]
        for item, problems in zip(items, checked)
    }


def _usable(items, args):
    """Check (and with ``--extract`` first extract) the items; each gets an
    annotation ``entry`` and ``notes``, or a ``skipped`` reason."""
    for item in items:
        item['entry'] = dict(
            video=osp.abspath(item['video']), video_id=item['video_id'],
            labels=','.join(item['labels']))
    if args.extract:
        from tools.data.extraction import extract_clips
        extracted, failures = extract_clips(
            [dict(item, labels='') for item in items], args.out_dir,
            workers=args.workers, progress=not args.no_progress,
            num_positions=args.num_positions)
        failed = {failure['video']: failure['reason'] for failure in failures}
        done = {entry['video']: entry for entry in extracted}
        for item in items:
            if item['video'] in failed:
                item['skipped'] = failed[item['video']]
                continue
            entry = done[item['video']]
            item['entry'].update(
                wav=osp.relpath(entry['wav'], args.out_dir),
                video_path=osp.relpath(entry['video_path'], args.out_dir))
    todo = [item for item in items if 'skipped' not in item]
    problems = _check(todo, args, 'extracted' if args.extract else 'video')
    for item in todo:
        bad = [f'{kind}: {reason}' for kind, reason in problems[item['video']]
               if kind not in KEPT_KINDS]
        if bad:
            item['skipped'] = '; '.join(bad)
        item['notes'] = [f'{kind}: {reason}'
                         for kind, reason in problems[item['video']]
                         if kind in KEPT_KINDS]


def _write_json(path, entries):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(dict(data=entries), f, indent=1)


def _train_lines(layout, files, out_dir, num_classes):
    from tools.data.own_data import LAYOUTS
    configs = LAYOUTS[layout]
    root = f'--data-root {out_dir}'
    lines = [f'python tools/train.py {configs["pretrain"]} {root}']
    start = files['pretrain_load_from']
    if start:
        lines[0] += f'   # continues from {start} (the AudioSet model)'
        if not osp.isfile(start):
            lines.insert(1, (
                f'  # {start} is not there (relative to where you run '
                'tools/train.py): train configs/cavmae_pretrain.py, or '
                'convert the official AS-2M model: python '
                f'tools/convert_official_ckpt.py cav-mae-scale++.pth {start} '
                '--config configs/_base_/models/cavmae_vit_base_pretrain.py'))
    if num_classes:
        classes = ('' if num_classes == files['num_classes'] else
                   f' --cfg-options model.cls_head.num_classes={num_classes}')
        lines.append(f'python tools/train.py {configs["finetune"]} {root}'
                     f'{classes}')
    lines.append(f'python tools/test.py {configs["retrieval"]} '
                 f'<pre-trained checkpoint> {root}')
    return lines


def main(argv=None):
    args = parse_args(argv)
    from tools.data.extract_av import collect_inputs
    from tools.data.own_data import (layout_files, match_labels,
                                     read_labels_csv, split_items)
    if not osp.isdir(args.folder):
        print(f'{args.folder}: no such folder', file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    items = collect_inputs([args.folder], out_dir=args.out_dir)
    unmatched = []
    if args.labels:
        try:
            rows = read_labels_csv(args.labels)
        except (OSError, ValueError) as err:
            print(err, file=sys.stderr)
            return 1
        labels, unmatched = match_labels([i['video'] for i in items],
                                         args.folder, rows)
    for item in items:
        item['labels'] = labels.get(item['video'], []) if args.labels else []
        if args.labels and item['video'] not in labels:
            item['skipped'] = f'not in {args.labels}'
    _usable([item for item in items if 'skipped' not in item], args)
    used = [item for item in items if 'skipped' not in item]

    classes = sorted({label for item in used for label in item['labels']})
    multi = any(len(item['labels']) > 1 for item in used)
    layout = args.layout
    if layout == 'auto':
        layout = 'vggsound' if classes and not multi else 'audioset'
    files = layout_files(layout, ROOT)
    splits = split_items(used, args.val_fraction, args.retrieval_per_class,
                         args.seed)
    for name in ('train', 'val', 'retrieval'):
        for item in splits[name]:
            item.setdefault('splits', []).append(name)
        if name == 'val' and not classes:
            continue  # nothing to evaluate a classifier on
        _write_json(osp.join(args.out_dir, files[name]),
                    [item['entry'] for item in splits[name]])
    # Without labels, one placeholder class: the configs' data sets read a
    # label CSV; pre-training and retrieval use no labels.
    with open(osp.join(args.out_dir, files['label_csv']), 'w', newline='',
              encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['index', 'mid', 'display_name'])
        writer.writerows([index, name, name] for index, name in enumerate(
            classes or [UNLABELLED]))
    if classes and files['weights']:
        from tools.data import gen_weight_file
        gen_weight_file.main([
            osp.join(args.out_dir, files['train']), '--label-csv',
            osp.join(args.out_dir, files['label_csv'])
        ])

    report = dict(
        folder=args.folder, labels=args.labels, layout=layout,
        classes=classes,
        counts={name: len(splits[name]) for name in splits},
        files=[dict(file=item['video'], video_id=item['video_id'],
                    labels=item['labels'],
                    status='skipped' if 'skipped' in item else 'used',
                    **({'reason': item['skipped']} if 'skipped' in item
                       else dict(splits=item['splits'],
                                 notes=item['notes'])))
               for item in items],
        unmatched_label_rows=unmatched)
    report_path = osp.join(args.out_dir, 'prepare_report.json')
    with open(report_path, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=1)

    skipped = [item for item in items if 'skipped' in item]
    print(f'{len(items)} files in {args.folder}: {len(used)} used '
          f'({len(splits["train"])} train, {len(splits["val"])} val, '
          f'{len(splits["retrieval"])} of them for retrieval), '
          f'{len(skipped)} skipped; {len(classes)} classes. '
          f'Report: {report_path}')
    for item in skipped:
        print(f'  skipped {item["video"]}: {item["skipped"]}')
    for item in used:
        for note in item['notes']:
            print(f'  used, but {item["video"]}: {note}')
    for row in unmatched:
        print(f'  {args.labels}, line {row["line"]}: {row["file"]}: '
              f'{row["reason"]}')
    if not splits['train']:
        print('no usable clips to train on', file=sys.stderr)
        return 1
    if not classes:
        print('No labels: pre-training and retrieval only (give --labels '
              'file,label CSV to fine-tune).')
    print('Train on it with:')
    for line in _train_lines(layout, files, args.out_dir, len(classes)):
        print(f'  {line}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
