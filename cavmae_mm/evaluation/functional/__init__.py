from .frame_retrieval import (AGGREGATES, alignment_accuracy,
                              clip_score_matrix, frame_alignment_ranks,
                              frame_retrieval_ranks, ranks_from_scores)
from .multilabel import (average_precision_per_class, d_prime,
                         roc_auc_per_class)
from .retrieval import recall_and_median_rank, retrieval_ranks

__all__ = [
    'average_precision_per_class', 'roc_auc_per_class', 'd_prime',
    'retrieval_ranks', 'recall_and_median_rank', 'AGGREGATES',
    'clip_score_matrix', 'ranks_from_scores', 'frame_retrieval_ranks',
    'frame_alignment_ranks', 'alignment_accuracy'
]
