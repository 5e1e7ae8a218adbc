"""The classes of a data set and the labels of its samples, for every data
set (:class:`AudioVisualDataset`, :class:`ShardedAVDataset`): the label CSV,
the lookup of class names and mids, and the training target."""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np


def load_label_csv(label_csv: str) -> List[Dict[str, str]]:
    """Rows of a label CSV with header ``index,mid,display_name``, ordered
    by ``index`` (which must be 0..K-1)."""
    with open(label_csv, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    missing = {'index', 'mid', 'display_name'} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f'{label_csv}: the header needs index,mid,'
                         f'display_name (missing {sorted(missing)})')
    rows.sort(key=lambda row: int(row['index']))
    if [int(row['index']) for row in rows] != list(range(len(rows))):
        raise ValueError(f'{label_csv}: indices are not 0..{len(rows) - 1}')
    return rows


def split_labels(labels: Union[None, int, str, Sequence]) -> List:
    """The label tokens of a sample's ``labels``: a comma-separated string,
    a sequence, or one class index; strings stripped, empty ones dropped."""
    if labels is None:
        return []
    if isinstance(labels, (int, np.integer)):
        labels = [labels]
    if isinstance(labels, str):
        labels = labels.split(',')
    tokens = []
    for token in labels:
        if isinstance(token, str):
            token = token.strip()
            if not token:
                continue
        tokens.append(token)
    return tokens


class ClassLabels:
    """The classes of a data set, from a label CSV (``index,mid,
    display_name``, relative to ``data_root``) or ``metainfo['classes']``
    (and ``mids``); a label CSV fills what ``metainfo`` lacks.

    Args:
        label_csv (str, optional): The label CSV.
        metainfo (dict, optional): ``classes`` (and ``mids``).
        data_root (str, optional): Root of a relative ``label_csv``.
        owner (str): Who needs the classes (for the error message).

    Raises:
        ValueError: neither a label CSV nor ``metainfo['classes']``.
    """

    def __init__(self,
                 label_csv: Optional[str] = None,
                 metainfo: Optional[Dict] = None,
                 data_root: Optional[str] = None,
                 owner: str = 'the data set') -> None:
        metainfo = dict(metainfo or {})
        if label_csv is not None:
            if data_root is not None and not osp.isabs(label_csv):
                label_csv = osp.join(data_root, label_csv)
            rows = load_label_csv(label_csv)
            metainfo.setdefault('classes',
                                tuple(row['display_name'] for row in rows))
            metainfo.setdefault('mids', tuple(row['mid'] for row in rows))
        elif 'classes' not in metainfo:
            raise ValueError(f'{owner} needs `label_csv` or '
                             "`metainfo=dict(classes=...)`")
        self.label_csv = label_csv
        self.metainfo = metainfo
        self.num_classes = len(metainfo['classes'])
        #: class name or mid -> class index
        self.lookup = {name: i for i, name in enumerate(metainfo['classes'])}
        self.lookup.update(
            {mid: i for i, mid in enumerate(metainfo.get('mids', ()))})

    def ids(self, labels: Union[None, int, str, Sequence],
            indices: bool = True) -> List[int]:
        """The class indices of a sample's ``labels`` (:func:`split_labels`'s
        tokens: class names or mids, and with ``indices`` also numbers
        0..K-1).

        Raises:
            KeyError: the first token that names no class (its argument).
        """
        ids = []
        for token in split_labels(labels):
            if token in self.lookup:
                ids.append(self.lookup[token])
            elif indices and str(token).lstrip('-').isdigit() and 0 <= int(
                    token) < self.num_classes:
                ids.append(int(token))
            else:
                raise KeyError(token)
        return ids

    def target(self, ids: Sequence[int],
               multi_label: bool) -> Union[int, np.ndarray]:
        """The training ``label`` of class indices ``ids``: a multi-hot
        float32 ``[num_classes]`` vector, or the class index (-1 without
        one)."""
        if multi_label:
            label = np.zeros(self.num_classes, dtype=np.float32)
            label[list(ids)] = 1.0
            return label
        return ids[0] if ids else -1
