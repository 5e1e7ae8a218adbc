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
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.config import DictAction


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


class AnnotationItems:
    """The items of an annotation, loaded by an ``InferencePipeline``; a
    failing item comes back as its error (so a worker never dies on it and
    the main process decides).

    Args:
        infos (list[dict]): ``data_info`` of each item.
        loader (InferencePipeline): Turns an item into a packed sample.
        modalities (Sequence[str]): Wanted modalities (a missing one is
            noted in the record's ``missing``).
    """

    def __init__(self, infos: List[Dict], loader, modalities) -> None:
        self.infos = infos
        self.loader = loader
        self.modalities = tuple(modalities)

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, index: int) -> Dict:
        try:
            data, missing = self.loader(self.infos[index], self.modalities,
                                        allow_missing=True)
        except Exception as err:  # reported by the main process
            return dict(index=index, error=f'{type(err).__name__}: {err}')
        return dict(index=index, data=data, missing=missing)


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


#: Inputs read as an annotation, by extension.
ANNOTATION_EXTENSIONS = ('.json', '.txt', '.csv', '.list')
#: Inputs read as a still frame, by extension.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def probe_media(path: str) -> Tuple[Optional[Dict], Optional[str]]:
    """The ``data_info`` of a media file, or why it is not one: an image is
    a still frame; a container with a video track a clip (its audio track,
    if any, decoded by the pipeline); with only an audio track audio."""
    from cavmae_mm.apis.inputs import item_to_data_info
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return item_to_data_info((None, path)), None
    import av
    try:
        with av.open(path) as container:
            has_video = bool(container.streams.video)
            has_audio = bool(container.streams.audio)
    except Exception as err:  # PyAV raises several types for non-media
        return None, f'not a media file ({type(err).__name__}: {err})'
    if has_video:
        return item_to_data_info(path), None
    if has_audio:
        return item_to_data_info((path, None)), None
    return None, 'not a media file (no audio or video track)'


def expand_input(spec: str) -> List[str]:
    """The files of a glob, a folder (recursively, sorted) or a file."""
    if glob.has_magic(spec):
        paths = sorted(glob.glob(spec, recursive=True))
        if not paths:
            raise FileNotFoundError(f'no file matches {spec}')
        return [p for path in paths for p in expand_input(path)]
    if osp.isdir(spec):
        return sorted(
            osp.join(folder, name) for folder, _, names in os.walk(spec)
            for name in names)
    if not osp.isfile(spec):
        raise FileNotFoundError(f'input not found: {spec}')
    return [spec]


def gather_items(specs: List[str], data_root: Optional[str],
                 source: str) -> Tuple[List[Dict], Dict[int, str]]:
    """``data_info`` of every item of the inputs, in order, and the reason
    of each file that is not media (by index; its info has no source). A
    file's id is its name without extension, or its path where two files
    share a name."""
    infos: List[Dict] = []
    rejected: Dict[int, str] = {}
    file_paths: Dict[int, str] = {}
    for spec in specs:
        if not glob.has_magic(spec) and not osp.isdir(spec) and \
                spec.lower().endswith(ANNOTATION_EXTENSIONS):
            infos += read_items(spec, data_root, source)
            continue
        for path in expand_input(spec):
            info, reason = probe_media(path)
            if info is None:
                rejected[len(infos)] = f'{path}: {reason}'
                info = dict(video_id=osp.splitext(osp.basename(path))[0])
            file_paths[len(infos)] = path
            infos.append(info)
    names = [info['video_id'] for info in infos]
    for index, path in file_paths.items():
        if names.count(names[index]) > 1:
            infos[index]['video_id'] = osp.splitext(path)[0]
    return infos, rejected


def describe_missing(missing: Dict[str, str]) -> str:
    from cavmae_mm.models.modes import MODALITY_NAMES
    return ', '.join(f'{MODALITY_NAMES[m]} ({reason})'
                     for m, reason in missing.items())


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
              missing: List[str], meta: Dict) -> List[str]:
        """Write everything; returns the files written."""
        failed_ids = np.array([ids[i] for i in sorted(failed)], dtype=str)
        failed_reasons = np.array([failed[i] for i in sorted(failed)],
                                  dtype=str)
        if self.to_npz:
            np.savez(self.out, ids=np.array(ids, dtype=str),
                     missing=np.array(missing, dtype=str),
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
            notes = {i: note for i, note in zip(ids, missing) if note}
            failures = dict(zip(failed_ids.tolist(),
                                failed_reasons.tolist()))
            json.dump(dict(meta, missing=notes, failed=failures), f,
                      indent=1)
        return files + [osp.join(self.out, name)
                        for name in ('ids.txt', 'meta.json')]


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


def extract(args) -> Dict:
    """Run the extraction; returns a summary."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    from cavmae_mm.apis import InferencePipeline, embed_batch, init_model
    from cavmae_mm.utils.progress import track
    from cavmae_mm.models.modes import MODALITY_NAMES

    infos, failed = gather_items(args.inputs, args.data_root, args.source)
    if not infos:
        raise ValueError(f'{" ".join(args.inputs)}: no items')
    model = init_model(args.config, args.checkpoint, args.device,
                       cfg_options=args.cfg_options)
    frames = args.frames
    if frames is not None and frames.isdigit():
        frames = int(frames)
    loadable = [i for i in range(len(infos)) if i not in failed]
    items = AnnotationItems([infos[i] for i in loadable],
                            InferencePipeline.of_model(model, frames),
                            args.modalities)
    loader = DataLoader(items, batch_size=args.batch_size,
                        num_workers=args.num_workers, collate_fn=collate)
    writer = FeatureWriter(args.out, len(infos))
    missing = [''] * len(infos)
    for batch in track(loader, desc='features',
                       enabled=not args.no_progress):
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
            with torch.no_grad(), autocast(args):
                features = embed_batch(
                    model,
                    pseudo_collate([record['data'] for record in group]),
                    with_tokens=args.with_tokens)
            for name, value in features.items():
                writer.write(name, rows, value.float().cpu().numpy())
    ids = [info['video_id'] for info in infos]
    meta = dict(config=args.config, checkpoint=args.checkpoint,
                inputs=args.inputs, frames=args.frames,
                modalities=[MODALITY_NAMES[m] for m in args.modalities],
                amp=bool(args.amp or args.amp_dtype),
                shapes={k: list(v.shape) for k, v in writer.arrays.items()})
    files = writer.close(ids, failed, missing, meta)
    return dict(num_items=len(ids), num_failed=len(failed),
                num_missing=sum(bool(note) for note in missing),
                files=files, shapes=meta['shapes'])


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
