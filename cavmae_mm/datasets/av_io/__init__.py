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
Frames are taken by presentation time over the clip's real duration and
turned as the stream's display matrix says (:mod:`.video`, :mod:`.display`).
"""
from .audio import (is_silent, quantize_pcm16, read_audio, read_audio_bytes,
                    wav_bytes, write_wav)
from .common import (CLIP_SECONDS, NUM_FRAME_POSITIONS, SOUNDFILE_EXTENSIONS,
                     TARGET_SAMPLE_RATE, AVDataError, init_worker_process,
                     resolve_path)
from .images import (decode_frame_jpegs, frame_jpeg_path, read_frame_jpegs,
                     read_image, read_image_bytes)
from .video import (VideoInfo, grid_frame_count, probe_video,
                    read_video_frames, reference_frame_indices)

__all__ = [
    'TARGET_SAMPLE_RATE', 'NUM_FRAME_POSITIONS', 'CLIP_SECONDS',
    'SOUNDFILE_EXTENSIONS', 'AVDataError', 'resolve_path',
    'init_worker_process', 'read_audio', 'read_audio_bytes', 'wav_bytes',
    'write_wav', 'quantize_pcm16',
    'is_silent', 'VideoInfo', 'probe_video', 'read_video_frames',
    'reference_frame_indices', 'grid_frame_count', 'frame_jpeg_path',
    'read_image', 'read_image_bytes', 'read_frame_jpegs', 'decode_frame_jpegs'
]
