"""Reading and writing audio: one channel at 16 kHz, as the reference's
offline ``ffmpeg -ar 16000`` + ``sox remix 1`` conversion made it."""
import io
import os
from typing import Tuple

import numpy as np

from .common import (SOUNDFILE_EXTENSIONS, TARGET_SAMPLE_RATE, AVDataError,
                     _check_exists, _open_container, first_stream)


#: numpy types of the planar sample formats, read plane by plane.
_PLANAR_DTYPES = dict(u8p=np.uint8, s16p=np.int16, s32p=np.int32,
                      fltp=np.float32, dblp=np.float64)


def _first_channel_float(frame, channel: int) -> np.ndarray:
    """One channel of a decoded ``av.AudioFrame`` as float32 ``[n]``.

    A planar frame's channel is read from its own plane (a copy: the
    decoder reuses the frame's memory), not through ``to_ndarray``, which
    copies and stacks every channel's plane first."""
    fmt = frame.format
    num_channels = len(frame.layout.channels)
    channel = min(channel, num_channels - 1)
    if fmt.name in _PLANAR_DTYPES:
        mono = np.frombuffer(frame.planes[channel],
                             dtype=_PLANAR_DTYPES[fmt.name],
                             count=frame.samples)
        if mono.dtype == np.float32:
            return mono.copy()
    else:
        samples = frame.to_ndarray()
        if fmt.is_planar:
            mono = samples[channel]  # [C, n] -> [n]
        else:  # interleaved
            mono = samples.reshape(-1, num_channels)[:, channel]
    if mono.dtype == np.float32:
        return mono
    if mono.dtype == np.float64:
        return mono.astype(np.float32)
    if mono.dtype == np.int16:
        return mono.astype(np.float32) / 32768.0
    if mono.dtype == np.int32:
        return (mono.astype(np.float64) / 2147483648.0).astype(np.float32)
    if mono.dtype == np.uint8:
        return (mono.astype(np.float32) - 128.0) / 128.0
    raise TypeError(f'unsupported audio sample format {fmt.name}')


def _resample(waveform: np.ndarray, orig_rate: int,
              sample_rate: int) -> np.ndarray:
    """Resample a mono float32 waveform with libswresample (ffmpeg's
    ``-ar``), the resampler the reference's offline conversion used."""
    import av
    if orig_rate == sample_rate or waveform.size == 0:
        return waveform
    resampler = av.AudioResampler(
        format='fltp', layout='mono', rate=sample_rate)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(waveform[None]), format='fltp', layout='mono')
    frame.sample_rate = orig_rate
    chunks = [out.to_ndarray()[0] for out in resampler.resample(frame)]
    chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _decode_audio_track(path: str, channel: int) -> Tuple[np.ndarray, dict]:
    """Decode one channel of the first audio stream at its native rate."""
    container = _open_container(path)
    with container:
        stream = first_stream(container, path, 'audio')
        chunks, orig_rate, bad_packets = [], stream.rate, 0
        num_channels = stream.channels
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:
                    # Like ffmpeg's CLI: skip an undecodable packet, go on.
                    bad_packets += 1
                    continue
                for frame in frames:
                    chunks.append(_first_channel_float(frame, channel))
                    orig_rate = frame.sample_rate
                    num_channels = len(frame.layout.channels)
        except AVDataError:
            raise
        except Exception as err:  # demuxing failed (truncated/corrupt)
            if not chunks:
                raise AVDataError(path,
                                  f'cannot decode audio ({err})') from err
            bad_packets += 1
    if not chunks:
        raise AVDataError(path, 'no decodable audio samples')
    waveform = np.concatenate(chunks)
    info = dict(
        orig_sample_rate=int(orig_rate),
        num_channels=int(num_channels),
        bad_packets=bad_packets)
    return waveform, info


