"""Writing audio-visual files with PyAV (no ffmpeg binary needed): the
generator behind the toy data sets and the tests' special cases."""
import os
import os.path as osp
from typing import Iterable, Optional, Sequence

import numpy as np


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
                from cavmae_mm.datasets.av_io import quantize_pcm16
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
