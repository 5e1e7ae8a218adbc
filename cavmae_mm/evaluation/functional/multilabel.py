"""Multi-label classification metrics (SPEC §7), vectorized over classes.

The reference evaluates AudioSet with scikit-learn's
``average_precision_score`` and ``roc_auc_score`` class by class; these
functions compute the same numbers for all classes at once (ties in the
scores are grouped exactly as scikit-learn groups them).
"""
import numpy as np
from scipy.stats import norm, rankdata


def _check(scores: np.ndarray, targets: np.ndarray):
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.ndim != 2 or scores.shape != targets.shape:
        raise ValueError(f'scores and targets must both be [N, C], got '
                         f'{scores.shape} and {targets.shape}')
    return scores, targets.astype(bool)


def average_precision_per_class(scores: np.ndarray,
                                targets: np.ndarray) -> np.ndarray:
    """Average precision of each class.

    ``AP = sum_t (R_t - R_{t-1}) * P_t`` over the distinct score thresholds
    ``t`` (descending), as ``sklearn.metrics.average_precision_score``.

    Args:
        scores (np.ndarray): ``[N, C]`` scores (any monotone scale: logits,
            sigmoids, averaged probabilities).
        targets (np.ndarray): ``[N, C]`` binary (bool or 0/1) labels.

    Returns:
        np.ndarray: ``[C]`` float64; NaN for a class without positives.
    """
    scores, targets = _check(scores, targets)
    num = scores.shape[0]
    order = np.argsort(-scores, axis=0, kind='stable')  # [N, C]
    sorted_scores = np.take_along_axis(scores, order, axis=0)
    sorted_targets = np.take_along_axis(targets, order, axis=0)
    true_pos = np.cumsum(sorted_targets, axis=0)  # [N, C]
    # The last position of each group of tied scores is a threshold.
    is_threshold = np.ones_like(sorted_scores, dtype=bool)
    is_threshold[:-1] = sorted_scores[:-1] != sorted_scores[1:]
    tp_at_threshold = np.where(is_threshold, true_pos, 0)
    # True positives at the previous threshold (true_pos is non-decreasing).
    tp_before = np.zeros_like(tp_at_threshold)
    tp_before[1:] = np.maximum.accumulate(tp_at_threshold, axis=0)[:-1]
    new_pos = np.where(is_threshold, true_pos - tp_before, 0)
    precision = true_pos / np.arange(1, num + 1)[:, None]
    positives = true_pos[-1].astype(np.float64)  # [C]
    with np.errstate(invalid='ignore', divide='ignore'):
        ap = (new_pos * precision).sum(axis=0) / positives
    ap[positives == 0] = np.nan
    return ap


def roc_auc_per_class(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Area under the ROC curve of each class (Mann-Whitney U with average
    ranks for ties, equal to ``sklearn.metrics.roc_auc_score``).

    Args:
        scores (np.ndarray): ``[N, C]``.
        targets (np.ndarray): ``[N, C]`` binary labels.

    Returns:
        np.ndarray: ``[C]`` float64; NaN for a class without positives or
        without negatives.
    """
    scores, targets = _check(scores, targets)
    ranks = rankdata(scores, axis=0)  # [N, C], 1-based, ties averaged
    positives = targets.sum(axis=0).astype(np.float64)
    negatives = targets.shape[0] - positives
    rank_sum = np.where(targets, ranks, 0).sum(axis=0)
    with np.errstate(invalid='ignore', divide='ignore'):
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives *
                                                              negatives)
    auc[(positives == 0) | (negatives == 0)] = np.nan
    return auc


def d_prime(auc: float) -> float:
    """``sqrt(2) * Phi^-1(AUC)``: the separation, in standard deviations, of
    two unit-variance Gaussians that give this AUC."""
    return float(np.sqrt(2.0) * norm.ppf(auc))
