"""The CPU fast path's process settings (cavmae_mm.engine.cpu_runtime)."""
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from cavmae_mm.engine.cpu_runtime import (_glibc, configure_cpu_runtime,
                                          configure_cpu_runtime_from_cfg,
                                          keep_freed_memory)

needs_glibc = pytest.mark.skipif(_glibc() is None, reason='needs glibc')


def _page_faults_of_a_64mb_activation() -> int:
    """Minor page faults while a 64 MB tensor is allocated and written, as
    each training step does with its large activations."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensor = torch.empty(16 * 2**20)  # 64 MB of float32
    tensor.fill_(1.0)
    del tensor
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _kept_memory_faults() -> None:
    """The check of :func:`test_kept_memory_is_reused_without_page_faults`,
    run in a fresh process: whether a 64 MB block comes from the heap or a
    fresh mmap depends on what the process allocated before (a heap that
    cannot grow past a mapping makes glibc fall back to mmap)."""
    try:
        assert keep_freed_memory(False)
        _page_faults_of_a_64mb_activation()
        # glibc's default: the 64 MB come from a fresh mmap every time, so
        # each of its 16384 pages faults again.
        assert _page_faults_of_a_64mb_activation() > 8000
        assert keep_freed_memory(True)
        for _ in range(5):  # the heap grows until the block fits reused
            _page_faults_of_a_64mb_activation()
        steady = [_page_faults_of_a_64mb_activation() for _ in range(3)]
        assert max(steady) < 500, steady
    finally:
        keep_freed_memory(False)


@needs_glibc
def test_kept_memory_is_reused_without_page_faults():
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, '-c', 'from tests.engine.test_cpu_runtime import '
         '_kept_memory_faults; _kept_memory_faults()'],
        cwd=root, check=True, timeout=300)


@needs_glibc
def test_configure_cpu_runtime_flushes_denormals_and_undoes():
    tiny = torch.tensor([1e-40])  # subnormal in float32
    try:
        applied = configure_cpu_runtime(True)
        assert applied == dict(flush_denormal=True, keep_freed_memory=True)
        assert (tiny * 1.0).item() == 0.0
    finally:
        configure_cpu_runtime(False)
    assert (tiny * 1.0).item() > 0.0


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU jobs only')
def test_config_can_opt_out_of_the_cpu_fast_path():
    assert configure_cpu_runtime_from_cfg(
        Config(dict(cpu_fast_path=False))) is None
    try:
        applied = configure_cpu_runtime_from_cfg(Config(dict()))
        assert applied['flush_denormal']
    finally:
        configure_cpu_runtime(False)
