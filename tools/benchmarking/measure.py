"""Timing, FLOP counting, matmul peak and peak memory, CPU and CUDA."""
import contextlib
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterator, List, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Measurement:
    """One benchmark result (what the JSON output holds per case)."""
    name: str
    device: str
    dtype: str
    impl: str
    batch: int
    seconds: List[float] = field(default_factory=list)
    flops: Optional[int] = None
    peak_flops: Optional[float] = None
    peak_memory_mb: Optional[float] = None
    extra: Dict = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def samples_per_s(self) -> float:
        return self.batch / self.median_s

    @property
    def mfu(self) -> Optional[float]:
        """Model FLOPs utilization: achieved FLOP/s / matmul peak."""
        if not self.flops or not self.peak_flops:
            return None
        return self.flops / self.median_s / self.peak_flops

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(median_s=self.median_s,
                   samples_per_s=self.samples_per_s, mfu=self.mfu)
        return out


def synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def median_time(fn: Callable[[], object], device: str, iters: int,
                warmup: int) -> List[float]:
    """Run ``fn`` ``warmup`` times, then time ``iters`` runs (seconds)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def kernel_work() -> Iterator[Dict[str, float]]:
    """System CPU time (s) and minor page faults of the whole process while
    the block runs: the kernel's share of a step, mostly faulting in fresh
    pages of large tensors that the allocator mapped anew."""
    result: Dict[str, float] = {}
    before = resource.getrusage(resource.RUSAGE_SELF)
    yield result
    after = resource.getrusage(resource.RUSAGE_SELF)
    result['system_s'] = after.ru_stime - before.ru_stime
    result['minor_faults'] = after.ru_minflt - before.ru_minflt


def count_flops(fn: Callable[[], object]) -> Dict[str, int]:
    """FLOPs of one call per ATen operator (``'aten::mm'``, ``'aten::bmm'``,
    ...: matmuls, convolutions, attention), counted by
    ``torch.utils.flop_counter``."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return {op._qualified_op_name: flops
            for op, flops in counter.get_flop_counts()['Global'].items()}


#: ATen operators of each kind in :func:`time_breakdown` (operators whose
#: name contains ``scaled_dot_product`` count as attention too); the
#: ``dense`` ones (linear layers, patch-embedding convolution) also give
#: the dense layers' FLOPs.
KERNEL_KINDS = {
    'dense': ('aten::mm', 'aten::addmm', 'aten::convolution',
              'aten::convolution_backward'),
    'attention': ('aten::bmm', 'aten::baddbmm', 'aten::_softmax',
                  'aten::_softmax_backward_data'),
    'copies_and_casts': ('aten::_to_copy', 'aten::copy_', 'aten::cat',
                         'aten::clone'),
}


class _OperatorTimes(TorchDispatchMode):
    """Adds up the wall time of every ATen operator that runs under it,
    by kind (:data:`KERNEL_KINDS`; ``optimizer`` for everything inside an
    optimizer's ``step``, ``other`` for the rest). On the CPU an operator
    has finished when its call returns, so its call is its time."""

    def __init__(self) -> None:
        super().__init__()
        self.kind_of = {name: kind for kind, names in KERNEL_KINDS.items()
                        for name in names}
        self.seconds = dict.fromkeys([*KERNEL_KINDS, 'optimizer', 'other'],
                                     0.)
        self.in_optimizer = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = time.perf_counter()
        out = func(*args, **(kwargs or {}))
        elapsed = time.perf_counter() - start
        name = func._schema.name
        if self.in_optimizer:
            kind = 'optimizer'
        elif 'scaled_dot_product' in name:
            kind = 'attention'
        else:
            kind = self.kind_of.get(name, 'other')
        self.seconds[kind] += elapsed
        return out


def time_breakdown(fn: Callable[[], object], steps: int = 2
                   ) -> Dict[str, float]:
    """Where the time of ``fn`` goes on the CPU, in ms per call.

    Every ATen operator is timed as it runs (a ``TorchDispatchMode``) and
    its time goes to ``dense`` (linear layers, convolutions), ``attention``
    (its batched matmuls and softmax; the fused kernels too),
    ``copies_and_casts`` (dtype casts, ``contiguous`` copies,
    concatenation), ``optimizer`` (everything inside ``Optimizer.step``)
    or ``other`` (normalization, activations, losses, ...);
    ``between_operators`` is the rest of the wall time (Python, autograd
    and module overhead, and the timer's own, a few percent) and ``total``
    the wall time.

    Not ``torch.profiler``: its event buffers move glibc's heap under the
    step's large tensors, and the page faults that follow (tens of
    thousands per step) land on whatever operator allocates them,
    typically the casts of weight gradients, several times their cost.
    """
    from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                       register_optimizer_step_pre_hook)
    timer = _OperatorTimes()

    def enter_optimizer(*args):
        timer.in_optimizer = True

    def leave_optimizer(*args):
        timer.in_optimizer = False

    hooks = (register_optimizer_step_pre_hook(enter_optimizer),
             register_optimizer_step_post_hook(leave_optimizer))
    try:
        with timer:
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            wall = time.perf_counter() - start
    finally:
        for hook in hooks:
            hook.remove()
    out = {kind: seconds * 1e3 / steps
           for kind, seconds in timer.seconds.items()}
    out['between_operators'] = wall * 1e3 / steps - sum(out.values())
    out['total'] = sum(out.values())
    return out


def matmul_peak(dtype: torch.dtype, device: str, size: int = 4096,
                iters: int = 5) -> float:
    """Best FLOP/s of a square ``size`` matmul in ``dtype`` on ``device``:
    the machine's practical peak, measured in the same run as the model."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    times = median_time(lambda: a @ b, device, iters, warmup=2)
    return 2 * size**3 / min(times)


def _read_peak_rss_mb() -> float:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError('VmHWM not found in /proc/self/status')


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) of the process.
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')


@contextlib.contextmanager
def peak_memory(device: str) -> Iterator[Dict[str, float]]:
    """Peak memory (MB) while the block runs: CUDA allocator peak on a GPU,
    peak resident set size (whole process) on the CPU."""
    result: Dict[str, float] = {}
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
        yield result
        result['peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    else:
        _reset_peak_rss()
        yield result
        result['peak_mb'] = _read_peak_rss_mb()
