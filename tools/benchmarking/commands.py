"""The ``train``, ``infer`` and ``retrieval-metric`` sub-commands of
``tools/benchmark.py``."""
import argparse
import contextlib
import copy
import gc
import json
import platform
import statistics
from typing import Dict, Iterator, List, Optional

import torch

from .measure import (KERNEL_KINDS, Measurement, count_flops, kernel_work,
                      matmul_peak, median_time, peak_memory, time_breakdown)
from .model_cases import (IMPLS, MODES, MODEL_CASES, build_case_model,
                          run_model_case)

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
# (case, dtype) -> (what, threshold): the targets for this machine.
TARGETS = {
    ('pretrain', 'bf16'): [('mfu', 0.5), ('speedup', 2.0)],
    ('pretrain', 'fp32'): [('speedup', 1.2)],
    ('infer-multimodal', 'bf16'): [('mfu', 0.6)],
}


def _machine() -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__,
                threads=torch.get_num_threads(),
                processor=platform.processor() or platform.machine())
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def _memory_worker(arch: str, case: str, impl: str, dtype: str, batch: int,
                   device: str, with_cp: bool, queue) -> None:
    try:
        torch.manual_seed(0)
        model = build_case_model(arch, MODEL_CASES[case][0], device)
        step = run_model_case(model, case, impl, dtype, batch, device,
                              with_cp)
        step()  # gradients and optimizer state exist from here on
        with peak_memory(device) as memory:
            step()
        queue.put(memory['peak_mb'])
    except BaseException as error:  # reported by the parent
        queue.put(f'{type(error).__name__}: {error}')


def measure_peak_memory(case: str, impl: str, dtype: str, args) -> float:
    """Peak memory (MB) of one step in a fresh process holding only this
    implementation's model, optimizer state and batch, so that neither
    implementation is charged for the other's memory."""
    import multiprocessing
    context = multiprocessing.get_context('spawn')
    queue = context.Queue()
    worker = context.Process(
        target=_memory_worker,
        args=(args.arch, case, impl, dtype, args.batch, args.device,
              args.with_cp, queue))
    worker.start()
    result = queue.get()
    worker.join()
    if isinstance(result, str):
        raise RuntimeError(f'peak-memory run of {case} {dtype} {impl} '
                           f'failed: {result}')
    return result


@contextlib.contextmanager
def without_checkpointing(model: torch.nn.Module) -> Iterator[None]:
    """Count the model's FLOPs, not the recomputation of ``with_cp``."""
    parts = [part for part in model.modules()
             if getattr(part, 'with_cp', False)]
    for part in parts:
        part.with_cp = False
    try:
        yield
    finally:
        for part in parts:
            part.with_cp = True


