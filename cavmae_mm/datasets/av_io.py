"""Reading audio and video files: one owner for decoding and its errors.

Everything that touches a media file goes through this module, so the
transforms, the data tools and the benchmark decode identically and report
bad input the same way (:class:`AVDataError`: the file name and a reason).

Audio tracks of containers are decoded with PyAV (libav*): decord 0.6.0's
``AudioReader`` corrupts multi-channel audio (channel 1 is garbage from the
start, channel 0 diverges after ~110k samples and resampling to 16 kHz returns
values of 3e38 on the sample clips), so it cannot provide the reference's
"first channel". Video frames are decoded with PyAV too: it honours MP4 edit
lists like ffmpeg/OpenCV (the reference's extractor); decord indexes the
hidden pre-roll frames of the VGGSound sample clip and returns other frames.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: Sample rate of every waveform the model sees (SPEC §2).
TARGET_SAMPLE_RATE = 16000
#: Number of frame positions the reference extracts per clip.
NUM_FRAME_POSITIONS = 10
#: Frames are taken from the first ``CLIP_SECONDS`` seconds of a video.
CLIP_SECONDS = 10

# Containers soundfile (libsndfile) reads directly; anything else goes to PyAV.
SOUNDFILE_EXTENSIONS = ('.wav', '.flac', '.ogg', '.aiff', '.aif')


class AVDataError(RuntimeError):
    """A media file that cannot be used, with its path and the reason.

    Args:
        path (str): The offending file (or folder of frames); or, alone,
            the whole message (as PyTorch's DataLoader re-raises it).
        reason (str, optional): Why it cannot be used, e.g.
            ``'no audio track'``. Defaults to None.
    """

    def __init__(self, path: str, reason: Optional[str] = None) -> None:
        if reason is None:
            self.path, self.reason = None, str(path)
            super().__init__(str(path))
            return
        self.path = str(path)
        self.reason = reason
        super().__init__(f'{reason}: {self.path}')

    def __reduce__(self):
        # Keep path and reason when the error crosses a process boundary.
        if self.path is None:
            return (self.__class__, (self.reason, ))
        return (self.__class__, (self.path, self.reason))


@dataclass
class VideoInfo:
    """What a video stream says about itself.

    ``frame_count`` is the container's frame count (which, like OpenCV's
    ``CAP_PROP_FRAME_COUNT``, may include hidden pre-roll frames) or, when the
    container has none, ``duration * fps``.
    """
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float


def _check_exists(path: str) -> None:
    if not osp.exists(path):
        raise AVDataError(path, 'file not found')
    if osp.isdir(path):
        raise AVDataError(path, 'is a directory, not a media file')
    if osp.getsize(path) == 0:
        raise AVDataError(path, 'empty file')


def _open_container(path: str):
    import av
    _check_exists(path)
    try:
        return av.open(path, metadata_errors='ignore')
    except Exception as err:  # PyAV raises many FFmpegError subclasses
        raise AVDataError(path, f'cannot open media file ({err})') from err


def _first_channel_float(frame, channel: int) -> np.ndarray:
    """One channel of a decoded ``av.AudioFrame`` as float32 ``[n]``."""
    samples = frame.to_ndarray()
    fmt = frame.format
    num_channels = len(frame.layout.channels)
    channel = min(channel, num_channels - 1)
    if fmt.is_planar:
        mono = samples[channel]  # [C, n] -> [n]
    else:
        mono = samples.reshape(-1, num_channels)[:, channel]  # interleaved
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
        if not container.streams.audio:
            raise AVDataError(path, 'no audio track')
        stream = container.streams.audio[0]
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


def reference_frame_indices(
        frame_count: int,
        fps: float,
        num_positions: int = NUM_FRAME_POSITIONS,
        max_seconds: float = CLIP_SECONDS) -> List[int]:
    """The reference's frame positions: ``int(i * total / num_positions)``
    with ``total = min(frame_count, int(fps * max_seconds))``.

    (The reference's OpenCV extractor then seeks to ``index - 1``, an
    off-by-one that frame-accurate decoding does not need to copy.)

    Args:
        frame_count (int): Frames the container reports.
        fps (float): Frame rate.
        num_positions (int): Number of positions. Defaults to 10.
        max_seconds (float): Only the first seconds are used. Defaults to 10.

    Returns:
        list[int]: ``num_positions`` frame indices.
    """
    total = min(int(frame_count), int(fps * max_seconds))
    return [int(i * (total / num_positions)) for i in range(num_positions)]


def _video_info(stream, container) -> VideoInfo:
    rate = stream.guessed_rate or stream.average_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1e6
    else:
        duration = 0.0
    frame_count = int(stream.frames or 0)
    if frame_count <= 0 and fps > 0:
        frame_count = int(round(duration * fps))
    return VideoInfo(
        fps=fps,
        frame_count=frame_count,
        width=int(stream.codec_context.width or 0),
        height=int(stream.codec_context.height or 0),
        duration=duration)


def probe_video(path: str) -> VideoInfo:
    """Frame rate, frame count and size of the first video stream.

    Raises:
        AVDataError: unreadable file or no video track.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        if not container.streams.video:
            raise AVDataError(path, 'no video track')
        return _video_info(container.streams.video[0], container)


