"""The ``retrieval-metric`` sub-command of ``tools/benchmark.py``: the
retrieval metric's time on synthetic features, per clip (``--frames 1``,
CAV-MAE) or aggregated from per-frame features (``--frames F``, CAV-MAE
Sync: one case per ``--aggregate``)."""
from typing import Callable, Dict, Optional

import torch

from cavmae_mm.evaluation.functional.frame_retrieval import AGGREGATES
from .commands import _machine, _write_json
from .measure import median_time


def _time(fn: Callable, iters: int, target_s: Optional[float]) -> Dict:
    """Median of ``iters`` timed runs after one warm-up, and the target
    check."""
    times = median_time(fn, 'cpu', iters, 1)
    case = dict(seconds=times, median_s=sorted(times)[len(times) // 2])
    if target_s is not None:
        case.update(target_s=target_s, met=case['median_s'] < target_s)
    return case


def _target_text(case: Dict) -> str:
    if 'target_s' not in case:
        return ''
    return (f' (target < {case["target_s"] * 1e3:.0f} ms) -> '
            f'{"MET" if case["met"] else "NOT MET"}')


def run_retrieval_metric(args) -> dict:
    from cavmae_mm.evaluation.functional import (frame_retrieval_ranks,
                                                 recall_and_median_rank,
                                                 retrieval_ranks)
    gen = torch.Generator().manual_seed(0)
    shape = ((args.size, args.dim) if args.frames == 1 else
             (args.size, args.frames, args.dim))
    audio = torch.randn(*shape, generator=gen)
    visual = audio + 0.5 * torch.randn(*shape, generator=gen)
    payload = dict(machine=_machine(), size=args.size, dim=args.dim,
                   frames=args.frames)
    if args.frames == 1:
        def both_directions():
            return (recall_and_median_rank(retrieval_ranks(audio, visual)),
                    recall_and_median_rank(retrieval_ranks(visual, audio)))

        payload.update(_time(both_directions, args.iters, args.target_s))
        a2v, v2a = both_directions()
        payload.update(a2v=a2v, v2a=v2a)
        print(f'retrieval metric, {args.size} x {args.size} pairs, both '
              f'directions: median {payload["median_s"] * 1e3:.1f} ms'
              f'{_target_text(payload)}; A->V {a2v}, V->A {v2a}')
        _write_json(args.output, payload)
        return payload

    payload['cases'] = []
    for aggregate in args.aggregate:
        def both_directions():
            return [recall_and_median_rank(ranks)
                    for ranks in frame_retrieval_ranks(audio, visual,
                                                       aggregate)]

        case = dict(aggregate=aggregate,
                    **_time(both_directions, args.iters, args.target_s))
        case['a2v'], case['v2a'] = both_directions()
        payload['cases'].append(case)
        print(f'retrieval metric, {args.size} x {args.size} clips of '
              f'{args.frames} frames, {aggregate}, both directions: median '
              f'{case["median_s"] * 1e3:.1f} ms{_target_text(case)}; '
              f'A->V {case["a2v"]}, V->A {case["v2a"]}')
    if args.target_s is not None:
        payload['met'] = all(case['met'] for case in payload['cases'])
    _write_json(args.output, payload)
    return payload


def add_retrieval_metric_command(subparsers) -> None:
    parser = subparsers.add_parser(
        'retrieval-metric', help='R@1/5/10 + MdR over N x N clips, both '
        'directions; --frames F: from per-frame features (CAV-MAE Sync)')
    parser.add_argument('--size', '--clips', type=int, default=2000,
                        help='clips (queries and candidates each)')
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--frames', type=int, default=1,
                        help='features per clip: 1 = one per clip, F > 1 = '
                        'one per frame, aggregated (--aggregate)')
    parser.add_argument('--aggregate', nargs='+', choices=AGGREGATES,
                        default=list(AGGREGATES),
                        help='aggregations to measure with --frames > 1')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--target-s', type=float,
                        help='also check each median against this many '
                        'seconds')
    parser.add_argument('--output', help='write the results as JSON here')
    parser.set_defaults(func=run_retrieval_metric)
