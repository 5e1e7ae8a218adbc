"""Process-wide CPU settings of the fast path.

Two settings matter for training on the CPU and are not the model's:

* **Denormal floats.** Once small gradients and Adam moments become
  subnormal, every fp32 operation on them takes a slow microcode path; a
  tiny model's fp32 step went from 0.09 s to 1.48 s here. Flushing them to
  zero (``torch.set_flush_denormal``) costs nothing measurable in accuracy.
* **Returning memory to the OS.** glibc serves allocations above its mmap
  threshold (at most 32 MB) with fresh ``mmap`` pages and unmaps them on
  free, and trims the heap's free top, so each step page-faults (and the
  kernel zeroes) large activations again. A ViT-B bfloat16 pre-training
  step spent 0.3-1 s of 2-2.7 s there; keeping freed memory in the heap
  (``M_MMAP_MAX=0``, no trimming) gives a steady 1.65-1.78 s. The cost is
  memory: the process keeps its peak heap, with some fragmentation, until
  it exits (about +10 % peak resident memory for a bfloat16 step at batch
  8; ``with_cp`` or ``cpu_fast_path = False`` where memory is tight).

:func:`configure_cpu_runtime` applies both; ``tools/train.py`` and
``tools/test.py`` call it for jobs on the CPU unless the config sets
``cpu_fast_path = False``.
"""
import ctypes
import ctypes.util
from typing import Optional

import torch
from mmengine.logging import print_log

# mallopt parameters and glibc's defaults (malloc/malloc.c).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
DEFAULT_MMAP_MAX = 65536
# glibc raises its mmap threshold to the largest mmap-ed block freed so far,
# up to 32 MB, and keeps the trim threshold at twice that: the state of a
# default process after its first training steps.
STEADY_MMAP_THRESHOLD = 32 * 2**20
STEADY_TRIM_THRESHOLD = 2 * STEADY_MMAP_THRESHOLD
NO_TRIM = 2**31 - 1  # the largest int mallopt takes: 2 GB

_libc: Optional[ctypes.CDLL] = None


def _glibc() -> Optional[ctypes.CDLL]:
    """glibc, or None on other C libraries (musl, macOS, Windows)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library('c')
        try:
            libc = ctypes.CDLL(name)
            libc.gnu_get_libc_version  # only glibc has it
        except (OSError, AttributeError, TypeError):
            return None
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        _libc = libc
    return _libc


def keep_freed_memory(enabled: bool = True) -> bool:
    """Make glibc keep freed memory for reuse (True) or go back to its
    default behaviour (False; also releases what is held now).

    Setting any of these parameters ends glibc's dynamic thresholds, so
    "default" is their steady state in a training process (see
    ``STEADY_MMAP_THRESHOLD``): blocks above 32 MB are ``mmap``-ed and
    returned, free memory above 64 MB at the heap's top is trimmed.

    Returns:
        bool: Whether the setting was applied (False without glibc).
    """
    libc = _glibc()
    if libc is None:
        return False
    if enabled:
        ok = libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(
            M_TRIM_THRESHOLD, NO_TRIM)
    else:
        ok = (libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
              and libc.mallopt(M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD)
              and libc.mallopt(M_TRIM_THRESHOLD, STEADY_TRIM_THRESHOLD))
        libc.malloc_trim(0)
    return bool(ok)


def configure_cpu_runtime(enabled: bool = True) -> dict:
    """Apply (``enabled=True``) or undo the CPU fast-path settings.

    Returns:
        dict: What was applied: ``flush_denormal`` and
        ``keep_freed_memory`` (False where the platform lacks them).
    """
    applied = dict(flush_denormal=torch.set_flush_denormal(enabled),
                   keep_freed_memory=keep_freed_memory(enabled))
    return applied


def configure_cpu_runtime_from_cfg(cfg) -> Optional[dict]:
    """What the tools call: the fast path for CPU jobs unless the config
    says ``cpu_fast_path = False``; nothing on CUDA machines."""
    if torch.cuda.is_available() or not cfg.get('cpu_fast_path', True):
        return None
    applied = configure_cpu_runtime(True)
    print_log(f'CPU fast path (cpu_fast_path=True): {applied}',
              logger='current')
    return applied