def measure_cases(cases: List[str], args) -> List[Measurement]:
    """Measure each case for each dtype, the two implementations
    interleaved round by round so machine noise hits both alike. Peak
    memory is measured first, each implementation in its own process."""
    results = []
    models: Dict[str, torch.nn.Module] = {}
    memory = {}
    if args.memory:
        for case in cases:
            for dtype in args.dtype:
                for impl in args.impl:
                    memory[case, dtype, impl] = measure_peak_memory(
                        case, impl, dtype, args)
    # The peak is measured before and after the cases, and the higher
    # value kept: a busy moment of a shared machine lowers one of them.
    peaks = {dtype: matmul_peak(DTYPES[dtype], args.device)
             for dtype in args.dtype}
    for case in cases:
        kind = MODEL_CASES[case][0]
        if kind not in models:
            models.clear()
            gc.collect()
            models[kind] = build_case_model(args.arch, kind, args.device)
        model = models[kind]
        for dtype in args.dtype:
            # Training changes the weights: each implementation trains its
            # own copy, so neither sees the other's updates.
            training = MODEL_CASES[case][1] == 'train'
            copies = {impl: copy.deepcopy(model) if training else model
                      for impl in args.impl}
            steps = {impl: run_model_case(
                copies[impl], case, impl, dtype, args.batch, args.device,
                args.with_cp) for impl in args.impl}
            rows = {impl: Measurement(case, args.device, dtype, impl,
                                      args.batch)
                    for impl in args.impl}
            for impl in args.impl:  # warm-up and FLOPs
                median_time(steps[impl], args.device, 0, args.warmup)
                with without_checkpointing(copies[impl]):
                    by_op = count_flops(steps[impl])
                rows[impl].flops = sum(by_op.values())
                rows[impl].extra['dense_flops'] = sum(
                    by_op.get(op, 0) for op in KERNEL_KINDS['dense'])
                rows[impl].peak_memory_mb = memory.get((case, dtype, impl))
            # The work is the model's, not the kernel's: FlopCounterMode
            # does not count every fused attention kernel, so all
            # implementations are credited with the largest count.
            work = max(row.flops for row in rows.values())
            for row in rows.values():
                row.extra['counted_flops'] = row.flops
                row.flops = work
            # On the CPU the implementations differ in process settings
            # (cavmae_mm.engine.cpu_runtime): after a switch, one untimed
            # step lets the memory kept for reuse settle again.
            rewarm = int(len(args.impl) > 1
                         and args.device.startswith('cpu'))
            kernel = {impl: [] for impl in args.impl}
            for _ in range(args.iters):
                for impl in args.impl:
                    median_time(steps[impl], args.device, 0, rewarm)
                    with kernel_work() as work:
                        rows[impl].seconds += median_time(
                            steps[impl], args.device, 1, 0)
                    kernel[impl].append(work)
            for impl, works in kernel.items():
                for key in ('system_s', 'minor_faults'):
                    rows[impl].extra[key] = statistics.median(
                        w[key] for w in works)
            if 'fast' in rows and 'reference' in rows:
                fast, ref = rows['fast'], rows['reference']
                fast.extra['speedup'] = ref.median_s / fast.median_s
                # Also the median of the per-round ratios (each round runs
                # both): a second estimate, less sensitive to slow moments
                # that last a round.
                fast.extra['speedup_paired'] = statistics.median(
                    r / f for f, r in zip(fast.seconds, ref.seconds))
            if args.breakdown:
                for impl in args.impl:
                    median_time(steps[impl], args.device, 0, rewarm)
                    rows[impl].extra['breakdown_ms'] = time_breakdown(
                        steps[impl])
            results += rows.values()
            del steps, copies  # free the trained copies before the next
            gc.collect()
    for dtype in args.dtype:
        peaks[dtype] = max(peaks[dtype],
                           matmul_peak(DTYPES[dtype], args.device))
    for row in results:
        row.peak_flops = peaks[row.dtype]
    return results


def check_targets(results: List[Measurement]) -> List[dict]:
    checks = []
    by_key = {(r.name, r.dtype, r.impl): r for r in results}
    for (case, dtype), targets in TARGETS.items():
        fast = by_key.get((case, dtype, 'fast'))
        if fast is None:
            continue
        for what, threshold in targets:
            value = fast.mfu if what == 'mfu' else fast.extra.get(what)
            if value is None:
                continue
            check = dict(case=case, dtype=dtype, metric=what, value=value,
                         target=threshold, met=value >= threshold)
            ref = by_key.get((case, dtype, 'reference'))
            if what == 'speedup' and ref is not None and ref.mfu:
                # The MFU the fast implementation would need: the target
                # seen against the machine's limit.
                check['needs_mfu'] = threshold * ref.mfu
            checks.append(check)
    fast = by_key.get(('pretrain', 'fp32', 'fast')) or by_key.get(
        ('pretrain', 'bf16', 'fast'))
    if fast is not None:
        ref = by_key.get((fast.name, fast.dtype, 'reference'))
        if (ref is not None and fast.batch == 8 and fast.peak_memory_mb
                and ref.peak_memory_mb):
            checks.append(dict(case='pretrain', dtype=fast.dtype,
                               metric='peak_memory_mb',
                               value=fast.peak_memory_mb,
                               target=f'< {ref.peak_memory_mb:.0f}',
                               met=fast.peak_memory_mb < ref.peak_memory_mb))
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
        if 'system_s' in r.extra:
            print(f'{r.name} {r.dtype} {r.impl}: system time '
                  f'{r.extra["system_s"]:.2f} s and '
                  f'{r.extra["minor_faults"]:.0f} page faults per step '
                  '(median)')
        if 'breakdown_ms' in r.extra:
            print(_breakdown_line(r))
    for check in checks:
        value = check['value']
        shown = f'{100 * value:.1f}%' if check['metric'] == 'mfu' else (
            f'{value:.2f}')
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
    torch.manual_seed(0)
    results = measure_cases(cases, args)
    checks = check_targets(results)
    peaks = {r.dtype: r.peak_flops for r in results}
    print('matmul peak: ' + ', '.join(
        f'{dtype} {peak / 1e9:.0f} GFLOP/s' for dtype, peak in peaks.items()))
    print_table(results, checks)
    payload = dict(machine=_machine(), args=vars(args).copy(),
                   matmul_peak_flops=peaks,
                   results=[r.to_dict() for r in results], targets=checks)
    payload['args'].pop('func', None)
    _write_json(args.output, payload)
    return payload


