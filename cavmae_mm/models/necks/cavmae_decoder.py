"""The CAV-MAE pre-training decoder (SPEC §4)."""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmaction.registry import MODELS
from ..utils.pos_embed import adapt_audio_pos_embed_in_state_dict, sincos_2d
from ..utils.transformer import (CAVMAEBlock, init_linear_and_norm,
                                 run_blocks)


def unshuffle(visible: torch.Tensor, mask_token: torch.Tensor,
              ids_restore: torch.Tensor) -> torch.Tensor:
    """Append mask tokens to the visible tokens and restore the token order.

    Args:
        visible (torch.Tensor): ``[B, K, D]`` in masking (shuffled) order.
        mask_token (torch.Tensor): ``[1, 1, D]``.
        ids_restore (torch.Tensor): ``[B, L]``.

    Returns:
        torch.Tensor: ``[B, L, D]`` in the original order.
    """
    batch, num_visible, dim = visible.shape
    length = ids_restore.shape[1]
    filled = torch.cat(
        [visible, mask_token.expand(batch, length - num_visible, dim)],
        dim=1)  # [B, L, D], shuffled order
    return torch.gather(filled, 1,
                        ids_restore.unsqueeze(-1).expand(-1, -1, dim))


@MODELS.register_module()
class CAVMAEPretrainDecoder(BaseModule):
    """Joint audio-visual MAE decoder.

    Projects the encoder's joint tokens to ``decoder_embed_dims``, fills the
    masked places of each modality with ``mask_token``, restores the order,
    concatenates audio then visual, adds fixed sin-cos position and learned
    modality embeddings, runs ``decoder_depth`` blocks, ``decoder_norm`` and
    one linear prediction per modality.

    Inside :class:`CAVMAE` the backbone sets ``grid_a``, ``grid_v``,
    ``patch_size`` and ``embed_dims``; give them only to use the decoder
    alone.

    Args:
        grid_a (tuple[int, int]): Audio patch grid (frequency, time).
            Defaults to (8, 64).
        grid_v (tuple[int, int]): Visual patch grid. Defaults to (14, 14).
        patch_size (int): Defaults to 16.
        in_channels_v (int): Image channels. Defaults to 3.
        embed_dims (int): Encoder channels. Defaults to 768.
        decoder_embed_dims (int): Defaults to 512.
        decoder_depth (int): Defaults to 8.
        decoder_num_heads (int): Defaults to 16.
        mlp_ratio (float): Defaults to 4.
        norm_eps (float): Defaults to 1e-5.
        fused_attn (bool | str): See :class:`Attention`.
            Defaults to ``'auto'``.
        with_cp (bool): Activation checkpointing per block (less memory,
            more compute; for large batches). Defaults to False.
        init_cfg (dict | list[dict], optional): MMEngine init config,
            applied on top of the reference initialization.
            Defaults to None.
    """

    def __init__(self,
                 grid_a: Tuple[int, int] = (8, 64),
                 grid_v: Tuple[int, int] = (14, 14),
                 patch_size: int = 16,
                 in_channels_v: int = 3,
                 embed_dims: int = 768,
                 decoder_embed_dims: int = 512,
                 decoder_depth: int = 8,
                 decoder_num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 norm_eps: float = 1e-5,
                 fused_attn: Union[bool, str] = 'auto',
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        self.grid_a = tuple(grid_a)
        self.grid_v = tuple(grid_v)
        self.patch_size = patch_size
        self.decoder_embed_dims = decoder_embed_dims
        self.num_patches_a = self.grid_a[0] * self.grid_a[1]
        self.decoder_embed = nn.Linear(embed_dims, decoder_embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dims))
        self.decoder_modality_a = nn.Parameter(
            torch.zeros(1, 1, decoder_embed_dims))
        self.decoder_modality_v = nn.Parameter(
            torch.zeros(1, 1, decoder_embed_dims))
        self.decoder_pos_embed_a = nn.Parameter(
            sincos_2d(*self.grid_a, decoder_embed_dims), requires_grad=False)
        self.decoder_pos_embed_v = nn.Parameter(
            sincos_2d(*self.grid_v, decoder_embed_dims), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            CAVMAEBlock(decoder_embed_dims, decoder_num_heads, mlp_ratio,
                        norm_eps=norm_eps, modality_norms=False,
                        fused_attn=fused_attn)
            for _ in range(decoder_depth))
        self.decoder_norm = nn.LayerNorm(decoder_embed_dims, eps=norm_eps)
        self.decoder_pred_a = nn.Linear(decoder_embed_dims, patch_size**2)
        self.decoder_pred_v = nn.Linear(decoder_embed_dims,
                                        patch_size**2 * in_channels_v)

    def init_weights(self) -> None:
        """The reference initialization (SPEC §4), then ``init_cfg`` on top
        (MMEngine applies a ``Pretrained`` entry last, alone or in a
        list)."""
        if not self.is_init:
            with torch.no_grad():
                self.decoder_pos_embed_a.copy_(
                    sincos_2d(*self.grid_a, self.decoder_embed_dims))
                self.decoder_pos_embed_v.copy_(
                    sincos_2d(*self.grid_v, self.decoder_embed_dims))
            for param in (self.mask_token, self.decoder_modality_a,
                          self.decoder_modality_v):
                nn.init.normal_(param, std=.02)
            self.apply(init_linear_and_norm)
        super().init_weights()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Adapt an audio position embedding saved at another length."""
        adapt_audio_pos_embed_in_state_dict(
            state_dict, prefix + 'decoder_pos_embed_a',
            self.decoder_pos_embed_a, self.grid_a, self.patch_size)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, joint: torch.Tensor, ids_restore_a: torch.Tensor,
                ids_restore_v: torch.Tensor, num_visible_a: int
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Reconstruct every patch of both modalities.

        Args:
            joint (torch.Tensor): Encoder output ``[B, Ka + Kv, D]``.
            ids_restore_a (torch.Tensor): ``[B, La]``.
            ids_restore_v (torch.Tensor): ``[B, Lv]``.
            num_visible_a (int): ``Ka``, the audio tokens at the front of
                ``joint``.

        Returns:
            tuple: ``pred_a`` ``[B, La, p*p]`` and ``pred_v``
            ``[B, Lv, p*p*3]``, in the original token order.
        """
        tokens = self.decoder_embed(joint)  # [B, Ka + Kv, Dd]
        visible_a = tokens[:, :num_visible_a]  # [B, Ka, Dd]
        visible_v = tokens[:, num_visible_a:]  # [B, Kv, Dd]
        audio = unshuffle(visible_a, self.mask_token, ids_restore_a)
        visual = unshuffle(visible_v, self.mask_token, ids_restore_v)
        audio = audio + self.decoder_pos_embed_a + self.decoder_modality_a
        visual = visual + self.decoder_pos_embed_v + self.decoder_modality_v
        tokens = torch.cat([audio, visual], dim=1)  # [B, La + Lv, Dd]
        tokens = run_blocks(tokens, self.decoder_blocks, with_cp=self.with_cp)
        tokens = self.decoder_norm(tokens)
        length_a = ids_restore_a.shape[1]
        return (self.decoder_pred_a(tokens[:, :length_a]),
                self.decoder_pred_v(tokens[:, length_a:]))
