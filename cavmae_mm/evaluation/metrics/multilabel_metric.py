"""mAP, mean AUC and d-prime for multi-label classification (AudioSet)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmaction.registry import METRICS
from ..functional import average_precision_per_class, d_prime, \
    roc_auc_per_class


@METRICS.register_module()
class MultiLabelMetric(BaseMetric):
    """Mean average precision, mean ROC AUC and d-prime over classes
    (SPEC §7, the AudioSet metrics of the reference).

    Reads ``pred_scores.item`` ``[C]`` (logits or averaged sigmoids: the
    metrics depend only on the order of the scores within a class) and
    ``gt_labels.item`` ``[C]`` (a target vector; values above 0.5 count as
    positive, so smoothed labels work too) of each data sample.

    ``mAP`` averages over the classes with at least one positive sample,
    ``mAUC`` over those with positives and negatives (on full AudioSet every
    class has both); ``d_prime`` is ``sqrt(2) * Phi^-1(mAUC)`` as the
    reference computes it. Results are fractions in [0, 1].

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'multilabel'``.
    """
    default_prefix: Optional[str] = 'multilabel'

    def __init__(self,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = sample['pred_scores']['item']
            label = sample['gt_labels']['item']
            if label.numel() != score.numel():
                raise ValueError(
                    f'MultiLabelMetric needs a target vector per sample '
                    f'(size {score.numel()}), got a label of size '
                    f'{label.numel()}; use AccMetric for single-label data')
            self.results.append((score.detach().float().cpu().numpy(),
                                 label.detach().float().cpu().numpy()))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        scores = np.stack([score for score, _ in results])  # [N, C]
        targets = np.stack([label for _, label in results]) > 0.5
        ap = average_precision_per_class(scores, targets)
        auc = roc_auc_per_class(scores, targets)
        skipped = int(np.isnan(ap).sum())
        if skipped:
            MMLogger.get_current_instance().info(
                f'MultiLabelMetric: {skipped} of {ap.size} classes have no '
                f'positive sample and are left out of the mAP')
        mean_auc = float(np.nanmean(auc)) if np.isfinite(auc).any() \
            else float('nan')
        return dict(mAP=float(np.nanmean(ap)) if skipped < ap.size
                    else float('nan'),
                    mAUC=mean_auc,
                    d_prime=d_prime(mean_auc))
