"""The ``train`` and ``infer`` sub-commands of ``tools/benchmark.py``
(``retrieval-metric``: :mod:`.metric_commands`)."""
import argparse
import contextlib
import json
import platform
import statistics
from typing import List, Optional

import torch

from .measure import Measurement, matmul_peak
from .model_cases import FRAMES_PER_CLIP, IMPLS, MODES
from .processes import WorkerProcess, worker_env

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
#: What ``--target CASE DTYPE METRIC MIN`` can check: the fast
#: implementation's MFU, its speed-up, or the reference's peak memory over
#: the fast one's (above 1: the fast one needs less).
TARGET_METRICS = ('mfu', 'speedup', 'memory_ratio')


def _machine() -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__,
                threads=torch.get_num_threads(),
                processor=platform.processor() or platform.machine())
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def measure_case(case: str, dtype: str, args) -> List[Measurement]:
    """Measure one case in one dtype, each implementation in a fresh
    process of its own (:mod:`.worker`), the way a user runs it.

    The workers start together and each builds its model, runs its
    untimed steps (warm-up, the peak-memory step, the FLOP count) and
    reports its process settings; then they take turns, one timed step
    each per round, so machine noise hits both alike, and the idle one
    waits without using the CPU.
    """
    setup = dict(arch=args.arch, case=case, dtype=dtype, batch=args.batch,
                 device=args.device, with_cp=args.with_cp,
                 warmup=args.warmup, memory=args.memory)
    with contextlib.ExitStack() as stack:
        workers = {impl: stack.enter_context(WorkerProcess(
            f'{case} {dtype} {impl}', dict(setup, impl=impl),
            args.worker_timeout)) for impl in args.impl}
        print(f'{case} {dtype}: ' + ', '.join(
            f'{impl} worker pid {worker.pid}'
            for impl, worker in workers.items()), flush=True)
        rows = {}
        for impl, worker in workers.items():
            ready = worker.receive()
            rows[impl] = Measurement(
                case, args.device, dtype, impl, args.batch,
                peak_memory_mb=ready['peak_memory_mb'],
                extra=dict(process='own', worker=ready['process'],
                           counted_flops=ready['counted_flops'],
                           dense_flops=ready['dense_flops']))
            if case in FRAMES_PER_CLIP:  # a sample is a clip of F pairs
                rows[impl].extra['frames_per_clip'] = FRAMES_PER_CLIP[case]
        # The work is the model's, not the kernel's: FlopCounterMode does
        # not count every fused attention kernel, so all implementations
        # are credited with the largest count.
        work = max(row.extra['counted_flops'] for row in rows.values())
        steps = {impl: [] for impl in rows}
        for _ in range(args.iters):
            for impl, worker in workers.items():
                steps[impl].append(worker.request('round'))
        if args.breakdown:
            for impl, worker in workers.items():
                rows[impl].extra['breakdown_ms'] = worker.request(
                    'breakdown')['breakdown_ms']
    for impl, row in rows.items():
        row.flops = work
        row.seconds = [step.pop('seconds') for step in steps[impl]]
        # per step: start, system time, page faults, CPU used while idle
        row.extra['steps'] = {key: [step[key] for step in steps[impl]]
                              for key in steps[impl][0]}
        for key in ('system_s', 'minor_faults'):
            row.extra[key] = statistics.median(row.extra['steps'][key])
    if 'fast' in rows and 'reference' in rows:
        fast, ref = rows['fast'], rows['reference']
        fast.extra['speedup'] = ref.median_s / fast.median_s
        # Also the median of the per-round ratios (each round runs both):
        # a second estimate, less sensitive to slow moments that last a
        # round.
        fast.extra['speedup_paired'] = statistics.median(
            r / f for f, r in zip(fast.seconds, ref.seconds))
    return list(rows.values())


def measure_cases(cases: List[str], args) -> List[Measurement]:
    """Measure each case in each dtype (:func:`measure_case`). The matmul
    peak is measured here, in the coordinator, before the first worker
    starts and after the last one exits, and the higher value kept: a busy
    moment of a shared machine lowers one of them."""
    peaks = {dtype: matmul_peak(DTYPES[dtype], args.device)
             for dtype in args.dtype}
    results = []
    for case in cases:
        for dtype in args.dtype:
            results += measure_case(case, dtype, args)
    for dtype in args.dtype:
        peaks[dtype] = max(peaks[dtype],
                           matmul_peak(DTYPES[dtype], args.device))
    for row in results:
        row.peak_flops = peaks[row.dtype]
    return results


