"""Class-balanced sampling from per-sample weights (SPEC §2)."""
import os.path as osp
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS
from .sample_rng import SampleIndex


def class_balanced_weights(label_ids: Sequence[Sequence[int]],
                           num_classes: int) -> np.ndarray:
    """The reference's sample weights (``gen_weight_file.py``): a class
    weighs ``1000 / (count + 0.01)``, a sample the sum of its classes'.

    Args:
        label_ids (Sequence[Sequence[int]]): Class indices of each sample.
        num_classes (int): Number of classes.

    Returns:
        np.ndarray: float64 ``[num_samples]``.
    """
    counts = np.zeros(num_classes)
    for ids in label_ids:
        for index in ids:
            counts[index] += 1
    class_weight = 1000.0 / (counts + 0.01)
    return np.array([class_weight[list(ids)].sum() for ids in label_ids])


def default_weight_file(ann_file: str) -> str:
    """``<annotation stem>_weight.csv`` next to the annotation file."""
    return osp.splitext(ann_file)[0] + '_weight.csv'


def _base_dataset(dataset):
    """Unwrap MMEngine's dataset wrappers (``_SlicedDataset``...)."""
    while not hasattr(dataset, 'ann_file') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


def _repeat_numbers(draws: np.ndarray) -> np.ndarray:
    """For each draw, how many earlier draws have the same value."""
    order = np.argsort(draws, kind='stable')
    ordered = draws[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(draws)])
    repeats = np.empty(len(draws), dtype=np.int64)
    repeats[order] = np.arange(len(draws)) - np.repeat(starts, sizes)
    return repeats


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Weighted random sampling with replacement, as the reference's
    ``WeightedRandomSampler``, correct under several processes.

    Each epoch draws ``num_samples`` indices (the dataset length by
    default, rounded up to a multiple of the world size) from one generator
    seeded with ``seed + epoch``, identical on every rank; rank ``r`` takes
    draws ``r, r + world_size, ...``. So the ranks together reproduce the
    single-process draw, without overlap bias, and ``set_epoch`` (called by
    MMEngine's loops) changes the draw each epoch. The k-th draw (k >= 1)
    of an index in an epoch comes as a :class:`SampleIndex` with
    ``repeat=k``, so that its augmentation differs from the first draw's
    (see :mod:`.sample_rng`).

    Config::

        train_dataloader = dict(
            sampler=dict(type='ClassBalancedSampler'),  # <ann>_weight.csv
            ...)

    Args:
        dataset: The dataset (MMEngine passes it).
        weight_file (str, optional): One float per line, one line per sample.
            None: ``<ann_file stem>_weight.csv`` if it exists, else weights
            computed from the dataset's labels with the reference's formula.
            Defaults to None.
        num_samples (int, optional): Draws per epoch over all ranks.
            Defaults to ``len(dataset)``.
        replacement (bool): Draw with replacement. Defaults to True.
        seed (int, optional): Shared random seed; None syncs a random one
            across ranks. Defaults to None.
    """

    def __init__(self,
                 dataset,
                 weight_file: Optional[str] = None,
                 num_samples: Optional[int] = None,
                 replacement: bool = True,
                 seed: Optional[int] = None) -> None:
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.replacement = replacement
        self.epoch = 0
        self.weights = torch.as_tensor(
            self._load_weights(dataset, weight_file), dtype=torch.float64)
        if self.weights.numel() != len(dataset):
            raise ValueError(
                f'{self.weight_source}: {self.weights.numel()} weights for '
                f'{len(dataset)} samples')
        if not torch.isfinite(self.weights).all() or (self.weights <
                                                      0).any():
            raise ValueError(f'{self.weight_source}: weights must be finite '
                             'and non-negative')
        total = len(dataset) if num_samples is None else int(num_samples)
        if not replacement and total > len(dataset):
            raise ValueError('num_samples > len(dataset) needs replacement')
        self.num_samples = -(-total // self.world_size)  # per rank, ceil
        self.total_size = self.num_samples * self.world_size

    def _load_weights(self, dataset, weight_file):
        base = _base_dataset(dataset)
        if weight_file is None and getattr(base, 'ann_file', None):
            candidate = default_weight_file(base.ann_file)
            if osp.exists(candidate):
                weight_file = candidate
        if weight_file is not None:
            self.weight_source = weight_file
            return np.loadtxt(weight_file, delimiter=',', ndmin=1)
        self.weight_source = 'labels'
        print_log(
            'ClassBalancedSampler: no weight file, weights computed from the '
            'labels', logger='current')
        label_ids = [
            base.get_data_info(i)['label_ids'] for i in range(len(base))
        ]
        return class_balanced_weights(label_ids, base.num_classes)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        draws = torch.multinomial(
            self.weights,
            self.total_size,
            self.replacement,
            generator=generator)
        repeats = _repeat_numbers(draws.numpy())
        return (SampleIndex(index, repeat) if repeat else index
                for index, repeat in zip(
                    draws[self.rank::self.world_size].tolist(),
                    repeats[self.rank::self.world_size].tolist()))

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the draw of ``epoch``.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
