"""Small clips written with PyAV whose frames say which they are, with the
timestamps, container, codecs and display matrix a test chooses."""
import struct
from fractions import Fraction

import av
import numpy as np

#: FFmpeg display matrices (``av_display_rotation_set`` /
#: ``av_display_matrix_flip``; 16.16 fixed point, ``w`` in 2.30). The key is
#: what ``VideoFrame.rotation`` / ffprobe report: counter-clockwise degrees.
ONE = 1 << 16
DISPLAY_MATRICES = {
    -90: [0, ONE, 0, -ONE, 0, 0, 0, 0, 1 << 30],  # a phone held upright
    90: [0, -ONE, 0, ONE, 0, 0, 0, 0, 1 << 30],
    180: [-ONE, 0, 0, 0, -ONE, 0, 0, 0, 1 << 30],
    'hflip': [-ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30],
}


def numbered_frame(number, size=(64, 48)):
    """RGB ``[H, W, 3]`` frame that shows ``number`` (< 256) in a way lossy
    codecs keep: left half ``16 * (number // 16)``, right half
    ``16 * (number % 16)``."""
    width, height = size
    frame = np.empty((height, width, 3), np.uint8)
    frame[:, :width // 2] = 16 * (number // 16)
    frame[:, width // 2:] = 16 * (number % 16)
    return frame


def frame_number(image):
    """The number :func:`numbered_frame` drew (read away from the edge)."""
    width = image.shape[1]
    high = image[:, width // 8:3 * width // 8].mean()
    low = image[:, 5 * width // 8:7 * width // 8].mean()
    return int(round(high / 16)) * 16 + int(round(low / 16))


def patch_tkhd_matrix(path, matrix):
    """Write ``matrix`` into the first track header (``tkhd``) of an MP4, as
    a phone does: the display matrix at a fixed offset in the box."""
    data = bytearray(open(path, 'rb').read())
    at = data.find(b'tkhd', data.find(b'moov'))
    version = data[at + 4]
    # type, version + flags, times/track id/duration, reserved/layer/
    # alternate group/volume/reserved, then the 3x3 matrix (big-endian).
    offset = at + 4 + 4 + (32 if version == 1 else 20) + 16
    struct.pack_into('>9i', data, offset, *matrix)
    with open(path, 'wb') as f:
        f.write(data)


def write_clip(path,
               slots,
               rate=10,
               images=None,
               video_codec='libx264',
               audio_codec=None,
               container_format=None,
               container_options=None,
               display_matrix=None,
               matrix_via='side data',
               size=(64, 48),
               sample_rate=16000):
    """Write a clip whose frame ``k`` is shown from ``slots[k] / rate`` s.

    Args:
        path: Output file.
        slots (list[int]): Presentation times in units of ``1 / rate``
            (gaps make a variable-rate clip).
        rate (int): The time grid (and nominal frame rate).
        images (list[np.ndarray], optional): The frames; default
            ``numbered_frame(slot)``.
        video_codec, audio_codec (str): Encoders (``audio_codec`` None: no
            audio track; else a 440 Hz tone as long as the video).
        container_format (str, optional): Forced muxer.
        container_options (dict, optional): Muxer options.
        display_matrix (list[int], optional): 9 integers.
        matrix_via (str): ``'side data'`` (PyAV's ``set_display_matrix``,
            written by the muxer) or ``'tkhd'`` (patched into the MP4).
        size (tuple): ``(w, h)``.
        sample_rate (int): Audio rate.
    """
    path = str(path)
    if images is None:
        images = [numbered_frame(slot, size) for slot in slots]
    time_base = Fraction(1, rate)
    with av.open(path, 'w', format=container_format,
                 options=container_options or {}) as container:
        video = container.add_stream(video_codec, rate=rate)
        video.width, video.height = images[0].shape[1], images[0].shape[0]
        video.pix_fmt = 'yuv420p'
        if video_codec == 'libx264':
            video.options = {'preset': 'ultrafast', 'qp': '4',
                             'threads': '1'}
        video.codec_context.time_base = time_base
        if display_matrix is not None and matrix_via == 'side data':
            video.set_display_matrix(display_matrix)
        audio = None
        if audio_codec is not None:
            audio = container.add_stream(audio_codec, rate=sample_rate,
                                         layout='mono')
            audio.bit_rate = 64000  # wmav2 refuses less than 24 kb/s
        for image, slot in zip(images, slots):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image),
                                               format='rgb24')
            frame.pts, frame.time_base = slot, time_base
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            seconds = (slots[-1] + 1) / rate
            samples = int(seconds * sample_rate)
            tone = np.sin(2 * np.pi * 440 * np.arange(samples) /
                          sample_rate) * 0.5
            pcm = (tone * 32767).astype(np.int16)
            for start in range(0, samples, 1024):
                chunk = pcm[None, start:start + 1024]
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk), format='s16', layout='mono')
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    if display_matrix is not None and matrix_via == 'tkhd':
        patch_tkhd_matrix(path, display_matrix)
    return path
