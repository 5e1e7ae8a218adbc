"""MultiLabelMetric (cavmae_mm/evaluation/metrics/multilabel_metric.py)
against scikit-learn (SPEC §7)."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score

from ..metric_utils import evaluate, multilabel_data


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
