"""AVRetrievalMetric (cavmae_mm/evaluation/metrics/retrieval_metric.py) in
both directions, against a per-query loop (SPEC §7)."""
import numpy as np
import pytest
import torch

from ..metric_utils import evaluate, naive_ranks


def test_retrieval_metric_both_directions():
    gen = torch.Generator().manual_seed(1)
    audio = torch.nn.functional.normalize(torch.randn(30, 8, generator=gen))
    visual = torch.nn.functional.normalize(
        audio + torch.randn(30, 8, generator=gen))
    samples = [dict(audio_feature=a, visual_feature=v)
               for a, v in zip(audio, visual)]
    results = evaluate(dict(type='AVRetrievalMetric'), samples)
    sim = (audio.double() @ visual.double().T).numpy()
    for direction, matrix in (('a2v', sim), ('v2a', sim.T)):
        ranks = naive_ranks(matrix)
        for k in (1, 5, 10):
            assert results[f'retrieval/{direction}_R@{k}'] == \
                pytest.approx(np.mean(ranks < k))
        assert results[f'retrieval/{direction}_MdR'] == np.median(ranks + 1)
    assert results['retrieval/a2v_R@1'] != results['retrieval/v2a_R@1']


@pytest.mark.parametrize('aggregate', ['max', 'mean', 'diagonal_mean',
                                       'diagonal_max'])
def test_retrieval_metric_per_frame_features(aggregate):
    """[F, D] features per sample (CAV-MAE Sync): the metric's numbers are
    the ranks of the aggregated clip scores, both directions."""
    from cavmae_mm.evaluation import clip_score_matrix
    gen = torch.Generator().manual_seed(2)
    audio = torch.nn.functional.normalize(torch.randn(20, 4, 8,
                                                      generator=gen), dim=-1)
    visual = torch.nn.functional.normalize(
        audio + 2 * torch.randn(20, 4, 8, generator=gen), dim=-1)
    samples = [dict(audio_feature=a, visual_feature=v)
               for a, v in zip(audio, visual)]
    results = evaluate(dict(type='AVRetrievalMetric', aggregate=aggregate),
                       samples)
    sim = clip_score_matrix(audio, visual, aggregate).double().numpy()
    for direction, matrix in (('a2v', sim), ('v2a', sim.T)):
        ranks = naive_ranks(matrix)
        for k in (1, 5, 10):
            assert results[f'retrieval/{direction}_R@{k}'] == \
                pytest.approx(np.mean(ranks < k))
        assert results[f'retrieval/{direction}_MdR'] == np.median(ranks + 1)
    assert 0 < results['retrieval/a2v_R@1'] < 1


def test_retrieval_metric_feature_shapes():
    frames = [dict(audio_feature=torch.ones(4, 8),
                   visual_feature=torch.ones(4, 8))] * 3
    with pytest.raises(ValueError, match="aggregate='max'"):
        evaluate(dict(type='AVRetrievalMetric'), frames)
    clips = [dict(audio_feature=torch.ones(8),
                  visual_feature=torch.ones(8))] * 3
    with pytest.raises(ValueError, match=r'\[F, D\]'):
        evaluate(dict(type='AVRetrievalMetric', aggregate='max'), clips)
    with pytest.raises(ValueError, match='aggregate'):
        evaluate(dict(type='AVRetrievalMetric', aggregate='sum'), clips)
    with pytest.raises(KeyError):
        evaluate(dict(type='AVRetrievalMetric'), [dict(audio_feature=1)])
