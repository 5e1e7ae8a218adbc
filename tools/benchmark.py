"""Benchmarks of cavmae_mm, one sub-command each.

``data``: per-worker loading speed (ms per sample, clips/s) of the training
pipeline on the pre-extracted path and the raw-video path, next to a
re-implementation of the reference's loader, on ``../shared/samples/`` and
on generated 360p toy clips::

    python tools/benchmark.py data --samples-dir ../shared/samples

``train`` / ``infer``: step speed, MFU, peak memory and speed-up of the
fast implementation against the reference-style one, each in a fresh
worker process of its own, alternating rounds
(``tools/benchmarking/``)::

    python tools/benchmark.py train --batch 4 --iters 7 --breakdown
    python tools/benchmark.py infer --batch 4 --iters 5 --no-memory

Sub-commands are registered by ``add_<name>_command(subparsers)`` functions
(each sets ``func``), so ``train``, ``infer``, ``retrieval-metric``... can be
added beside ``data``.
"""
import argparse
import json
import os
import os.path as osp
import random
import sys
import tempfile
import time

import numpy as np

# Repository root on sys.path: tools import their helpers as ``tools.*``
# (the rule: tools/__init__.py).
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ------------------------------------------------------------------ data

#: Training recipes of SPEC §6 as far as the loader is concerned.
RECIPES = {
    'pretrain': dict(mixup=0.0, freqm=0, timem=0, noise=True,
                     label_smooth=0.0),
    'finetune': dict(mixup=0.5, freqm=48, timem=192, noise=True,
                     label_smooth=0.1),
}


def train_pipeline(recipe: dict, target_length: int = 1024):
    """The training pipeline of a recipe (reference order)."""
    pipeline = [
        dict(type='LoadAudioWaveform'),
        dict(type='SampleAVFrames', mode='random'),
        dict(type='LoadAVFrames'),
        dict(type='AVResize', scale=(-1, 224)),
        dict(type='CenterCrop', crop_size=224),
    ]
    if recipe['mixup'] > 0:
        pipeline.append(dict(type='AVMixup', prob=recipe['mixup']))
    pipeline += [
        dict(type='KaldiFbank', target_length=target_length),
        dict(type='SpecAugment', freqm=recipe['freqm'],
             timem=recipe['timem']),
        dict(type='NormalizeFbank'),
    ]
    if recipe['noise']:
        pipeline.append(dict(type='FbankNoise'))
    if recipe['label_smooth'] > 0:
        pipeline.append(
            dict(type='LabelSmoothing', eps=recipe['label_smooth']))
    pipeline += [
        dict(type='FormatShape', input_format='NCHW'),
        dict(
            type='PackActionInputs',
            collect_keys=('audio', 'imgs'),
            meta_keys=('video_id', )),
    ]
    return pipeline


