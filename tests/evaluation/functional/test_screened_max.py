"""screened_max_ranks (cavmae_mm/evaluation/functional/screened_max.py):
the bfloat16-screened ``max`` ranks equal the float32 ranks, when few
candidates are near the match, when all are, and when the margin check
fails."""
import numpy as np
import torch

from cavmae_mm.evaluation import frame_retrieval_ranks
from cavmae_mm.evaluation.functional import screened_max
from ..metric_utils import naive_ranks


def exact_ranks(audio, visual):
    return frame_retrieval_ranks(audio, visual, 'max', screen=False)


def loop_max_scores(audio, visual):
    """float64 max over frame pairs, clip pair by clip pair."""
    a = torch.nn.functional.normalize(audio.double(), dim=-1)
    v = torch.nn.functional.normalize(visual.double(), dim=-1)
    return np.array([[float((a[i] @ v[j].T).max()) for j in range(len(v))]
                     for i in range(len(a))])


def spy_pairs(monkeypatch):
    """Record how many clip pairs each float32 recomputation gets."""
    counts, original = [], screened_max.pair_max_scores

    def spy(audio, visual, pairs):
        counts.append(pairs.shape[0])
        return original(audio, visual, pairs)

    monkeypatch.setattr(screened_max, 'pair_max_scores', spy)
    return counts


def test_screened_equals_float32_with_some_near_candidates(monkeypatch):
    gen = torch.Generator().manual_seed(5)
    audio = torch.randn(300, 4, 64, generator=gen)
    visual = audio + 2.5 * torch.randn(300, 4, 64, generator=gen)
    counts = spy_pairs(monkeypatch)
    a2v, v2a = screened_max.screened_max_ranks(audio, visual,
                                               max_block_elements=5000)
    exact = exact_ranks(audio, visual)
    assert torch.equal(a2v, exact[0]) and torch.equal(v2a, exact[1])
    assert 0 < (a2v == 0).float().mean() < 1  # a retrieval task, not trivial
    # Recomputed: the candidates within the margin, some, not all.
    assert len(counts) == 1 and 0 < counts[0] < 300 * 299 / 10


def test_screened_when_every_candidate_is_near(monkeypatch):
    """Scores differing by far less than the margin (but far more than
    float32 rounding): everything is recomputed, and the ranks (and the
    ties) are the exact ones."""
    gen = torch.Generator().manual_seed(6)
    base = torch.randn(1, 1, 32, generator=gen)
    audio = base + 0.03 * torch.randn(40, 3, 32, generator=gen)
    visual = base + 0.03 * torch.randn(40, 3, 32, generator=gen)
    counts = spy_pairs(monkeypatch)
    a2v, v2a = screened_max.screened_max_ranks(audio, visual)
    assert counts == [40 * 39]  # every pair but the matches
    sim = loop_max_scores(audio, visual)
    assert np.ptp(sim) < screened_max.SCREEN_MARGIN
    np.testing.assert_array_equal(a2v.numpy(), naive_ranks(sim))
    np.testing.assert_array_equal(v2a.numpy(), naive_ranks(sim.T))
    constant = torch.ones(6, 2, 8)
    a2v, v2a = screened_max.screened_max_ranks(constant, constant)
    assert a2v.tolist() == v2a.tolist() == [5] * 6


def test_float32_fallback_when_the_margin_fails(monkeypatch):
    gen = torch.Generator().manual_seed(7)
    audio = torch.randn(30, 4, 16, generator=gen)
    visual = audio + 2 * torch.randn(30, 4, 16, generator=gen)
    monkeypatch.setattr(screened_max, 'SCREEN_MARGIN', 1e-12)
    counts = spy_pairs(monkeypatch)
    a2v, v2a = screened_max.screened_max_ranks(audio, visual)
    assert counts == []  # nothing screened: the float32 path
    sim = loop_max_scores(audio, visual)
    np.testing.assert_array_equal(a2v.numpy(), naive_ranks(sim))
    np.testing.assert_array_equal(v2a.numpy(), naive_ranks(sim.T))
