"""Fixed 2-D sine-cosine position embeddings for rectangular patch grids,
and their adaptation to another audio length."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """The standard 1-D sine-cosine code of ``positions``.

    Args:
        positions (torch.Tensor): Positions, shape ``[L]``.
        dim (int): Output channels, even.

    Returns:
        torch.Tensor: ``[L, dim]``: ``sin(pos * omega)`` then ``cos``, with
        ``omega_d = 1 / 10000 ** (d / (dim / 2))``.
    """
    assert dim % 2 == 0, f'dim must be even, got {dim}'
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.)
    omega = 1. / 10000**omega  # [dim / 2]
    angles = positions.to(torch.float64)[:, None] * omega[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def sincos_2d(grid_rows: int, grid_cols: int, dim: int) -> torch.Tensor:
    """2-D sine-cosine position embedding of a ``rows x cols`` patch grid.

    Tokens are numbered row-major (token ``k`` sits at row ``k // cols``,
    column ``k % cols``). The first half of the channels encodes the column,
    the second half the row. Unlike MMPretrain's helper the grid need not be
    square (CAV-MAE's audio grid is 8 x 64).

    Args:
        grid_rows (int): Number of patch rows.
        grid_cols (int): Number of patch columns.
        dim (int): Embedding channels, a multiple of 4.

    Returns:
        torch.Tensor: ``[1, rows * cols, dim]`` float32.
    """
    assert dim % 4 == 0, f'dim must be a multiple of 4, got {dim}'
    token_ids = torch.arange(grid_rows * grid_cols)
    cols = sincos_1d(token_ids % grid_cols, dim // 2)  # [L, dim / 2]
    rows = sincos_1d(token_ids // grid_cols, dim // 2)  # [L, dim / 2]
    return torch.cat([cols, rows], dim=1).float().unsqueeze(0)


def adapt_audio_pos_embed(pos_embed: torch.Tensor, rows: int,
                          new_cols: int) -> torch.Tensor:
    """Resize an audio position embedding along time.

    Args:
        pos_embed (torch.Tensor): ``[1, rows * old_cols, D]``, frequency-major.
        rows (int): Frequency patches (8 for 128 mel bins).
        new_cols (int): Time patches wanted.

    Returns:
        torch.Tensor: ``[1, rows * new_cols, D]``: the first ``new_cols``
        columns when shorter (for the fixed sin-cos code this equals a freshly
        built embedding), linear interpolation along time when longer.
    """
    _, length, dim = pos_embed.shape
    old_cols = length // rows
    grid = pos_embed.reshape(1, rows, old_cols, dim)
    if new_cols <= old_cols:
        grid = grid[:, :, :new_cols]
    else:
        grid = F.interpolate(
            grid.permute(0, 3, 1, 2), size=(rows, new_cols),
            mode='bilinear', align_corners=False).permute(0, 2, 3, 1)
    return grid.reshape(1, rows * new_cols, dim)


def adapt_audio_pos_embed_in_state_dict(
        state_dict: dict, key: str, param: torch.Tensor,
        grid_a: Tuple[int, int], patch_size: int) -> None:
    """Resize ``state_dict[key]`` to ``param``'s audio length in place (see
    :func:`adapt_audio_pos_embed`) and log it; nothing when the shapes
    agree or the key is absent."""
    if key not in state_dict or state_dict[key].shape == param.shape:
        return
    old = state_dict[key]
    rows, cols = grid_a
    state_dict[key] = adapt_audio_pos_embed(old, rows, cols)
    old_cols = old.shape[1] // rows
    MMLogger.get_current_instance().info(
        f'{key}: adapted the audio position embedding from {old_cols} to '
        f'{cols} time patches ({tuple(old.shape)} -> '
        f'{tuple(state_dict[key].shape)}), i.e. audio_length '
        f'{old_cols * patch_size} -> {cols * patch_size}')
