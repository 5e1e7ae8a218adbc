"""tools/benchmark.py (the command line): train / infer / retrieval-metric
on the tiny model, the measurements real and complete (not their speed);
data on generated clips."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .tool_utils import import_tool

BENCH = [sys.executable, 'tools/benchmark.py']
#: Allocator settings a user's shell might have: the coordinator keeps
#: them, no worker gets them.
ALLOCATOR_ENV = dict(MALLOC_MMAP_MAX_='0',
                     GLIBC_TUNABLES='glibc.malloc.mmap_max=0')


def _run(args, tmp_path, env=None):
    out = tmp_path / 'bench.json'
    proc = subprocess.run(BENCH + args + ['--output', str(out)],
                          capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.slow
def test_train_benchmark_reports_speed_mfu_memory_and_ratio(tmp_path):
    result, stdout = _run(['train', '--arch', 'tiny', '--batch', '2',
                           '--cases', 'pretrain', '--iters', '2',
                           '--dtype', 'fp32', 'bf16',
                           '--target', 'pretrain', 'fp32', 'speedup', '1.2',
                           '--target', 'pretrain', 'bf16', 'speedup', '2',
                           '--target', 'pretrain', 'bf16', 'mfu', '0.5'],
                          tmp_path, env=dict(os.environ, **ALLOCATOR_ENV))
    rows = {(r['name'], r['dtype'], r['impl']): r for r in result['results']}
    assert set(rows) == {('pretrain', dtype, impl)
                         for dtype in ('fp32', 'bf16')
                         for impl in ('fast', 'reference')}
    for row in rows.values():
        assert len(row['seconds']) == 2 and row['median_s'] > 0
        assert row['flops'] > 0 and 0 < row['mfu'] < 1
        # Measured in its own process: a whole Python process with torch,
        # but not two models.
        assert 300 < row['peak_memory_mb'] < 4000
        # the kernel's share of a step, from getrusage in the worker: CPU
        # time of all the worker's threads, so at most threads x wall time
        threads = row['extra']['worker']['threads']
        assert 0 <= row['extra']['system_s'] < row['median_s'] * threads
        assert row['extra']['minor_faults'] >= 0
        for key in ('started_s', 'system_s', 'minor_faults', 'idle_cpu_s'):
            assert len(row['extra']['steps'][key]) == 2
        assert row['extra']['process'] == 'own'
        # no allocator variable of the coordinator's reached a worker
        assert row['extra']['worker']['allocator_env'] == {}
    assert set(result['worker_env_removed']) == set(ALLOCATOR_ENV)
    # A fresh pair of processes per case and dtype, children of the
    # coordinator: four pids, one parent.
    workers = [row['extra']['worker'] for row in rows.values()]
    assert len({w['pid'] for w in workers}) == 4
    assert len({w['parent_pid'] for w in workers}) == 1
    for dtype in ('fp32', 'bf16'):
        fast = rows[('pretrain', dtype, 'fast')]
        ref = rows[('pretrain', dtype, 'reference')]
        # The fast path runs with tools/train.py's process settings; the
        # reference in a default process: glibc maps large blocks afresh
        # (despite MALLOC_MMAP_MAX_=0 in the coordinator's environment)
        # and subnormals are kept.
        assert fast['extra']['worker']['cpu_runtime'] == dict(
            flush_denormal=True, keep_freed_memory=True)
        assert fast['extra']['worker']['flush_denormal'] is True
        assert fast['extra']['worker']['maps_large_blocks'] is False
        assert ref['extra']['worker']['cpu_runtime'] is None
        assert ref['extra']['worker']['flush_denormal'] is False
        assert ref['extra']['worker']['maps_large_blocks'] is True
        # The rounds alternate: fast, reference, fast, reference (the
        # steps' starts on the machine's monotonic clock).
        starts = sorted(
            [(t, 'fast') for t in fast['extra']['steps']['started_s']] +
            [(t, 'reference') for t in ref['extra']['steps']['started_s']])
        assert [impl for _, impl in starts] == ['fast', 'reference'] * 2
        assert fast['extra']['speedup'] == pytest.approx(
            ref['median_s'] / fast['median_s'])
        assert fast['flops'] == ref['flops']  # credited the same work
    assert set(result['matmul_peak_flops']) == {'fp32', 'bf16'}
    assert result['matmul_peak_process'] == 'coordinator'
    checks = {(t['dtype'], t['metric']): t for t in result['targets']}
    assert set(checks) == {('fp32', 'speedup'), ('bf16', 'speedup'),
                           ('bf16', 'mfu')}
    for (dtype, metric), check in checks.items():
        fast = rows[('pretrain', dtype, 'fast')]
        value = fast['mfu'] if metric == 'mfu' else fast['extra']['speedup']
        assert check['value'] == pytest.approx(value)
        assert check['met'] == (value >= check['target'])
    for dtype in ('fp32', 'bf16'):  # the MFU a speed-up target asks
        check = checks[(dtype, 'speedup')]
        ref = rows[('pretrain', dtype, 'reference')]
        assert check['needs_mfu'] == pytest.approx(check['target'] *
                                                   ref['mfu'])
    assert 'MFU' in stdout and 'speed-up' in stdout
    assert 'page faults per step' in stdout and 'own process' in stdout


def test_targets_are_options_of_the_tool():
    from tools.benchmarking import commands
    assert not hasattr(commands, 'TARGETS')
    # a target naming no measured case fails before any measurement
    proc = subprocess.run(BENCH + ['train', '--arch', 'tiny', '--cases',
                                   'finetune', '--target', 'pretrain',
                                   'bf16', 'speedup', '2'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and 'needs a case' in proc.stderr


@pytest.mark.slow
def test_ctrl_c_stops_the_workers():
    coordinator = subprocess.Popen(
        BENCH + ['train', '--arch', 'tiny', '--batch', '2', '--cases',
                 'pretrain', '--dtype', 'fp32', '--iters', '1000'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in coordinator.stdout:
            if 'worker pid' in line:  # 'pretrain fp32: fast worker pid N,'
                break
        words = line.split()
        pids = [int(word.strip(',')) for before, word in zip(words,
                                                             words[1:])
                if before == 'pid']
        assert len(pids) == 2
        time.sleep(2)
        coordinator.send_signal(signal.SIGINT)
        assert coordinator.wait(timeout=60) != 0
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait()
    for pid in pids:  # stopped and reaped by the coordinator
        assert not os.path.exists(f'/proc/{pid}'), pid


@pytest.mark.slow
def test_finetune_step_benchmark(tmp_path):
    result, stdout = _run(['train', '--arch', 'tiny', '--batch', '2',
                           '--cases', 'finetune', '--iters', '1', '--dtype',
                           'bf16', '--impl', 'fast', '--no-memory',
                           '--breakdown'], tmp_path)
    (row, ) = result['results']
    assert row['name'] == 'finetune' and row['peak_memory_mb'] is None
    assert row['extra']['process'] == 'own'
    assert row['flops'] > 0 and row['median_s'] > 0
    parts = row['extra']['breakdown_ms']
    assert parts['dense'] > 0 and parts['optimizer'] > 0
    assert 0 < row['extra']['dense_flops'] < row['flops']
    assert 'dense layers at' in stdout


@pytest.mark.slow
def test_infer_benchmark_covers_every_mode(tmp_path):
    result, _ = _run(['infer', '--arch', 'tiny', '--batch', '1', '--iters',
                      '1', '--dtype', 'bf16', '--impl', 'fast',
                      '--no-memory'], tmp_path)
    names = {r['name'] for r in result['results']}
    assert names == {'infer-multimodal', 'infer-audioonly',
                     'infer-videoonly', 'infer-missingaudioonly',
                     'infer-missingvideoonly', 'infer-retrieval'}


@pytest.mark.slow
def test_sync_cases_smoke(tmp_path):
    """CAV-MAE Sync: the pre-training step (a clip = 1 frame pair), the
    fine-tuning step and the retrieval embedding (16 pairs per clip), tiny
    model, one fast step each; the FLOPs are checked token by token in
    tests/tools/benchmarking/test_sync_cases.py."""
    common = ['--arch', 'tiny', '--batch', '1', '--iters', '1', '--dtype',
              'fp32', '--impl', 'fast', '--no-memory']
    result, stdout = _run(['train', '--cases', 'sync-pretrain',
                           'sync-finetune'] + common, tmp_path)
    rows = {r['name']: r for r in result['results']}
    assert set(rows) == {'sync-pretrain', 'sync-finetune'}
    assert rows['sync-pretrain']['extra']['frames_per_clip'] == 1
    assert rows['sync-finetune']['extra']['frames_per_clip'] == 16
    for row in rows.values():
        assert row['flops'] > 0 and row['median_s'] > 0
        assert 0 < row['mfu'] < 1
    # 16 pairs with a head over them cost more than 10 masked pairs
    assert rows['sync-finetune']['flops'] > 10 * \
        rows['sync-pretrain']['flops']
    assert 'a sample is a clip of 16 frame pair(s)' in stdout
    result, stdout = _run(['infer', '--cases', 'infer-sync-retrieval'] +
                          common, tmp_path)
    (row, ) = result['results']
    assert row['extra']['frames_per_clip'] == 16 and row['flops'] > 0
    assert 'pairs/s' in stdout


def test_retrieval_metric_benchmark(tmp_path):
    result, stdout = _run(['retrieval-metric', '--size', '300', '--iters',
                           '2'], tmp_path)
    assert result['median_s'] > 0 and len(result['seconds']) == 2
    assert 'target_s' not in result and 'MET' not in stdout
    result, stdout = _run(['retrieval-metric', '--size', '300', '--iters',
                           '2', '--target-s', '60'], tmp_path)
    assert result['target_s'] == 60 and result['met'] is True
    assert '(target < 60000 ms) -> MET' in stdout
    # Features are noisy copies of each other: retrieval is near perfect.
    assert result['a2v']['R@1'] > 0.9 and result['v2a']['MdR'] == 1.0
    assert 'both directions' in stdout


def test_retrieval_metric_benchmark_per_frame(tmp_path):
    """--frames F: one case per aggregation, each checked against
    --target-s (CAV-MAE Sync's per-frame retrieval)."""
    result, stdout = _run(['retrieval-metric', '--size', '200', '--frames',
                           '4', '--dim', '32', '--iters', '2',
                           '--target-s', '60'], tmp_path)
    assert result['frames'] == 4 and 'median_s' not in result
    assert [case['aggregate'] for case in result['cases']] == [
        'max', 'mean', 'diagonal_mean', 'diagonal_max']
    for case in result['cases']:
        assert len(case['seconds']) == 2 and case['met'] is True
        assert case['a2v']['R@1'] > 0.9 and case['v2a']['MdR'] == 1.0
    assert result['met'] is True
    assert stdout.count('(target < 60000 ms) -> MET') == 4
    assert '200 x 200 clips of 4 frames, diagonal_max' in stdout
    result, stdout = _run(['retrieval-metric', '--clips', '50', '--frames',
                           '2', '--dim', '8', '--iters', '1', '--aggregate',
                           'max'], tmp_path)
    assert [case['aggregate'] for case in result['cases']] == ['max']
    assert result['size'] == 50
    assert 'met' not in result and 'MET' not in stdout


def test_benchmark_data_command(tmp_path, capsys):
    tool = import_tool('benchmark.py')
    with pytest.raises(SystemExit):
        tool.build_parser().parse_args([])  # a sub-command is required
    # the sample clips beside the checkout (../shared/samples) by default
    shared = os.path.normpath(os.path.join(
        os.path.dirname(__file__), '..', '..', '..', 'shared', 'samples'))
    default = tool.build_parser().parse_args(['data']).samples_dir
    assert default == (shared if os.path.isdir(shared) else None)
    output = tmp_path / 'bench.json'
    assert tool.main([
        'data', '--samples-dir', '', '--toy-clips', '2', '--toy-size',
        '64x48', '--iters', '2', '--rounds', '1', '--recipes', 'finetune',
        '--workers', '1', '--work-dir', str(tmp_path / 'work'), '--output',
        str(output)
    ]) == 0
    rows = json.load(open(output))['rows']
    assert [row['loader'] for row in rows] == [
        'reference loader (pre-extracted)', 'cavmae_mm pre-extracted',
        'cavmae_mm raw video'
    ]
    assert all(row['cpu_ms_per_sample'] > 0 and row['wall_ms_per_sample'] > 0
               for row in rows)
    assert '| toy360p | finetune | cavmae_mm raw video |' in \
        capsys.readouterr().out
