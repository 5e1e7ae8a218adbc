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
