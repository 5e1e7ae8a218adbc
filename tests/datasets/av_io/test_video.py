"""Decoding of audio and video files (cavmae_mm/datasets/av_io.py)."""
import av
import numpy as np
import pytest
import soundfile

from cavmae_mm.datasets.av_io import (AVDataError, frame_jpeg_path,
                                      probe_video, quantize_pcm16,
                                      read_audio, read_frame_jpegs,
                                      read_image, read_video_frames,
                                      reference_frame_indices, write_wav)


def dominant_frequency(waveform, sample_rate=16000):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.fft.rfftfreq(len(waveform), 1 / sample_rate)[spectrum.argmax()]


@pytest.mark.parametrize('sample_rate', [8000, 16000, 22050, 44100, 48000])
def test_any_rate_is_resampled_to_16k(make_clip, sample_rate):
    path = make_clip(sample_rate=sample_rate, freqs=[1000.0], duration=2.0)
    waveform, info = read_audio(path)
    assert waveform.dtype == np.float32
    assert info['orig_sample_rate'] == sample_rate
    # AAC adds up to one frame (1024 samples at the source rate) of padding.
    assert 2.0 * 16000 <= waveform.shape[0] <= (2.0 + 1024 /
                                                sample_rate) * 16000 + 2
    assert abs(dominant_frequency(waveform) - 1000.0) < 5


@pytest.mark.parametrize('channels', [2, 6])
def test_first_channel_of_stereo_and_5_1(make_clip, channels):
    freqs = [500.0 + 700 * c for c in range(channels)]
    path = make_clip(channels=channels, sample_rate=48000, freqs=freqs)
    waveform, info = read_audio(path)
    assert info['num_channels'] == channels
    assert abs(dominant_frequency(waveform) - 500.0) < 5  # channel 0
    second, _ = read_audio(path, channel=1)
    assert abs(dominant_frequency(second) - 1200.0) < 5


def test_pcm_audio_in_mp4(make_clip):
    path = make_clip(audio_codec='pcm_s16le', sample_rate=44100, channels=2)
    waveform, info = read_audio(path)
    assert info['orig_sample_rate'] == 44100
    assert waveform.shape[0] == 32000  # PCM: no codec padding
    assert abs(dominant_frequency(waveform) - 440.0) < 5


def test_16k_wav_is_read_like_torchaudio(tmp_path):
    """int16 / 32768, no resampling: what torchaudio.load returns."""
    pcm = (np.random.default_rng(0).standard_normal(16000) * 3000).astype(
        np.int16)
    path = str(tmp_path / 'a.wav')
    soundfile.write(path, pcm, 16000, subtype='PCM_16')
    waveform, info = read_audio(path)
    np.testing.assert_array_equal(waveform, pcm.astype(np.float32) / 32768)
    assert info == dict(orig_sample_rate=16000, num_channels=1,
                        bad_packets=0)


def test_wav_at_other_rate_and_channels(tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t),
                       np.sin(2 * np.pi * 3000 * t)], axis=1) * 0.5
    path = str(tmp_path / 'b.flac')
    soundfile.write(path, stereo, rate)
    waveform, info = read_audio(path)
    assert info['num_channels'] == 2 and info['orig_sample_rate'] == rate
    assert abs(waveform.shape[0] - 16000) <= 1
    assert abs(dominant_frequency(waveform) - 300.0) < 5


def test_write_wav_quantizes_like_swresample(tmp_path):
    waveform = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 1 / 65536],
                        np.float32)
    np.testing.assert_array_equal(
        quantize_pcm16(waveform), [0, 16384, -16384, 32767, -32768, 32767, 0])
    path = str(tmp_path / 'w.wav')
    write_wav(path, waveform)
    data, rate = soundfile.read(path, dtype='int16')
    assert rate == 16000 and list(data) == list(quantize_pcm16(waveform))


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


def test_zero_decodable_frames(make_clip):
    """A video track whose packets are all garbage."""
    path = make_clip(name='garbage.mp4', video='garbage')
    with pytest.raises(AVDataError, match='no decodable video frames'):
        read_video_frames(path, [5])
    assert read_audio(path)[0].shape[0] > 0  # the audio is still fine


def test_reference_frame_indices():
    # 12.5 fps, 125 frames (AudioSet sample); 29.97 fps with a frame count
    # of 400 that includes hidden pre-roll frames (VGGSound sample).
    assert reference_frame_indices(125, 12.5) == [
        0, 12, 25, 37, 50, 62, 75, 87, 100, 112
    ]
    assert reference_frame_indices(400, 29.97002997) == [
        0, 29, 59, 89, 119, 149, 179, 209, 239, 269
    ]
    assert reference_frame_indices(20, 10) == list(range(0, 20, 2))


