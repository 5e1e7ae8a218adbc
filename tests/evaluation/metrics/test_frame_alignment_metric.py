"""AVFrameAlignmentMetric
(cavmae_mm/evaluation/metrics/frame_alignment_metric.py): within each clip,
the right audio segment for each frame and the right frame for each
segment, against a per-frame loop."""
import numpy as np
import pytest
import torch

from ..metric_utils import evaluate, naive_ranks


def test_alignment_metric_against_loop():
    gen = torch.Generator().manual_seed(4)
    audio = torch.nn.functional.normalize(torch.randn(12, 8, 16,
                                                      generator=gen), dim=-1)
    visual = torch.nn.functional.normalize(
        audio + 1.2 * torch.randn(12, 8, 16, generator=gen), dim=-1)
    samples = [dict(audio_feature=a, visual_feature=v)
               for a, v in zip(audio, visual)]
    results = evaluate(dict(type='AVFrameAlignmentMetric'), samples)
    v2a, a2v = [], []
    for a, v in zip(audio.double().numpy(), visual.double().numpy()):
        cosines = a @ v.T  # [segment k, frame l]
        v2a.append(naive_ranks(cosines.T))  # per frame: which segment
        a2v.append(naive_ranks(cosines))  # per segment: which frame
    v2a, a2v = np.concatenate(v2a), np.concatenate(a2v)
    assert results['alignment/v2a_acc'] == pytest.approx(np.mean(v2a == 0))
    assert results['alignment/a2v_acc'] == pytest.approx(np.mean(a2v == 0))
    assert results['alignment/v2a_mean_rank'] == pytest.approx(
        np.mean(v2a + 1))
    assert results['alignment/a2v_mean_rank'] == pytest.approx(
        np.mean(a2v + 1))
    assert results['alignment/chance'] == 1 / 8
    assert 1 / 8 < results['alignment/v2a_acc'] < 1
    assert (v2a != a2v).any()  # the data tells the directions apart
    assert results['alignment/v2a_mean_rank'] != \
        results['alignment/a2v_mean_rank']


def test_alignment_metric_chance_and_errors():
    # Frames that carry no time information: every frame ties, rank F.
    constant = [dict(audio_feature=torch.ones(4, 3),
                     visual_feature=torch.ones(4, 3))] * 2
    results = evaluate(dict(type='AVFrameAlignmentMetric'), constant)
    assert results['alignment/v2a_acc'] == 0.0
    assert results['alignment/v2a_mean_rank'] == 4.0
    with pytest.raises(ValueError, match=r'\[F, D\]'):
        evaluate(dict(type='AVFrameAlignmentMetric'),
                 [dict(audio_feature=torch.ones(3),
                       visual_feature=torch.ones(3))])
