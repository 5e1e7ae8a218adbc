"""Which samples of a shard set each rank and data loader worker reads in
an epoch: pure functions of (shard sizes, seed, epoch, world size,
workers, batch size), so that every process computes the same plan and a
resumed run the same one again.

The epoch's sequence is the shards in a permuted order (``seed``,
``epoch``), their samples in file order: positions ``0 .. N-1``. Each rank
runs ``L = N // (world_size * batch_size)`` iterations; the first
``world_size * L * batch_size`` positions are cut into one contiguous range
per *slot* (rank ``r``, worker slot ``q``): rank ``r`` owns ``[r * L * B,
(r + 1) * L * B)``, and within it batch ``i`` of the rank belongs to slot
``i % W`` (``W`` workers; so slot ``q`` has ``L // W + (q < L % W)``
batches, the round robin in which PyTorch's DataLoader collects the
workers' batches). The last ``N mod (world_size * B)`` positions (less
than one global batch, other samples each epoch since the shard order
changes) are not used in that epoch.
"""
from typing import Iterator, List, NamedTuple, Sequence, Tuple

import numpy as np


class EpochPlan(NamedTuple):
    """The shard order of an epoch and its cut into ranks and slots."""
    order: np.ndarray  # shard indices in reading order
    starts: np.ndarray  # position of each ordered shard's first sample
    counts: np.ndarray  # samples of each ordered shard
    total: int  # N
    iters: int  # L, iterations per rank
    batch_size: int
    world_size: int
    num_workers: int


def iters_per_rank(total: int, world_size: int, batch_size: int) -> int:
    """``L = total // (world_size * batch_size)``."""
    return int(total) // (int(world_size) * int(batch_size))


def shard_order(num_shards: int, seed: int, epoch: int,
                shuffle: bool = True) -> np.ndarray:
    """The shards' reading order in ``epoch``: a permutation drawn from
    ``(seed, epoch)``, or the index order without ``shuffle``."""
    if not shuffle:
        return np.arange(num_shards)
    rng = np.random.default_rng(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF,
                                int(epoch)]))
    return rng.permutation(num_shards)


def epoch_plan(shard_sizes: Sequence[int], seed: int, epoch: int,
               world_size: int, num_workers: int, batch_size: int,
               shuffle: bool = True) -> EpochPlan:
    """The plan of ``epoch`` (see the module's description).

    Raises:
        ValueError: fewer samples than one global batch.
    """
    sizes = np.asarray(shard_sizes, dtype=np.int64)
    total = int(sizes.sum())
    iters = iters_per_rank(total, world_size, batch_size)
    if iters == 0:
        raise ValueError(
            f'{total} samples are less than one global batch '
            f'({world_size} processes x {batch_size})')
    order = shard_order(len(sizes), seed, epoch, shuffle)
    counts = sizes[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return EpochPlan(order, starts, counts, total, iters, int(batch_size),
                     int(world_size), max(int(num_workers), 1))


def slot_batches(plan: EpochPlan, slot: int) -> int:
    """Batches of worker slot ``slot`` on each rank."""
    workers = plan.num_workers
    return plan.iters // workers + int(slot < plan.iters % workers)


def slot_range(plan: EpochPlan, rank: int, slot: int) -> Tuple[int, int]:
    """``[start, stop)`` positions of the epoch's sequence that slot
    ``slot`` of rank ``rank`` reads."""
    before = sum(slot_batches(plan, q) for q in range(slot))
    start = (rank * plan.iters + before) * plan.batch_size
    return start, start + slot_batches(plan, slot) * plan.batch_size


def batch_position(plan: EpochPlan, rank: int, slot: int, output: int) -> int:
    """Global position of output ``output`` of slot ``slot`` (its batch
    ``output // B``, place ``output % B``) in the epoch's batch order:
    ``(rank * L + i) * B + place`` with ``i`` the rank's batch index."""
    batch, place = divmod(int(output), plan.batch_size)
    index = slot + batch * plan.num_workers
    return (rank * plan.iters + index) * plan.batch_size + place


def segments(plan: EpochPlan, start: int,
             stop: int) -> Iterator[Tuple[int, int, int, int]]:
    """``(ordered shard, shard index, first, end)`` pieces of the
    positions ``[start, stop)``; ``first``/``end`` count samples inside the
    shard. Positions past ``N`` wrap around to the epoch's start."""
    position = start
    while position < stop:
        wrapped = position % plan.total
        ordered = int(np.searchsorted(plan.starts, wrapped, side='right')) - 1
        while plan.counts[ordered] == 0:  # empty shards take no position
            ordered += 1
        first = wrapped - int(plan.starts[ordered])
        end = min(int(plan.counts[ordered]), first + stop - position)
        yield ordered, int(plan.order[ordered]), first, end
        position += end - first


def first_batch(skip_batches: int, worker: int,
                num_workers: int) -> Tuple[int, int]:
    """``(slot, first batch of that slot)`` for DataLoader worker
    ``worker`` when the rank's first ``skip_batches`` batches of the epoch
    are already done (a resumed run): the round robin then starts at
    worker 0 with the rank's batch ``skip_batches``, so worker ``k`` plays
    slot ``(skip_batches + k) % W`` from that slot's batch
    ``(skip_batches + k) // W``."""
    index = int(skip_batches) + int(worker)
    return index % num_workers, index // num_workers


def shard_sample_ids(shard_sizes: Sequence[int]) -> List[int]:
    """First global sample id of each shard (index order): the ids the bad
    sample counter records."""
    return [0] + list(np.cumsum(shard_sizes)[:-1].astype(int))