def read_video_frames(
    path: str,
    positions: Sequence[int],
    num_positions: int = NUM_FRAME_POSITIONS,
    max_seconds: float = CLIP_SECONDS,
    threads: int = 1,
) -> Tuple[List[np.ndarray], List[int], VideoInfo]:
    """Decode the frames at the reference's positions of a video.

    Position ``p`` is frame ``reference_frame_indices(...)[p]``; a frame is
    located by its timestamp (``index / fps`` after the stream start, as
    OpenCV seeks). One seek to the earliest wanted frame, then decoding
    forward. A position past the last decodable frame (containers that
    over-report their frame count, truncated files) gets the last frame, the
    video counterpart of the reference's fall-back to lower frame indices.

    Args:
        path (str): Video file.
        positions (Sequence[int]): Positions in ``[0, num_positions)``.
        num_positions (int): Defaults to 10.
        max_seconds (float): Defaults to 10.
        threads (int): Decoder threads (1 inside data loader workers).
            Defaults to 1.

    Returns:
        tuple: RGB uint8 frames ``[H, W, 3]`` in the order of ``positions``,
        the frame index each one was taken from, and the :class:`VideoInfo`.

    Raises:
        AVDataError: unreadable file, no video track, unknown frame rate or
            no decodable frame.
    """
    path = str(path)
    container = _open_container(path)
    with container:
        if not container.streams.video:
            raise AVDataError(path, 'no video track')
        stream = container.streams.video[0]
        if threads != 1:
            stream.thread_type = 'AUTO'
        stream.codec_context.thread_count = max(int(threads), 0)
        info = _video_info(stream, container)
        if info.fps <= 0:
            raise AVDataError(path, 'unknown frame rate')
        # A container without a frame count: assume a full clip, positions
        # past the end fall back to the last frame.
        frame_count = info.frame_count or int(info.fps * max_seconds)
        indices = reference_frame_indices(frame_count, info.fps,
                                          num_positions, max_seconds)
        wanted = sorted({indices[p] for p in positions})
        time_base = float(stream.time_base)
        start_pts = stream.start_time or 0
        half_frame = 0.5 / info.fps
        if wanted[0] > 0:
            target_pts = start_pts + int(wanted[0] / info.fps / time_base)
            try:
                container.seek(target_pts, stream=stream, backward=True)
            except Exception:
                container.seek(start_pts, stream=stream, backward=True)

        found = {}
        last_frame, last_index, next_wanted = None, -1, 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except Exception:
                    continue  # skip a corrupt packet, as ffmpeg does
                for frame in frames:
                    if frame.pts is None:
                        seconds = (last_index + 1) / info.fps
                    else:
                        seconds = (frame.pts - start_pts) * time_base
                    frame_index = max(int(round(seconds * info.fps)), 0)
                    last_frame, last_index = frame, frame_index
                    while (next_wanted < len(wanted)
                           and seconds >= wanted[next_wanted] / info.fps -
                           half_frame):
                        found[wanted[next_wanted]] = (
                            frame.to_ndarray(format='rgb24'), frame_index)
                        next_wanted += 1
                    if next_wanted == len(wanted):
                        break
                if next_wanted == len(wanted):
                    break
        except Exception as err:  # demuxing failed mid-file
            if last_frame is None:
                raise AVDataError(path,
                                  f'cannot decode video ({err})') from err
        if last_frame is None:
            raise AVDataError(path, 'no decodable video frames')
        if next_wanted < len(wanted):
            tail = (last_frame.to_ndarray(format='rgb24'), last_index)
            for index in wanted[next_wanted:]:
                found[index] = tail
    frames = [found[indices[p]][0] for p in positions]
    frame_inds = [found[indices[p]][1] for p in positions]
    return frames, frame_inds, info


