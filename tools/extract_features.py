"""Audio and visual embeddings of an annotation file or of media files.

An input is an annotation (``.json``, ``.txt``, ``.csv``, ``.list``: the
reference's JSON with ``wav`` + ``video_path`` frames, or a list of videos,
read exactly as ``AudioVisualDataset`` does), a media file (probed with
PyAV: a container with a video track is a clip, one with only an audio track
an audio file; an image a still frame), a folder (every file in it, sorted)
or a glob. A file that is not media is listed as failed with its reason and
the run goes on. Every item is loaded with the config's test pipeline
(``cavmae_mm.apis.InferencePipeline``) in data-loader workers, embedded
with a pre-trained or fine-tuned CAV-MAE (each modality's single-modality
path, mean over tokens, L2-normalized: the retrieval features) in batches
of items that have the same modalities, and written in input order:

* ``OUT.npz``: ``ids`` ``[N]``, ``audio`` ``[N, D]``, ``visual`` ``[N, D]``
  (+ ``audio_tokens`` ``[N, La, D]``, ``visual_tokens`` ``[N, V, Lv, D]``
  with ``--with-tokens``), ``missing`` ``[N]`` (``''`` or e.g.
  ``'audio (no audio track)'``), ``failed_ids``, ``failed_reasons``;
* or, for an ``OUT`` without ``.npz``, a folder with ``ids.txt``,
  ``audio.npy``, ``visual.npy`` (+ token ``.npy`` files, written as
  memory maps) and ``meta.json`` (with ``missing`` and ``failed``).

A clip without an audio track (or any missing modality) gets NaN rows for
that modality and a ``missing`` note. An item that cannot be loaded stops the
run, or with ``--skip-bad`` gets NaN rows and is listed in ``failed_ids``.
Examples::

    python tools/extract_features.py configs/cavmae_toy_pretrain.py \\
        work_dirs/pretrain/best.pth data/toy_av/retrieval.json \\
        --out work_dirs/features/retrieval.npz --batch-size 16
    python tools/extract_features.py CONFIG CKPT my_clips/ 'more/*.mp4' \\
        --out feats.npz --workers 4 --amp
"""
import argparse
import os.path as osp
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
from mmengine.config import Config, DictAction

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.features.inputs import (AnnotationItems,  # noqa: E402
                                   collate, describe_missing, gather_items)
from tools.features.writer import FeatureWriter  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract CAV-MAE embeddings of an annotation file or '
        'of media files, folders and globs')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'inputs', nargs='+', metavar='INPUT',
        help='annotation file (JSON or video list), media file, folder or '
        'glob')
    parser.add_argument('--out', required=True,
                        help='OUT.npz, or a folder for .npy files')
    parser.add_argument('--data-root',
                        help='root of relative media paths (default: the '
                        "annotation's folder)")
    parser.add_argument('--source', default='auto',
                        choices=('auto', 'extracted', 'video'),
                        help='extracted wav + frames, or the video files')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', '--workers', type=int, default=2,
                        help='data-loader workers that decode the inputs')
    parser.add_argument(
        '--frames',
        help="'middle', 'all' (frames averaged) or a position 0-9 "
        "(default: the config's test pipeline)")
    parser.add_argument('--modalities', nargs='+', default=['audio', 'imgs'],
                        choices=('audio', 'imgs'))
    parser.add_argument('--with-tokens', action='store_true',
                        help='also save the token features (large)')
    parser.add_argument('--skip-bad', action='store_true',
                        help='give unreadable items NaN rows instead of '
                        'stopping')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--amp', action='store_true',
        help='autocast: bfloat16 on the CPU, float16 on CUDA')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        help='autocast dtype for --amp (e.g. bfloat16 on '
                        'CUDA)')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def autocast(args):
    """``torch.autocast`` for ``--amp`` (train.py's naming: bfloat16 on the
    CPU, float16 on CUDA, ``--amp-dtype`` forces one), else a no-op."""
    import contextlib

    import torch
    if not (args.amp or args.amp_dtype):
        return contextlib.nullcontext()
    device_type = torch.device(args.device).type
    dtype = args.amp_dtype or ('float16' if device_type == 'cuda' else
                               'bfloat16')
    return torch.autocast(device_type, dtype=getattr(torch, dtype))


