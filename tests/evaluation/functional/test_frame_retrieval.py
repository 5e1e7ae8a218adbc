"""Per-frame retrieval and alignment
(cavmae_mm/evaluation/functional/frame_retrieval.py) against a per-pair
loop that restates SPEC_SYNC "Retrieval" (the released get_agg_sim_mat),
all four aggregations, both directions."""
import numpy as np
import pytest
import torch

from cavmae_mm.evaluation import (AGGREGATES, clip_score_matrix,
                                  frame_alignment_ranks,
                                  frame_retrieval_ranks, ranks_from_scores)
from ..metric_utils import naive_ranks


def cosine(x, y):
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))


def naive_clip_scores(a, b, aggregate):
    """One clip pair at a time, one frame pair at a time (float64)."""
    num, frames = a.shape[:2]
    sim = np.empty((num, num))
    for i in range(num):
        for j in range(num):
            if aggregate in ('max', 'mean'):
                pairs = [[cosine(a[i, k], b[j, m]) for m in range(frames)]
                         for k in range(frames)]
                sim[i, j] = (np.max(pairs) if aggregate == 'max' else
                             np.mean(pairs))
            else:
                diagonal = [cosine(a[i, k], b[j, k]) for k in range(frames)]
                sim[i, j] = (np.mean(diagonal) if aggregate ==
                             'diagonal_mean' else np.max(diagonal))
    return sim


def frame_features(num=24, frames=4, dim=8, noise=3.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    audio = torch.randn(num, frames, dim, generator=gen)
    visual = audio + noise * torch.randn(num, frames, dim, generator=gen)
    # not unit norm on purpose: normalized per frame inside
    return audio * 3, visual


@pytest.mark.parametrize('aggregate', AGGREGATES)
@pytest.mark.parametrize('chunk_size', [5, 4096])
def test_matches_loop_both_directions(aggregate, chunk_size):
    audio, visual = frame_features()
    a2v_loop = naive_clip_scores(audio.double().numpy(),
                                 visual.double().numpy(), aggregate)
    v2a_loop = naive_clip_scores(visual.double().numpy(),
                                 audio.double().numpy(), aggregate)
    np.testing.assert_allclose(v2a_loop, a2v_loop.T, atol=1e-12)
    scores = clip_score_matrix(audio, visual, aggregate, chunk_size,
                               max_block_elements=100)  # 1 clip per block
    assert scores.shape == (24, 24) and scores.dtype == torch.float32
    np.testing.assert_allclose(scores.numpy(), a2v_loop, atol=2e-6)
    a2v, v2a = frame_retrieval_ranks(audio, visual, aggregate, chunk_size)
    np.testing.assert_array_equal(a2v.numpy(), naive_ranks(a2v_loop))
    np.testing.assert_array_equal(v2a.numpy(), naive_ranks(v2a_loop))
    assert (a2v != v2a).any()  # the two directions differ on this data


def test_aggregations_differ_and_hand_case():
    """Two clips, two frames, 2-d features: every score by hand."""
    e0, e1 = torch.tensor([1., 0.]), torch.tensor([0., 1.])
    diag = torch.tensor([0.6, 0.8])
    audio = torch.stack([torch.stack([e0, e1]), torch.stack([e1, e1])])
    visual = torch.stack([torch.stack([e1, e0]), torch.stack([diag, e1])])
    # clip 0 audio (e0, e1) vs clip 0 frames (e1, e0): c = [[0, 1], [1, 0]]
    # clip 0 audio vs clip 1 frames (diag, e1): c = [[.6, 0], [.8, 1]]
    # clip 1 audio (e1, e1) vs clip 0 frames: c = [[1, 0], [1, 0]]
    # clip 1 audio vs clip 1 frames: c = [[.8, 1], [.8, 1]]
    expected = dict(max=[[1, 1], [1, 1]],
                    mean=[[0.5, 0.6], [0.5, 0.9]],
                    diagonal_mean=[[0, 0.8], [0.5, 0.9]],
                    diagonal_max=[[0, 1], [1, 1]])
    for aggregate, matrix in expected.items():
        torch.testing.assert_close(
            clip_score_matrix(audio, visual, aggregate),
            torch.tensor(matrix, dtype=torch.float32), atol=1e-6, rtol=0)
    # diagonal_mean: a2v ranks: clip 0 scores 0 < 0.8 -> 1; clip 1 first.
    a2v, v2a = frame_retrieval_ranks(audio, visual, 'diagonal_mean')
    assert a2v.tolist() == [1, 0] and v2a.tolist() == [1, 0]


def test_ties_count_against_the_match():
    constant = torch.ones(5, 3, 4)
    for aggregate in AGGREGATES:
        a2v, v2a = frame_retrieval_ranks(constant, constant, aggregate)
        assert a2v.tolist() == v2a.tolist() == [4] * 5, aggregate
    scores = torch.tensor([[1., 1., 0.], [0., 2., 3.], [0., 0., 1.]])
    a2v, v2a = ranks_from_scores(scores, chunk_size=2)
    # rows: 1 ties 1 (rank 1); 3 > 2 (rank 1); 1 first. Columns: 1 first;
    # 2 first; 3 > 1 (rank 1).
    assert a2v.tolist() == [1, 1, 0] and v2a.tolist() == [0, 0, 1]


def test_shape_errors():
    with pytest.raises(ValueError, match=r'\[N, F, D\]'):
        clip_score_matrix(torch.ones(4, 8), torch.ones(4, 8), 'max')
    with pytest.raises(ValueError, match=r'\[N, F, D\]'):
        frame_alignment_ranks(torch.ones(4, 2, 8), torch.ones(4, 3, 8))
    with pytest.raises(ValueError, match='aggregate'):
        clip_score_matrix(torch.ones(4, 2, 8), torch.ones(4, 2, 8), 'sum')


def test_frame_alignment_ranks_match_loop():
    audio, visual = frame_features(num=10, frames=6, noise=1.5, seed=3)
    segment_ranks, frame_ranks = frame_alignment_ranks(audio, visual)
    assert segment_ranks.shape == frame_ranks.shape == (10, 6)
    a, v = audio.double().numpy(), visual.double().numpy()
    for i in range(10):
        c = np.array([[cosine(a[i, k], v[i, m]) for m in range(6)]
                      for k in range(6)])  # [segment k, frame l]
        np.testing.assert_array_equal(segment_ranks[i].numpy(),
                                      naive_ranks(c.T))
        np.testing.assert_array_equal(frame_ranks[i].numpy(),
                                      naive_ranks(c))
    assert 0 < (segment_ranks == 0).float().mean() < 1