def check_targets(results: List[Measurement],
                  targets: List[List[str]]) -> List[dict]:
    """Check each ``[case, dtype, metric, minimum]`` of ``--target``
    (:data:`TARGET_METRICS`) against the fast implementation's row."""
    checks = []
    by_key = {(r.name, r.dtype, r.impl): r for r in results}
    for case, dtype, metric, minimum in targets:
        fast = by_key.get((case, dtype, 'fast'))
        ref = by_key.get((case, dtype, 'reference'))
        value = None
        if fast is not None and metric == 'mfu':
            value = fast.mfu
        elif fast is not None and metric == 'speedup':
            value = fast.extra.get('speedup')
        elif (fast is not None and ref is not None and fast.peak_memory_mb
              and ref.peak_memory_mb):
            value = ref.peak_memory_mb / fast.peak_memory_mb
        check = dict(case=case, dtype=dtype, metric=metric, value=value,
                     target=float(minimum))
        check['met'] = value is not None and value >= check['target']
        if metric == 'speedup' and ref is not None and ref.mfu:
            # The MFU the fast implementation would need: the target seen
            # against the machine's limit.
            check['needs_mfu'] = check['target'] * ref.mfu
        checks.append(check)
    return checks


def print_table(results: List[Measurement], checks: List[dict]) -> None:
    print(f'{"case":22s} {"dtype":5s} {"impl":9s} {"samples/s":>9s} '
          f'{"median s":>8s} {"GFLOP/smp":>9s} {"MFU":>6s} '
          f'{"peak MB":>8s} {"speed-up":>8s}')
    for r in results:
        gflop = r.flops / r.batch / 1e9 if r.flops else float('nan')
        mfu = f'{100 * r.mfu:5.1f}%' if r.mfu is not None else '   n/a'
        speedup = r.extra.get('speedup')
        speedup = f'{speedup:7.2f}x' if speedup else ''
        memory = (f'{r.peak_memory_mb:.0f}'
                  if r.peak_memory_mb is not None else 'n/a')
        print(f'{r.name:22s} {r.dtype:5s} {r.impl:9s} '
              f'{r.samples_per_s:9.3f} {r.median_s:8.3f} {gflop:9.1f} '
              f'{mfu} {memory:>8s} {speedup:>8s}')
    for r in results:
        if 'frames_per_clip' in r.extra:
            frames = r.extra['frames_per_clip']
            print(f'{r.name} {r.dtype} {r.impl}: a sample is a clip of '
                  f'{frames} frame pair(s) (segment + frame): '
                  f'{r.samples_per_s * frames:.3f} pairs/s, '
                  f'{r.flops / r.batch / frames / 1e9:.1f} GFLOP per pair')
    for r in results:
        worker = r.extra['worker']
        print(f'{r.name} {r.dtype} {r.impl}: own process (pid '
              f'{worker["pid"]}, flush denormals {worker["flush_denormal"]}'
              f', large blocks mmap-ed {worker["maps_large_blocks"]}); '
              f'system time {r.extra["system_s"]:.2f} s and '
              f'{r.extra["minor_faults"]:.0f} page faults per step '
              '(median)')
        if 'breakdown_ms' in r.extra:
            print(_breakdown_line(r))
    for check in checks:
        value = check['value']
        shown = ('n/a' if value is None else f'{100 * value:.1f}%'
                 if check['metric'] == 'mfu' else f'{value:.2f}')
        needs = (f'; needs {100 * check["needs_mfu"]:.1f}% MFU'
                 if 'needs_mfu' in check else '')
        print(f'target {check["case"]} {check["dtype"]} {check["metric"]}: '
              f'{shown} (target {check["target"]}{needs}) -> '
              f'{"MET" if check["met"] else "NOT MET"}')


def _breakdown_line(r: Measurement) -> str:
    """One row's time per kind of operator, and the rate of its
    dense layers against the matmul peak (understated with ``--with-cp``:
    the recomputed layers take time but their FLOPs are not counted)."""
    parts = r.extra['breakdown_ms']
    dense_rate = r.extra['dense_flops'] / (parts['dense'] / 1e3)
    shown = ', '.join(f'{kind} {ms:.0f}' for kind, ms in parts.items()
                      if kind != 'total')
    return (f'{r.name} {r.dtype} {r.impl}: {parts["total"]:.0f} ms '
            f'timed ({shown}); dense layers at '
            f'{dense_rate / 1e9:.0f} GFLOP/s = '
            f'{100 * dense_rate / r.peak_flops:.0f}% of the matmul peak')


