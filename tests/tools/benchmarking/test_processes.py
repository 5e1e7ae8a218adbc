"""The benchmark's worker processes (tools/benchmarking/processes.py and
worker.py): fresh, with default settings, and stopped when they fail."""
import os

import pytest

from tools.benchmarking.processes import (WorkerError, WorkerProcess,
                                           is_allocator_env, worker_env)
from tools.benchmarking.worker import maps_large_blocks
from cavmae_mm.engine.cpu_runtime import (_glibc, configure_cpu_runtime,
                                          keep_freed_memory)

# the quickest case: a tiny model's video-only forward pass
SETUP = dict(arch='tiny', case='infer-videoonly', dtype='fp32', batch=1,
             device='cpu', with_cp=False, warmup=0, memory=False)


def test_allocator_variables_stay_with_the_coordinator(monkeypatch):
    for name in ('MALLOC_ARENA_MAX', 'MALLOC_CONF', 'GLIBC_TUNABLES',
                 'LD_PRELOAD', 'TCMALLOC_RELEASE_RATE'):
        assert is_allocator_env(name)
        monkeypatch.setenv(name, '1')
    monkeypatch.setenv('OMP_NUM_THREADS', '2')  # not the allocator's
    env, removed = worker_env()
    assert 'MALLOC_ARENA_MAX' in removed and 'LD_PRELOAD' in removed
    assert not any(is_allocator_env(name) for name in env)
    assert env['OMP_NUM_THREADS'] == '2'


@pytest.mark.skipif(_glibc() is None, reason='needs glibc')
def test_large_block_probe_is_not_served_by_free_heap():
    """64 MB of freed heap could serve a 40 MB block without mmap; the
    probe asks for more than is free, so only the setting decides."""
    import ctypes
    libc = _glibc()
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    try:
        keep_freed_memory(False)  # glibc's defaults, as steady state
        # 64 KB blocks (below any mmap threshold) come from the heap; the
        # last one stays, so the freed 64 MB below it are not trimmed.
        blocks = [libc.malloc(64 * 2**10) for _ in range(1025)]
        for block in blocks[:-1]:
            libc.free(block)
        assert maps_large_blocks() is True
        keep_freed_memory(True)
        assert maps_large_blocks() is False
        libc.free(blocks[-1])
    finally:
        keep_freed_memory(False)


@pytest.mark.skipif(_glibc() is None, reason='needs glibc')
def test_reference_worker_starts_with_default_settings(monkeypatch):
    """Neither the coordinator's process settings nor its allocator
    variables reach a worker."""
    monkeypatch.setenv('MALLOC_MMAP_MAX_', '0')
    try:
        configure_cpu_runtime(True)  # as if the coordinator had them
        with WorkerProcess('reference', dict(SETUP, impl='reference'),
                           timeout=300) as worker:
            ready = worker.receive()
            report = ready['process']
            assert report['pid'] == worker.pid != os.getpid()
            assert report['parent_pid'] == os.getpid()
            assert report['cpu_runtime'] is None
            assert report['flush_denormal'] is False
            assert report['maps_large_blocks'] is True
            assert report['allocator_env'] == {}
            assert ready['counted_flops'] > 0
            assert ready['peak_memory_mb'] is None  # memory=False
            first = worker.request('round')
            assert set(first) == {'seconds', 'started_s', 'system_s',
                                  'minor_faults', 'idle_cpu_s'}
            assert first['seconds'] > 0 and first['minor_faults'] >= 0
            second = worker.request('round')
            assert second['started_s'] > first['started_s'] + first[
                'seconds']
            # waiting for a request costs no CPU
            assert 0 <= second['idle_cpu_s'] < 0.05
        assert worker.process.returncode == 0  # ended by closing its input
    finally:
        configure_cpu_runtime(False)


def test_fast_worker_applies_the_cpu_fast_path():
    with WorkerProcess('fast', dict(SETUP, impl='fast', memory=True),
                       timeout=300) as worker:
        ready = worker.receive()
    report = ready['process']
    assert report['cpu_runtime']['flush_denormal'] is True
    assert report['flush_denormal'] is True
    if _glibc() is not None:
        assert report['maps_large_blocks'] is False
    assert ready['peak_memory_mb'] > 0


def test_a_failing_worker_reports_its_stderr():
    with pytest.raises(WorkerError) as error:
        with WorkerProcess('bad', dict(SETUP, impl='fast', arch='nosuch'),
                           timeout=300) as worker:
            worker.receive()
    message = str(error.value)
    assert 'exited with status 1' in message
    assert 'KeyError' in message and 'nosuch' in message  # its traceback


def test_a_killed_worker_is_reported():
    with pytest.raises(WorkerError) as error:
        with WorkerProcess('killed', dict(SETUP, impl='fast'),
                           timeout=300) as worker:
            worker.receive()
            worker.process.kill()
            worker.request('round')
    assert 'exited with status -9' in str(error.value)


def test_a_worker_past_its_timeout_is_stopped():
    with pytest.raises(WorkerError) as error:
        # importing torch and building the model alone take longer
        with WorkerProcess('slow', dict(SETUP, impl='fast'),
                           timeout=0.2) as worker:
            worker.receive()
    assert 'gave no answer within 0.2 s' in str(error.value)
    assert worker.process.poll() is not None
