"""Results over several seeds: the mean and the min-max of every number.

A toy run is one draw of the initialization, masking, data order and
augmentation; the demos repeat it for each seed (``--seeds 0 1 2``) and
report each metric as its mean with the range over the seeds, never one
seed alone.
"""
import json
import math
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence


def flatten(results: Mapping, prefix: str = '') -> Dict[str, float]:
    """The numbers of a nested results dict under ``'a/b/c'`` keys
    (booleans, strings and lists are left out)."""
    flat = {}
    for key, value in results.items():
        name = f'{prefix}{key}'
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + '/'))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def summarize(per_seed: Sequence[Mapping]) -> Dict[str, Dict]:
    """``{key: {'mean', 'min', 'max', 'values'}}`` over the seeds' results
    for every number that all of them have (``flatten``'s keys)."""
    if not per_seed:
        raise ValueError('no results to summarize')
    flats = [flatten(results) for results in per_seed]
    keys = [k for k in flats[0] if all(k in flat for flat in flats[1:])]
    summary = {}
    for key in keys:
        values = [flat[key] for flat in flats]
        summary[key] = dict(mean=math.fsum(values) / len(values),
                            min=min(values), max=max(values), values=values)
    return summary


def cell(stats: Mapping, percent: bool = True, digits: int = 1) -> str:
    """``'47.9 [45.8-50.0]'``: the mean and the range of one summary entry
    (fractions shown in percent); a single value alone."""
    scale = 100 if percent else 1
    mean, low, high = (scale * stats[k] for k in ('mean', 'min', 'max'))
    if len(stats.get('values', ())) == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]'


def value_cell(value: Optional[float], percent: bool = True,
               digits: int = 1) -> str:
    """One seed's number as the table shows it (``'-'`` when absent)."""
    if value is None:
        return '-'
    return f'{(100 if percent else 1) * value:.{digits}f}'


def format_rows(rows: List[Sequence[str]], indent: str = '  ') -> List[str]:
    """Right-aligned columns, the first left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + '  '.join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths))) for row in rows
    ]


def seed_dir(work_dir: str, seed: int) -> str:
    """Where one seed's run writes its outputs."""
    return osp.join(work_dir, f'seed_{seed}')


def write_summary(path: str, seeds: Sequence[int],
                  per_seed: Sequence[Mapping], **extra) -> Dict:
    """Write ``{'seeds', 'per_seed', 'summary', **extra}`` as JSON and
    return it (the summary over the seeds done so far)."""
    out = dict(seeds=list(seeds), per_seed=list(per_seed),
               summary=summarize(per_seed) if per_seed else {}, **extra)
    with open(path, 'w') as f:
        json.dump(out, f, indent=2)
    return out
