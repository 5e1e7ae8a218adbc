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
audio<->visual retrieval is learnable from the shared parameters.

:func:`write_av_file` is also the tests' generator of special cases (no
audio track, 5.1 audio, 8 kHz, grayscale, portrait, zero frames, ...).
"""
import json
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

#: (display name, shape, RGB colour, timbre) of each toy class.
TOY_CLASSES = (
    ('red circle + sine', 'circle', (230, 40, 40), 'sine'),
    ('green square + square wave', 'square', (40, 200, 60), 'square'),
    ('blue triangle + sawtooth', 'triangle', (60, 100, 245), 'saw'),
    ('yellow cross + noise band', 'cross', (240, 220, 40), 'noise'),
    ('magenta ring + vibrato', 'ring', (225, 60, 225), 'vibrato'),
    ('cyan diamond + bell', 'diamond', (40, 220, 220), 'bell'),
    ('white bar + buzz', 'bar', (240, 240, 240), 'buzz'),
    ('orange x + chirp', 'xshape', (250, 140, 30), 'chirp'),
    ('pink ellipse + tremolo', 'ellipse', (250, 150, 190), 'tremolo'),
    ('lime half-disc + fifth', 'halfdisc', (170, 240, 60), 'fifth'),
)

PITCH_RANGE = (200.0, 1600.0)  # Hz, log-uniform
LOUDNESS_RANGE = (0.05, 0.5)  # peak amplitude, log-uniform
BEAT_RANGE = (0.5, 4.0)  # Hz, log-uniform


def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _unit(value, low, high):
    """Position of ``value`` in the log range, in [0, 1]."""
    return float(np.log(value / low) / np.log(high / low))


def clip_params(seed: int, class_index: int, clip_index: int) -> Dict:
    """The parameters of one clip, a pure function of its seed and ids."""
    rng = np.random.default_rng([seed, class_index, clip_index])
    return dict(
        class_index=class_index,
        pitch=_log_uniform(rng, *PITCH_RANGE),
        loudness=_log_uniform(rng, *LOUDNESS_RANGE),
        beat_rate=_log_uniform(rng, *BEAT_RANGE),
        beat_phase=float(rng.uniform()),
        x_start=float(rng.uniform(0.25, 0.75)),
        x_drift=float(rng.uniform(-0.03, 0.03)),  # screen widths / s
        background=[int(v) for v in rng.integers(0, 70, size=3)],
        texture_seed=int(rng.integers(1 << 31)),
        hiss_db=float(rng.uniform(-55, -35)),
    )


def _gate(t: np.ndarray, rate: float, phase: float) -> np.ndarray:
    """On/off beat envelope (duty 0.5)."""
    return (np.mod(t * rate + phase, 1.0) < 0.5).astype(np.float32)


def synthesize_audio(params: Dict, duration: float, sample_rate: int,
                     channels: int = 1) -> np.ndarray:
    """The clip's sound, float32 ``[channels, N]`` (all channels equal but
    for independent hiss)."""
    num = int(round(duration * sample_rate))
    t = np.arange(num) / sample_rate
    f0 = params['pitch']
    nyquist = 0.45 * sample_rate
    timbre = TOY_CLASSES[params['class_index']][3]
    rng = np.random.default_rng(params['texture_seed'])

    def partials(ratios, amps):
        out = np.zeros(num)
        for ratio, amp in zip(ratios, amps):
            if ratio * f0 < nyquist:
                out += amp * np.sin(2 * np.pi * ratio * f0 * t)
        return out

    if timbre == 'sine':
        tone = np.sin(2 * np.pi * f0 * t)
    elif timbre == 'square':
        tone = partials([1, 3, 5, 7, 9], [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9])
    elif timbre == 'saw':
        tone = partials(range(1, 9), [1 / k for k in range(1, 9)])
    elif timbre == 'noise':
        spectrum = np.fft.rfft(rng.standard_normal(num))
        freqs = np.fft.rfftfreq(num, 1 / sample_rate)
        spectrum *= np.exp(-0.5 * ((freqs - f0) / (0.15 * f0))**2)
        tone = np.fft.irfft(spectrum, num)
    elif timbre == 'vibrato':
        tone = np.sin(2 * np.pi * f0 * t +
                      (0.04 * f0 / 6.0) * np.sin(2 * np.pi * 6.0 * t))
    elif timbre == 'bell':
        beat_time = np.mod(t * params['beat_rate'] + params['beat_phase'],
                           1.0) / params['beat_rate']
        tone = partials([1, 2.76, 5.40, 8.93],
                        [1, 0.5, 0.25, 0.12]) * np.exp(-6.0 * beat_time)
    elif timbre == 'buzz':
        tone = partials(range(1, 16), [1.0] * 15)
    elif timbre == 'chirp':
        beat_time = np.mod(t * params['beat_rate'] + params['beat_phase'],
                           1.0) / params['beat_rate']
        sweep = f0 * (1 + 0.5 * beat_time * params['beat_rate'])
        tone = np.sin(2 * np.pi * np.cumsum(sweep) / sample_rate)
    elif timbre == 'tremolo':
        tone = np.sin(2 * np.pi * f0 * t) * (
            0.6 + 0.4 * np.sin(2 * np.pi * 25.0 * t))
    elif timbre == 'fifth':
        tone = partials([1, 1.5], [1, 0.8])
    else:
        raise ValueError(f'unknown timbre {timbre}')
    tone = tone / (np.abs(tone).max() + 1e-9)
    # 5 ms ramps on the gate, so beats click less.
    gate = _gate(t, params['beat_rate'], params['beat_phase'])
    ramp = max(int(0.005 * sample_rate), 1)
    gate = np.convolve(gate, np.ones(ramp) / ramp, mode='same')
    signal = params['loudness'] * tone * gate
    hiss = 10**(params['hiss_db'] / 20)
    out = np.stack([
        signal + hiss * rng.standard_normal(num) for _ in range(channels)
    ])
    return np.clip(out, -1, 1).astype(np.float32)


def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray,
                r: float) -> np.ndarray:
    adx, ady = np.abs(dx), np.abs(dy)
    if shape == 'circle':
        return dx**2 + dy**2 <= r**2
    if shape == 'square':
        return (adx <= 0.8 * r) & (ady <= 0.8 * r)
    if shape == 'triangle':
        return (dy <= 0.8 * r) & (dy >= -r + 2 * adx)
    if shape == 'cross':
        return ((adx <= 0.3 * r) & (ady <= r)) | ((ady <= 0.3 * r) &
                                                  (adx <= r))
    if shape == 'ring':
        d2 = dx**2 + dy**2
        return (d2 <= r**2) & (d2 >= (0.55 * r)**2)
    if shape == 'diamond':
        return adx + ady <= r
    if shape == 'bar':
        return (adx <= 1.3 * r) & (ady <= 0.35 * r)
    if shape == 'xshape':
        return ((np.abs(dx - dy) <= 0.4 * r) | (np.abs(dx + dy) <= 0.4 * r)
                ) & (adx <= 0.85 * r) & (ady <= 0.85 * r)
    if shape == 'ellipse':
        return (dx / (0.55 * r))**2 + (dy / r)**2 <= 1
    if shape == 'halfdisc':
        return (dx**2 + dy**2 <= r**2) & (dy >= 0)
    raise ValueError(f'unknown shape {shape}')


def render_frames(params: Dict, duration: float, fps: float, width: int,
                  height: int) -> Iterable[np.ndarray]:
    """The clip's frames, RGB uint8 ``[height, width, 3]`` each."""
    _, shape, color, _ = TOY_CLASSES[params['class_index']]
    rng = np.random.default_rng(params['texture_seed'])
    # A blocky background texture (8 x 8 cells): a visual nuisance that
    # compresses well.
    cells = rng.integers(-15, 16, size=(height // 8 + 1, width // 8 + 1, 1))
    texture = cells.repeat(8, axis=0).repeat(8, axis=1)[:height, :width]
    background = np.clip(np.array(params['background']) + texture, 0,
                         255).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    short = min(width, height)
    radius = short * (0.07 + 0.13 * _unit(params['loudness'],
                                          *LOUDNESS_RANGE))
    center_y = height * (0.18 + 0.64 *
                         (1 - _unit(params['pitch'], *PITCH_RANGE)))
    color = np.array(color, dtype=np.float32)
    for i in range(int(round(duration * fps))):
        t = i / fps
        center_x = width * np.clip(
            params['x_start'] + params['x_drift'] * (t - duration / 2), 0.1,
            0.9)
        mask = _shape_mask(shape, xx - center_x, yy - center_y, radius)
        brightness = 0.4 + 0.6 * float(
            _gate(np.array([t]), params['beat_rate'], params['beat_phase'])[0])
        frame = background.copy()
        frame[mask] = color * brightness
        yield frame.astype(np.uint8)


def write_av_file(path: str,
                  frames: Optional[Iterable[np.ndarray]] = None,
                  fps: float = 10,
                  audio: Optional[np.ndarray] = None,
                  sample_rate: int = 16000,
                  audio_codec: str = 'aac',
                  pix_fmt: str = 'yuv420p',
                  crf: int = 23,
                  gop: Optional[int] = None,
                  video_size: Optional[Sequence[int]] = None,
                  container_format: Optional[str] = None,
                  faststart: bool = False) -> None:
    """Write a video file with PyAV (no ffmpeg binary needed).

    Args:
        path (str): Output (``.mp4``, ``.mkv``, ``.mov``, ``.wav`` ...).
        frames (Iterable[np.ndarray], optional): RGB uint8 ``[H, W, 3]``
            frames, encoded as h264 (libx264). None: no video track; an
            empty iterable with ``video_size=(w, h)``: a video track without
            frames. Defaults to None.
        fps (float): Frame rate. Defaults to 10.
        audio (np.ndarray, optional): float32 ``[C, N]`` in [-1, 1]; None:
            no audio track. 1, 2 and 6 channels map to mono, stereo, 5.1.
            Defaults to None.
        sample_rate (int): Defaults to 16000.
        audio_codec (str): ``'aac'`` or ``'pcm_s16le'``. Defaults to
            ``'aac'``.
        pix_fmt (str): ``'yuv420p'``, or ``'gray'`` for grayscale.
            Defaults to ``'yuv420p'``.
        crf (int): x264 quality. Defaults to 23.
        gop (int, optional): Keyframe interval in frames. Defaults to
            ``2 * fps``.
        video_size (Sequence[int], optional): ``(w, h)`` when ``frames`` is
            empty. Defaults to None.
        container_format (str, optional): Forced container. Defaults to None.
        faststart (bool): Put the MP4 index first. Defaults to False.
    """
    import av
    from fractions import Fraction

    from cavmae_mm.datasets.av_io import quantize_pcm16
    frames = iter(frames) if frames is not None else None
    first = next(frames, None) if frames is not None else None
    options = {'movflags': '+faststart'} if faststart else {}
    tmp_path = f'{path}.part{os.getpid()}{osp.splitext(path)[1]}'
    container = av.open(
        tmp_path, 'w', format=container_format, options=options)
    video_stream = audio_stream = None
    if frames is not None:
        rate = Fraction(fps).limit_denominator(1001)
        video_stream = container.add_stream('libx264', rate=rate)
        height, width = (first.shape[:2] if first is not None else
                         (video_size[1], video_size[0]))
        video_stream.width, video_stream.height = width, height
        video_stream.pix_fmt = pix_fmt
        video_stream.options = {
            'preset': 'ultrafast',
            'crf': str(crf),
            'g': str(gop or max(int(round(2 * fps)), 1)),
            'threads': '1',  # deterministic output
        }
    if audio is not None:
        layout = {1: 'mono', 2: 'stereo', 6: '5.1'}[audio.shape[0]]
        audio_stream = container.add_stream(
            audio_codec, rate=sample_rate, layout=layout)
        if audio_codec == 'aac':
            audio_stream.options = {'aac_coder': 'fast'}
            audio_stream.bit_rate = 32000 * audio.shape[0]
    if video_stream is not None and first is not None:
        for frame in ([first] + list(frames)):
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame), format='rgb24')
            for packet in video_stream.encode(video_frame):
                container.mux(packet)
    if video_stream is not None:
        for packet in video_stream.encode():
            container.mux(packet)
    if audio_stream is not None:
        planar = audio_codec == 'aac'
        step, pts = 1024, 0
        for start in range(0, audio.shape[1], step):
            chunk = audio[:, start:start + step]
            if planar:
                array = np.ascontiguousarray(chunk, dtype=np.float32)
                audio_format = 'fltp'
            else:  # packed int16, the scale av_io reads back (/ 32768)
                array = quantize_pcm16(chunk.T).reshape(1, -1)
                audio_format = 's16'
            audio_frame = av.AudioFrame.from_ndarray(
                array, format=audio_format, layout=layout)
            audio_frame.sample_rate = sample_rate
            audio_frame.pts = pts
            pts += chunk.shape[1]
            for packet in audio_stream.encode(audio_frame):
                container.mux(packet)
        for packet in audio_stream.encode():
            container.mux(packet)
    container.close()
    os.replace(tmp_path, path)


