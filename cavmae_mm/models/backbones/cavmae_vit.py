"""The CAV-MAE audio-visual encoder (SPEC §3)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmaction.registry import MODELS
from ..modes import MULTIMODAL_FEATURES, UNIMODAL_NORMS, check_choice
from ..utils.extra_tokens import ExtraTokensMixin
from ..utils.masking import MASK_MODES
from .inference_modes import InferenceModesMixin
from .masked_encoding import MaskedEncodingMixin
from ..utils.pos_embed import adapt_audio_pos_embed_in_state_dict, sincos_2d
from ..utils.transformer import (CAVMAEBlock, PatchEmbed,
                                 init_linear_and_norm, run_blocks)


@MODELS.register_module()
class CAVMAEViT(InferenceModesMixin, MaskedEncodingMixin, ExtraTokensMixin,
                BaseModule):
    """CAV-MAE encoder: modality-specific ViT layers, then shared layers.

    Audio ``[B, T, F]`` (time, mel bins) is arranged as ``[B, 1, F, T]`` and
    cut into 16 x 16 patches: ``F/16 x T/16`` tokens (8 x 64 for 1024 frames),
    frequency-major. Images ``[B, 3, H, W]`` give ``H/16 x W/16`` tokens. Both
    get fixed 2-D sin-cos position embeddings and a learned modality
    embedding, pass ``modality_specific_depth`` blocks of their own
    (``blocks_a`` / ``blocks_v``) and ``shared_depth`` shared blocks
    (``blocks_u``) whose LayerNorms depend on what passes through them.

    Parameter names follow the reference implementation, so its checkpoints
    map onto this module by a prefix change only. The CAV-MAE Sync options
    (``cls_token``, ``num_register_tokens``, ``keep_register_tokens``,
    ``contrastive_heads``, ``contrastive_feature``, ``multi_ratio_masking``;
    docs/sync.md) default to off: CAV-MAE's computation.

    Args:
        embed_dims (int): Token channels. Defaults to 768 (ViT-B).
        num_heads (int): Attention heads. Defaults to 12.
        mlp_ratio (float): Defaults to 4.
        modality_specific_depth (int): Blocks per modality. Defaults to 11.
        shared_depth (int): Shared blocks. Defaults to 1.
        audio_length (int): Spectrogram frames ``T``. Defaults to 1024.
        num_mel_bins (int): Defaults to 128.
        img_size (int): Defaults to 224.
        patch_size (int): Defaults to 16.
        mask_ratio_a (float): Audio mask ratio in pre-training.
            Defaults to 0.75.
        mask_ratio_v (float): Visual mask ratio. Defaults to 0.75.
        audio_mask_mode (str): ``'unstructured'``, ``'time'``, ``'freq'`` or
            ``'tf'``. Defaults to ``'unstructured'``.
        trainable_pos_embed (bool): Fixed in pre-training, trainable in the
            reference's fine-tuning. Defaults to False.
        drop_path_rate (float): Stochastic depth, linear over depth.
            Defaults to 0.
        norm_eps (float): LayerNorm eps. Defaults to 1e-5.
        fused_attn (bool | str): ``scaled_dot_product_attention`` (True),
            the explicit formula (False) or ``'auto'`` (see
            :class:`Attention`). Defaults to ``'auto'``.
        with_cp (bool): Activation checkpointing per block (less memory, more
            compute). Defaults to False.
        cls_token (bool): A learned global token per modality
            (``cls_token_a``, ``cls_token_v``) in front of the patches,
            outside the reconstruction. Defaults to False.
        num_register_tokens (int): Learned register tokens ``R`` per
            modality (``register_tokens`` ``[2R, D]``). Defaults to 0.
        keep_register_tokens (bool): Registers also pass the shared layer
            (else dropped after the modality blocks). Defaults to False.
        contrastive_heads (bool): Two more blocks per modality in the
            contrastive stream (``contrastive_head_audio`` / ``_visual``).
            Defaults to False.
        contrastive_feature (str, optional): ``'mean'`` (patch-token
            mean), ``'cls'`` or ``'global_local'`` (both losses averaged);
            None: ``'cls'`` with ``cls_token``, else ``'mean'``. Retrieval
            uses the cls token unless ``'mean'``. Defaults to None.
        multi_ratio_masking (bool): Draw both mask ratios per batch in
            ``mask_ratio_range`` (same on every process) instead of
            ``mask_ratio_a`` / ``mask_ratio_v``. Defaults to False.
        mask_ratio_range (tuple[float, float]): Defaults to (0.6, 0.9).
        unimodal_norms (str): The norms of the shared layers in the
            ``audioonly`` / ``videoonly`` modes: ``'modality'`` (their own
            and ``norm_a`` / ``norm_v``, CAV-MAE) or ``'joint'`` (``norm1``
            / ``norm2`` and ``norm``, Sync's fine-tuning).
            Defaults to ``'modality'``.
        multimodal_feature (str): The ``multimodal`` mode's pooled
            feature: ``'joint_mean'`` (the mean of the joint tokens after
            the shared layers, CAV-MAE, ``[B, D]``), ``'cls'`` (Sync:
            ``cat(cls_a, cls_v)`` of the ``blocks_a`` / ``blocks_v``
            outputs, ``[B, 2D]``; needs ``cls_token``) or ``'mean'`` (the
            same with the patch-token means). Defaults to ``'joint_mean'``.
        init_cfg (dict | list[dict], optional): MMEngine init config,
            applied on top of the reference initialization.
            Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 768,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 modality_specific_depth: int = 11,
                 shared_depth: int = 1,
                 audio_length: int = 1024,
                 num_mel_bins: int = 128,
                 img_size: int = 224,
                 patch_size: int = 16,
                 mask_ratio_a: float = 0.75,
                 mask_ratio_v: float = 0.75,
                 audio_mask_mode: str = 'unstructured',
                 trainable_pos_embed: bool = False,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-5,
                 fused_attn: Union[bool, str] = 'auto',
                 with_cp: bool = False,
                 cls_token: bool = False,
                 num_register_tokens: int = 0,
                 keep_register_tokens: bool = False,
                 contrastive_heads: bool = False,
                 contrastive_feature: Optional[str] = None,
                 multi_ratio_masking: bool = False,
                 mask_ratio_range: Tuple[float, float] = (0.6, 0.9),
                 unimodal_norms: str = 'modality',
                 multimodal_feature: str = 'joint_mean',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if audio_mask_mode not in MASK_MODES:
            raise ValueError(f'audio_mask_mode must be one of {MASK_MODES}, '
                             f'got {audio_mask_mode!r}')
        for name, size in (('audio_length', audio_length),
                           ('num_mel_bins', num_mel_bins),
                           ('img_size', img_size)):
            if size % patch_size:
                raise ValueError(f'{name}={size} is not a multiple of '
                                 f'patch_size={patch_size}')
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.audio_length = audio_length
        self.num_mel_bins = num_mel_bins
        self.img_size = img_size
        self.grid_a = (num_mel_bins // patch_size, audio_length // patch_size)
        self.grid_v = (img_size // patch_size, img_size // patch_size)
        self.num_patches_a = self.grid_a[0] * self.grid_a[1]
        self.num_patches_v = self.grid_v[0] * self.grid_v[1]
        self.mask_ratio_a = mask_ratio_a
        self.mask_ratio_v = mask_ratio_v
        self.audio_mask_mode = audio_mask_mode
        self.multi_ratio_masking = multi_ratio_masking
        self.mask_ratio_range = tuple(mask_ratio_range)
        self.with_cp = with_cp
        check_choice('unimodal_norms', unimodal_norms, UNIMODAL_NORMS)
        check_choice('multimodal_feature', multimodal_feature,
                     MULTIMODAL_FEATURES)
        if multimodal_feature == 'cls' and not cls_token:
            raise ValueError("multimodal_feature='cls' needs cls_token=True")
        self.unimodal_norms = unimodal_norms
        self.multimodal_feature = multimodal_feature

        self.patch_embed_a = PatchEmbed(1, embed_dims, patch_size)
        self.patch_embed_v = PatchEmbed(3, embed_dims, patch_size)
        self.modality_a = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.modality_v = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed_a = nn.Parameter(
            sincos_2d(*self.grid_a, embed_dims),
            requires_grad=trainable_pos_embed)
        self.pos_embed_v = nn.Parameter(
            sincos_2d(*self.grid_v, embed_dims),
            requires_grad=trainable_pos_embed)

        total_depth = modality_specific_depth + shared_depth
        drop_rates = torch.linspace(0, drop_path_rate, total_depth).tolist()

        def block(rate: float, modality_norms: bool) -> CAVMAEBlock:
            return CAVMAEBlock(embed_dims, num_heads, mlp_ratio,
                               drop_path=rate, norm_eps=norm_eps,
                               modality_norms=modality_norms,
                               fused_attn=fused_attn)

        specific_rates = drop_rates[:modality_specific_depth]
        self.blocks_a = nn.ModuleList(
            block(rate, False) for rate in specific_rates)
        self.blocks_v = nn.ModuleList(
            block(rate, False) for rate in specific_rates)
        self.blocks_u = nn.ModuleList(
            block(rate, True)
            for rate in drop_rates[modality_specific_depth:])
        self.norm_a = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm_v = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self._build_extra_tokens(
            embed_dims, num_heads, mlp_ratio, norm_eps, fused_attn,
            cls_token=cls_token, num_register_tokens=num_register_tokens,
            keep_register_tokens=keep_register_tokens,
            contrastive_heads=contrastive_heads,
            contrastive_feature=contrastive_feature)

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        """The reference initialization (SPEC §4), then ``init_cfg`` on top
        (MMEngine applies a ``Pretrained`` entry last, alone or in a
        list)."""
        if not self.is_init:
            with torch.no_grad():
                self.pos_embed_a.copy_(
                    sincos_2d(*self.grid_a, self.embed_dims))
                self.pos_embed_v.copy_(
                    sincos_2d(*self.grid_v, self.embed_dims))
            for patch_embed in (self.patch_embed_a, self.patch_embed_v):
                weight = patch_embed.proj.weight
                nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
            nn.init.normal_(self.modality_a, std=.02)
            nn.init.normal_(self.modality_v, std=.02)
            self._init_extra_tokens()
            self.apply(init_linear_and_norm)
        super().init_weights()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Adapt an audio position embedding saved at another length."""
        adapt_audio_pos_embed_in_state_dict(
            state_dict, prefix + 'pos_embed_a', self.pos_embed_a,
            self.grid_a, self.patch_size)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------ embedding
    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B, T, F]`` normalized fbank → ``[B, La, D]`` tokens."""
        if audio.ndim != 3 or audio.shape[1:] != (self.audio_length,
                                                  self.num_mel_bins):
            raise ValueError(
                f'audio must be [B, {self.audio_length}, '
                f'{self.num_mel_bins}] (time, mel bins), got '
                f'{list(audio.shape)}; set the backbone audio_length to the '
                f'pipeline target_length')
        spectrogram = audio.unsqueeze(1).transpose(2, 3)  # [B, 1, F, T]
        tokens = self.patch_embed_a(spectrogram)  # [B, F/16 * T/16, D]
        return tokens + self.pos_embed_a + self.modality_a

    def embed_visual(self, imgs: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` normalized image → ``[B, Lv, D]`` tokens."""
        if imgs.ndim != 4 or imgs.shape[1:] != (3, self.img_size,
                                                self.img_size):
            raise ValueError(f'imgs must be [B, 3, {self.img_size}, '
                             f'{self.img_size}], got {list(imgs.shape)}')
        tokens = self.patch_embed_v(imgs)  # [B, H/16 * W/16, D]
        return tokens + self.pos_embed_v + self.modality_v

    # --------------------------------------------------------------- blocks
    def _run_blocks(self, tokens: torch.Tensor, blocks: Sequence[nn.Module],
                    modality: Optional[str] = None) -> torch.Tensor:
        return run_blocks(tokens, blocks, modality, self.with_cp)

    def shared(self, tokens: torch.Tensor, modality: str) -> torch.Tensor:
        """Shared blocks and the final norm for ``modality`` in
        ``'joint'``, ``'a'`` or ``'v'``; ``[B, L, D]`` → ``[B, L, D]``."""
        tokens = self._run_blocks(tokens, self.blocks_u, modality)
        final_norm = {'joint': self.norm, 'a': self.norm_a,
                      'v': self.norm_v}[modality]
        return final_norm(tokens)