def extract(args, model=None) -> Dict:
    """Run the extraction; returns a summary (with ``seconds``: ``total``
    from the first probe to the written output, ``setup`` building the
    model, ``model`` in the model and copying its features back, ``wait``
    blocked on the data loader).

    Args:
        args: The parsed command line.
        model (nn.Module, optional): A model already built (the
            extraction benchmark's); default: ``init_model`` of
            ``args.config`` and ``args.checkpoint``.
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    from cavmae_mm.apis import InferencePipeline, embed_batch, init_model
    from cavmae_mm.utils.progress import track
    from cavmae_mm.models.modes import MODALITY_NAMES

    start = time.perf_counter()
    infos, failed = gather_items(args.inputs, args.data_root, args.source)
    if not infos:
        raise ValueError(f'{" ".join(args.inputs)}: no items')
    frames = args.frames
    if frames is not None and frames.isdigit():
        frames = int(frames)
    if model is None:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        pipeline = InferencePipeline.from_config(cfg, frames)
    else:
        pipeline = InferencePipeline.of_model(model, frames)
    loadable = [i for i in range(len(infos)) if i not in failed]
    items = AnnotationItems([infos[i] for i in loadable], pipeline,
                            args.modalities)
    loader = DataLoader(items, batch_size=args.batch_size,
                        num_workers=args.num_workers, collate_fn=collate)
    # The workers start (fork) before the model is built: they then share
    # none of its pages, and the model's writes never copy pages on write
    # (a model built first made every batch take tens of thousands of
    # extra page faults while the workers lived). They decode while the
    # model loads.
    batches = iter(loader)
    setup_from = time.perf_counter()
    if model is None:
        model = init_model(cfg, args.checkpoint, args.device)
    setup_s = time.perf_counter() - setup_from
    writer = FeatureWriter(args.out, len(infos))
    missing = [''] * len(infos)
    model_s = wait_s = 0.
    waited_from = time.perf_counter()
    for batch in track(batches, len(loader), desc='features',
                       enabled=not args.no_progress):
        wait_s += time.perf_counter() - waited_from
        groups: Dict[Tuple[str, ...], List[Dict]] = {}
        for record in batch:
            index = loadable[record['index']]
            if 'error' in record:
                if not args.skip_bad:
                    raise RuntimeError(
                        f'item {index} ({infos[index]["video_id"]}): '
                        f'{record["error"]} (use --skip-bad to go on)')
                failed[index] = record['error']
                continue
            missing[index] = describe_missing(record['missing'])
            record['index'] = index
            # clips with the same modalities are collated together
            groups.setdefault(tuple(sorted(record['data']['inputs'])),
                              []).append(record)
        for group in groups.values():
            rows = np.array([record['index'] for record in group])
            model_from = time.perf_counter()
            with torch.no_grad(), autocast(args):
                features = embed_batch(
                    model,
                    pseudo_collate([record['data'] for record in group]),
                    with_tokens=args.with_tokens)
            features = {name: value.float().cpu().numpy()
                        for name, value in features.items()}
            model_s += time.perf_counter() - model_from
            for name, value in features.items():
                writer.write(name, rows, value)
        waited_from = time.perf_counter()
    ids = [info['video_id'] for info in infos]
    meta = dict(config=args.config, checkpoint=args.checkpoint,
                inputs=args.inputs, frames=args.frames,
                modalities=[MODALITY_NAMES[m] for m in args.modalities],
                amp=bool(args.amp or args.amp_dtype),
                shapes={k: list(v.shape) for k, v in writer.arrays.items()})
    files = writer.close(ids, failed, missing, meta)
    seconds = dict(total=time.perf_counter() - start, setup=setup_s,
                   model=model_s, wait=wait_s)
    return dict(num_items=len(ids), num_failed=len(failed),
                num_missing=sum(bool(note) for note in missing),
                files=files, shapes=meta['shapes'], seconds=seconds)


def main(argv=None) -> int:
    args = parse_args(argv)
    import cavmae_mm  # noqa: F401
    from cavmae_mm.utils import (CheckpointMismatchError,
                                 UnsafeCheckpointError)
    try:
        summary = extract(args)
    except (FileNotFoundError, CheckpointMismatchError,
            UnsafeCheckpointError, ValueError, RuntimeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'{summary["num_items"]} items ({summary["num_failed"]} failed, '
          f'{summary["num_missing"]} missing a modality), '
          f'shapes {summary["shapes"]}')
    for path in summary['files']:
        print(f'  {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
