"""A generated, deterministic audio-visual toy data set of real mp4 files.

Each class pairs a visual appearance (a coloured shape) with a sound (a
timbre). Within a class, every clip draws continuous parameters that both
modalities share:

* pitch        <-> vertical position (high pitch = high on screen),
* loudness     <-> size,
* beat rate    <-> blink rate (the sound is gated, the shape dims in step),

plus nuisances that only one modality carries (background colour and
texture, horizontal position and drift, background hiss). So class
recognition is learnable from either modality, and instance-level
audio<->visual retrieval is learnable from the shared parameters. This
module writes the data set (files, splits, annotations); the clips are
made by :mod:`tools.data.toy_clips`.

:func:`~tools.data.av_writer.write_av_file` writes the files (it is also
the tests' generator of special cases: no audio track, 5.1 audio, 8 kHz,
grayscale, portrait, zero frames, ...). ``variant='sync'`` makes clips of
timed events instead (:mod:`tools.data.toy_sync`).
"""
import functools
import json
import multiprocessing
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, Iterable, List

import numpy as np

from .toy_clips import TOY_CLASSES, clip_params, write_toy_clip


def _write_job(job):
    path, writer, params, clip_kwargs = job
    if not osp.exists(path):
        writer(path, params, **clip_kwargs)
    return path


def make_toy_dataset(out_dir: str,
                     num_classes: int = 8,
                     train_per_class: int = 16,
                     val_per_class: int = 6,
                     retrieval_per_class: int = 5,
                     duration: float = 10.0,
                     width: int = 320,
                     height: int = 240,
                     fps: float = 10,
                     sample_rate: int = 22050,
                     channels: int = 2,
                     audio_codec: str = 'aac',
                     seed: int = 0,
                     workers: int = 1,
                     progress: bool = False,
                     variant: str = 'base') -> Dict[str, str]:
    """Generate the toy data set (idempotent: existing clips are kept).

    Writes ``videos/<video_id>.mp4``, ``class_labels_indices.csv``
    (``index,mid,display_name``), the annotations ``pretrain.json`` (the
    training clips), ``finetune_train.json``, ``finetune_val.json``,
    ``retrieval.json`` (``retrieval_per_class`` validation clips per
    class, SPEC §7), ``finetune_train_weight.csv`` (the reference's
    class-balanced weights) and ``toy_meta.json`` (every clip's
    parameters). Annotation entries are ``{"video_id", "video", "labels"}``
    with paths relative to ``out_dir``.

    Args:
        out_dir (str): Output folder.
        num_classes (int): At most ``len(TOY_CLASSES)``. Defaults to 8.
        train_per_class (int): Defaults to 16.
        val_per_class (int): Defaults to 6.
        retrieval_per_class (int): Defaults to 5.
        duration (float): Seconds per clip. Defaults to 10.
        width, height (int): Frame size. Defaults to 320 x 240.
        fps (float): Defaults to 10.
        sample_rate (int): Defaults to 22050 (resampled to 16 kHz on load).
        channels (int): Defaults to 2.
        audio_codec (str): ``'aac'`` or ``'pcm_s16le'``. Defaults to
            ``'aac'``.
        seed (int): Everything derives from it. Defaults to 0.
        workers (int): Parallel writer processes. Defaults to 1.
        progress (bool): Show a progress bar. Defaults to False.
        variant (str): ``'base'`` (the clips above) or ``'sync'``: 2-4
            timed events per clip (:mod:`tools.data.toy_sync`; the clip's
            label is one event's class, ``toy_meta.json`` has the events).
            Defaults to ``'base'``.

    Returns:
        dict[str, str]: Paths of the files written (by role).
    """
    if not 1 <= num_classes <= len(TOY_CLASSES):
        raise ValueError(f'num_classes must be in [1, {len(TOY_CLASSES)}]')
    retrieval_per_class = min(retrieval_per_class, val_per_class)
    make_params, writer = clip_params, write_toy_clip
    if variant == 'sync':
        from .toy_sync import sync_clip_params, write_sync_clip
        make_params = functools.partial(
            sync_clip_params, num_classes=num_classes, duration=duration)
        writer = write_sync_clip
    elif variant != 'base':
        raise ValueError(f"variant must be 'base' or 'sync', got {variant!r}")
    os.makedirs(osp.join(out_dir, 'videos'), exist_ok=True)
    clip_kwargs = dict(
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        sample_rate=sample_rate,
        channels=channels,
        audio_codec=audio_codec)
    splits = {'train': [], 'val': []}
    meta, jobs = {}, []
    for class_index in range(num_classes):
        for clip_index in range(train_per_class + val_per_class):
            split = 'train' if clip_index < train_per_class else 'val'
            video_id = f'toy_c{class_index:02d}_{clip_index:03d}'
            params = make_params(seed, class_index, clip_index)
            rel_path = f'videos/{video_id}.mp4'
            entry = dict(
                video_id=video_id,
                video=rel_path,
                labels=f'/toy/c{class_index:02d}')
            splits[split].append(entry)
            meta[video_id] = dict(params, split=split)
            jobs.append(
                (osp.join(out_dir, rel_path), writer, params, clip_kwargs))

    if workers > 1:
        # Fresh worker processes ('forkserver'), not forks: a worker forked
        # from a process that has used PyAV's codecs (a test session) can
        # crash in the AAC encoder. They need no torch settings.
        with ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context('forkserver')) as pool:
            done = pool.map(_write_job, jobs, chunksize=4)
            _drain(done, len(jobs), progress)
    else:
        _drain(map(_write_job, jobs), len(jobs), progress)

    def write_json(name, entries):
        path = osp.join(out_dir, name)
        with open(path, 'w') as f:
            json.dump(dict(data=entries), f, indent=1)
        return path

    outputs = dict(
        videos=osp.join(out_dir, 'videos'),
        pretrain=write_json('pretrain.json', splits['train']),
        finetune_train=write_json('finetune_train.json', splits['train']),
        finetune_val=write_json('finetune_val.json', splits['val']),
        retrieval=write_json('retrieval.json', [
            entry for entry in splits['val']
            if int(entry['video_id'][-3:]) -
            train_per_class < retrieval_per_class
        ]))
    label_csv = osp.join(out_dir, 'class_labels_indices.csv')
    with open(label_csv, 'w') as f:
        f.write('index,mid,display_name\n')
        for index in range(num_classes):
            f.write(f'{index},/toy/c{index:02d},"{TOY_CLASSES[index][0]}"\n')
    outputs['label_csv'] = label_csv
    # Class-balanced weights (uniform here: the toy classes are balanced).
    from cavmae_mm.datasets.samplers import class_balanced_weights
    weights = class_balanced_weights(
        [[int(e['labels'][-2:])] for e in splits['train']], num_classes)
    outputs['weights'] = osp.join(out_dir, 'finetune_train_weight.csv')
    np.savetxt(outputs['weights'], weights, delimiter=',')
    outputs['meta'] = osp.join(out_dir, 'toy_meta.json')
    with open(outputs['meta'], 'w') as f:
        json.dump(
            dict(
                seed=seed,
                **({} if variant == 'base' else dict(variant=variant)),
                clip=clip_kwargs,
                classes=[c[0] for c in TOY_CLASSES[:num_classes]],
                clips=meta),
            f,
            indent=1)
    return outputs


def _drain(iterator: Iterable, total: int, progress: bool) -> List:
    from cavmae_mm.utils.progress import track
    return list(track(iterator, total, desc='toy clips', enabled=progress))
