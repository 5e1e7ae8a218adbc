"""Toy clips whose sound and picture change over time (CAV-MAE Sync).

A clip holds 2-4 events one after the other: the clip is cut into slots
of random lengths (boundaries within a quarter of a nominal slot of the
equal split), one event per slot, with a short gap (0.1-0.25 s) at each
inner boundary; the first event starts at 0, the last ends with the clip.
An event is a toy class (:data:`~tools.data.toy_clips.TOY_CLASSES`): its
timbre sounds and its coloured shape is shown during the event's window,
nothing but the background and hiss in the gaps. One event has the clip's
class (its label, in a random slot); the others have other classes.
Within an event the pitch glides (a quarter to half an octave up or down
from its centre) and the shape's height follows it, as pitch <-> height in
the base toy; the loudness sets the shape's size. So which audio segment
goes with which frame is decided by the event (class) and, inside an
event, by the pitch <-> height at that moment. ``toy_meta.json`` lists
every clip's events.
"""
from typing import Dict, Iterable, List, Optional

import numpy as np

from .av_writer import write_av_file
from .toy_clips import (LOUDNESS_RANGE, PITCH_RANGE, TOY_CLASSES, _shape_mask,
                        _unit)

#: Frame positions per clip that ``make_toy_av.py --variant sync
#: --extract`` writes (every 0.5 s of a 4 s clip).
SYNC_NUM_POSITIONS = 8
#: Events per clip (inclusive range).
EVENTS_PER_CLIP = (2, 4)
#: Inner slot boundaries move up to this fraction of a nominal slot.
BOUNDARY_JITTER = 0.25
#: Silence between two events, seconds.
GAP_RANGE = (0.1, 0.25)
#: Centre pitches stay half an octave inside PITCH_RANGE: with the glide
#: the pitch never leaves it.
SYNC_PITCH_RANGE = (PITCH_RANGE[0] * 2**0.5, PITCH_RANGE[1] / 2**0.5)
SYNC_LOUDNESS_RANGE = (0.2, LOUDNESS_RANGE[1])
#: An event's rms at loudness 1: at the least loudness 0.06, 3.4 times the
#: loudest hiss (-35 dBFS); the peakiest timbre (bell) stays below 1.
EVENT_RMS = 0.3


def sync_clip_params(seed: int, class_index: int, clip_index: int,
                     num_classes: int, duration: float) -> Dict:
    """The events and nuisances of one clip, a pure function of its ids.

    Args:
        seed (int): Data set seed.
        class_index (int): The clip's class (one event's).
        clip_index (int): Index within the class.
        num_classes (int): Classes the other events draw from.
        duration (float): Clip length in seconds.

    Returns:
        dict: ``class_index``, ``events`` (each ``class_index``, ``start``,
        ``end`` seconds, ``pitch`` Hz at the middle, ``glide`` octaves
        over the event, ``loudness``, ``x``), ``background``,
        ``texture_seed``, ``hiss_db``.
    """
    rng = np.random.default_rng([seed, class_index, clip_index, 1])
    num_events = int(rng.integers(EVENTS_PER_CLIP[0], EVENTS_PER_CLIP[1] + 1))
    others = [c for c in range(num_classes) if c != class_index]
    if len(others) >= num_events - 1:
        classes = list(rng.choice(others, num_events - 1, replace=False))
    else:  # too few classes: repeats allowed
        classes = list(rng.choice(num_classes, num_events - 1))
    classes = [class_index] + [int(c) for c in classes]
    slots = rng.permutation(num_events)  # event e sounds in slot slots[e]
    nominal = duration / num_events
    inner = (np.arange(1, num_events) +
             rng.uniform(-BOUNDARY_JITTER, BOUNDARY_JITTER,
                         num_events - 1)) * nominal
    gaps = rng.uniform(*GAP_RANGE, num_events - 1)
    starts = np.concatenate([[0.0], inner + gaps / 2])
    ends = np.concatenate([inner - gaps / 2, [duration]])
    events = []
    for event_class, slot_index in zip(classes, slots):
        log_low, log_high = np.log(SYNC_PITCH_RANGE)
        events.append(
            dict(class_index=event_class,
                 start=float(starts[slot_index]),
                 end=float(ends[slot_index]),
                 pitch=float(np.exp(rng.uniform(log_low, log_high))),
                 glide=float(rng.choice((-1, 1)) * rng.uniform(0.5, 1.0)),
                 loudness=float(np.exp(rng.uniform(
                     *np.log(SYNC_LOUDNESS_RANGE)))),
                 x=float(rng.uniform(0.25, 0.75))))
    events.sort(key=lambda event: event['start'])
    return dict(
        class_index=class_index,
        events=events,
        background=[int(v) for v in rng.integers(0, 70, size=3)],
        texture_seed=int(rng.integers(1 << 31)),
        hiss_db=float(rng.uniform(-55, -35)))


def event_pitch(event: Dict, t: np.ndarray) -> np.ndarray:
    """Instantaneous pitch (Hz) of an event at times ``t`` (seconds):
    ``pitch * 2 ** (glide * (t - middle) / length)``."""
    middle = 0.5 * (event['start'] + event['end'])
    length = event['end'] - event['start']
    return event['pitch'] * 2.0**(event['glide'] * (t - middle) / length)


def active_event(params: Dict, t: float) -> Optional[Dict]:
    """The event sounding and shown at time ``t``, or None."""
    for event in params['events']:
        if event['start'] <= t < event['end']:
            return event
    return None


