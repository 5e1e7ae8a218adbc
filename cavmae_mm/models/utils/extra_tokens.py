"""The tokens CAV-MAE Sync adds to each modality's sequence (global ``cls``
tokens, register tokens), the contrastive projection heads, and the two
streams that follow the modality-specific blocks (joint reconstruction
stream, contrastive stream). With none of them configured every method
computes exactly CAV-MAE's operations."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from ..modes import check_choice
from .contrastive_head import ContrastiveHead

#: What the contrastive loss compares (``contrastive_feature``): the mean
#: of the patch tokens, the global (cls) token, or both losses averaged.
CONTRASTIVE_FEATURES = ('mean', 'cls', 'global_local')


class ExtraTokensMixin:
    """Sync's token handling for :class:`CAVMAEViT` (docs/sync.md).

    Per modality the sequence is ``[cls, patches, registers]``: the
    ``cls_token_a`` / ``cls_token_v`` token (``cls_token``) in front, the
    ``R = num_register_tokens`` rows of ``register_tokens`` (``[2R, D]``:
    audio first, then visual) behind. They carry no position or modality
    embedding, are never masked and never reconstructed. Registers are
    dropped after the modality-specific blocks unless
    ``keep_register_tokens``; kept, they pass the shared layer (joint and
    contrastive) and are dropped after it.

    The host module provides ``blocks_a``, ``blocks_v``, ``blocks_u``,
    ``norm_a``, ``norm_v``, ``shared`` and ``_run_blocks``.
    """

    def _build_extra_tokens(self,
                            embed_dims: int,
                            num_heads: int,
                            mlp_ratio: float,
                            norm_eps: float,
                            fused_attn: Union[bool, str],
                            cls_token: bool = False,
                            num_register_tokens: int = 0,
                            keep_register_tokens: bool = False,
                            contrastive_heads: bool = False,
                            contrastive_feature: Optional[str] = None
                            ) -> None:
        """Create the parameters; see :class:`CAVMAEViT` for the args
        (``contrastive_feature`` None: ``'cls'`` with ``cls_token``, else
        ``'mean'``)."""
        if contrastive_feature is None:
            contrastive_feature = 'cls' if cls_token else 'mean'
        check_choice('contrastive_feature', contrastive_feature,
                     CONTRASTIVE_FEATURES)
        if contrastive_feature != 'mean' and not cls_token:
            raise ValueError(f'contrastive_feature={contrastive_feature!r} '
                             f'needs cls_token=True')
        if num_register_tokens < 0:
            raise ValueError(f'num_register_tokens must be >= 0, got '
                             f'{num_register_tokens}')
        if keep_register_tokens and not num_register_tokens:
            raise ValueError('keep_register_tokens=True needs '
                             'num_register_tokens > 0')
        self.cls_token = cls_token
        self.num_register_tokens = num_register_tokens
        self.keep_register_tokens = keep_register_tokens
        self.contrastive_feature = contrastive_feature
        if cls_token:
            self.cls_token_a = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.cls_token_v = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if num_register_tokens:
            self.register_tokens = nn.Parameter(
                torch.zeros(2 * num_register_tokens, embed_dims))
        self.contrastive_heads = contrastive_heads
        if contrastive_heads:
            self.contrastive_head_audio = ContrastiveHead(
                embed_dims, num_heads, mlp_ratio, norm_eps=norm_eps,
                fused_attn=fused_attn)
            self.contrastive_head_visual = ContrastiveHead(
                embed_dims, num_heads, mlp_ratio, norm_eps=norm_eps,
                fused_attn=fused_attn)

    def _init_extra_tokens(self) -> None:
        """The reference's initialization: cls tokens normal(std 0.02),
        registers standard normal (the heads' blocks are initialized with
        every Linear / LayerNorm of the host)."""
        if self.cls_token:
            nn.init.normal_(self.cls_token_a, std=.02)
            nn.init.normal_(self.cls_token_v, std=.02)
        if self.num_register_tokens:
            nn.init.normal_(self.register_tokens)

    @property
    def registers_after_blocks(self) -> int:
        """Registers still in a sequence after the modality blocks."""
        return self.num_register_tokens if self.keep_register_tokens else 0

    # ------------------------------------------------------------ sequences
    def add_extra_tokens(self, tokens: torch.Tensor,
                         modality: str) -> torch.Tensor:
        """``[B, L, D]`` patches → ``[B, c + L + R, D]`` (``c`` = 1 with
        ``cls_token``), ``modality`` ``'a'`` or ``'v'``."""
        batch, _, dim = tokens.shape
        parts = []
        if self.cls_token:
            cls = self.cls_token_a if modality == 'a' else self.cls_token_v
            parts.append(cls.expand(batch, -1, -1))
        parts.append(tokens)
        if self.num_register_tokens:
            count = self.num_register_tokens
            rows = slice(0, count) if modality == 'a' else slice(count, None)
            parts.append(self.register_tokens[rows].unsqueeze(0).expand(
                batch, -1, -1))
        return torch.cat(parts, dim=1) if len(parts) > 1 else tokens

    def encode_modality(self, tokens: torch.Tensor, modality: str
                        ) -> torch.Tensor:
        """Extra tokens, the modality's own blocks, registers dropped
        unless kept: ``[B, L, D]`` → ``[B, c + L (+ R), D]``."""
        blocks = self.blocks_a if modality == 'a' else self.blocks_v
        tokens = self._run_blocks(self.add_extra_tokens(tokens, modality),
                                  blocks)
        if self.num_register_tokens and not self.keep_register_tokens:
            tokens = tokens[:, :-self.num_register_tokens]
        return tokens

    def split_extra_tokens(self, tokens: torch.Tensor
                           ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``[B, c + L (+ R), D]`` → cls ``[B, D]`` (None without) and the
        patch tokens ``[B, L, D]`` (kept registers removed)."""
        cls = tokens[:, 0] if self.cls_token else None
        start = 1 if self.cls_token else 0
        end = tokens.shape[1] - self.registers_after_blocks
        return cls, tokens[:, start:end]

    # -------------------------------------------------------------- streams
    def joint_stream(self, audio_tokens: torch.Tensor,
                     visual_tokens: torch.Tensor) -> torch.Tensor:
        """The reconstruction stream: both sequences without cls (kept
        registers included), the shared blocks with the joint norms,
        ``norm``, then only the patch tokens: ``[B, La + Lv, D]``, audio
        first."""
        if self.cls_token:
            audio_tokens, visual_tokens = audio_tokens[:, 1:], \
                visual_tokens[:, 1:]
        length_a = audio_tokens.shape[1]
        tokens = self.shared(torch.cat([audio_tokens, visual_tokens], dim=1),
                             'joint')
        registers = self.registers_after_blocks
        if registers:  # [a patches, a registers, v patches, v registers]
            tokens = torch.cat([tokens[:, :length_a - registers],
                                tokens[:, length_a:-registers]], dim=1)
        return tokens

    def contrastive_stream(self, tokens: torch.Tensor,
                           modality: str) -> Dict[str, torch.Tensor]:
        """The shared blocks with the modality's norms, the contrastive
        head (``contrastive_heads``) and the modality's final norm.

        Returns:
            dict: ``tokens`` ``[B, L, D]`` (patch tokens) and, with
            ``cls_token``, ``cls`` ``[B, D]``.
        """
        tokens = self._run_blocks(tokens, self.blocks_u, modality)
        if self.contrastive_heads:
            head = self.contrastive_head_audio if modality == 'a' else \
                self.contrastive_head_visual
            tokens = head(tokens)
        tokens = (self.norm_a if modality == 'a' else self.norm_v)(tokens)
        cls, patches = self.split_extra_tokens(tokens)
        out = dict(tokens=patches)
        if cls is not None:
            out['cls'] = cls
        return out

    # -------------------------------------------------------------- pooling
    def contrastive_pairs(self, audio: Dict[str, torch.Tensor],
                          visual: Dict[str, torch.Tensor]
                          ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """The ``(audio, visual)`` ``[B, D]`` embedding pairs whose
        contrastive losses are averaged (``contrastive_feature``): the
        patch-token means, the cls tokens, or both (global, local)."""
        local = (audio['tokens'].mean(dim=1), visual['tokens'].mean(dim=1))
        if self.contrastive_feature == 'mean':
            return [local]
        global_ = (audio['cls'], visual['cls'])
        if self.contrastive_feature == 'cls':
            return [global_]
        return [global_, local]

    def clip_feature(self, stream: Dict[str, torch.Tensor]) -> torch.Tensor:
        """One modality's ``[B, D]`` feature of a contrastive-stream output
        (retrieval, before normalization): the cls token when the
        contrastive loss uses it, else the mean of the patch tokens
        (registers never included)."""
        if self.contrastive_feature == 'mean':
            return stream['tokens'].mean(dim=1)
        return stream['cls']