def frame_jpeg_path(frame_dir: str, video_id: str, position: int) -> str:
    """``<frame_dir>/frame_<position>/<video_id>.jpg`` (reference layout)."""
    return osp.join(frame_dir, f'frame_{position}', f'{video_id}.jpg')


def read_image(path: str) -> np.ndarray:
    """Decode an image file as a viewer shows it: PIL, turned upright by
    its EXIF orientation tag (``ImageOps.exif_transpose``; a no-op for the
    tag-less JPEGs the frame extractors write, so pre-extracted frames
    decode exactly as the reference's ``Image.open(...).convert('RGB')``),
    then RGB. The one image decoder of the package.

    Args:
        path (str): Image file (JPEG, PNG, ...).

    Returns:
        np.ndarray: RGB uint8 ``[H, W, 3]``.

    Raises:
        AVDataError: missing file or undecodable image.
    """
    from PIL import Image, ImageOps
    path = str(path)
    if not osp.isfile(path):
        raise AVDataError(path, 'file not found')
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            if upright.mode != 'RGB':
                upright = upright.convert('RGB')
            return np.asarray(upright)
    except Exception as err:
        raise AVDataError(path, f'cannot decode image ({err})') from err


def read_frame_jpegs(frame_dir: str, video_id: str,
                     positions: Sequence[int]
                     ) -> Tuple[List[np.ndarray], List[int]]:
    """Read pre-extracted frames, falling back to lower positions when a
    frame is missing (the reference's rule); decoded by :func:`read_image`.

    Args:
        frame_dir (str): Root holding ``frame_<i>/`` folders.
        video_id (str): File stem of the frames.
        positions (Sequence[int]): Wanted positions.

    Returns:
        tuple: RGB uint8 frames ``[H, W, 3]`` and the positions actually read.

    Raises:
        AVDataError: no frame at or below a wanted position, or an
            undecodable JPEG.
    """
    frames, used = [], []
    for position in positions:
        candidate = position
        while (candidate >= 1 and not osp.exists(
                frame_jpeg_path(frame_dir, video_id, candidate))):
            candidate -= 1
        path = frame_jpeg_path(frame_dir, video_id, candidate)
        if not osp.exists(path):
            raise AVDataError(
                frame_jpeg_path(frame_dir, video_id, position),
                f'missing frame (none of frame_0..frame_{position} exists)')
        frames.append(read_image(path))
        used.append(candidate)
    return frames, used


def is_silent(waveform: np.ndarray, threshold: float = 1e-4) -> bool:
    """Whether the peak amplitude is below ``threshold`` (-80 dBFS)."""
    if waveform.size == 0:
        return True
    return max(float(waveform.max()), -float(waveform.min())) < threshold


def init_worker_process() -> None:
    """Initializer of the data tools' worker processes: one torch thread,
    as in a DataLoader worker. (A process forked after its parent used
    torch's OpenMP pool hangs in its first parallel region otherwise.)"""
    import torch
    torch.set_num_threads(1)


def resolve_path(path: Optional[str], root: Optional[str]) -> Optional[str]:
    """``path`` if absolute (or ``root`` is None), else ``root/path``."""
    if path is None or path == '' or root is None or osp.isabs(path):
        return path
    return osp.join(root, path)
