"""What every reader shares: the constants of the reference's data, the
error type and opening a media file."""
import os.path as osp
from typing import Optional

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


def _missing_track(container, path: str, kind: str) -> AVDataError:
    """The error for a file without a ``kind`` ('audio'/'video') track:
    ``no <kind> track``, or ``not a media file`` when it has neither (a
    subtitle or data file that FFmpeg opens)."""
    if not container.streams.audio and not container.streams.video:
        found = sorted({stream.type for stream in container.streams})
        return AVDataError(
            path, 'not a media file (no audio or video stream; streams: '
            f'{", ".join(found) or "none"})')
    return AVDataError(path, f'no {kind} track')


def first_stream(container, path: str, kind: str):
    """The first ``kind`` ('audio'/'video') stream of an open container.

    Raises:
        AVDataError: No such track (see :func:`_missing_track`), or no
            decoder for its codec in this FFmpeg build.
    """
    streams = getattr(container.streams, kind)
    if not streams:
        raise _missing_track(container, path, kind)
    if streams[0].codec_context is None:
        raise AVDataError(path, f'unsupported {kind} codec (no decoder in '
                          f'this FFmpeg build)')
    return streams[0]


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
