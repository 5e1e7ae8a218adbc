"""Metrics against scikit-learn and hand-computed cases (SPEC §7)."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from scipy.stats import norm
from sklearn.metrics import (average_precision_score, roc_auc_score,
                             top_k_accuracy_score)

import cavmae_mm  # noqa: F401
from cavmae_mm.evaluation import (average_precision_per_class, d_prime,
                                  recall_and_median_rank, retrieval_ranks,
                                  roc_auc_per_class)


def multilabel_data(num=200, classes=12, seed=0, levels=None):
    rng = np.random.default_rng(seed)
    targets = rng.random((num, classes)) < rng.uniform(0.02, 0.5, classes)
    scores = targets * rng.uniform(0, 1.5, classes) + rng.normal(
        size=(num, classes))
    if levels:  # quantize to create many ties
        scores = np.round(scores * levels) / levels
    targets[:, 0] = False
    targets[3, 0] = True  # a class with a single positive
    return scores, targets


@pytest.mark.parametrize('levels', [None, 2, 8])
def test_average_precision_matches_sklearn(levels):
    scores, targets = multilabel_data(levels=levels)
    ours = average_precision_per_class(scores, targets)
    expected = [average_precision_score(targets[:, c], scores[:, c])
                for c in range(scores.shape[1])]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('levels', [None, 2, 8])
def test_roc_auc_matches_sklearn(levels):
    scores, targets = multilabel_data(levels=levels, seed=1)
    ours = roc_auc_per_class(scores, targets)
    expected = [roc_auc_score(targets[:, c], scores[:, c])
                for c in range(scores.shape[1])]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_average_precision_hand_case_and_degenerate_classes():
    # Class 0: ranking pos, neg, pos -> AP = (1/1 + 2/3) / 2.
    # Class 1: no positives -> NaN; class 2: all positive -> AP 1, AUC NaN.
    scores = np.array([[0.9, 0.1, 0.3], [0.8, 0.2, 0.2], [0.7, 0.3, 0.1]])
    targets = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]])
    ap = average_precision_per_class(scores, targets)
    assert ap[0] == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(ap[1]) and ap[2] == 1
    auc = roc_auc_per_class(scores, targets)
    assert auc[0] == pytest.approx(0.5) and np.isnan(auc[1:]).all()


def test_d_prime_hand_values():
    assert d_prime(0.5) == pytest.approx(0, abs=1e-12)
    # Phi(1 / sqrt 2) is the AUC of two unit Gaussians one sigma apart.
    auc = 0.5 * (1 + math.erf(0.5))
    assert d_prime(auc) == pytest.approx(1.0, rel=1e-9)


def evaluate(metric_cfg, samples):
    init_default_scope('mmaction')
    evaluator = Evaluator(metric_cfg)
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_multilabel_metric_matches_sklearn():
    scores, targets = multilabel_data(num=64, classes=6, seed=3)
    targets[:, 5] = False  # no positive at all: left out of mAP and mAUC
    samples = [dict(pred_scores=dict(item=torch.tensor(s)),
                    gt_labels=dict(item=torch.tensor(t, dtype=torch.float)))
               for s, t in zip(scores, targets)]
    results = evaluate(dict(type='MultiLabelMetric'), samples)
    expected_ap = np.mean([average_precision_score(targets[:, c],
                                                   scores[:, c])
                           for c in range(5)])
    expected_auc = np.mean([roc_auc_score(targets[:, c], scores[:, c])
                            for c in range(5)])
    assert results['multilabel/mAP'] == pytest.approx(expected_ap,
                                                      rel=1e-6)
    assert results['multilabel/mAUC'] == pytest.approx(expected_auc,
                                                       rel=1e-6)
    assert results['multilabel/d_prime'] == pytest.approx(
        math.sqrt(2) * norm.ppf(expected_auc), rel=1e-6)


def test_accuracy_metric_matches_sklearn():
    """MMAction2's AccMetric is what the single-label configs use."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 9)).astype(np.float32)
    labels = rng.integers(0, 9, 50)
    samples = [dict(pred_scores=dict(item=torch.tensor(s)),
                    gt_labels=dict(item=torch.tensor([label])))
               for s, label in zip(scores, labels)]
    results = evaluate(dict(type='AccMetric',
                            metric_list=('top_k_accuracy', ),
                            metric_options=dict(top_k_accuracy=dict(
                                topk=(1, 5)))), samples)
    for k in (1, 5):
        assert results[f'acc/top{k}'] == pytest.approx(
            top_k_accuracy_score(labels, scores, k=k, labels=range(9)))


def naive_ranks(sim):
    """Per-query loop: how many candidates score at least the match."""
    ranks = []
    for i in range(sim.shape[0]):
        ranks.append(sum(1 for j in range(sim.shape[1])
                         if j != i and sim[i, j] >= sim[i, i]))
    return np.array(ranks)


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
