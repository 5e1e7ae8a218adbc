"""Shared fixtures: the sample clips, MMAction2's registry scope, what the
MMEngine logger says, and a factory of small media files."""
import logging
from pathlib import Path

import numpy as np
import pytest

SAMPLES_DIR = Path(__file__).resolve().parents[1].parent / 'shared' / 'samples'


@pytest.fixture(scope='session')
def samples_dir():
    """``../shared/samples`` (two real clips + the AudioSet label CSV)."""
    if not (SAMPLES_DIR / 'class_labels_indices_as.csv').exists():
        pytest.skip(f'sample clips not found at {SAMPLES_DIR}')
    return SAMPLES_DIR


@pytest.fixture
def mmaction_scope():
    """Build transforms/datasets from MMAction2's registries."""
    import cavmae_mm  # noqa: F401  (registers our modules)
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')


@pytest.fixture
def logged():
    """What the current MMEngine logger emits during the test:
    ``logged()`` returns the messages so far, ``logged(logging.WARNING)``
    those at that level or above."""
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield lambda level=logging.NOTSET: [
        record.getMessage() for record in records if record.levelno >= level
    ]
    logger.removeHandler(handler)


def tone(freq, duration, sample_rate, amplitude=0.5):
    """A sine, float32 ``[N]``."""
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def make_clip(tmp_path):
    """Write a small clip and return its path.

    Keywords: ``name``, ``duration`` (s), ``size`` (w, h), ``fps``,
    ``sample_rate``, ``channels``, ``freqs`` (one tone per channel, 0 for
    silence), ``audio`` (False: no audio track), ``video`` (False: no video
    track, ``'empty'``: a track without frames, ``'garbage'``: every video
    packet replaced by random bytes), ``pix_fmt``,
    ``audio_codec``, ``faststart``, ``frames`` (explicit RGB frames).
    """

    def factory(name='clip.mp4', duration=2.0, size=(64, 48), fps=10,
                sample_rate=16000, channels=1, freqs=None, audio=True,
                video=True, pix_fmt='yuv420p', audio_codec='aac',
                faststart=False, frames=None):
        from tools.data.av_writer import write_av_file
        path = tmp_path / name
        audio_data = None
        if audio:
            freqs = freqs or [440.0 * (c + 1) for c in range(channels)]
            audio_data = np.stack([
                tone(f, duration, sample_rate) if f else np.zeros(
                    int(round(duration * sample_rate)), np.float32)
                for f in freqs
            ])
        if video == 'garbage':
            source = factory(f'source_of_{name}', duration, size, fps,
                             sample_rate, channels, freqs, audio, True,
                             pix_fmt, audio_codec, faststart, frames)
            _replace_video_packets_with_garbage(source, str(path))
            return str(path)
        if video == 'empty':
            video_frames = []
        elif video:
            width, height = size
            if frames is None:
                frames = [
                    np.full((height, width, 3), (i * 10) % 256, np.uint8)
                    for i in range(int(round(duration * fps)))
                ]
            video_frames = frames
        else:
            video_frames = None
        write_av_file(
            str(path), frames=video_frames, fps=fps, audio=audio_data,
            sample_rate=sample_rate, audio_codec=audio_codec,
            pix_fmt=pix_fmt, video_size=size, faststart=faststart)
        return str(path)

    return factory


def _replace_video_packets_with_garbage(src_path, path):
    """Copy ``src_path`` to ``path`` with every video packet's payload
    replaced by random bytes (timestamps kept, audio untouched)."""
    import av
    rng = np.random.default_rng(0)
    with av.open(src_path) as src, av.open(path, 'w') as out:
        video = out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == 'video':
                junk = av.Packet(rng.bytes(packet.size))
                junk.pts, junk.dts = packet.pts, packet.dts
                junk.time_base, junk.stream = packet.time_base, video
                out.mux(junk)
            else:
                packet.stream = audio
                out.mux(packet)
