from .multilabel import (average_precision_per_class, d_prime,
                         roc_auc_per_class)
from .retrieval import recall_and_median_rank, retrieval_ranks

__all__ = [
    'average_precision_per_class', 'roc_auc_per_class', 'd_prime',
    'retrieval_ranks', 'recall_and_median_rank'
]
