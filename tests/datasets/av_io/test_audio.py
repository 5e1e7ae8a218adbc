"""Reading and writing audio (cavmae_mm/datasets/av_io/audio.py): any rate
and channel layout to 16 kHz mono float32, wavs as torchaudio reads them,
16-bit quantization as swresample does."""
import numpy as np
import pytest
import soundfile

from cavmae_mm.datasets.av_io import quantize_pcm16, read_audio, write_wav


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


@pytest.mark.parametrize('fmt,dtype,scale', [
    ('fltp', np.float32, None), ('dblp', np.float64, None),
    ('s16p', np.int16, 32768.0), ('s32p', np.int32, 2147483648.0),
    ('u8p', np.uint8, None), ('flt', np.float32, None),
    ('s16', np.int16, 32768.0)])
def test_one_channel_of_planar_and_interleaved_frames(fmt, dtype, scale):
    """A planar frame's channel is read from its own plane, an interleaved
    one's from the samples: the same values as the whole frame's array."""
    import av
    from cavmae_mm.datasets.av_io.audio import _first_channel_float
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    values = (rng.integers(info.min, info.max, (2, 300), endpoint=True)
              if info else rng.standard_normal((2, 300))).astype(dtype)
    planar = fmt.endswith('p')
    frame = av.AudioFrame.from_ndarray(
        values if planar else values.T.reshape(1, -1), format=fmt,
        layout='stereo')
    for channel in (0, 1, 5):  # past the last channel: the last one
        got = _first_channel_float(frame, channel)
        expected = values[min(channel, 1)]
        if dtype == np.uint8:
            expected = (expected.astype(np.float32) - 128.0) / 128.0
        elif scale is not None:
            expected = (expected.astype(np.float64) / scale)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_wav_in_memory_reads_as_the_file(tmp_path):
    """read_audio_bytes / wav_bytes (shard samples): the same samples as
    the file path, resampled alike; errors name the sample."""
    from cavmae_mm.datasets.av_io import AVDataError, read_audio_bytes
    from cavmae_mm.datasets.av_io import wav_bytes
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-0.5, 0.5, (22050, 2)).astype(np.float32)
    path = str(tmp_path / 'a.wav')
    soundfile.write(path, stereo, 22050, subtype='PCM_16')
    with open(path, 'rb') as f:
        data = f.read()
    from_file, info_file = read_audio(path)
    from_bytes, info = read_audio_bytes(data, 'a.wav')
    assert np.array_equal(from_file, from_bytes) and info == info_file
    mono = rng.uniform(-0.5, 0.5, 1600).astype(np.float32)
    write_wav(str(tmp_path / 'b.wav'), mono)
    assert wav_bytes(mono) == (tmp_path / 'b.wav').read_bytes()
    with pytest.raises(AVDataError, match=r'decode audio \(.*\): x.wav'):
        read_audio_bytes(b'RIFF junk', 'x.wav')
    with pytest.raises(AVDataError, match='empty file'):
        read_audio_bytes(b'', 'x.wav')
