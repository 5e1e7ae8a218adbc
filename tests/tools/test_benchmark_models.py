"""tools/benchmark.py train / infer / retrieval-metric on the tiny model:
the measurements are real and complete (not their speed)."""
import json
import subprocess
import sys
import time

import pytest

BENCH = [sys.executable, 'tools/benchmark.py']


def _run(args, tmp_path):
    out = tmp_path / 'bench.json'
    proc = subprocess.run(BENCH + args + ['--output', str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.slow
def test_train_benchmark_reports_speed_mfu_memory_and_ratio(tmp_path):
    result, stdout = _run(['train', '--arch', 'tiny', '--batch', '2',
                           '--cases', 'pretrain', '--iters', '1',
                           '--dtype', 'fp32', 'bf16'], tmp_path)
    rows = {(r['name'], r['dtype'], r['impl']): r for r in result['results']}
    assert set(rows) == {('pretrain', dtype, impl)
                         for dtype in ('fp32', 'bf16')
                         for impl in ('fast', 'reference')}
    for row in rows.values():
        assert len(row['seconds']) == 1 and row['median_s'] > 0
        assert row['flops'] > 0 and 0 < row['mfu'] < 1
        # Measured in a process of its own: a whole Python process with
        # torch, but not two models.
        assert 300 < row['peak_memory_mb'] < 4000
        # the kernel's share of a step, from getrusage
        assert 0 <= row['extra']['system_s'] < row['median_s']
        assert row['extra']['minor_faults'] >= 0
    for dtype in ('fp32', 'bf16'):
        fast = rows[('pretrain', dtype, 'fast')]
        ref = rows[('pretrain', dtype, 'reference')]
        assert fast['extra']['speedup'] == pytest.approx(
            ref['median_s'] / fast['median_s'])
    assert set(result['matmul_peak_flops']) == {'fp32', 'bf16'}
    speedups = [t for t in result['targets'] if t['metric'] == 'speedup']
    assert speedups
    for check in speedups:  # the MFU a speed-up target asks of the fast path
        ref = rows[(check['case'], check['dtype'], 'reference')]
        assert check['needs_mfu'] == pytest.approx(check['target'] *
                                                   ref['mfu'])
    assert 'MFU' in stdout and 'speed-up' in stdout
    assert 'page faults per step' in stdout


@pytest.mark.slow
def test_finetune_step_benchmark(tmp_path):
    result, stdout = _run(['train', '--arch', 'tiny', '--batch', '2',
                           '--cases', 'finetune', '--iters', '1', '--dtype',
                           'bf16', '--impl', 'fast', '--no-memory',
                           '--breakdown'], tmp_path)
    (row, ) = result['results']
    assert row['name'] == 'finetune' and row['peak_memory_mb'] is None
    assert row['flops'] > 0 and row['median_s'] > 0
    parts = row['extra']['breakdown_ms']
    assert parts['dense'] > 0 and parts['optimizer'] > 0
    assert 0 < row['extra']['dense_flops'] < row['flops']
    assert 'dense layers at' in stdout


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


@pytest.mark.slow
def test_infer_benchmark_covers_every_mode(tmp_path):
    result, _ = _run(['infer', '--arch', 'tiny', '--batch', '1', '--iters',
                      '1', '--dtype', 'bf16', '--impl', 'fast',
                      '--no-memory'], tmp_path)
    names = {r['name'] for r in result['results']}
    assert names == {'infer-multimodal', 'infer-audioonly',
                     'infer-videoonly', 'infer-missingaudioonly',
                     'infer-missingvideoonly', 'infer-retrieval'}


def test_retrieval_metric_benchmark(tmp_path):
    result, stdout = _run(['retrieval-metric', '--size', '300', '--iters',
                           '2'], tmp_path)
    assert result['median_s'] > 0 and len(result['seconds']) == 2
    # Features are noisy copies of each other: retrieval is near perfect.
    assert result['a2v']['R@1'] > 0.9 and result['v2a']['MdR'] == 1.0
    assert 'both directions' in stdout