def write_toy_clip(path: str,
                   params: Dict,
                   duration: float = 10.0,
                   width: int = 320,
                   height: int = 240,
                   fps: float = 10,
                   sample_rate: int = 22050,
                   channels: int = 2,
                   audio_codec: str = 'aac',
                   gop: Optional[int] = None) -> None:
    """Render and write one toy clip (h264 + AAC/PCM)."""
    write_av_file(
        path,
        frames=render_frames(params, duration, fps, width, height),
        fps=fps,
        audio=synthesize_audio(params, duration, sample_rate, channels),
        sample_rate=sample_rate,
        audio_codec=audio_codec,
        gop=gop)


def _write_job(job):
    path, params, clip_kwargs = job
    if not osp.exists(path):
        write_toy_clip(path, params, **clip_kwargs)
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
                     progress: bool = False) -> Dict[str, str]:
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

    Returns:
        dict[str, str]: Paths of the files written (by role).
    """
    if not 1 <= num_classes <= len(TOY_CLASSES):
        raise ValueError(f'num_classes must be in [1, {len(TOY_CLASSES)}]')
    retrieval_per_class = min(retrieval_per_class, val_per_class)
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
            params = clip_params(seed, class_index, clip_index)
            rel_path = f'videos/{video_id}.mp4'
            entry = dict(
                video_id=video_id,
                video=rel_path,
                labels=f'/toy/c{class_index:02d}')
            splits[split].append(entry)
            meta[video_id] = dict(params, split=split)
            jobs.append((osp.join(out_dir, rel_path), params, clip_kwargs))

    if workers > 1:
        from cavmae_mm.datasets.av_io import init_worker_process
        with ProcessPoolExecutor(
                workers, initializer=init_worker_process) as pool:
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
                clip=clip_kwargs,
                classes=[c[0] for c in TOY_CLASSES[:num_classes]],
                clips=meta),
            f,
            indent=1)
    return outputs


def _drain(iterator: Iterable, total: int, progress: bool) -> List:
    from cavmae_mm.utils.progress import track
    return list(track(iterator, total, desc='toy clips', enabled=progress))