def run_train(args) -> dict:
    return run_models(args, [f for f in args.cases])


def run_infer(args) -> dict:
    return run_models(args, [f for f in args.cases])


def run_retrieval_metric(args) -> dict:
    from cavmae_mm.evaluation.functional.retrieval import (
        recall_and_median_rank, retrieval_ranks)
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(args.size, args.dim, generator=gen)
    visual = audio + 0.5 * torch.randn(args.size, args.dim, generator=gen)

    def both_directions():
        return (recall_and_median_rank(retrieval_ranks(audio, visual)),
                recall_and_median_rank(retrieval_ranks(visual, audio)))

    times = median_time(both_directions, 'cpu', args.iters, 1)
    median = sorted(times)[len(times) // 2]
    a2v, v2a = both_directions()
    print(f'retrieval metric, {args.size} x {args.size} pairs, both '
          f'directions: median {median * 1e3:.1f} ms (target < 1000 ms) -> '
          f'{"MET" if median < 1 else "NOT MET"}; A->V {a2v}, V->A {v2a}')
    payload = dict(machine=_machine(), size=args.size, dim=args.dim,
                   seconds=times, median_s=median, target_s=1.0,
                   met=median < 1, a2v=a2v, v2a=v2a)
    _write_json(args.output, payload)
    return payload


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
                        help='timed runs per implementation (median)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing in the fast '
                        "implementation's training steps (large batches)")
    parser.add_argument('--breakdown', action='store_true',
                        help='time every operator of two more steps per '
                        'implementation (CPU) and report the time per kind: '
                        'dense layers, attention, copies and casts, '
                        'optimizer, other operators, between operators')
    parser.add_argument('--no-memory', dest='memory', action='store_false',
                        help='skip the peak-memory runs (one fresh process '
                        'per case, dtype and implementation)')
    parser.add_argument('--output', help='write the results as JSON here')


def add_train_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'train', help='pre-training / fine-tuning step speed, MFU, memory')
    _model_args(parser, ['pretrain', 'finetune'], ['pretrain', 'finetune'],
                batch=4)
    parser.set_defaults(func=run_train)


def add_infer_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'infer', help='forward speed of each inference mode and of the '
        'retrieval embeddings')
    cases = [f'infer-{m}' for m in MODES] + ['infer-retrieval']
    _model_args(parser, cases, cases, batch=4)
    parser.set_defaults(func=run_infer)


def add_retrieval_metric_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'retrieval-metric', help='R@1/5/10 + MdR over N x N pairs, both '
        'directions')
    parser.add_argument('--size', type=int, default=2000)
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--output', help='write the results as JSON here')
    parser.set_defaults(func=run_retrieval_metric)
