"""The epoch plan: disjoint ranges covering all but less than one global
batch, equal batches per rank, the resume rotation of the workers."""
import itertools

import numpy as np
import pytest

from cavmae_mm.datasets.shards.plan import (batch_position, epoch_plan,
                                            first_batch, segments,
                                            slot_batches, slot_range)

SIZES = [5, 3, 8, 0, 7, 1]  # 24 samples, an empty shard among them


LAYOUTS = list(itertools.product((1, 2, 3), (1, 2, 3), (1, 2, 5)))


@pytest.mark.parametrize('world_size,workers,batch_size', LAYOUTS)
def test_ranges_cover_each_position_once(world_size, workers, batch_size):
    plan = epoch_plan(SIZES, seed=3, epoch=1, world_size=world_size,
                      num_workers=workers, batch_size=batch_size)
    assert plan.iters == 24 // (world_size * batch_size)
    used = plan.iters * world_size * batch_size
    assert 24 - used < world_size * batch_size  # the documented drop
    covered = []
    for rank in range(world_size):
        batches = 0
        for slot in range(workers):
            start, stop = slot_range(plan, rank, slot)
            assert stop - start == slot_batches(plan, slot) * batch_size
            batches += slot_batches(plan, slot)
            covered += list(range(start, stop))
        assert batches == plan.iters  # the same on every rank
    assert sorted(covered) == list(range(used))


def test_segments_map_positions_to_shard_samples():
    plan = epoch_plan(SIZES, seed=0, epoch=0, world_size=1, num_workers=1,
                      batch_size=1)
    # (shard, sample) of every position, then past the end (wrap around)
    samples = [(shard, i) for _, shard, first, end in segments(plan, 0, 30)
               for i in range(first, end)]
    expected = [(int(s), i) for s in plan.order for i in range(SIZES[s])]
    assert samples[:24] == expected and samples[24:] == expected[:6]
    middle = [(shard, i) for _, shard, first, end in segments(plan, 6, 9)
              for i in range(first, end)]
    assert middle == expected[6:9]


def test_shard_order_depends_on_seed_and_epoch_only():
    orders = {(seed, epoch): tuple(epoch_plan(SIZES, seed, epoch, 1, 1,
                                              1).order)
              for seed in (0, 1) for epoch in (0, 1)}
    assert len(set(orders.values())) == 4
    assert tuple(epoch_plan(SIZES, 1, 0, 2, 3, 2).order) == orders[(1, 0)]
    assert list(epoch_plan(SIZES, 1, 0, 1, 1, 1, shuffle=False).order) == \
        list(range(6))


@pytest.mark.parametrize('workers,iters', [(2, 7), (3, 7), (3, 9), (1, 4)])
def test_resumed_round_robin_continues_the_batch_order(workers, iters):
    """PyTorch's DataLoader takes batch t from worker t % W (skipping
    finished workers); with worker k playing slot (s + k) % W from that
    slot's batch (s + k) // W, the resumed run's batch t is the
    uninterrupted run's batch s + t."""
    sizes = [iters * 2]
    plan = epoch_plan(sizes, 0, 0, 1, workers, 2)
    assert plan.iters == iters

    def order(skip):
        queues = []
        for worker in range(workers):
            slot, first = first_batch(skip, worker, workers)
            queues.append([batch_position(plan, 0, slot, b * 2) // 2
                           for b in range(first, slot_batches(plan, slot))])
        out = []
        while any(queues):  # round robin over the live workers
            for queue in queues:
                if queue:
                    out.append(queue.pop(0))
        return out

    assert order(0) == list(range(iters))
    for skip in range(iters + 1):
        assert order(skip) == list(range(skip, iters))


def test_fewer_samples_than_a_global_batch_is_an_error():
    with pytest.raises(ValueError, match='less than one global batch'):
        epoch_plan([3], 0, 0, world_size=2, num_workers=1, batch_size=2)
    assert np.all(epoch_plan([4], 0, 0, 2, 1, 2).counts == [4])
