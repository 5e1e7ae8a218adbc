"""The benchmark's worker processes (tools/benchmarking/processes.py):
fresh, with default settings, and stopped when they fail."""
import os

import pytest

from tools.benchmarking.processes import (
    WorkerError, WorkerProcess, is_allocator_env, worker_env)
from cavmae_mm.engine.cpu_runtime import _glibc, configure_cpu_runtime
from .worker_setup import SETUP


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
