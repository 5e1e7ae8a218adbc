"""Retrieval and alignment from per-frame features (CAV-MAE Sync,
SPEC_SYNC "Retrieval"), vectorized.

Clip ``i`` has ``F`` unit-norm audio-segment features ``a[i, k]`` and ``F``
frame features ``v[i, l]``; ``c(k, l) = a[i, k] . v[j, l]`` are the frame
cosines between clip ``i``'s audio and clip ``j``'s frames. The clip score
``S[i, j]`` aggregates them (:data:`AGGREGATES`); audio->visual ranks the
rows of ``S``, visual->audio its columns (the other direction is the
transpose).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

#: Clip-score aggregations of the frame cosines ``c(k, l)``.
AGGREGATES = ('max', 'mean', 'diagonal_mean', 'diagonal_max')


def _check_frames(audio: torch.Tensor, visual: torch.Tensor) -> None:
    if (audio.ndim != 3 or visual.ndim != 3
            or audio.shape[1:] != visual.shape[1:]):
        raise ValueError(f'audio and visual must be [N, F, D] with the same '
                         f'F and D, got {list(audio.shape)} and '
                         f'{list(visual.shape)}')


def frame_major(features: torch.Tensor) -> torch.Tensor:
    """``[N, F, D]`` -> ``[F N, D]``, row ``k N + i`` = frame ``k`` of clip
    ``i`` (the layout of :func:`max_cosines`)."""
    return features.transpose(0, 1).reshape(-1, features.shape[-1])


def max_cosines(audio_rows: torch.Tensor, visual_rows: torch.Tensor,
                frames: int, buffer: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
    """Max over all frame pairs of the cosines, from frame-major features
    (:func:`frame_major`): one ``[F n, D] x [D, F N]`` product, then the
    max over ``l`` and over ``k``, each an element-wise max of contiguous
    slabs (fast, also in bfloat16).

    Args:
        audio_rows (torch.Tensor): ``[F n, D]``.
        visual_rows (torch.Tensor): ``[F N, D]``, the same dtype.
        frames (int): ``F``.
        buffer (torch.Tensor, optional): Storage of at least ``F n F N``
            elements of that dtype, reused between blocks (a fresh large
            tensor costs page faults). Defaults to None.

    Returns:
        torch.Tensor: ``[n, N]`` in the features' dtype.
    """
    n, num = audio_rows.shape[0] // frames, visual_rows.shape[0] // frames
    out = None if buffer is None else buffer[:frames * n * frames *
                                             num].view(frames * n,
                                                       frames * num)
    cosines = torch.mm(audio_rows, visual_rows.T, out=out)  # [F n, F N]
    # [F n, F (l), N] -> [F n, N] -> [F (k), n, N] -> [n, N]
    return cosines.view(frames * n, frames, num).amax(1).view(
        frames, n, num).amax(0)


def clip_scores(audio: torch.Tensor,
                visual: torch.Tensor,
                aggregate: str,
                buffer: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Clip scores ``S[i, j]`` of a block of audio clips against visual
    clips.

    ``max``: max over ``k, l`` of ``c(k, l)`` (all frame pairs: one
    ``[n F, N F]`` product); ``mean``: mean over ``k, l``, which for a dot
    product is the dot of the per-clip mean features; ``diagonal_mean``:
    mean over ``k`` of ``c(k, k)`` (one ``[n, F D] x [F D, N]`` product);
    ``diagonal_max``: max over ``k`` of ``c(k, k)`` (``F`` products).

    Args:
        audio (torch.Tensor): ``[n, F, D]`` unit-norm audio features.
        visual (torch.Tensor): ``[N, F, D]`` unit-norm frame features.
        aggregate (str): One of :data:`AGGREGATES`.
        buffer (torch.Tensor, optional): Storage for the ``max`` cosines
            (:func:`max_cosines`). Defaults to None.

    Returns:
        torch.Tensor: ``[n, N]``.
    """
    n, frames, dim = audio.shape
    num = visual.shape[0]
    if aggregate == 'max':
        return max_cosines(frame_major(audio), frame_major(visual), frames,
                           buffer)
    if aggregate == 'mean':
        return audio.mean(1) @ visual.mean(1).T  # [n, N]
    if aggregate == 'diagonal_mean':
        return (audio.reshape(n, frames * dim) @ visual.reshape(
            num, frames * dim).T) / frames  # [n, N]
    if aggregate == 'diagonal_max':
        # [F, n, D] x [F, D, N] -> [F, n, N] -> max over k
        return torch.bmm(audio.transpose(0, 1),
                         visual.permute(1, 2, 0)).amax(0)
    raise ValueError(f'aggregate must be one of {AGGREGATES}, got '
                     f'{aggregate!r}')


