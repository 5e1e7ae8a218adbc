"""Audio and visual embeddings of every item of an annotation file.

Reads the reference's annotation JSON (``wav`` + ``video_path`` frames) or a
list of videos, exactly as ``AudioVisualDataset`` does, loads every item with
the config's test pipeline (``cavmae_mm.apis.InferencePipeline``), embeds it
with a pre-trained or fine-tuned CAV-MAE (each modality's single-modality
path, mean over tokens, L2-normalized: the retrieval features) in batches,
and writes, in annotation order:

* ``OUT.npz``: ``ids`` ``[N]``, ``audio`` ``[N, D]``, ``visual`` ``[N, D]``
  (+ ``audio_tokens`` ``[N, La, D]``, ``visual_tokens`` ``[N, V, Lv, D]``
  with ``--with-tokens``), ``failed_ids``, ``failed_reasons``;
* or, for an ``OUT`` without ``.npz``, a folder with ``ids.txt``,
  ``audio.npy``, ``visual.npy`` (+ token ``.npy`` files, written as
  memory maps) and ``meta.json``.

An item that cannot be loaded stops the run, or with ``--skip-bad`` gets NaN
rows and is listed in ``failed_ids``. Example::

    python tools/extract_features.py configs/cavmae_toy_pretrain.py \\
        work_dirs/pretrain/best.pth data/toy_av/retrieval.json \\
        --out work_dirs/features/retrieval.npz --batch-size 16
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract CAV-MAE embeddings for an annotation file')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('ann_file', help='annotation (JSON or video list)')
    parser.add_argument('--out', required=True,
                        help='OUT.npz, or a folder for .npy files')
    parser.add_argument('--data-root',
                        help='root of relative media paths (default: the '
                        "annotation's folder)")
    parser.add_argument('--source', default='auto',
                        choices=('auto', 'extracted', 'video'),
                        help='extracted wav + frames, or the video files')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=2)
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
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


class AnnotationItems:
    """The items of an annotation, loaded by an ``InferencePipeline``; a
    failing item comes back as its error (so a worker never dies on it and
    the main process decides).

    Args:
        infos (list[dict]): ``data_info`` of each item.
        loader (InferencePipeline): Turns an item into a packed sample.
        modalities (Sequence[str]): Wanted modalities (all required).
    """

    def __init__(self, infos: List[Dict], loader, modalities) -> None:
        self.infos = infos
        self.loader = loader
        self.modalities = tuple(modalities)

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, index: int) -> Dict:
        try:
            data, _ = self.loader(self.infos[index], self.modalities,
                                  allow_missing=False)
        except Exception as err:  # reported by the main process
            return dict(index=index, error=f'{type(err).__name__}: {err}')
        return dict(index=index, data=data)


def collate(batch: List[Dict]) -> List[Dict]:
    return batch


def read_items(ann_file: str, data_root: Optional[str],
               source: str) -> List[Dict]:
    """``data_info`` dicts of an annotation (the dataset's parser)."""
    from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    root = data_root or osp.dirname(osp.abspath(ann_file))
    return [
        parse_entry(entry, source, root, f'{ann_file}: item {i}')
        for i, entry in enumerate(read_annotation(ann_file))
    ]


class FeatureWriter:
    """Rows of named arrays, allocated at the first batch (in memory for
    ``.npz``, as ``.npy`` memory maps for a folder).

    Args:
        out (str): ``*.npz`` file or folder.
        num_items (int): Rows.
    """

    def __init__(self, out: str, num_items: int) -> None:
        self.out = out
        self.num_items = num_items
        self.to_npz = out.endswith('.npz')
        self.arrays: Dict[str, np.ndarray] = {}
        os.makedirs(osp.dirname(osp.abspath(out)) if self.to_npz else out,
                    exist_ok=True)

    def write(self, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        if name not in self.arrays:
            shape = (self.num_items, ) + values.shape[1:]
            if self.to_npz:
                array = np.empty(shape, np.float32)
            else:
                array = np.lib.format.open_memmap(
                    osp.join(self.out, f'{name}.npy'), mode='w+',
                    dtype=np.float32, shape=shape)
            array[:] = np.nan
            self.arrays[name] = array
        self.arrays[name][rows] = values

    def close(self, ids: List[str], failed: Dict[int, str],
              meta: Dict) -> List[str]:
        """Write everything; returns the files written."""
        failed_ids = np.array([ids[i] for i in sorted(failed)], dtype=str)
        failed_reasons = np.array([failed[i] for i in sorted(failed)],
                                  dtype=str)
        if self.to_npz:
            np.savez(self.out, ids=np.array(ids, dtype=str),
                     failed_ids=failed_ids, failed_reasons=failed_reasons,
                     meta=json.dumps(meta), **self.arrays)
            return [self.out]
        files = []
        for array in self.arrays.values():
            array.flush()
            files.append(array.filename)
        with open(osp.join(self.out, 'ids.txt'), 'w') as f:
            f.write(''.join(f'{video_id}\n' for video_id in ids))
        with open(osp.join(self.out, 'meta.json'), 'w') as f:
            json.dump(dict(meta, failed=dict(zip(failed_ids.tolist(),
                                                 failed_reasons.tolist()))),
                      f, indent=1)
        return files + [osp.join(self.out, name)
                        for name in ('ids.txt', 'meta.json')]


def extract(args) -> Dict:
    """Run the extraction; returns a summary."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from cavmae_mm.apis import InferencePipeline, embed_batch, init_model
    from cavmae_mm.models.modes import MODALITY_NAMES

    infos = read_items(args.ann_file, args.data_root, args.source)
    if not infos:
        raise ValueError(f'{args.ann_file} has no items')
    model = init_model(args.config, args.checkpoint, args.device,
                       cfg_options=args.cfg_options)
    frames = args.frames
    if frames is not None and frames.isdigit():
        frames = int(frames)
    items = AnnotationItems(infos, InferencePipeline.of_model(model, frames),
                            args.modalities)
    loader = DataLoader(items, batch_size=args.batch_size,
                        num_workers=args.num_workers, collate_fn=collate)
    writer = FeatureWriter(args.out, len(infos))
    failed: Dict[int, str] = {}
    for batch in tqdm(loader, desc='features', disable=args.no_progress):
        for record in batch:
            if 'error' in record:
                if not args.skip_bad:
                    raise RuntimeError(
                        f'item {record["index"]} '
                        f'({infos[record["index"]]["video_id"]}): '
                        f'{record["error"]} (use --skip-bad to go on)')
                failed[record['index']] = record['error']
        good = [record for record in batch if 'data' in record]
        if not good:
            continue
        rows = np.array([record['index'] for record in good])
        with torch.no_grad():
            features = embed_batch(
                model, pseudo_collate([record['data'] for record in good]),
                with_tokens=args.with_tokens)
        for name, value in features.items():
            writer.write(name, rows, value.float().cpu().numpy())
    ids = [info['video_id'] for info in infos]
    meta = dict(config=args.config, checkpoint=args.checkpoint,
                ann_file=args.ann_file, frames=args.frames,
                modalities=[MODALITY_NAMES[m] for m in args.modalities],
                shapes={k: list(v.shape) for k, v in writer.arrays.items()})
    files = writer.close(ids, failed, meta)
    return dict(num_items=len(ids), num_failed=len(failed), files=files,
                shapes=meta['shapes'])


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
    print(f'{summary["num_items"]} items ({summary["num_failed"]} failed), '
          f'shapes {summary["shapes"]}')
    for path in summary['files']:
        print(f'  {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
