"""average_precision_per_class, roc_auc_per_class and d_prime
(cavmae_mm/evaluation/functional/multilabel.py) against scikit-learn and
hand-computed cases (SPEC §7)."""
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from cavmae_mm.evaluation import (average_precision_per_class, d_prime,
                                  roc_auc_per_class)
from ..metric_utils import multilabel_data


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
