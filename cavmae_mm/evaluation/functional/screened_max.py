"""Retrieval ranks for the ``max`` aggregation, screened in bfloat16.

``max`` compares every frame of a clip with every frame of every other
clip: ``(N F)^2 D`` multiply-adds (1.6 TFLOP for 2,000 clips of 16 frames,
D = 768), several seconds in float32 on a small CPU. The ranks need only,
per query, how many candidates score at least the true match. So the clip
scores are first computed from bfloat16 features (several times faster on
CPUs with bfloat16 matrix units), each within :data:`SCREEN_MARGIN` of the
float32 score; a candidate clearly above or below the match is counted or
not from that, and only those within the margin of it (and the matches
themselves) are recomputed in float32. The ranks are those of the float32
scores, ties included.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

from .frame_retrieval import (_check_frames, clip_score_matrix, frame_major,
                              max_block_rows, max_cosines, ranks_from_scores)

#: Bound on |bfloat16 score - float32 score| for unit-norm features
#: (u = 2^-8): rounding the inputs adds at most (2 u + u^2) sum |a_d b_d|
#: <= 2 u + u^2, the float32 accumulation at most D 2^-24 (< 2.5e-4 for
#: D <= 4096), rounding the result to bfloat16 at most u |s| (|s| <= 1);
#: a max of scores keeps the bound. In all under 3 u + 3e-4 = 0.0120; the
#: margin is 4 u = 0.0156. Measured on this CPU: under 0.2 u.
SCREEN_MARGIN = 2.0**-6
#: Clip pairs per float32 recomputation batch.
PAIR_CHUNK = 1024
#: Audio clips of the first block also scored in float32 to check the
#: margin on this machine's bfloat16 kernels.
CHECKED_CLIPS = 4


def pair_max_scores(audio: torch.Tensor, visual: torch.Tensor,
                    pairs: torch.Tensor) -> torch.Tensor:
    """float32 ``max`` scores of clip pairs ``(i, j)``, with the matches
    ``(i, i)`` and ``(j, j)`` computed in the same batched product (so a
    pair and its matches are rounded alike: exact ties stay ties).

    Args:
        audio (torch.Tensor): ``[N, F, D]`` unit-norm float32.
        visual (torch.Tensor): ``[N, F, D]`` unit-norm float32.
        pairs (torch.Tensor): int64 ``[P, 2]``.

    Returns:
        torch.Tensor: ``[3, P]``: ``S[i, j]``, ``S[i, i]``, ``S[j, j]``.
    """
    out = []
    for start in range(0, pairs.shape[0], PAIR_CHUNK):
        rows, cols = pairs[start:start + PAIR_CHUNK].unbind(1)
        queries = torch.cat([rows, rows, cols])
        keys = torch.cat([cols, rows, cols])
        # [3 p, F, D] x [3 p, D, F] -> [3 p, F, F] -> max
        scores = torch.bmm(audio[queries],
                           visual[keys].transpose(1, 2)).amax((1, 2))
        out.append(scores.view(3, -1))
    return torch.cat(out, dim=1) if out else audio.new_empty(3, 0)


def _margin_holds(approx_own: torch.Tensor, approx: torch.Tensor,
                  block: torch.Tensor, visual: torch.Tensor,
                  start: int) -> bool:
    """Whether the first clips' bfloat16 scores are within half the margin
    of their float32 scores (else the kernels round more than assumed and
    the caller computes everything in float32)."""
    checked = block[:CHECKED_CLIPS]
    rows = torch.arange(checked.shape[0])
    exact = max_cosines(frame_major(checked), frame_major(visual),
                        block.shape[1])
    approx = approx[rows].clone()
    approx[rows, rows + start] = approx_own[rows]
    error = (approx - exact).abs().max()
    return bool(error < SCREEN_MARGIN / 2)


@torch.no_grad()
def screened_max_ranks(audio: torch.Tensor,
                       visual: torch.Tensor,
                       chunk_size: int = 4096,
                       max_block_elements: int = 1 << 25
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Audio->visual and visual->audio ranks of the ``max`` clip scores
    (:func:`~.frame_retrieval.clip_score_matrix` with ``'max'``), screened
    in bfloat16 (module docstring). Where the first clips' bfloat16 scores
    are off by more than half the margin (kernels that round more than
    assumed), everything is computed in float32 instead.

    Args:
        audio (torch.Tensor): ``[N, F, D]`` audio-segment features
            (normalized here).
        visual (torch.Tensor): ``[N, F, D]`` frame features.
        chunk_size (int): Audio clips per block at most. Defaults to 4096.
        max_block_elements (int): Frame cosines per block at most.
            Defaults to ``2 ** 25``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 ``[N]`` ranks, 0-based.
    """
    _check_frames(audio, visual)
    audio = F.normalize(audio.float(), dim=-1)
    visual = F.normalize(visual.float(), dim=-1)
    num, frames = audio.shape[:2]
    # The matches in float32: [N, F, F] -> [N]
    true = torch.bmm(audio, visual.transpose(1, 2)).amax((1, 2))
    visual_rows = frame_major(visual).bfloat16()
    rows = max_block_rows(chunk_size, max_block_elements, frames, num)
    buffer = visual_rows.new_empty(min(rows, num) * frames * frames * num)
    a2v_count = torch.zeros(num, dtype=torch.int64)
    v2a_count = torch.zeros(num, dtype=torch.int64)
    band_pairs, band_sides = [], []
    for start in range(0, num, rows):
        block = audio[start:start + rows]
        approx = max_cosines(frame_major(block).bfloat16(), visual_rows,
                             frames, buffer).float()  # [n, N]
        # The match itself counts once, below: out of both comparisons.
        own = torch.arange(block.shape[0])
        approx_own = approx[own, own + start].clone()
        approx[own, own + start] = float('-inf')
        if start == 0 and not _margin_holds(approx_own, approx, block,
                                            visual, start):
            return ranks_from_scores(
                clip_score_matrix(audio, visual, 'max', chunk_size,
                                  max_block_elements), chunk_size)
        row_true = true[start:start + block.shape[0], None]  # [n, 1]
        col_true = true[None, :]  # [1, N]
        # Surely at least the match: counted; within the margin: later.
        a2v_count[start:start + block.shape[0]] += (
            approx >= row_true + SCREEN_MARGIN).sum(1)
        v2a_count += (approx >= col_true + SCREEN_MARGIN).sum(0)
        row_band = (approx - row_true).abs() < SCREEN_MARGIN
        col_band = (approx - col_true).abs() < SCREEN_MARGIN
        band = (row_band | col_band).nonzero()  # [P, 2]
        band_sides.append(
            torch.stack([row_band[band[:, 0], band[:, 1]],
                         col_band[band[:, 0], band[:, 1]]]))
        band[:, 0] += start
        band_pairs.append(band)
    pairs = torch.cat(band_pairs)
    in_row_band, in_col_band = torch.cat(band_sides, dim=1)
    exact, row_match, col_match = pair_max_scores(audio, visual, pairs)
    a2v_count.index_add_(0, pairs[in_row_band, 0],
                         (exact >= row_match)[in_row_band].long())
    v2a_count.index_add_(0, pairs[in_col_band, 1],
                         (exact >= col_match)[in_col_band].long())
    return a2v_count, v2a_count
