"""One implementation of one benchmark case, in a process of its own.

Started by :class:`~.processes.WorkerProcess` as
``python -m <this module>``; it reads one JSON request per line on stdin
and answers each with one JSON line (the first request is ``setup``):

* ``setup``: apply the implementation's process settings (the fast path
  on the CPU: :func:`~cavmae_mm.engine.cpu_runtime.configure_cpu_runtime`,
  as ``tools/train.py`` does; the reference: nothing, a default process),
  build the model, run the untimed steps (warm-up, peak memory, FLOP
  count) and report what the process looks like (:func:`process_report`);
* ``round``: time one step, with its system time and page faults
  (``getrusage`` of this process), its start on the machine's monotonic
  clock and the CPU time the process used while it waited for the
  request;
* ``breakdown``: :func:`~.measure.time_breakdown` of two steps.

End of input ends the process. On an error the traceback goes to stderr
and the process exits with status 1 without answering: the coordinator
reports its stderr.
"""
import ctypes
import json
import os
import sys
import time
from typing import Callable, Dict, Optional

import torch

from .measure import (KERNEL_KINDS, count_flops, kernel_work, peak_memory,
                      synchronize, time_breakdown)
from .model_cases import (MODEL_CASES, build_case_model, run_model_case,
                          without_checkpointing)
from .processes import is_allocator_env

#: The least a probe asks for: above glibc's largest dynamic mmap
#: threshold (32 MB), so that by default it is mapped afresh, and probing
#: does not move the threshold.
PROBE_BYTES = 40 * 2**20
#: The requests a worker answers (methods of :class:`CaseWorker`).
OPS = ('setup', 'round', 'breakdown')


class _MallInfo(ctypes.Structure):
    # glibc's struct mallinfo2 (size_t fields); mallinfo has ints.
    _fields_ = [(name, ctypes.c_size_t)
                for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',
                             'usmblks', 'fsmblks', 'uordblks', 'fordblks',
                             'keepcost')]


def maps_large_blocks() -> Optional[bool]:
    """Whether glibc serves a large allocation with a fresh ``mmap`` (its
    default; False once ``M_MMAP_MAX=0`` keeps freed memory for reuse).

    The probe asks for more than the heap holds free, so that free heap
    memory cannot serve it. None without glibc or ``mallinfo2``
    (glibc < 2.33), or when the allocation fails.
    """
    from cavmae_mm.engine.cpu_runtime import _glibc
    libc = _glibc()
    if libc is None or not hasattr(libc, 'mallinfo2'):
        return None
    libc.mallinfo2.restype = _MallInfo
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = libc.mallinfo2()
    block = libc.malloc(max(PROBE_BYTES, before.fordblks + 2**20))
    if not block:
        return None
    mapped = libc.mallinfo2().hblks > before.hblks
    libc.free(block)
    return mapped


def flushes_denormals() -> bool:
    """Whether this thread flushes subnormal floats to zero."""
    return (torch.tensor([1e-40]) * 1.0).item() == 0.0


def process_report(applied: Optional[dict]) -> dict:
    """What this process runs with, observed rather than assumed."""
    return dict(
        pid=os.getpid(), parent_pid=os.getppid(),
        threads=torch.get_num_threads(),
        cpu_runtime=applied,  # what configure_cpu_runtime applied, if run
        flush_denormal=flushes_denormals(),
        maps_large_blocks=maps_large_blocks(),
        allocator_env={name: value for name, value in os.environ.items()
                       if is_allocator_env(name)})


class CaseWorker:
    """One implementation's model and step; answers the requests."""

    def __init__(self) -> None:
        self.step: Optional[Callable[[], object]] = None
        self.device = 'cpu'
        self.answered_at = 0.0  # process CPU time when it last answered

    def setup(self, arch: str, case: str, impl: str, dtype: str,
              batch: int, device: str, with_cp: bool, warmup: int,
              memory: bool) -> dict:
        applied = None
        if impl == 'fast' and device.startswith('cpu'):
            from cavmae_mm.engine.cpu_runtime import configure_cpu_runtime
            applied = configure_cpu_runtime(True)
        # Probed before the model exists: nothing changes these settings
        # later, and the heap is still small.
        report = process_report(applied)
        self.device = device
        torch.manual_seed(0)
        model = build_case_model(arch, MODEL_CASES[case][0], device)
        self.step = run_model_case(model, case, impl, dtype, batch, device,
                                   with_cp)
        # With memory, one step first: gradients and optimizer state exist
        # before the step whose peak is measured.
        for _ in range(max(warmup, int(memory))):
            self.step()
        reply = dict(process=report, peak_memory_mb=None)
        if memory:
            with peak_memory(device) as peak:
                self.step()
            reply['peak_memory_mb'] = peak['peak_mb']
        with without_checkpointing(model):
            by_op = count_flops(self.step)
        reply['counted_flops'] = sum(by_op.values())
        reply['dense_flops'] = sum(
            by_op.get(op, 0) for op in KERNEL_KINDS['dense'])
        return reply

    def round(self) -> Dict[str, float]:
        """One timed step, and the CPU this process used while it waited
        for the request (expected near 0: the other worker's step runs
        then)."""
        idle_cpu_s = time.process_time() - self.answered_at
        synchronize(self.device)
        with kernel_work() as work:
            started = time.monotonic()  # one clock for all processes
            self.step()
            synchronize(self.device)
            seconds = time.monotonic() - started
        return dict(seconds=seconds, started_s=started, idle_cpu_s=idle_cpu_s,
                    **work)

    def breakdown(self) -> dict:
        return dict(breakdown_ms=time_breakdown(self.step))


def main() -> None:
    # Answers go to the real stdout; anything else printing to stdout
    # (Python or C) lands in stderr instead of in the answers.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = CaseWorker()
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop('op')
        if op not in OPS:
            raise ValueError(f'unknown request {op!r}; known: {OPS}')
        reply = getattr(worker, op)(**request)
        answers.write(json.dumps(reply) + '\n')
        answers.flush()
        worker.answered_at = time.process_time()


if __name__ == '__main__':
    main()
