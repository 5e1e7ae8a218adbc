"""retrieval_ranks and recall_and_median_rank
(cavmae_mm/evaluation/functional/retrieval.py) against a per-query loop and
hand-computed cases (SPEC §7)."""
import numpy as np
import pytest
import torch

from cavmae_mm.evaluation import recall_and_median_rank, retrieval_ranks
from ..metric_utils import naive_ranks


def test_retrieval_ranks_hand_case():
    queries = torch.eye(3)
    candidates = torch.tensor([[1., 0., 0.], [0.9, 0.1, 0.], [0., 0., 1.]])
    # Cosines (rows: queries e0, e1, e2; columns: candidates):
    # e0: 1, 0.994, 0 -> match first; e1: 0, 0.110, 0 -> first; e2: first.
    ranks = retrieval_ranks(queries, candidates)
    assert ranks.tolist() == [0, 0, 0]
    # Other direction: query (0.9, 0.1, 0) scores e0 0.994 > e1 0.110.
    ranks = retrieval_ranks(candidates, queries)
    assert ranks.tolist() == [0, 1, 0]
    metrics = recall_and_median_rank(ranks, topk=(1, 2))
    assert metrics == {'R@1': pytest.approx(2 / 3), 'R@2': 1.0, 'MdR': 1.0}


def test_retrieval_ties_count_against_the_match():
    constant = torch.ones(4, 8)
    assert retrieval_ranks(constant, constant).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize('chunk_size', [7, 4096])
def test_retrieval_ranks_match_loop(chunk_size):
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(40, 16, generator=gen)
    visual = audio + 1.5 * torch.randn(40, 16, generator=gen)
    sim = (torch.nn.functional.normalize(audio.double(), dim=1)
           @ torch.nn.functional.normalize(visual.double(), dim=1).T).numpy()
    ranks = retrieval_ranks(audio, visual, chunk_size=chunk_size).numpy()
    np.testing.assert_array_equal(ranks, naive_ranks(sim))
    np.testing.assert_array_equal(
        retrieval_ranks(visual, audio, chunk_size=chunk_size).numpy(),
        naive_ranks(sim.T))
