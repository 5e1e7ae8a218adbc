"""In-painting figures of a pre-trained CAV-MAE (the reference's Fig. 3).

For each clip, one PNG with the input spectrogram and frame, the masked
input (the mask), the decoder's reconstruction and the reconstruction pasted
into the visible patches. Models pre-trained with ``norm_pix_loss``
predict per-patch normalized values; their masked patches are mapped back
with the mean and variance of the visible patches, and the figure says so.

Inputs: video files, ``--pair AUDIO IMAGE`` pairs and/or the first
``--max-clips`` items of ``--ann-file``. Examples::

    python tools/visualize_reconstruction.py configs/cavmae_toy_pretrain.py \\
        work_dirs/pretrain/best.pth data/toy_av/videos/toy_c00_000.mp4 \\
        --out-dir work_dirs/recon
    python tools/visualize_reconstruction.py CONFIG CKPT \\
        --ann-file data/toy_av/retrieval.json --max-clips 4 --out-dir OUT
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Dict, List

from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Reconstruction figures of a pre-trained CAV-MAE')
    parser.add_argument('config', help='pre-training model config')
    parser.add_argument('checkpoint', help='pre-training checkpoint')
    parser.add_argument('videos', nargs='*', help='video files')
    parser.add_argument('--pair', nargs=2, action='append', default=[],
                        metavar=('AUDIO', 'IMAGE'),
                        help='an (audio file, image file) pair; repeatable')
    parser.add_argument('--ann-file', help='annotation file (JSON or list)')
    parser.add_argument('--data-root',
                        help="root of the annotation's relative paths")
    parser.add_argument('--max-clips', type=int, default=8,
                        help='items taken from --ann-file')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--frame', default='middle',
                        help="frame position 0-9 or 'middle'")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random masks')
    parser.add_argument('--dpi', type=int, default=100)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def collect_items(args) -> List:
    """Videos, pairs and annotation items, in that order."""
    items: List = list(args.videos) + [tuple(pair) for pair in args.pair]
    if args.ann_file:
        from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
        if not osp.isfile(args.ann_file):
            raise FileNotFoundError(
                f'annotation file not found: {args.ann_file}')
        root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
        entries = read_annotation(args.ann_file)[:args.max_clips]
        items += [parse_entry(entry, 'auto', root, f'{args.ann_file}: item '
                              f'{i}') for i, entry in enumerate(entries)]
    if not items:
        raise ValueError('nothing to show: give videos, --pair or --ann-file')
    return items


def safe_name(video_id: str) -> str:
    return re.sub(r'[^\w.-]+', '_', video_id) or 'clip'


def visualize(args) -> List[Dict]:
    """Write one PNG per item; returns ``{'video_id', 'file'}`` each."""
    import torch
    from mmengine.dataset import pseudo_collate

    from cavmae_mm.apis import InferencePipeline, init_model
    from cavmae_mm.visualization import plot_reconstruction, reconstruct

    items = collect_items(args)
    model = init_model(args.config, args.checkpoint, args.device,
                       cfg_options=args.cfg_options)
    if getattr(model, 'neck', None) is None or \
            not hasattr(model, 'extract_embeddings'):
        raise ValueError(
            f'{type(model).__name__} has no decoder: reconstruction needs a '
            f'pre-training model (CAVMAE) with its decoder, i.e. a '
            f'pre-training config and checkpoint')
    frame = int(args.frame) if args.frame.isdigit() else args.frame
    loader = InferencePipeline.of_model(model, frame)
    backbone = model.backbone
    os.makedirs(args.out_dir, exist_ok=True)
    written, used_stems = [], set()
    for index, item in enumerate(items):
        data, _ = loader(item, ('audio', 'imgs'), allow_missing=False)
        video_id = data['data_samples'].video_id
        batch = model.data_preprocessor(pseudo_collate([data]), False)
        generator = torch.Generator().manual_seed(args.seed + index)
        noise_a = torch.rand(1, backbone.num_patches_a, generator=generator)
        noise_v = torch.rand(1, backbone.num_patches_v, generator=generator)
        result = reconstruct(model, batch['inputs'],
                             noise_a.to(batch['inputs']['audio'].device),
                             noise_v.to(batch['inputs']['imgs'].device))
        stem = safe_name(video_id)
        while stem in used_stems:  # the same clip given twice
            stem += '_'
        used_stems.add(stem)
        out_file = osp.join(args.out_dir, f'{stem}.png')
        plot_reconstruction(result, 0, out_file, title=video_id,
                            dpi=args.dpi)
        written.append(dict(video_id=video_id, file=out_file,
                            norm_pix=bool(result['norm_pix'])))
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    import cavmae_mm  # noqa: F401
    from cavmae_mm.apis import ModalityError
    from cavmae_mm.datasets import AVDataError
    from cavmae_mm.utils import (CheckpointMismatchError,
                                 UnsafeCheckpointError)
    try:
        written = visualize(args)
    except (FileNotFoundError, CheckpointMismatchError,
            UnsafeCheckpointError, AVDataError, ModalityError,
            ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for entry in written:
        note = ' (norm_pix: un-normalized with visible-patch statistics)' \
            if entry['norm_pix'] else ''
        print(f'{entry["video_id"]}: {entry["file"]}{note}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
