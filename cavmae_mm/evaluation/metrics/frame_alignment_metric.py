"""Within-clip alignment of audio segments and frames (CAV-MAE Sync)."""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS
from ..functional import alignment_accuracy, frame_alignment_ranks
from .retrieval_metric import collect_features


@METRICS.register_module()
class AVFrameAlignmentMetric(BaseMetric):
    """Which audio segment goes with which frame, within each clip.

    Each data sample carries ``[F, D]`` ``audio_feature`` (one per audio
    segment) and ``visual_feature`` (one per frame, frame ``l`` paired with
    segment ``l``), as for ``AVRetrievalMetric(aggregate=...)``. For every
    frame the clip's ``F`` segments are ranked by cosine (``v2a``), and the
    clip's ``F`` frames for every segment (``a2v``); ties count against the
    right one. Keys: ``v2a_acc`` and ``a2v_acc`` (top-1 accuracy over all
    frames of all clips), ``v2a_mean_rank``, ``a2v_mean_rank`` (1-based)
    and ``chance`` (``1 / F``, the accuracy of a model that cannot tell the
    moments apart).

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'alignment'``.
    """
    default_prefix: Optional[str] = 'alignment'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                collect_features(sample, type(self).__name__, True))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        audio = torch.stack([a for a, _ in results])  # [N, F, D]
        visual = torch.stack([v for _, v in results])  # [N, F, D]
        segment_ranks, frame_ranks = frame_alignment_ranks(audio, visual)
        metrics = {}
        for direction, ranks in (('v2a', segment_ranks),
                                 ('a2v', frame_ranks)):
            scores = alignment_accuracy(ranks)
            metrics[f'{direction}_acc'] = scores['acc']
            metrics[f'{direction}_mean_rank'] = scores['mean_rank']
        metrics['chance'] = 1.0 / audio.shape[1]
        return metrics