@torch.no_grad()
def clip_score_matrix(audio: torch.Tensor,
                      visual: torch.Tensor,
                      aggregate: str,
                      chunk_size: int = 4096,
                      max_block_elements: int = 1 << 25) -> torch.Tensor:
    """All clip scores ``S [N, N]`` (float32), in blocks of audio clips.

    Features are L2-normalized per frame here. A block holds at most
    ``chunk_size`` clips and, for ``max``, at most ``max_block_elements``
    frame cosines (128 MB), so memory is ``S`` (``4 N^2`` bytes: 16 MB for
    2,000 clips) plus one block.

    Args:
        audio (torch.Tensor): ``[N, F, D]`` audio-segment features.
        visual (torch.Tensor): ``[N, F, D]`` frame features; clip ``i`` of
            both belong together.
        aggregate (str): One of :data:`AGGREGATES`.
        chunk_size (int): Audio clips per block. Defaults to 4096.
        max_block_elements (int): Frame cosines per ``max`` block.
            Defaults to ``2 ** 25``.

    Returns:
        torch.Tensor: float32 ``[N, N]``, rows audio clips, columns visual
        clips.
    """
    _check_frames(audio, visual)
    if aggregate not in AGGREGATES:
        raise ValueError(f'aggregate must be one of {AGGREGATES}, got '
                         f'{aggregate!r}')
    audio = F.normalize(audio.float(), dim=-1)
    visual = F.normalize(visual.float(), dim=-1)
    num, frames = visual.shape[:2]
    if aggregate != 'max':
        return torch.cat([
            clip_scores(audio[start:start + chunk_size], visual, aggregate)
            for start in range(0, audio.shape[0], chunk_size)
        ])
    rows = max_block_rows(chunk_size, max_block_elements, frames, num)
    buffer = audio.new_empty(min(rows, audio.shape[0]) * frames * frames *
                             num)
    visual_rows = frame_major(visual)
    return torch.cat([
        max_cosines(frame_major(audio[start:start + rows]), visual_rows,
                    frames, buffer)
        for start in range(0, audio.shape[0], rows)
    ])


def max_block_rows(chunk_size: int, max_block_elements: int, frames: int,
                   num: int) -> int:
    """Audio clips per ``max`` block: at most ``chunk_size`` and at most
    ``max_block_elements`` frame cosines (``F^2 N`` per clip)."""
    return min(chunk_size, max(1, max_block_elements // (frames * frames *
                                                         num)))


@torch.no_grad()
def ranks_from_scores(scores: torch.Tensor,
                      chunk_size: int = 4096
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """0-based ranks of each true match from a clip score matrix, both
    directions; ties with the match count against it (as
    :func:`~cavmae_mm.evaluation.functional.retrieval_ranks`).

    Args:
        scores (torch.Tensor): ``[N, N]``, ``S[i, j]`` audio clip ``i``
            against visual clip ``j``; the diagonal are the matches.
        chunk_size (int): Rows / columns per comparison block.
            Defaults to 4096.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 ``[N]`` audio->visual
        ranks (along rows) and visual->audio ranks (along columns).
    """
    true = scores.diagonal()
    a2v, v2a = [], []
    for start in range(0, scores.shape[0], chunk_size):
        block = scores[start:start + chunk_size]  # [n, N]
        a2v.append((block >= true[start:start + chunk_size, None]).sum(1) -
                   1)
        columns = scores[:, start:start + chunk_size]  # [N, n]
        v2a.append((columns >= true[None, start:start + chunk_size]).sum(0)
                   - 1)
    return torch.cat(a2v), torch.cat(v2a)


@torch.no_grad()
def frame_alignment_ranks(audio: torch.Tensor, visual: torch.Tensor
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Within each clip, the 0-based rank of the right audio segment for
    each frame (visual->audio) and of the right frame for each segment
    (audio->visual), by cosine ``c(k, l)`` between the clip's own segments
    and frames; ties count against the match.

    Args:
        audio (torch.Tensor): ``[N, F, D]`` audio-segment features.
        visual (torch.Tensor): ``[N, F, D]`` frame features, frame ``l``
            paired with segment ``l``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 ``[N, F]`` ranks of the
        right segment per frame and of the right frame per segment.
    """
    _check_frames(audio, visual)
    audio = F.normalize(audio.float(), dim=-1)
    visual = F.normalize(visual.float(), dim=-1)
    cosines = torch.bmm(audio, visual.transpose(1, 2))  # [N, F (k), F (l)]
    true = cosines.diagonal(dim1=1, dim2=2)  # [N, F]
    segment_ranks = (cosines >= true[:, None, :]).sum(1) - 1  # per frame l
    frame_ranks = (cosines >= true[:, :, None]).sum(2) - 1  # per segment k
    return segment_ranks, frame_ranks


def alignment_accuracy(ranks: torch.Tensor) -> Dict[str, float]:
    """Top-1 accuracy and mean 1-based rank of
    :func:`frame_alignment_ranks`' output, and the chance accuracy
    ``1 / F``.

    Args:
        ranks (torch.Tensor): ``[N, F]`` 0-based ranks.

    Returns:
        dict: ``acc``, ``mean_rank`` and ``chance``.
    """
    ranks = ranks.double()
    return dict(acc=float((ranks == 0).double().mean()),
                mean_rank=float((ranks + 1).mean()),
                chance=1.0 / ranks.shape[1])


def frame_retrieval_ranks(audio: torch.Tensor,
                          visual: torch.Tensor,
                          aggregate: str,
                          chunk_size: int = 4096,
                          screen: bool = True
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Clip retrieval ranks from per-frame features, both directions:
    :func:`clip_score_matrix` then :func:`ranks_from_scores`; for ``max``
    with ``screen``, :func:`~.screened_max.screened_max_ranks` (the same
    ranks, several times faster).

    Args:
        audio (torch.Tensor): ``[N, F, D]`` audio-segment features.
        visual (torch.Tensor): ``[N, F, D]`` frame features.
        aggregate (str): One of :data:`AGGREGATES`.
        chunk_size (int): Clips per block. Defaults to 4096.
        screen (bool): Screen ``max`` in bfloat16. Defaults to True.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 ``[N]`` audio->visual and
        visual->audio ranks (0 = retrieved first).
    """
    if aggregate == 'max' and screen:
        from .screened_max import screened_max_ranks
        return screened_max_ranks(audio, visual, chunk_size)
    scores = clip_score_matrix(audio, visual, aggregate, chunk_size)
    return ranks_from_scores(scores, chunk_size)
