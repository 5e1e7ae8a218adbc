"""The pieces of ``tools/data/prepare_dataset.py``: reading a user's labels
CSV, matching it to the files of a folder, the deterministic stratified
split, and the file names that the shipped configs expect under their
``data_root``."""
import csv
import os.path as osp
import random
import re
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

#: Header names of the file column that mark a first row as a header.
FILE_HEADERS = ('file', 'filename', 'path', 'video', 'video_id', 'clip',
                'youtube_id', 'ytid', 'name')

#: The shipped configs a layout trains with, by kind of data: one label per
#: clip (VGGSound's recipes: softmax, accuracy, class-balanced sampling)
#: or several / none (AudioSet's: sigmoid, mAP; pre-training from scratch).
LAYOUTS = {
    'vggsound': dict(
        pretrain='configs/cavmae_pretrain_vggsound.py',
        finetune='configs/cavmae_finetune_vggsound.py',
        retrieval='configs/cavmae_retrieval_vggsound.py'),
    'audioset': dict(
        pretrain='configs/cavmae_pretrain.py',
        finetune='configs/cavmae_finetune_audioset2m.py',
        retrieval='configs/cavmae_retrieval_audioset.py'),
}


def split_labels(fields: Sequence[str]) -> List[str]:
    """Labels of the label columns of a row: every column, each split at
    ``,`` and ``;`` (``clip.mp4,dog,bark`` = ``clip.mp4,"dog;bark"``)."""
    labels = []
    for field in fields:
        for token in re.split('[,;]', field):
            token = token.strip()
            if token and token not in labels:
                labels.append(token)
    return labels


def read_labels_csv(path: str) -> List[Tuple[int, str, List[str]]]:
    """Rows ``(line number, file, labels)`` of a labels CSV: the file in
    the first column, its label(s) in the others; a first row whose file
    column is a header name (``file``, ``video``, ...) is skipped.

    Raises:
        ValueError: The CSV has no rows, or a row has no label (naming the
            file and line).
    """
    with open(path, newline='', encoding='utf-8-sig') as f:
        rows = [(n, row) for n, row in enumerate(csv.reader(f), 1)
                if row and any(cell.strip() for cell in row)]
    if rows and rows[0][1][0].strip().lower() in FILE_HEADERS:
        rows = rows[1:]
    if not rows:
        raise ValueError(f'{path}: no rows (expected "file,label[,label]")')
    out = []
    for number, row in rows:
        labels = split_labels(row[1:])
        if not labels:
            raise ValueError(f'{path}, line {number}: no label for '
                             f'{row[0].strip()!r} (expected '
                             '"file,label[,label]")')
        out.append((number, row[0].strip(), labels))
    return out


def match_labels(videos: Sequence[str], folder: str,
                 rows: Sequence[Tuple[int, str, List[str]]]
                 ) -> Tuple[Dict[str, List[str]], List[Dict]]:
    """Labels of each video from the labels CSV's rows.

    A row's file is matched by its path (absolute, or relative to
    ``folder``), else by file name, else by name without extension (a
    video id), when that is unique in the folder.

    Returns:
        tuple[dict, list[dict]]: ``{video: labels}`` and the rows that
        match no video or an ambiguous name (``line``, ``file``,
        ``reason``).
    """
    by_path = {osp.normpath(v): v for v in videos}
    by_name, by_stem = defaultdict(list), defaultdict(list)
    for video in videos:
        name = osp.basename(video)
        by_name[name].append(video)
        by_stem[osp.splitext(name)[0]].append(video)
    labels, unmatched = {}, []
    for number, name, row_labels in rows:
        path = osp.normpath(name if osp.isabs(name) else osp.join(
            folder, name))
        hits = ([by_path[path]] if path in by_path else by_name.get(
            name) or by_stem.get(name) or [])
        reason = None
        if not hits:
            reason = f'no such file in {folder}'
        elif len(hits) > 1:
            reason = f'ambiguous: {len(hits)} files named so'
        elif hits[0] in labels:
            reason = f'{hits[0]} is already labelled by an earlier row'
        if reason:
            unmatched.append(dict(line=number, file=name, reason=reason))
        else:
            labels[hits[0]] = row_labels
    return labels, unmatched


def split_items(items: Sequence[Dict], val_fraction: float,
                retrieval_per_class: int,
                seed: int = 0) -> Dict[str, List[Dict]]:
    """Deterministic split into ``train``, ``val`` and ``retrieval`` (a
    subset of ``val``), stratified by each item's first label.

    Within each class (in sorted order) the items, sorted by
    ``video_id``, are shuffled with one ``random.Random(seed)``;
    ``round(val_fraction * n)`` of them go to ``val`` (at least one when
    the fraction is positive, at most ``n - 1``: every class keeps a
    training clip), and the first ``retrieval_per_class`` of those to
    ``retrieval``. Items without labels form one group, whose whole
    ``val`` part is the retrieval set.
    """
    groups = defaultdict(list)
    for item in items:
        groups[item['labels'][0] if item['labels'] else ''].append(item)
    rng = random.Random(seed)
    splits = dict(train=[], val=[], retrieval=[])
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda item: item['video_id'])
        rng.shuffle(group)
        count = round(val_fraction * len(group))
        if val_fraction > 0:
            count = max(count, 1)
        count = min(count, len(group) - 1)
        val, train = group[:count], group[count:]
        splits['train'] += train
        splits['val'] += val
        splits['retrieval'] += val[:retrieval_per_class] if key else val
    for name in splits:
        splits[name].sort(key=lambda item: item['video_id'])
    return splits


def layout_files(layout: str, root: str = '.') -> Dict[str, Optional[str]]:
    """The file names, relative to ``data_root``, that the layout's
    configs read: ``train``, ``val``, ``retrieval`` (annotations),
    ``label_csv``, ``weights`` (the fine-tuning sampler's weight file, or
    None), the configs' ``num_classes`` and what the pre-training config
    continues from (``pretrain_load_from``); read from the configs, so
    that they are what the configs expect.

    Raises:
        ValueError: The configs disagree on a file.
    """
    from mmengine.config import Config

    from cavmae_mm.datasets.samplers import default_weight_file
    configs = {
        stage: Config.fromfile(osp.join(root, path))
        for stage, path in LAYOUTS[layout].items()
    }
    pretrain, finetune = configs['pretrain'], configs['finetune']
    files = dict(
        train=finetune.train_dataloader.dataset.ann_file,
        val=finetune.val_dataloader.dataset.ann_file,
        retrieval=pretrain.val_dataloader.dataset.ann_file,
        label_csv=finetune.train_dataloader.dataset.label_csv,
        num_classes=finetune.model.cls_head.num_classes,
        pretrain_load_from=pretrain.get('load_from'))
    sampler = finetune.train_dataloader.get('sampler') or {}
    files['weights'] = (
        default_weight_file(files['train'])
        if sampler.get('type') == 'ClassBalancedSampler' else None)
    checks = [('pretrain train_dataloader.dataset.ann_file',
               pretrain.train_dataloader.dataset.ann_file, files['train']),
              ('retrieval test_dataloader.dataset.ann_file',
               configs['retrieval'].test_dataloader.dataset.ann_file,
               files['retrieval'])]
    for key, value, expected in checks:
        if value != expected:
            raise ValueError(f'{LAYOUTS[layout]} disagree: {key} is '
                             f'{value!r}, not {expected!r}')
    return files
