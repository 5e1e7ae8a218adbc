"""Fixed 2-D sine-cosine position embeddings for rectangular patch grids."""
import torch


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