def _write_json(path: Optional[str], payload: dict) -> None:
    if path:
        with open(path, 'w') as f:
            json.dump(payload, f, indent=2)
        print(f'wrote {path}')


def run_models(args, cases: List[str]) -> dict:
    if args.breakdown and not args.device.startswith('cpu'):
        raise SystemExit('--breakdown times CPU operators as they run; GPU '
                         'kernels run asynchronously: use torch.profiler '
                         'with CUDA activity instead')
    for case, dtype, metric, minimum in args.target:
        if (case not in cases or dtype not in args.dtype
                or metric not in TARGET_METRICS):
            raise SystemExit(
                f'--target {case} {dtype} {metric} {minimum}: needs a case '
                f'of {cases}, a dtype of {args.dtype} and a metric of '
                f'{TARGET_METRICS}')
        float(minimum)  # fails here, not after the measurements
    results = measure_cases(cases, args)
    checks = check_targets(results, args.target)
    peaks = {r.dtype: r.peak_flops for r in results}
    print('matmul peak: ' + ', '.join(
        f'{dtype} {peak / 1e9:.0f} GFLOP/s' for dtype, peak in peaks.items()))
    print_table(results, checks)
    payload = dict(machine=_machine(), args=vars(args).copy(),
                   matmul_peak_flops=peaks,
                   matmul_peak_process='coordinator',
                   worker_env_removed=worker_env()[1],
                   results=[r.to_dict() for r in results], targets=checks)
    payload['args'].pop('func', None)
    _write_json(args.output, payload)
    return payload


def run_train(args) -> dict:
    return run_models(args, list(args.cases))


def run_infer(args) -> dict:
    return run_models(args, list(args.cases))


def _model_args(parser: argparse.ArgumentParser, cases: List[str],
                default_cases: List[str], batch: int) -> None:
    parser.add_argument('--cases', nargs='+', choices=cases,
                        default=default_cases)
    parser.add_argument('--arch', choices=('base', 'tiny'), default='base',
                        help='ViT-B (default) or the tiny test model')
    parser.add_argument('--batch', type=int, default=batch)
    parser.add_argument('--dtype', nargs='+', choices=tuple(DTYPES),
                        default=['fp32', 'bf16'])
    parser.add_argument('--impl', nargs='+', choices=IMPLS,
                        default=list(IMPLS))
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--iters', type=int, default=3,
                        help='timed rounds: one step of each implementation '
                        'per round (median)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps before the peak-memory step '
                        'and the FLOP count (at least 1 with memory)')
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing in the fast '
                        "implementation's training steps (large batches)")
    parser.add_argument('--breakdown', action='store_true',
                        help='time every operator of two more steps per '
                        'implementation (CPU) and report the time per kind: '
                        'dense layers, attention, copies and casts, '
                        'optimizer, other operators, between operators')
    parser.add_argument('--no-memory', dest='memory', action='store_false',
                        help='skip the peak-memory step (one untimed step '
                        'in each implementation\'s own process)')
    parser.add_argument('--target', nargs=4, action='append', default=[],
                        metavar=('CASE', 'DTYPE', 'METRIC', 'MIN'),
                        help='also check that METRIC '
                        f'({", ".join(TARGET_METRICS)}) of the fast '
                        'implementation reaches MIN (MFU as a fraction); '
                        'repeatable')
    parser.add_argument('--worker-timeout', type=float, default=900,
                        help='seconds to wait for a worker process to '
                        'answer one request (its setup or one round) '
                        'before stopping it')
    parser.add_argument('--output', help='write the results as JSON here')


def add_train_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'train', help='pre-training / fine-tuning step speed, MFU, memory')
    _model_args(parser, ['pretrain', 'finetune', 'sync-pretrain',
                         'sync-finetune'], ['pretrain', 'finetune'],
                batch=4)
    parser.set_defaults(func=run_train)


def add_infer_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'infer', help='forward speed of each inference mode and of the '
        'retrieval embeddings')
    cases = [f'infer-{m}' for m in MODES] + ['infer-retrieval']
    _model_args(parser, cases + ['infer-sync-retrieval'], cases, batch=4)
    parser.set_defaults(func=run_infer)
