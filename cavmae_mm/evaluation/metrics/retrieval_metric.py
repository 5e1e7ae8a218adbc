"""Audio→visual and visual→audio retrieval recall and median rank."""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS
from ..functional import (AGGREGATES, frame_retrieval_ranks,
                          recall_and_median_rank, retrieval_ranks)


def collect_features(sample: dict, metric: str, per_frame: bool):
    """``(audio_feature, visual_feature)`` of one data sample on the CPU in
    float32, checked to be ``[D]`` (one per clip) or ``[F, D]`` (one per
    frame, ``per_frame``)."""
    if 'audio_feature' not in sample or 'visual_feature' not in sample:
        raise KeyError(f'{metric} needs audio_feature and visual_feature in '
                       'each data sample (the predict mode of CAVMAE with '
                       'both inputs)')
    audio, visual = (sample[key].detach().float().cpu()
                     for key in ('audio_feature', 'visual_feature'))
    ndim = 2 if per_frame else 1
    if audio.ndim != ndim or visual.ndim != ndim:
        shape = '[F, D] (per frame)' if per_frame else '[D] (per clip)'
        raise ValueError(
            f'{metric} expects {shape} features, got audio '
            f'{list(audio.shape)} and visual {list(visual.shape)}' +
            ('' if per_frame or audio.ndim != 2 else
             "; set aggregate='max' | 'mean' | 'diagonal_mean' | "
             "'diagonal_max' for per-frame features"))
    return audio, visual


@METRICS.register_module()
class AVRetrievalMetric(BaseMetric):
    """Cross-modal retrieval between the clips of an evaluation set
    (SPEC §7; per-frame features: SPEC_SYNC "Retrieval").

    Each data sample carries the L2-normalized features ``audio_feature``
    and ``visual_feature`` of one clip (the ``predict`` output of
    ``CAVMAE``): ``[D]`` each, or with ``aggregate`` ``[F, D]`` each, one
    per audio segment and frame (CAV-MAE Sync). For every audio query all
    visual clips are ranked by score (``a2v``), and the other way round
    (``v2a``); the clip's own feature is the one correct answer. The score
    is the cosine for ``[D]`` features; for ``[F, D]`` features an
    aggregation of the frame cosines ``c(k, l)`` between the audio clip's
    segment ``k`` and the visual clip's frame ``l``: ``'max'`` (over all
    ``k, l``), ``'mean'`` (over all ``k, l``), ``'diagonal_mean'`` /
    ``'diagonal_max'`` (over ``c(k, k)``); ``v2a`` uses the transpose.
    Keys: ``a2v_R@1``, ``a2v_R@5``, ``a2v_R@10``, ``a2v_MdR`` and the same
    for ``v2a`` (recalls as fractions, MdR 1-based). Ties with the true
    match count against it. Everything is matrix products per block of
    queries; no per-pair loop.

    Args:
        topk (Sequence[int]): Recall cut-offs. Defaults to ``(1, 5, 10)``.
        chunk_size (int): Queries per similarity block. Defaults to 4096.
        aggregate (str, optional): None for ``[D]`` features, else one of
            ``'max'``, ``'mean'``, ``'diagonal_mean'``, ``'diagonal_max'``
            for ``[F, D]`` features. Defaults to None.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'retrieval'``.
    """
    default_prefix: Optional[str] = 'retrieval'

    def __init__(self,
                 topk: Sequence[int] = (1, 5, 10),
                 chunk_size: int = 4096,
                 aggregate: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if aggregate is not None and aggregate not in AGGREGATES:
            raise ValueError(f'aggregate must be None or one of '
                             f'{AGGREGATES}, got {aggregate!r}')
        self.topk = tuple(topk)
        self.chunk_size = chunk_size
        self.aggregate = aggregate

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                collect_features(sample, type(self).__name__,
                                 self.aggregate is not None))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        audio = torch.stack([a for a, _ in results])  # [N, (F,) D]
        visual = torch.stack([v for _, v in results])  # [N, (F,) D]
        if self.aggregate is None:
            ranks = dict(a2v=retrieval_ranks(audio, visual, self.chunk_size),
                         v2a=retrieval_ranks(visual, audio, self.chunk_size))
        else:
            ranks = dict(
                zip(('a2v', 'v2a'),
                    frame_retrieval_ranks(audio, visual, self.aggregate,
                                          self.chunk_size)))
        metrics = {}
        for direction, direction_ranks in ranks.items():
            for name, value in recall_and_median_rank(direction_ranks,
                                                      self.topk).items():
                metrics[f'{direction}_{name}'] = value
        return metrics
