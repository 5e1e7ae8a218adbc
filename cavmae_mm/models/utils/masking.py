"""Random token masking for MAE-style pre-training (rectangular grids)."""
from typing import Optional, Tuple

import torch
import torch.distributed as dist

MASK_MODES = ('unstructured', 'time', 'freq', 'tf')


def num_visible(length: int, mask_ratio: float) -> int:
    """Tokens left visible of ``length`` at ``mask_ratio``:
    ``int(L * (1 - mask_ratio))`` (the reference's ``len_keep``)."""
    return int(length * (1 - mask_ratio))


def mask_by_noise(tokens: torch.Tensor, noise: torch.Tensor,
                  mask_ratio: float
                  ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the :func:`num_visible` tokens with the lowest noise.

    Args:
        tokens (torch.Tensor): ``[B, L, D]``.
        noise (torch.Tensor): ``[B, L]``; lower values are kept.
        mask_ratio (float): Fraction of tokens to drop.

    Returns:
        tuple: ``visible`` ``[B, L_keep, D]`` (in order of increasing noise),
        ``mask`` ``[B, L]`` (1 = dropped, in the original token order) and
        ``ids_restore`` ``[B, L]`` (un-shuffles ``[visible; dropped]``).
    """
    batch, length, dim = tokens.shape
    num_keep = num_visible(length, mask_ratio)
    ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small is kept
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :num_keep]  # [B, L_keep]
    visible = torch.gather(
        tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))
    mask = torch.ones(batch, length, device=tokens.device)
    mask[:, :num_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)  # [B, L], 1 = dropped
    return visible, mask, ids_restore


def structured_noise(noise: torch.Tensor, grid: Tuple[int, int],
                     mask_ratio: float, mode: str,
                     generator: Optional[torch.Generator] = None
                     ) -> torch.Tensor:
    """Raise the noise of whole time columns / frequency rows above 1.

    Tokens whose noise is above every uniform draw are dropped first, so the
    chosen stripes are always masked and the remaining budget is random (the
    reference's ``random_masking_structured``).

    Args:
        noise (torch.Tensor): ``[B, rows * cols]`` uniform noise.
        grid (tuple[int, int]): ``(rows, cols)`` = (frequency, time) patches.
        mask_ratio (float): Fraction of tokens to drop.
        mode (str): ``'time'`` (whole time columns), ``'freq'`` (whole
            frequency rows) or ``'tf'`` (70 % of each budget in both).
        generator (torch.Generator, optional): For the stripe choice.
            Defaults to None (the global generator).

    Returns:
        torch.Tensor: The modified noise, ``[B, rows * cols]``.
    """
    rows, cols = grid
    batch = noise.shape[0]
    noise = noise.reshape(batch, rows, cols).clone()
    if mode == 'time':
        num_cols, num_rows = int(cols * mask_ratio), 0
    elif mode == 'freq':
        num_cols, num_rows = 0, int(rows * mask_ratio)
    elif mode == 'tf':
        num_cols = int(cols * mask_ratio * 0.7)
        num_rows = int(rows * mask_ratio * 0.7)
    else:
        raise ValueError(f'mask mode must be one of {MASK_MODES}, '
                         f'got {mode!r}')
    column_hit = _random_subset(batch, cols, num_cols, noise.device,
                                generator)  # [B, cols]
    row_hit = _random_subset(batch, rows, num_rows, noise.device,
                             generator)  # [B, rows]
    noise = noise.masked_fill(column_hit[:, None, :], 1.1)
    noise = noise.masked_fill(row_hit[:, :, None], 1.1)
    return noise.reshape(batch, rows * cols)


def _random_subset(batch: int, size: int, count: int, device,
                   generator: Optional[torch.Generator]) -> torch.Tensor:
    """``[batch, size]`` bool: ``count`` random positions per row (the first
    ``count`` of a random permutation); no draw when ``count`` is 0."""
    hit = torch.zeros(batch, size, dtype=torch.bool, device=device)
    if count:
        picks = torch.rand(batch, size, generator=generator,
                           device=device).argsort(1)[:, :count]
        hit.scatter_(1, picks, True)
    return hit


def draw_mask_ratios(low: float, high: float,
                     device: Optional[torch.device] = None
                     ) -> Tuple[float, float]:
    """Random per-batch mask ratios (Sync's ``multi_ratio_masking``).

    Every process draws ``u = torch.rand(2)`` from its global generator
    (so the streams that follow stay in step whatever the rank), then
    rank 0's draw is broadcast: all processes mask at the same ratios.
    The reference re-seeds a fresh generator with 0 at every call (always
    0.7489 / 0.8305 on one process); we do not.

    Args:
        low (float): Smallest ratio. Sync uses 0.6.
        high (float): Largest ratio. Sync uses 0.9.
        device (torch.device, optional): Where to draw (the inputs'
            device: its generator, and a tensor the process group can
            broadcast). Defaults to None (CPU).

    Returns:
        tuple[float, float]: ``(ratio_a, ratio_v)``, each
        ``low + (high - low) * u``.
    """
    draws = torch.rand(2, device=device)
    if dist.is_available() and dist.is_initialized() \
            and dist.get_world_size() > 1:
        dist.broadcast(draws, src=0)
    # In double precision as the reference (0.6 + 0.3 * u.item()); the
    # span rounded so that 0.9 - 0.6 is 0.3.
    span = round(high - low, 12)
    ratio_a, ratio_v = (low + span * u for u in draws.tolist())
    return ratio_a, ratio_v
