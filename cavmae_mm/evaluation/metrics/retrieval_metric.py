"""Audio→visual and visual→audio retrieval recall and median rank."""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS
from ..functional import recall_and_median_rank, retrieval_ranks


@METRICS.register_module()
class AVRetrievalMetric(BaseMetric):
    """Cross-modal retrieval between the clips of an evaluation set
    (SPEC §7).

    Each data sample carries the L2-normalized mean-pooled features
    ``audio_feature`` and ``visual_feature`` of one clip (the ``predict``
    output of ``CAVMAE``). For every audio query all visual features are
    ranked by cosine similarity (``a2v``), and the other way round
    (``v2a``); the clip's own feature is the one correct answer. Keys:
    ``a2v_R@1``, ``a2v_R@5``, ``a2v_R@10``, ``a2v_MdR`` and the same for
    ``v2a`` (recalls as fractions, MdR 1-based). Ties with the true match
    count against it. Everything is one matrix product per block of
    queries; no per-pair loop.

    Args:
        topk (Sequence[int]): Recall cut-offs. Defaults to ``(1, 5, 10)``.
        chunk_size (int): Queries per similarity block. Defaults to 4096.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'retrieval'``.
    """
    default_prefix: Optional[str] = 'retrieval'

    def __init__(self,
                 topk: Sequence[int] = (1, 5, 10),
                 chunk_size: int = 4096,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)
        self.chunk_size = chunk_size

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'audio_feature' not in sample or \
                    'visual_feature' not in sample:
                raise KeyError('AVRetrievalMetric needs audio_feature and '
                               'visual_feature in each data sample (the '
                               'predict mode of CAVMAE with both inputs)')
            self.results.append(
                (sample['audio_feature'].detach().float().cpu(),
                 sample['visual_feature'].detach().float().cpu()))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        audio = torch.stack([a for a, _ in results])  # [N, D]
        visual = torch.stack([v for _, v in results])  # [N, D]
        metrics = {}
        for direction, (queries, candidates) in (('a2v', (audio, visual)),
                                                 ('v2a', (visual, audio))):
            ranks = retrieval_ranks(queries, candidates, self.chunk_size)
            for name, value in recall_and_median_rank(ranks,
                                                      self.topk).items():
                metrics[f'{direction}_{name}'] = value
        return metrics
