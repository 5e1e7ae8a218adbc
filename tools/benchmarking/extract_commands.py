"""The ``extract`` sub-command of ``tools/benchmark.py``: the end-to-end
throughput of ``tools/extract_features.py`` (probing, decoding in
data-loader workers, the model, writing; run as its command line runs,
the model loaded from a checkpoint, whose loading time is reported apart)
on a folder of generated clips, beside the model-only rate of the same
model, dtype and batch on inputs already loaded (in a process of its
own), and their ratio (1: the input pipeline keeps up with the model)."""
import argparse
import json
import os.path as osp
import statistics
import tempfile
import time

DTYPES = ('fp32', 'bf16', 'fp16')


def make_clips(folder: str, args) -> list:
    """``args.clips`` toy clips (h264 + AAC 44.1 kHz stereo, the data
    benchmark's kind) of ``args.size``; returns the video files."""
    from tools.data.toy import make_toy_dataset
    width, height = (int(v) for v in args.size.split('x'))
    num_classes = min(8, args.clips)
    outputs = make_toy_dataset(
        folder, num_classes=num_classes,
        train_per_class=-(-args.clips // num_classes), val_per_class=0,
        retrieval_per_class=0, duration=args.duration, width=width,
        height=height, fps=25, sample_rate=44100, channels=2, seed=0,
        workers=args.gen_workers)
    with open(outputs['pretrain']) as f:
        entries = json.load(f)['data'][:args.clips]
    return [osp.join(folder, entry['video']) for entry in entries]


def extract_args(args, videos: list, out: str, checkpoint: str):
    """``tools/extract_features.py``'s command line for the benchmark."""
    from tools.extract_features import parse_args
    argv = [args.config, checkpoint, *videos, '--out', out,
            '--batch-size', str(args.batch), '--num-workers',
            str(args.workers), '--device', args.device, '--no-progress']
    if args.cfg_options:
        argv += ['--cfg-options'] + [f'{key}={value}' for key, value in
                                     args.cfg_options.items()]
    if args.dtype != 'fp32':
        argv += ['--amp', '--amp-dtype',
                 dict(bf16='bfloat16', fp16='float16')[args.dtype]]
    return parse_args(argv)


def load_batch(model, videos, batch_size: int):
    """One collated batch of the clips, decoded as the extraction decodes
    them (its pipeline) but in a data-loader worker: decoding in this
    process would leave FFmpeg threads behind, and a data-loader worker
    forked from a process with running FFmpeg threads can deadlock."""
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    from cavmae_mm.apis import InferencePipeline
    from tools.features.inputs import AnnotationItems, collate, gather_items
    infos, rejected = gather_items(
        (videos * batch_size)[:batch_size], None, 'auto')
    assert not rejected, rejected
    items = AnnotationItems(infos, InferencePipeline.of_model(model),
                            ('audio', 'imgs'))
    records = next(iter(DataLoader(items, batch_size=batch_size,
                                   num_workers=1, collate_fn=collate)))
    errors = [record['error'] for record in records if 'error' in record]
    assert not errors, errors
    return pseudo_collate([record['data'] for record in records])


def model_only_rate(model, batch, ex_args, iters: int) -> float:
    """Clips/s of ``embed_batch`` on one batch already loaded and collated
    (the same pipeline, model, batch and autocast as the extraction)."""
    import torch
    from cavmae_mm.apis import embed_batch
    from tools.extract_features import autocast

    def step():
        with torch.no_grad(), autocast(ex_args):
            features = embed_batch(model, batch)
        if torch.device(ex_args.device).type == 'cuda':
            torch.cuda.synchronize()
        return features

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return ex_args.batch_size * iters / (time.perf_counter() - start)


#: The model-only process's model and batch, built once.
_MODEL_ONLY = {}


def make_checkpoint(config, cfg_options, path: str) -> int:
    """Save a randomly initialized model of ``config``; its size."""
    import torch
    from cavmae_mm.apis import init_model
    torch.manual_seed(0)
    model = init_model(config, None, cfg_options=cfg_options)
    torch.save(dict(state_dict=model.state_dict()), path)
    return sum(p.numel() for p in model.parameters())


def model_only_job(ex_args, videos, iters: int) -> float:
    """:func:`model_only_rate` in the model-only process (the model loaded
    from the checkpoint and the batch decoded at the first call)."""
    from cavmae_mm.apis import init_model
    if not _MODEL_ONLY:
        model = init_model(ex_args.config, ex_args.checkpoint,
                           ex_args.device, cfg_options=ex_args.cfg_options)
        _MODEL_ONLY.update(model=model, batch=load_batch(
            model, videos, ex_args.batch_size))
    return model_only_rate(_MODEL_ONLY['model'], _MODEL_ONLY['batch'],
                           ex_args, iters)


def _release_freed_memory() -> None:
    """Give the heap's free memory back to the system (glibc), so that
    the next extraction forks its workers from a process as small as a
    fresh one's."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_extract(args):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tools.extract_features import extract
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='bench_extract_')
    videos = make_clips(osp.join(work_dir, 'clips'), args)
    checkpoint = osp.join(work_dir, 'random_init.pth')
    ex_args = extract_args(args, videos, osp.join(work_dir, 'features.npz'),
                           checkpoint)
    # The model-only measurements run in a process of their own (spawned:
    # it shares no memory with this one), so that this process, which
    # runs extract_features as its command line does (the model loaded
    # from the checkpoint after the data-loader workers start), holds no
    # model of its own when it forks them.
    with ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context('spawn')) as other:
        parameters = other.submit(make_checkpoint, args.config,
                                  args.cfg_options, checkpoint).result()
        print(f'{len(videos)} clips of {args.size}, {args.duration:g} s; '
              f'{args.config} ({parameters:,} parameters, random weights), '
              f'{args.dtype}, batch {args.batch}, {args.workers} workers, '
              f'{args.device}', flush=True)
        for _ in range(args.warmup):  # untimed: first-use costs
            extract(ex_args)
            other.submit(model_only_job, ex_args, videos, 1).result()
        end_to_end, model_only, parts = [], [], []
        for round_index in range(args.rounds):  # alternating rounds
            _release_freed_memory()
            summary = extract(ex_args)
            assert summary['num_failed'] == 0, summary
            part = summary['seconds']
            parts.append(part)
            # Building the model is a one-off cost, not throughput.
            end_to_end.append(len(videos) / (part['total'] - part['setup']))
            model_only.append(other.submit(
                model_only_job, ex_args, videos, args.model_iters).result())
            print(f'round {round_index + 1}: end to end '
                  f'{end_to_end[-1]:.2f} clips/s ({part["total"]:.2f} s, of '
                  f'which building the model {part["setup"]:.2f} s, the '
                  f'model {part["model"]:.2f} s, waiting for data '
                  f'{part["wait"]:.2f} s), model only {model_only[-1]:.2f} '
                  'clips/s', flush=True)
    rate = statistics.median(end_to_end)
    model_rate = statistics.median(model_only)
    ratio = rate / model_rate
    target = ''
    if args.target is not None:
        target = (f' (target >= {args.target}) -> '
                  f'{"met" if ratio >= args.target else "NOT met"}')
    print(f'extract_features end to end: {rate:.2f} clips/s; model only: '
          f'{model_rate:.2f} clips/s; ratio {ratio:.3f}{target}')
    result = dict(clips=len(videos), size=args.size,
                  duration_s=args.duration, config=args.config,
                  cfg_options=args.cfg_options, dtype=args.dtype,
                  batch=args.batch, workers=args.workers,
                  device=args.device, end_to_end_clips_s=end_to_end,
                  model_only_clips_s=model_only, ratio=ratio,
                  end_to_end_seconds=parts,
                  target=args.target,
                  met=None if args.target is None else ratio >= args.target)
    if args.output:
        with open(args.output, 'w') as f:
            json.dump(result, f, indent=1)
    return result


def add_extract_command(subparsers):
    from mmengine.config import DictAction
    parser = subparsers.add_parser(
        'extract',
        help='tools/extract_features.py end to end vs the model alone',
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--config', default='configs/cavmae_pretrain.py',
                        help='model config (random weights)')
    parser.add_argument('--clips', type=int, default=32)
    parser.add_argument('--size', default='640x360', help='WxH of the clips')
    parser.add_argument('--duration', type=float, default=10.0,
                        help='clip length (s)')
    parser.add_argument('--workers', type=int, default=2,
                        help='extract_features data-loader workers')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--dtype', choices=DTYPES, default='bf16')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed rounds first')
    parser.add_argument('--model-iters', type=int, default=3,
                        help='timed model-only batches per round')
    parser.add_argument('--gen-workers', type=int, default=2,
                        help='processes that generate the clips')
    parser.add_argument('--work-dir', help='default: a temporary folder')
    parser.add_argument('--target', type=float,
                        help='minimum ratio end to end / model only')
    parser.add_argument('--output', help='write the result as JSON')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config (e.g. a smaller model)')
    parser.set_defaults(func=run_extract)
