"""Generate the audio-visual toy data set (deterministic, seeded).

Real mp4 files (h264 video + AAC or PCM audio) whose classes combine a
coloured shape with a timbre, and whose per-clip parameters are shared by
both modalities (pitch <-> height, loudness <-> size, beat rate <-> blink
rate), so classification and instance-level audio<->visual retrieval are
learnable. Writes ``videos/``, ``class_labels_indices.csv``,
``pretrain.json``, ``finetune_train.json`` (+ ``_weight.csv``),
``finetune_val.json``, ``retrieval.json`` and ``toy_meta.json`` into
``--out-dir``; ``--extract`` also pre-extracts every clip into the
reference layout (``frames/``, ``audio/``) and adds ``wav``/``video_path``
to the annotations, so both loading paths work from the same files.
``--variant sync`` makes clips of 2-4 timed events instead (CAV-MAE Sync,
``tools/data/toy_sync.py``), extracted at ``--num-positions`` frame
positions (default 8 for it, 10 otherwise).

Example::

    python tools/data/make_toy_av.py --out-dir data/toy_av --workers 2
    python tools/data/make_toy_av.py --out-dir data/toy_av_sync \
        --variant sync --extract --duration 4 --width 160 --height 120
"""
import argparse
import json
import os.path as osp
import sys
import time

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out-dir', default='data/toy_av')
    parser.add_argument('--num-classes', type=int, default=8)
    parser.add_argument('--train-per-class', type=int, default=16)
    parser.add_argument('--val-per-class', type=int, default=6)
    parser.add_argument('--retrieval-per-class', type=int, default=5)
    parser.add_argument('--duration', type=float, default=10.0,
                        help='seconds per clip')
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--fps', type=float, default=10)
    parser.add_argument('--sample-rate', type=int, default=22050)
    parser.add_argument('--channels', type=int, default=2, choices=(1, 2, 6))
    parser.add_argument('--audio-codec', default='aac',
                        choices=('aac', 'pcm_s16le'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--variant', default='base', choices=('base', 'sync'),
                        help='sync: 2-4 timed sound + picture events per '
                        'clip (CAV-MAE Sync)')
    parser.add_argument('--num-positions', type=int,
                        help='frame positions per clip for --extract '
                        '(default: 8 with --variant sync, else 10)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument(
        '--extract',
        action='store_true',
        help='also pre-extract frames + 16 kHz wavs (reference layout)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from tools.data.toy import make_toy_dataset
    start = time.perf_counter()
    outputs = make_toy_dataset(
        args.out_dir,
        num_classes=args.num_classes,
        train_per_class=args.train_per_class,
        val_per_class=args.val_per_class,
        retrieval_per_class=args.retrieval_per_class,
        duration=args.duration,
        width=args.width,
        height=args.height,
        fps=args.fps,
        sample_rate=args.sample_rate,
        channels=args.channels,
        audio_codec=args.audio_codec,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        variant=args.variant)
    if args.extract:
        from cavmae_mm.datasets.av_io import NUM_FRAME_POSITIONS
        from tools.data.extraction import extract_clips
        from tools.data.toy_sync import SYNC_NUM_POSITIONS
        annotations = ('pretrain', 'finetune_train', 'finetune_val',
                       'retrieval')
        items, seen = [], set()
        for role in annotations:
            with open(outputs[role]) as f:
                for entry in json.load(f)['data']:
                    if entry['video_id'] not in seen:
                        seen.add(entry['video_id'])
                        items.append(
                            dict(entry, video=osp.join(args.out_dir,
                                                       entry['video'])))
        num_positions = args.num_positions or (
            SYNC_NUM_POSITIONS if args.variant == 'sync' else
            NUM_FRAME_POSITIONS)
        extracted, failures = extract_clips(
            items, args.out_dir, workers=args.workers,
            progress=not args.no_progress, num_positions=num_positions)
        if failures:
            for failure in failures:
                print(f'{failure["video"]}: {failure["reason"]}',
                      file=sys.stderr)
            return 1
        by_id = {entry['video_id']: entry for entry in extracted}
        for role in annotations:
            with open(outputs[role]) as f:
                entries = json.load(f)['data']
            for entry in entries:
                done = by_id[entry['video_id']]
                entry['wav'] = osp.relpath(done['wav'], args.out_dir)
                entry['video_path'] = osp.relpath(done['video_path'],
                                                  args.out_dir)
            with open(outputs[role], 'w') as f:
                json.dump(dict(data=entries), f, indent=1)
    print(f'toy data set in {args.out_dir} '
          f'({time.perf_counter() - start:.1f} s):')
    for role, path in outputs.items():
        print(f'  {role:15s} {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
