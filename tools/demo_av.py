"""Top-k audio-visual event labels of one video with a fine-tuned CAV-MAE.

The video's audio track and frames go through the config's test pipeline
(as in ``tools/test.py``; ``--frames`` picks the middle frame, all 10 frames
or one position instead of the pipeline's choice); label names come from
``--labels`` (a CSV with header ``index,mid,display_name``, e.g. AudioSet's
``class_labels_indices.csv`` or a VGGSound list in that format), else from the
checkpoint's ``dataset_meta``. A video without an audio track is classified
from its frame alone (``missingvideoonly`` for a multimodally fine-tuned
model), and the output says so. Examples::

    python tools/demo_av.py clip.mp4 configs/cavmae_ft_as20k.py ft.pth \\
        --labels data/audioset/class_labels_indices.csv --topk 5
    python tools/demo_av.py speech.wav CONFIG CKPT --image frame.jpg
"""
import argparse
import json
import sys

from mmengine.config import DictAction

from cavmae_mm.models.modes import MODES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Top-k labels of one video with a fine-tuned CAV-MAE')
    parser.add_argument('video', help='video file (or an audio file with '
                        '--image)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='fine-tuned checkpoint')
    parser.add_argument(
        '--image', help='use VIDEO as the audio and this image as the frame')
    parser.add_argument(
        '--labels',
        help='label CSV (index,mid,display_name); default: the '
        "checkpoint's dataset_meta classes")
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument(
        '--frames',
        help="'middle' (reference evaluation), 'all' (10-frame ensemble) "
        "or a frame position 0-9 (default: the config's test pipeline)")
    parser.add_argument(
        '--mode',
        choices=MODES,
        help="recognizer mode (default: the config's)")
    parser.add_argument(
        '--no-fallback', action='store_true',
        help='fail instead of switching to the single-modality path when '
        'the video lacks audio (or frames)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-json', help='also write the result as JSON')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def frames_arg(value):
    """None, ``'middle'``/``'all'`` or an int position."""
    if value is None:
        return None
    return int(value) if value.lstrip('-').isdigit() else value


def format_result(result: dict, source: str) -> str:
    """The lines printed for one clip."""
    lines = [f'{source} ({result["video_id"]})',
             f'mode: {result["mode"]}']
    if result['note']:
        lines.append(f'NOTE: {result["note"]}')
    lines.append(f'top-{len(result["topk"])} ({result["score_type"]} '
                 f'scores):')
    width = max(len(entry['label']) for entry in result['topk'])
    for rank, entry in enumerate(result['topk'], 1):
        lines.append(f'{rank:>3}. {entry["label"]:<{width}}  '
                     f'{entry["score"]:.4f}  (class {entry["index"]})')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    import cavmae_mm  # noqa: F401
    from cavmae_mm.apis import ModalityError, inference_av, init_model
    from cavmae_mm.datasets import AVDataError
    from cavmae_mm.utils import (CheckpointMismatchError,
                                 UnsafeCheckpointError)
    item = (args.video, args.image) if args.image else args.video
    try:
        model = init_model(args.config, args.checkpoint, args.device,
                           cfg_options=args.cfg_options)
        result = inference_av(
            model, item, topk=args.topk, labels=args.labels,
            frames=frames_arg(args.frames), mode=args.mode,
            allow_missing=not args.no_fallback)
    except (FileNotFoundError, CheckpointMismatchError,
            UnsafeCheckpointError, AVDataError, ModalityError,
            ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(format_result(result, args.video))
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump({k: v for k, v in result.items() if k != 'scores'},
                      f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
