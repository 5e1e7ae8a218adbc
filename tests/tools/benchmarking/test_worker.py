"""The benchmark's worker (tools/benchmarking/worker.py): what a fast worker
applies, and its probe of how large blocks are allocated."""
import pytest

from tools.benchmarking.processes import WorkerProcess
from tools.benchmarking.worker import maps_large_blocks
from cavmae_mm.engine.cpu_runtime import _glibc, keep_freed_memory
from .worker_setup import SETUP


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
