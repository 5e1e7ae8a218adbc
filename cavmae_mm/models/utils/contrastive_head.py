"""The contrastive projection heads of CAV-MAE Sync (``contrastive_heads``):
extra transformer blocks per modality between the shared layer and the
final norm of the contrastive stream."""
from typing import Union

import torch
import torch.nn as nn

from .transformer import CAVMAEBlock, run_blocks


class ContrastiveHead(nn.ModuleList):
    """``depth`` plain pre-norm blocks (the ``norm1`` / ``norm2`` pair, as
    the reference's ``constrative_head_audio`` / ``_visual`` blocks).

    A ``ModuleList`` so that the parameter names are the reference's
    (``contrastive_head_audio.<i>.attn.qkv.weight``; the reference spells
    the prefix ``constrative_``, which the checkpoint converter maps). The
    blocks carry the unused, frozen ``norm1_a``/``…`` copies like every
    reference block, so checkpoints map key for key.

    Args:
        embed_dims (int): Token channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): Defaults to 4.
        depth (int): Blocks. Defaults to 2 (the reference's).
        norm_eps (float): Defaults to 1e-5.
        fused_attn (bool | str): See
            :class:`~cavmae_mm.models.utils.transformer.Attention`.
            Defaults to ``'auto'``.
        with_cp (bool): Activation checkpointing per block.
            Defaults to False.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 depth: int = 2,
                 norm_eps: float = 1e-5,
                 fused_attn: Union[bool, str] = 'auto',
                 with_cp: bool = False) -> None:
        super().__init__(
            CAVMAEBlock(embed_dims, num_heads, mlp_ratio, norm_eps=norm_eps,
                        modality_norms=False, fused_attn=fused_attn)
            for _ in range(depth))
        self.with_cp = with_cp

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, L, D]`` → ``[B, L, D]``."""
        return run_blocks(tokens, self, with_cp=self.with_cp)
