"""MMAction2's AccMetric (mmaction/evaluation/metrics/acc_metric.py), which
the single-label configs use, against scikit-learn."""
import numpy as np
import pytest
import torch
from sklearn.metrics import top_k_accuracy_score

from ..metric_utils import evaluate


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
