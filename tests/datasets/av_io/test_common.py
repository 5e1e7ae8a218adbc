"""Files neither reader can use (cavmae_mm/datasets/av_io/common.py: opening
a media file, AVDataError with the path and the reason), and what
read_audio / read_video_frames make of truncated files and missing
tracks."""
import numpy as np
import pytest

from cavmae_mm.datasets.av_io import (AVDataError, read_audio,
                                      read_video_frames)


@pytest.mark.parametrize('case, reason', [
    ('missing', 'file not found'),
    ('empty', 'empty file'),
    ('random', 'cannot open media file'),
    ('truncated', 'cannot open media file'),
])
def test_unusable_files_name_file_and_reason(tmp_path, make_clip, case,
                                             reason):
    path = str(tmp_path / f'{case}.mp4')
    if case == 'empty':
        open(path, 'wb').close()
    elif case == 'random':
        with open(path, 'wb') as f:
            f.write(np.random.default_rng(0).bytes(4000))
    elif case == 'truncated':  # index (moov) at the end: cut off
        data = open(make_clip(), 'rb').read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])
    for read in (lambda: read_audio(path),
                 lambda: read_video_frames(path, [5])):
        with pytest.raises(AVDataError) as info:
            read()
        assert info.value.path == path
        assert info.value.reason.startswith(reason)
        assert path in str(info.value)


def test_truncated_faststart_file_decodes_what_is_there(tmp_path, make_clip):
    """Index first, data cut: the decodable part is used (a short clip)."""
    data = open(make_clip(faststart=True), 'rb').read()
    path = str(tmp_path / 'cut.mp4')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    waveform, _ = read_audio(path)
    assert 0 < waveform.shape[0] < 32000
    frames, inds, info = read_video_frames(path, list(range(10)))
    assert info.frame_count == 20  # what the index claims
    assert len(frames) == 10 and inds[0] == 0
    assert inds[-1] < 18  # later positions fall back to the last frame


def test_no_audio_and_no_video_tracks(make_clip):
    with pytest.raises(AVDataError, match='no audio track'):
        read_audio(make_clip(name='silent_film.mp4', audio=False))
    with pytest.raises(AVDataError, match='no video track'):
        read_video_frames(make_clip(name='radio.m4a', video=False), [5])
