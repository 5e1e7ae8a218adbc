"""Class-balanced sampling from shards: the reference's per-sample weights
(``1000 / (class count + 0.01)`` summed over a sample's classes, as
:func:`~cavmae_mm.datasets.samplers.class_balanced_weights`) turned into a
number of repeats per sample read, since a stream cannot draw indices."""
import random
from typing import Dict, NamedTuple, Sequence

import numpy as np

from ..class_labels import split_labels


class ClassWeights(NamedTuple):
    per_class: np.ndarray  # float64 [num_classes]
    total: float  # sum of all sample weights


def class_weights(shards: Sequence[Dict], lookup: Dict[str, int],
                  num_classes: int) -> ClassWeights:
    """Class weights and the sum of the sample weights from the index's
    per-shard ``label_counts`` (no pass over the data).

    Raises:
        ValueError: an index without ``label_counts`` or with a label the
            classes do not know.
    """
    counts = np.zeros(num_classes)
    for shard in shards:
        if 'label_counts' not in shard:
            raise ValueError(f'shard {shard.get("url")} has no label_counts '
                             'in the index (needed by balance=\'class\')')
        for token, count in shard['label_counts'].items():
            if token not in lookup:
                raise ValueError(f'unknown label {token!r} in the index')
            counts[lookup[token]] += count
    per_class = 1000.0 / (counts + 0.01)
    return ClassWeights(per_class, float((counts * per_class).sum()))


def sample_weight(meta: Dict, lookup: Dict[str, int],
                  weights: ClassWeights) -> float:
    """The weight of one sample from its JSON's ``labels``."""
    return float(sum(weights.per_class[lookup[t]]
                     for t in split_labels(meta.get('labels') or [])
                     if t in lookup))


def repeat_count(weight: float, num_draws: int, total: float,
                 seed: int) -> int:
    """How often a sample of ``weight`` is emitted in an epoch of
    ``num_draws`` draws: its expected count under weighted sampling with
    replacement, ``num_draws * weight / total``, rounded down or (with
    probability the fraction) up, from the sample's ``seed``."""
    if total <= 0:
        return 0
    expected = num_draws * weight / total
    whole = int(expected)
    fraction = expected - whole
    return whole + int(random.Random(seed).random() < fraction)