def read_audio(path: str,
               sample_rate: int = TARGET_SAMPLE_RATE,
               channel: int = 0) -> Tuple[np.ndarray, dict]:
    """Read one channel of an audio file or of a video's audio track.

    Files soundfile reads at the target rate (the reference's 16 kHz mono
    wavs) are read exactly as ``torchaudio.load`` reads them (``int16 /
    32768``); anything else (mp4/mkv/m4a/mp3, other rates) is decoded with
    PyAV, its ``channel`` taken, and resampled with libswresample -- the
    same as the reference's ``ffmpeg -ar 16000`` + ``sox remix 1``.

    Args:
        path (str): Audio (wav/flac/...) or video file.
        sample_rate (int): Output rate. Defaults to 16000.
        channel (int): Channel to keep (the last one if the file has fewer).
            Defaults to 0.

    Returns:
        tuple[np.ndarray, dict]: float32 waveform ``[N]`` and information
        ``orig_sample_rate``, ``num_channels``, ``bad_packets``.

    Raises:
        AVDataError: missing/empty/unreadable file, no audio track, or no
            decodable samples.
    """
    path = str(path)
    _check_exists(path)
    if path.lower().endswith(SOUNDFILE_EXTENSIONS):
        import soundfile
        try:
            sound_file = soundfile.SoundFile(path)
        except Exception:
            sound_file = None  # not something libsndfile reads: try PyAV
        if sound_file is not None:
            with sound_file:
                orig_rate = sound_file.samplerate
                try:
                    data = sound_file.read(dtype='float32',
                                           always_2d=True)  # [N, C]
                except Exception as err:
                    raise AVDataError(
                        path, f'cannot decode audio ({err})') from err
            if data.shape[0] == 0:
                raise AVDataError(path, 'no decodable audio samples')
            waveform = np.ascontiguousarray(
                data[:, min(channel, data.shape[1] - 1)])
            info = dict(
                orig_sample_rate=int(orig_rate),
                num_channels=int(data.shape[1]),
                bad_packets=0)
            return _resample(waveform, orig_rate, sample_rate), info
    waveform, info = _decode_audio_track(path, channel)
    return _resample(waveform, info['orig_sample_rate'], sample_rate), info


def read_audio_bytes(data: bytes,
                     name: str,
                     sample_rate: int = TARGET_SAMPLE_RATE,
                     channel: int = 0) -> Tuple[np.ndarray, dict]:
    """:func:`read_audio` of a sound file held in memory (wav/flac, e.g.
    the wav of a shard sample), read by soundfile as the file path is
    (``int16 / 32768`` for PCM16) and resampled likewise; ``name`` stands
    for the file in errors.

    Raises:
        AVDataError: empty or undecodable data.
    """
    import soundfile
    if not data:
        raise AVDataError(name, 'empty file')
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound_file:
            orig_rate = sound_file.samplerate
            samples = sound_file.read(dtype='float32', always_2d=True)
    except Exception as err:
        raise AVDataError(name, f'cannot decode audio ({err})') from err
    if samples.shape[0] == 0:
        raise AVDataError(name, 'no decodable audio samples')
    waveform = np.ascontiguousarray(
        samples[:, min(channel, samples.shape[1] - 1)])
    info = dict(orig_sample_rate=int(orig_rate),
                num_channels=int(samples.shape[1]), bad_packets=0)
    return _resample(waveform, orig_rate, sample_rate), info


def wav_bytes(waveform: np.ndarray,
              sample_rate: int = TARGET_SAMPLE_RATE) -> bytes:
    """A mono 16-bit PCM wav file, in memory, as :func:`write_wav` writes
    it to disk."""
    import soundfile
    buffer = io.BytesIO()
    soundfile.write(buffer, quantize_pcm16(waveform), sample_rate,
                    subtype='PCM_16', format='WAV')
    return buffer.getvalue()


def quantize_pcm16(waveform: np.ndarray) -> np.ndarray:
    """float32 ``[-1, 1]`` -> int16 as libswresample converts (round to
    nearest, clip), i.e. what ``ffmpeg -ar 16000 out.wav`` writes."""
    return np.clip(np.rint(waveform * 32768.0), -32768,
                   32767).astype(np.int16)


def write_wav(path: str, waveform: np.ndarray,
              sample_rate: int = TARGET_SAMPLE_RATE) -> None:
    """Write a mono 16-bit PCM wav atomically (temporary file + rename)."""
    import soundfile
    tmp_path = f'{path}.tmp{os.getpid()}.wav'
    soundfile.write(
        tmp_path, quantize_pcm16(waveform), sample_rate, subtype='PCM_16')
    os.replace(tmp_path, path)


def is_silent(waveform: np.ndarray, threshold: float = 1e-4) -> bool:
    """Whether the peak amplitude is below ``threshold`` (-80 dBFS)."""
    if waveform.size == 0:
        return True
    return max(float(waveform.max()), -float(waveform.min())) < threshold
