"""Timing, FLOP counting, matmul peak and peak memory, CPU and CUDA."""
import contextlib
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterator, List, Optional

import torch
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


def count_flops(fn: Callable[[], object]) -> Dict[str, int]:
    """FLOPs of one call per operator (``'aten.mm'``, ``'aten.bmm'``, ...:
    matmuls, convolutions, attention), counted by
    ``torch.utils.flop_counter``."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return {str(op): flops
            for op, flops in counter.get_flop_counts()['Global'].items()}


#: The operators of the dense layers (linear, patch-embedding convolution):
#: their FLOPs and, in :func:`time_breakdown`, their time.
DENSE_FLOP_OPS = ('aten.mm', 'aten.addmm', 'aten.convolution',
                  'aten.convolution_backward')
#: Profiler names of each kind of kernel in :func:`time_breakdown`.
KERNEL_KINDS = {
    'dense': ('aten::mm', 'aten::addmm', 'aten::mkldnn_convolution',
              'aten::convolution_backward'),
    'attention': ('aten::bmm', 'aten::baddbmm', 'aten::_softmax',
                  'aten::_softmax_backward_data'),
    'copies_and_casts': ('aten::copy_', 'aten::cat', 'aten::clone'),
}


def time_breakdown(fn: Callable[[], object], steps: int = 2
                   ) -> Dict[str, float]:
    """Where the time of ``fn`` goes on the CPU, in ms per call.

    Each operator's own time (``torch.profiler``, children excluded) goes
    to ``dense`` (linear layers, convolutions), ``attention`` (its batched
    matmuls and softmax; the fused kernels too), ``copies_and_casts``
    (dtype casts, ``contiguous`` copies, concatenation), ``optimizer``
    (everything inside ``Optimizer.step``) or ``other`` (normalization,
    activations, losses, ...); ``total`` is their sum. The profiler adds
    a few percent of overhead.
    """
    from torch.profiler import ProfilerActivity, profile
    kind_of = {name: kind for kind, names in KERNEL_KINDS.items()
               for name in names}
    out = dict.fromkeys([*KERNEL_KINDS, 'optimizer', 'other'], 0.)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            fn()
    for event in prof.events():
        node, kind = event, None
        while node is not None and kind is None:
            if node.name.startswith('Optimizer.step#'):
                kind = 'optimizer'
            node = node.cpu_parent
        if kind is None:
            kind = kind_of.get(event.name, 'other')
            if 'scaled_dot_product' in event.name:
                kind = 'attention'
        out[kind] += event.self_cpu_time_total / 1e3 / steps  # us -> ms
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
