"""Cross-modal retrieval ranks and recalls (SPEC §7), vectorized."""
from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn.functional as F


@torch.no_grad()
def retrieval_ranks(queries: torch.Tensor, candidates: torch.Tensor,
                    chunk_size: int = 4096) -> torch.Tensor:
    """0-based rank of each query's true match (candidate ``i`` for query
    ``i``) among all candidates, by cosine similarity.

    A candidate scoring exactly as high as the true match counts as ranked
    before it, so a model with constant features gets the worst rank, not
    the best.

    Args:
        queries (torch.Tensor): ``[N, D]`` features (normalized here).
        candidates (torch.Tensor): ``[N, D]``, row ``i`` pairs with query
            ``i``.
        chunk_size (int): Queries per similarity block, which bounds the
            memory to ``chunk_size x N``. Defaults to 4096.

    Returns:
        torch.Tensor: ``[N]`` int64 ranks (0 = retrieved first).
    """
    if queries.ndim != 2 or queries.shape != candidates.shape:
        raise ValueError(f'queries and candidates must both be [N, D], got '
                         f'{list(queries.shape)} and '
                         f'{list(candidates.shape)}')
    queries = F.normalize(queries.double(), dim=-1)
    candidates = F.normalize(candidates.double(), dim=-1)
    ranks = []
    for start in range(0, queries.shape[0], chunk_size):
        block = queries[start:start + chunk_size] @ candidates.T  # [n, N]
        rows = torch.arange(block.shape[0])
        true_sim = block[rows, rows + start][:, None]  # [n, 1]
        at_least = (block >= true_sim).sum(dim=1)  # includes the match
        ranks.append(at_least - 1)
    return torch.cat(ranks)


def recall_and_median_rank(ranks: torch.Tensor,
                           topk: Sequence[int] = (1, 5, 10)
                           ) -> Dict[str, float]:
    """Recall at ``k`` and median rank from 0-based ranks.

    Args:
        ranks (torch.Tensor): ``[N]`` 0-based ranks (``retrieval_ranks``).
        topk (Sequence[int]): Defaults to ``(1, 5, 10)``.

    Returns:
        dict: ``R@k`` (fraction of queries whose match is among the first
        ``k``) for each ``k``, and ``MdR``: the median 1-based rank
        (``numpy.median``, i.e. the mean of the two middle ranks for an even
        count, as the reference).
    """
    ranks = ranks.cpu().numpy()
    out = {f'R@{k}': float((ranks < k).mean()) for k in topk}
    out['MdR'] = float(np.median(ranks + 1))
    return out
