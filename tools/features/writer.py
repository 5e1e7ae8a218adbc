"""The output of ``tools/extract_features.py``: rows of named arrays in an
``.npz`` file or a folder of ``.npy`` memory maps."""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np


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