class ReferenceStyleLoader:
    """The reference's ``AudiosetDataset.__getitem__`` re-stated (SPEC §2)
    for timing: waveform file -> mean removal (-> mixup) -> Kaldi fbank ->
    pad/cut -> SpecAugment -> normalize -> noise; PIL frame ->
    torchvision Resize/CenterCrop/ToTensor/Normalize; label vector.
    ``torchaudio.load`` needs torchcodec with torchaudio 2.9, so the wav is
    read with soundfile (the same samples)."""

    def __init__(self, ann_file, label_csv, recipe, target_length=1024):
        import PIL
        import torchaudio
        import torchvision.transforms as T
        from cavmae_mm.datasets.av_dataset import load_label_csv
        with open(ann_file) as f:
            self.data = json.load(f)['data']
        self.index = {
            row['mid']: int(row['index'])
            for row in load_label_csv(label_csv)
        }
        self.recipe = recipe
        self.target_length = target_length
        self.freq_masking = torchaudio.transforms.FrequencyMasking(
            recipe['freqm'])
        self.time_masking = torchaudio.transforms.TimeMasking(
            recipe['timem'])
        self.preprocess = T.Compose([
            T.Resize(224, interpolation=PIL.Image.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(
                mean=[0.4850, 0.4560, 0.4060], std=[0.2290, 0.2240, 0.2250])
        ])

    def __len__(self):
        return len(self.data)

    def _load(self, path):
        import soundfile
        import torch
        waveform, sample_rate = soundfile.read(path, dtype='float32')
        return torch.from_numpy(waveform).reshape(1, -1), sample_rate

    def _fbank(self, path, path2=None, mix_lambda=-1.0):
        import torch
        import torchaudio
        waveform, sample_rate = self._load(path)
        waveform = waveform - waveform.mean()
        if path2 is not None:
            waveform2, _ = self._load(path2)
            waveform2 = waveform2 - waveform2.mean()
            if waveform2.shape[1] < waveform.shape[1]:
                padded = torch.zeros(1, waveform.shape[1])
                padded[0, :waveform2.shape[1]] = waveform2
                waveform2 = padded
            else:
                waveform2 = waveform2[:, :waveform.shape[1]]
            mix = mix_lambda * waveform + (1 - mix_lambda) * waveform2
            waveform = mix - mix.mean()
        fbank = torchaudio.compliance.kaldi.fbank(
            waveform, htk_compat=True, sample_frequency=sample_rate,
            use_energy=False, window_type='hanning', num_mel_bins=128,
            dither=0.0, frame_shift=10)
        pad = self.target_length - fbank.shape[0]
        if pad > 0:
            fbank = torch.nn.ZeroPad2d((0, 0, 0, pad))(fbank)
        elif pad < 0:
            fbank = fbank[:self.target_length]
        return fbank

    def _frame(self, datum):
        frame_idx = random.randint(0, 9)
        while frame_idx >= 1 and not osp.exists(
                f'{datum["video_path"]}/frame_{frame_idx}/'
                f'{datum["video_id"]}.jpg'):
            frame_idx -= 1
        return (f'{datum["video_path"]}/frame_{frame_idx}/'
                f'{datum["video_id"]}.jpg')

    def _image(self, path):
        from PIL import Image
        return self.preprocess(Image.open(path))

    def __getitem__(self, index):
        import torch
        eps, num = self.recipe['label_smooth'], len(self.index)
        datum = self.data[index]
        label = np.zeros(num) + eps / num
        if random.random() < self.recipe['mixup']:
            other = self.data[random.randint(0, len(self.data) - 1)]
            mix_lambda = np.random.beta(10, 10)
            fbank = self._fbank(datum['wav'], other['wav'], mix_lambda)
            image = mix_lambda * self._image(self._frame(datum)) + (
                1 - mix_lambda) * self._image(self._frame(other))
            for mid in datum['labels'].split(','):
                label[self.index[mid]] += mix_lambda * (1 - eps)
            for mid in other['labels'].split(','):
                label[self.index[mid]] += (1 - mix_lambda) * (1 - eps)
        else:
            fbank = self._fbank(datum['wav'])
            image = self._image(self._frame(datum))
            for mid in datum['labels'].split(','):
                label[self.index[mid]] = 1 - eps
        fbank = fbank.t().unsqueeze(0)  # [1, F, T]
        if self.recipe['freqm']:
            fbank = self.freq_masking(fbank)
        if self.recipe['timem']:
            fbank = self.time_masking(fbank)
        fbank = fbank.squeeze(0).t()
        fbank = (fbank - (-5.081)) / 4.4849
        if self.recipe['noise']:
            fbank = fbank + torch.rand(fbank.shape) * np.random.rand() / 10
            fbank = torch.roll(
                fbank,
                np.random.randint(-self.target_length, self.target_length),
                0)
        return fbank, image, torch.FloatTensor(label)


def time_loaders(loaders: dict, iters: int, rounds: int = 10,
                 warmup: int = 3, seed: int = 0) -> dict:
    """Time per sample of each loader. The loaders take turns in
    ``rounds`` blocks of ``iters / rounds`` consecutive samples (the same
    random indices for all), so a shared machine's changing load hits them
    alike while each block runs warm, as in a data loader worker.

    CPU time (``time.process_time``: what the process itself spends, less
    sensitive to other processes on the machine) is the per-worker cost;
    wall time is reported beside it.

    Returns:
        dict: loader name -> dict of mean CPU and wall seconds per sample.
    """
    rng = random.Random(seed)
    length = min(len(loader) for loader in loaders.values())
    per_round = max(iters // rounds, 1)
    for loader in loaders.values():
        for _ in range(warmup):
            loader[rng.randrange(length)]
    names = list(loaders)
    cpu = {name: 0.0 for name in names}
    wall = {name: 0.0 for name in names}
    for round_index in range(rounds):
        indices = [rng.randrange(length) for _ in range(per_round)]
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            for index in indices:
                loaders[name][index]
            cpu[name] += time.process_time() - cpu_start
            wall[name] += time.perf_counter() - wall_start
    count = per_round * rounds
    return {
        name: dict(cpu=cpu[name] / count, wall=wall[name] / count)
        for name in names
    }


def time_dataloader(dataset, workers: int, batches: int, batch_size: int):
    """Clips/s of a torch DataLoader with ``workers`` processes (start-up
    and the first batch excluded)."""
    import torch
    from mmengine.dataset import pseudo_collate
    sampler = torch.utils.data.RandomSampler(
        dataset, replacement=True, num_samples=(batches + 1) * batch_size)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        sampler=sampler,
        collate_fn=pseudo_collate)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = sum(len(batch['data_samples']) for batch in iterator)
    return count / (time.perf_counter() - start)


def time_raw_clips(name, raw_ann, label_csv, args):
    """Raw-video pre-training pipeline timed on each clip alone."""
    from cavmae_mm.datasets import AudioVisualDataset
    with open(raw_ann) as f:
        entries = json.load(f)['data']
    rows = []
    for entry in entries[:args.per_clip]:
        one = osp.join(osp.dirname(raw_ann), f'one_{entry["video_id"]}.json')
        with open(one, 'w') as f:
            json.dump(dict(data=[entry]), f)
        dataset = AudioVisualDataset(
            one, train_pipeline(RECIPES['pretrain']), label_csv=label_csv,
            source='video', on_error='raise')
        timing = time_loaders({'raw': dataset}, max(args.iters // 10, 1),
                              rounds=1)['raw']
        rows.append(dict(data=name, clip=entry['video_id'],
                         recipe='pretrain',
                         cpu_ms_per_sample=timing['cpu'] * 1e3,
                         clips_per_s=1.0 / timing['cpu']))
    return rows


def prepare_sets(args, work_dir):
    """Extract the sample clips and generate + extract 360p toy clips.

    Returns:
        dict: name -> (extracted annotation, raw-video annotation, label
        csv, description).
    """
    from tools.data.extraction import extract_clips
    from tools.data.toy import make_toy_dataset
    sets = {}
    if args.samples_dir:
        label_csv = osp.join(args.samples_dir, 'class_labels_indices_as.csv')
        videos = sorted(
            osp.join(args.samples_dir, name)
            for name in os.listdir(args.samples_dir)
            if name.endswith('.mp4'))
        items = [
            dict(
                video=osp.abspath(v),
                video_id=osp.splitext(osp.basename(v))[0],
                labels='/m/09x0r') for v in videos
        ]
        sets['samples'] = _extracted_sets(
            items, osp.join(work_dir, 'samples'), label_csv,
            f'{len(items)} sample clips (144p + 720p, AAC 44.1 kHz stereo)',
            extract_clips)
    if args.toy_clips > 0:
        toy_dir = osp.join(work_dir, 'toy360p')
        width, height = (int(v) for v in args.toy_size.split('x'))
        num_classes = min(8, args.toy_clips)
        per_class = -(-args.toy_clips // num_classes)
        outputs = make_toy_dataset(
            toy_dir,
            num_classes=num_classes,
            train_per_class=per_class,
            val_per_class=0,
            duration=10.0,
            width=width,
            height=height,
            fps=25,
            sample_rate=44100,
            channels=2,
            seed=0,
            workers=args.workers)
        with open(outputs['pretrain']) as f:
            entries = json.load(f)['data']
        items = [
            dict(entry, video=osp.join(toy_dir, entry['video']))
            for entry in entries
        ]
        sets['toy360p'] = _extracted_sets(
            items, toy_dir, outputs['label_csv'],
            f'{len(items)} toy clips ({width}x{height} 25 fps h264, '
            'AAC 44.1 kHz stereo)', extract_clips)
    return sets


def _extracted_sets(items, out_dir, label_csv, description, extract_clips):
    entries, failures = extract_clips(items, out_dir, workers=1,
                                      progress=False)
    if failures:
        raise RuntimeError(f'extraction failed: {failures}')
    for entry in entries:
        entry.pop('status')
    extracted = osp.join(out_dir, 'bench_extracted.json')
    raw = osp.join(out_dir, 'bench_video.json')
    with open(extracted, 'w') as f:
        json.dump(dict(data=entries), f)
    with open(raw, 'w') as f:
        json.dump(
            dict(data=[
                dict(video_id=e['video_id'], video=e['video'],
                     labels=e['labels']) for e in entries
            ]), f)
    return extracted, raw, label_csv, description


def run_data(args):
    import torch
    from mmengine.registry import init_default_scope
    import cavmae_mm  # noqa: F401  (registers the modules)
    from cavmae_mm.datasets import AudioVisualDataset
    init_default_scope('mmaction')
    torch.set_num_threads(1)  # what a data loader worker gets
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='cavmae_bench_')
    load_before = tuple(round(v, 2) for v in os.getloadavg())
    sets = prepare_sets(args, work_dir)
    rows, per_clip = [], []
    for name, (extracted, raw, label_csv, description) in sets.items():
        for recipe_name in args.recipes:
            recipe = RECIPES[recipe_name]
            loaders = {
                'reference loader (pre-extracted)':
                ReferenceStyleLoader(extracted, label_csv, recipe),
                'cavmae_mm pre-extracted':
                AudioVisualDataset(
                    extracted, train_pipeline(recipe), label_csv=label_csv,
                    source='extracted', on_error='raise'),
                'cavmae_mm raw video':
                AudioVisualDataset(
                    raw, train_pipeline(recipe), label_csv=label_csv,
                    source='video', on_error='raise'),
            }
            timings = time_loaders(loaders, args.iters, args.rounds)
            for loader_name, loader in loaders.items():
                timing = timings[loader_name]
                row = dict(
                    data=name,
                    recipe=recipe_name,
                    loader=loader_name,
                    cpu_ms_per_sample=timing['cpu'] * 1e3,
                    clips_per_s=1.0 / timing['cpu'],
                    wall_ms_per_sample=timing['wall'] * 1e3)
                if args.loader_workers and loader_name.startswith(
                        'cavmae_mm'):
                    row['dataloader_clips_per_s'] = time_dataloader(
                        loader, args.loader_workers, args.loader_batches,
                        args.batch_size)
                rows.append(row)
                print(json.dumps(row), flush=True)
        print(f'{name}: {description}')
        if args.per_clip:
            per_clip.extend(time_raw_clips(name, raw, label_csv, args))
    print(f'\nload average before/after: {load_before} / '
          f'{tuple(round(v, 2) for v in os.getloadavg())} '
          f'({os.cpu_count()} CPUs); {args.iters} samples per loader in '
          f'{args.rounds} interleaved blocks; one process, one torch thread')
    header = ('| data | recipe | loader | CPU ms / sample | clips/s per '
              'worker | wall ms / sample |')
    if args.loader_workers:
        header += f' clips/s, DataLoader {args.loader_workers} workers |'
    print('\n' + header)
    print('|' + '---|' * (header.count('|') - 1))
    for row in rows:
        line = (f'| {row["data"]} | {row["recipe"]} | {row["loader"]} | '
                f'{row["cpu_ms_per_sample"]:.2f} | {row["clips_per_s"]:.1f} '
                f'| {row["wall_ms_per_sample"]:.2f} |')
        if args.loader_workers:
            value = row.get('dataloader_clips_per_s')
            line += f' {value:.1f} |' if value else ' – |'
        print(line)
    if per_clip:
        print('\n| data | clip | recipe | raw video CPU ms / sample | '
              'clips/s per worker |\n|---|---|---|---|---|')
        for row in per_clip:
            print(f'| {row["data"]} | {row["clip"]} | {row["recipe"]} | '
                  f'{row["cpu_ms_per_sample"]:.2f} | '
                  f'{row["clips_per_s"]:.1f} |')
    if args.output:
        with open(args.output, 'w') as f:
            json.dump(dict(sets={k: v[3] for k, v in sets.items()},
                           load_before=load_before,
                           load_after=os.getloadavg(), rows=rows,
                           per_clip=per_clip), f,
                      indent=1)
    return 0


def add_data_command(subparsers):
    parser = subparsers.add_parser(
        'data',
        help='data loading speed per worker',
        description='Loading speed per worker (one process, one torch '
        'thread) of the training pipelines, pre-extracted vs raw video, '
        'against the reference loader.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    default_samples = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), '..', 'shared',
        'samples')
    parser.add_argument(
        '--samples-dir',
        default=osp.normpath(default_samples)
        if osp.isdir(default_samples) else None,
        help='folder with the sample mp4s and class_labels_indices_as.csv')
    parser.add_argument(
        '--toy-clips', type=int, default=8, help='0: no toy clips')
    parser.add_argument('--toy-size', default='640x360')
    parser.add_argument(
        '--recipes',
        nargs='+',
        default=['pretrain', 'finetune'],
        choices=sorted(RECIPES))
    parser.add_argument('--iters', type=int, default=200,
                        help='samples timed per loader')
    parser.add_argument('--rounds', type=int, default=10,
                        help='blocks the timed samples are split into')
    parser.add_argument(
        '--per-clip',
        type=int,
        default=2,
        help='also time the raw-video path on each of the first N clips of '
        'every set alone')
    parser.add_argument(
        '--loader-workers',
        type=int,
        default=0,
        help='also time a DataLoader with this many workers')
    parser.add_argument('--loader-batches', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--workers', type=int, default=2,
                        help='processes to generate the toy clips')
    parser.add_argument(
        '--work-dir', help='where the data goes (default: a temp folder)')
    parser.add_argument('--output', help='write the results as JSON here')
    parser.set_defaults(func=run_data)


# --------------------------------------------- train / infer / retrieval

# The model and metric benchmarks live beside this tool (tools/benchmarking).
from tools.benchmarking.commands import (  # noqa: E402
    add_infer_command, add_retrieval_metric_command, add_train_command)

# ------------------------------------------------------------------ main


def build_parser():
    parser = argparse.ArgumentParser(
        description='cavmae_mm benchmarks',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    subparsers = parser.add_subparsers(
        dest='command', required=True, metavar='COMMAND')
    add_data_command(subparsers)
    add_train_command(subparsers)
    add_infer_command(subparsers)
    add_retrieval_metric_command(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
