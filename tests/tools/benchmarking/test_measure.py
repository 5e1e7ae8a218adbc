"""tools/benchmarking/measure.py: the time breakdown of a step by kernel
kind, and its FLOP count."""
import time

import pytest


def test_time_breakdown_sorts_kernels_by_kind():
    import torch

    from tools.benchmarking.measure import count_flops, time_breakdown
    layer = torch.nn.Linear(256, 256)
    optimizer = torch.optim.Adam(layer.parameters())
    x = torch.randn(64, 256)

    def step():
        optimizer.zero_grad()
        hidden = layer(x)  # dense: addmm, then mm twice in backward
        scores = torch.bmm(hidden[None], hidden.t()[None]).softmax(-1)
        loss = (scores @ hidden).bfloat16().float().square().mean()
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    parts = time_breakdown(step, steps=3)
    wall_ms = (time.perf_counter() - start) * 1e3 / 3
    kinds = ('dense', 'attention', 'copies_and_casts', 'optimizer', 'other',
             'between_operators')
    assert set(parts) == set(kinds) | {'total'}
    assert all(parts[kind] > 0 for kind in kinds)
    assert parts['total'] == pytest.approx(sum(parts[k] for k in kinds))
    # the parts add up to the step's wall time, measured around them
    assert parts['total'] <= wall_ms
    assert parts['total'] == pytest.approx(wall_ms, rel=0.1)
    flops = count_flops(step)
    assert flops['aten::addmm'] == 2 * 64 * 256 * 256  # the layer's forward
    # its weight gradient, plus the products of the attention-like part
    assert flops['aten::mm'] > 2 * 64 * 256 * 256 and flops['aten::bmm'] > 0
