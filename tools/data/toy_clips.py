"""The base toy clip: each class pairs a coloured shape with a timbre, and
every clip draws parameters that both modalities share (pitch <-> height,
loudness <-> size, beat rate <-> blink rate) plus nuisances that only one
modality carries. The data set around them: :mod:`tools.data.toy`.
"""
from typing import Dict, Iterable, Optional

import numpy as np

from .av_writer import write_av_file

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