def test_frames_at_reference_positions(make_clip):
    path = make_clip(duration=2.0, fps=10)  # frame i is gray level 10 * i
    frames, inds, info = read_video_frames(path, list(range(10)))
    assert (info.fps, info.frame_count, info.width, info.height) == (10.0, 20,
                                                                     64, 48)
    assert inds == list(range(0, 20, 2))
    assert [round(float(f.mean()) / 10) for f in frames] == inds
    single, single_inds, _ = read_video_frames(path, [7])
    assert single_inds == [14]
    np.testing.assert_array_equal(single[0], frames[7])


@pytest.mark.parametrize('name', ['00W1lcxW-WU_40.000.mp4',
                                  'KlsG1EnBEjc_000361.mp4'])
def test_sample_frames_match_sequential_decoding(samples_dir, name):
    """Seeking gives exactly the frames of a full decode (which honours the
    VGGSound clip's edit list, as ffmpeg and OpenCV do)."""
    path = str(samples_dir / name)
    frames, inds, info = read_video_frames(path, [0, 5, 9])
    wanted = set(inds)
    with av.open(path) as container:
        decoded = {
            i: frame.to_ndarray(format='rgb24')
            for i, frame in enumerate(container.decode(video=0))
            if i in wanted
        }
    for frame, index in zip(frames, inds):
        np.testing.assert_array_equal(frame, decoded[index])
    assert probe_video(path).frame_count == info.frame_count


def test_grayscale_and_portrait_become_rgb(make_clip):
    gray = make_clip(name='gray.mp4', pix_fmt='gray')
    frames, _, _ = read_video_frames(gray, [5])
    assert frames[0].shape == (48, 64, 3)
    np.testing.assert_array_equal(frames[0][..., 0], frames[0][..., 2])
    portrait = make_clip(name='portrait.mp4', size=(48, 96))
    frames, _, info = read_video_frames(portrait, [5])
    assert frames[0].shape == (96, 48, 3) and info.height == 96


def test_frame_jpegs_fall_back_to_lower_positions(tmp_path):
    from PIL import Image
    for position in (0, 1, 2):
        path = frame_jpeg_path(str(tmp_path), 'vid', position)
        (tmp_path / f'frame_{position}').mkdir()
        Image.fromarray(np.full((8, 8, 3), 30 * position,
                                np.uint8)).save(path)
    frames, used = read_frame_jpegs(str(tmp_path), 'vid', [1, 5, 9])
    assert used == [1, 2, 2]
    assert abs(float(frames[1].mean()) - 60) < 2
    # Grayscale JPEGs are converted to RGB, as the reference's PIL path.
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(
        frame_jpeg_path(str(tmp_path), 'vid', 0))
    assert read_frame_jpegs(str(tmp_path), 'vid', [0])[0][0].shape == (8, 8,
                                                                       3)
    with pytest.raises(AVDataError, match='missing frame'):
        read_frame_jpegs(str(tmp_path), 'other', [5])
    with open(frame_jpeg_path(str(tmp_path), 'vid', 1), 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(AVDataError, match='cannot decode image'):
        read_frame_jpegs(str(tmp_path), 'vid', [1])


def save_jpeg_with_orientation(path, pixels, orientation):
    """Save ``pixels`` as a JPEG whose EXIF says how to turn it upright."""
    from PIL import Image
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation tag
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return str(path)


def test_read_image_turns_exif_rotated_jpegs_upright(tmp_path):
    """A camera JPEG stored sideways with orientation 6 ("rotate 90 CW to
    view") decodes as a viewer shows it; a tag-less JPEG is unchanged."""
    stored = np.zeros((40, 80, 3), np.uint8)  # [H, W, 3]: landscape
    stored[:, :40] = 255  # left half white, right half black
    plain = str(tmp_path / 'plain.jpg')
    from PIL import Image
    Image.fromarray(stored).save(plain, quality=95)
    decoded = read_image(plain)
    assert decoded.shape == (40, 80, 3) and decoded.dtype == np.uint8
    with Image.open(plain) as image:  # the reference's decoding
        np.testing.assert_array_equal(decoded,
                                      np.asarray(image.convert('RGB')))

    rotated = read_image(save_jpeg_with_orientation(
        tmp_path / 'rotated.jpg', stored, orientation=6))
    # Turned 90 degrees clockwise: portrait, the white half on top.
    assert rotated.shape == (80, 40, 3)
    assert rotated[:35].mean() > 200 and rotated[45:].mean() < 50
    np.testing.assert_allclose(rotated, np.rot90(decoded, k=-1), atol=8)


def test_read_image_grayscale_and_errors(tmp_path):
    from PIL import Image
    gray = str(tmp_path / 'gray.png')
    Image.fromarray(np.full((6, 9), 77, np.uint8)).save(gray)
    decoded = read_image(gray)
    assert decoded.shape == (6, 9, 3) and (decoded == 77).all()
    with pytest.raises(AVDataError, match='file not found'):
        read_image(str(tmp_path / 'none.jpg'))
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg')
    with pytest.raises(AVDataError, match='cannot decode image.*bad.jpg'):
        read_image(str(bad))
