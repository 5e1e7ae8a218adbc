"""FrameAudioSegments (cavmae_mm/datasets/transforms/segments.py): the
released Sync loader's segment rule (SPEC_SYNC "Data"), from a real wav
through the pipeline, against a re-statement of ``map_frame_to_spectrogram``
+ cut + normalize."""
import numpy as np
import pytest
import torch

from cavmae_mm.datasets.transforms import (FrameAudioSegments, KaldiFbank,
                                           LoadAudioWaveform, NormalizeFbank,
                                           SampleAVFrames)
from cavmae_mm.datasets.transforms.segments import (frame_segment_start,
                                                    frame_segment_starts)
from mmaction.registry import TRANSFORMS
from .audio_utils import reference_fbank, write_wav

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def reference_segment(fbank, k, num_frames, target_length):
    """The released loader: ``map_frame_to_spectrogram``, cut, normalize."""
    spectrogram_length = fbank.shape[0]
    frame_position = int(round(k * spectrogram_length / num_frames))
    start = max(0, frame_position - target_length // 2)
    end = start + target_length
    if end > spectrogram_length:
        end = spectrogram_length
        start = max(0, end - target_length)
    return (fbank[start:end, :] - (-5.081)) / 4.4849


def test_released_model_rows():
    """T = 416, L = 1024, F = 16: k = 0..3 -> [0, 416), k = 4..12 ->
    48 + 64 (k - 4), k = 13..15 -> [608, 1024)."""
    starts = frame_segment_starts(range(16), 16, 1024, 416)
    assert starts == [0] * 4 + [48 + 64 * (k - 4)
                                for k in range(4, 13)] + [608] * 3
    assert starts[4:13] == [48, 112, 176, 240, 304, 368, 432, 496, 560]


def test_other_lengths():
    # Toy: L = 384 rows, F = 8, T = 96: centres 48 k, start 48 k - 48.
    assert frame_segment_starts(range(8), 8, 384, 96) == [
        0, 0, 48, 96, 144, 192, 240, 288]
    # The last segment is moved back to end at L.
    assert frame_segment_start(7, 8, 384, 192) == 192
    # Python's round (half to even), as the reference: 2 * 100 / 8 = 25.0,
    # 1 * 100 / 8 = 12.5 -> 12, 3 * 100 / 8 = 37.5 -> 38.
    assert [frame_segment_start(k, 8, 100, 10) for k in (1, 2, 3)] == [
        7, 20, 33]
    assert frame_segment_start(0, 16, 1024, 1024) == 0
    with pytest.raises(ValueError, match='longer than'):
        frame_segment_start(0, 16, 384, 416)


@pytest.mark.parametrize('seconds', [10.0, 3.0])
def test_pipeline_equals_reference_loader(tmp_path, seconds):
    """From a wav, all 16 positions: the reference's segments bit for bit
    (a 3 s clip is zero-padded to 1024 rows first, as the reference)."""
    path, waveform = write_wav(tmp_path / 'clip.wav', seconds)
    pipeline = [LoadAudioWaveform(), SampleAVFrames('all', num_positions=16),
                KaldiFbank(target_length=1024),
                FrameAudioSegments(segment_length=416), NormalizeFbank()]
    results = dict(audio_path=path)
    for transform in pipeline:
        results = transform(results)
    audio = results['audio']
    assert audio.shape == (16, 416, 128) and audio.dtype == torch.float32
    fbank = reference_fbank(waveform)
    expected = torch.stack(
        [reference_segment(fbank, k, 16, 416) for k in range(16)])
    torch.testing.assert_close(audio, expected, rtol=0, atol=0)
    assert results['audio_segment_starts'].tolist() == \
        frame_segment_starts(range(16), 16, 1024, 416)


def test_one_random_frame_and_normalize_order(tmp_path):
    """Training: one position, ``[1, T, M]``; normalizing before the cut
    gives the same values bit for bit (element-wise)."""
    path, _ = write_wav(tmp_path / 'clip.wav', 4.0)
    loaded = KaldiFbank(target_length=384)(
        LoadAudioWaveform()(dict(audio_path=path)))
    for seed in range(5):
        positions = SampleAVFrames('random', num_positions=8)(
            dict(sample_seed=seed))
        cut_first = NormalizeFbank()(FrameAudioSegments(96)(
            dict(loaded, **positions)))
        norm_first = FrameAudioSegments(96)(NormalizeFbank()(
            dict(loaded, **positions)))
        assert cut_first['audio'].shape == (1, 96, 128)
        torch.testing.assert_close(cut_first['audio'], norm_first['audio'],
                                   rtol=0, atol=0)
        start = int(cut_first['audio_segment_starts'][0])
        k = int(positions['frame_positions'][0])
        assert start == max(0, min(48 * k - 48, 384 - 96))
        torch.testing.assert_close(
            cut_first['audio'][0],
            NormalizeFbank()(dict(audio=loaded['audio']))['audio'][
                start:start + 96], rtol=0, atol=0)


def test_registered_keys_and_errors():
    transform = TRANSFORMS.build(dict(type='FrameAudioSegments',
                                      segment_length=4))
    assert isinstance(transform, FrameAudioSegments)
    assert repr(transform) == 'FrameAudioSegments(segment_length=4)'
    fbank = torch.arange(20.).reshape(10, 2)  # rows 0..9
    out = transform(dict(audio=fbank, frame_positions=np.array([0, 2, 4]),
                         num_positions=5))
    # centres 0, 4, 8 -> starts 0, 2, 6 (moved back to end at 10)
    assert out['audio_segment_starts'].tolist() == [0, 2, 6]
    assert out['audio'][:, :, 0].tolist() == [
        [0, 2, 4, 6], [4, 6, 8, 10], [12, 14, 16, 18]]
    with pytest.raises(KeyError, match='SampleAVFrames'):
        transform(dict(audio=fbank))
    with pytest.raises(ValueError, match=r'\[L, M\]'):
        transform(dict(audio=fbank[None], frame_positions=np.array([0]),
                       num_positions=5))
    with pytest.raises(ValueError):
        FrameAudioSegments(0)