def _event_tone(timbre: str, freq: np.ndarray, t: np.ndarray,
                sample_rate: int, rng) -> np.ndarray:
    """One event's waveform for instantaneous pitch ``freq``, at rms
    :data:`EVENT_RMS` (every timbre equally loud, peaky ones too)."""
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    nyquist = 0.45 * sample_rate

    def partials(ratios, amps):
        out = np.zeros_like(t)
        for ratio, amp in zip(ratios, amps):
            if ratio * freq.max() < nyquist:
                out += amp * np.sin(ratio * phase)
        return out

    since = t - t[0]
    if timbre == 'sine':
        tone = np.sin(phase)
    elif timbre == 'square':
        tone = partials([1, 3, 5, 7, 9], [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9])
    elif timbre == 'saw':
        tone = partials(range(1, 9), [1 / k for k in range(1, 9)])
    elif timbre == 'noise':  # noise amplitude-modulated by the tone
        tone = rng.standard_normal(len(t)) * (0.3 + np.sin(phase))
    elif timbre == 'vibrato':
        tone = np.sin(phase + 0.04 * freq / 6.0 * np.sin(2 * np.pi * 6 * t))
    elif timbre == 'bell':  # struck twice a second
        tone = partials([1, 2.76, 5.40, 8.93], [1, 0.5, 0.25, 0.12]) * \
            np.exp(-3.0 * np.mod(since, 0.5))
    elif timbre == 'buzz':
        tone = partials(range(1, 16), [1.0] * 15)
    elif timbre == 'chirp':  # a rising sweep 4 times a second
        sweep = freq * (1 + 2 * np.mod(since, 0.25))
        tone = np.sin(2 * np.pi * np.cumsum(sweep) / sample_rate)
    elif timbre == 'tremolo':
        tone = np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 25.0 * t))
    elif timbre == 'fifth':
        tone = partials([1, 1.5], [1, 0.8])
    else:
        raise ValueError(f'unknown timbre {timbre}')
    return tone * (EVENT_RMS / (np.sqrt(np.mean(tone**2)) + 1e-9))


def synthesize_sync_audio(params: Dict, duration: float, sample_rate: int,
                          channels: int = 1) -> np.ndarray:
    """The clip's sound, float32 ``[channels, N]``: each event's tone in
    its window (10 ms fades), hiss throughout."""
    num = int(round(duration * sample_rate))
    t = np.arange(num) / sample_rate
    rng = np.random.default_rng(params['texture_seed'])
    signal = np.zeros(num)
    for event in params['events']:
        first = int(np.ceil(event['start'] * sample_rate))
        last = min(int(np.ceil(event['end'] * sample_rate)), num)
        if last - first < 2:
            continue
        window = t[first:last]
        timbre = TOY_CLASSES[event['class_index']][3]
        tone = _event_tone(timbre, event_pitch(event, window), window,
                           sample_rate, rng)
        fade = min(int(0.01 * sample_rate), (last - first) // 2)
        envelope = np.ones(last - first)
        envelope[:fade] = np.linspace(0, 1, fade)
        envelope[len(envelope) - fade:] = np.linspace(1, 0, fade)
        signal[first:last] += event['loudness'] * tone * envelope
    hiss = 10**(params['hiss_db'] / 20)
    out = np.stack([
        signal + hiss * rng.standard_normal(num) for _ in range(channels)
    ])
    return np.clip(out, -1, 1).astype(np.float32)


def render_sync_frames(params: Dict, duration: float, fps: float, width: int,
                       height: int) -> Iterable[np.ndarray]:
    """The clip's frames, RGB uint8 ``[height, width, 3]`` each: the active
    event's shape (height from its pitch at that instant, size from its
    loudness) on a textured background."""
    rng = np.random.default_rng(params['texture_seed'])
    cells = rng.integers(-15, 16, size=(height // 8 + 1, width // 8 + 1, 1))
    texture = cells.repeat(8, axis=0).repeat(8, axis=1)[:height, :width]
    background = np.clip(np.array(params['background']) + texture, 0,
                         255).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    short = min(width, height)
    for i in range(int(round(duration * fps))):
        t = i / fps
        frame = background.copy()
        event = active_event(params, t)
        if event is not None:
            _, shape, color, _ = TOY_CLASSES[event['class_index']]
            pitch = float(event_pitch(event, np.array(t)))
            center_y = height * (0.18 + 0.64 *
                                 (1 - _unit(pitch, *PITCH_RANGE)))
            radius = short * (0.07 + 0.13 * _unit(event['loudness'],
                                                  *LOUDNESS_RANGE))
            mask = _shape_mask(shape, xx - width * event['x'],
                               yy - center_y, radius)
            frame[mask] = color
        yield frame


def write_sync_clip(path: str,
                    params: Dict,
                    duration: float = 10.0,
                    width: int = 320,
                    height: int = 240,
                    fps: float = 10,
                    sample_rate: int = 22050,
                    channels: int = 2,
                    audio_codec: str = 'aac',
                    gop: Optional[int] = None) -> None:
    """Render and write one sync toy clip (h264 + AAC/PCM); the arguments
    are :func:`~tools.data.toy_clips.write_toy_clip`'s."""
    write_av_file(
        path,
        frames=render_sync_frames(params, duration, fps, width, height),
        fps=fps,
        audio=synthesize_sync_audio(params, duration, sample_rate, channels),
        sample_rate=sample_rate,
        audio_codec=audio_codec,
        gop=gop)


def event_classes(params: Dict) -> List[int]:
    """Classes of a clip's events in time order."""
    return [event['class_index'] for event in params['events']]
