"""Masked encoding for pre-training and the contrastive stream of the
CAV-MAE encoder (SPEC §3 steps 1-4; Sync's options in docs/sync.md)."""
from typing import Dict, Optional, Tuple

import torch

from ..utils.masking import (draw_mask_ratios, mask_by_noise, num_visible,
                             structured_noise)


class MaskedEncodingMixin:
    """Pre-training's forward of :class:`CAVMAEViT`: masking (fixed or
    per-batch random ratios), the joint reconstruction stream and the
    contrastive stream; and the unmasked contrastive stream that retrieval
    uses. The host provides the embeddings, the masking settings and the
    streams of :class:`~cavmae_mm.models.utils.extra_tokens.ExtraTokensMixin`.
    """

    @property
    def num_visible_a(self) -> int:
        """Audio tokens left visible by pre-training's masking at the fixed
        ``mask_ratio_a`` (``Ka``, the decoder's split of the joint
        sequence), known without a forward; ``forward_pretrain`` returns
        the count it used."""
        return num_visible(self.num_patches_a, self.mask_ratio_a)

    def mask_ratios(self, device=None) -> Tuple[float, float]:
        """This batch's ``(ratio_a, ratio_v)``: drawn by
        :func:`draw_mask_ratios` with ``multi_ratio_masking``, else the
        fixed ones."""
        if self.multi_ratio_masking:
            return draw_mask_ratios(*self.mask_ratio_range, device=device)
        return self.mask_ratio_a, self.mask_ratio_v

    def forward_contrastive(self,
                            audio: Optional[torch.Tensor] = None,
                            imgs: Optional[torch.Tensor] = None
                            ) -> Dict[str, Dict[str, torch.Tensor]]:
        """The unmasked contrastive stream of each given modality (the
        retrieval path; see :meth:`contrastive_stream`): ``audio`` and/or
        ``visual`` dicts of ``tokens`` ``[B, L, D]`` (and ``cls``)."""
        out = {}
        if audio is not None:
            out['audio'] = self.contrastive_stream(
                self.encode_modality(self.embed_audio(audio), 'a'), 'a')
        if imgs is not None:
            out['visual'] = self.contrastive_stream(
                self.encode_modality(self.embed_visual(imgs), 'v'), 'v')
        return out

    def forward_pretrain(self,
                         audio: torch.Tensor,
                         imgs: torch.Tensor,
                         noise_a: Optional[torch.Tensor] = None,
                         noise_v: Optional[torch.Tensor] = None,
                         with_joint: bool = True,
                         with_single: bool = True
                         ) -> Dict[str, torch.Tensor]:
        """Masked encoding for pre-training (SPEC §3 steps 1-4).

        Args:
            audio (torch.Tensor): ``[B, T, F]``.
            imgs (torch.Tensor): ``[B, 3, H, W]``.
            noise_a (torch.Tensor, optional): ``[B, La]`` masking noise;
                drawn with ``torch.rand`` (audio first, then visual, as the
                reference does; after the ratios of
                ``multi_ratio_masking``) when None. Defaults to None.
            noise_v (torch.Tensor, optional): ``[B, Lv]``. Defaults to None.
            with_joint (bool): Compute the joint path (the decoder's input).
                Defaults to True.
            with_single (bool): Compute the single-modality paths (the
                contrastive branch). Defaults to True.

        Returns:
            dict: ``joint`` ``[B, Ka + Kv, D]`` (decoder input), ``audio``
            ``[B, Ka, D]`` and ``visual`` ``[B, Kv, D]`` (contrastive
            stream, patch tokens), ``audio_cls`` / ``visual_cls`` ``[B, D]``
            (with ``cls_token``), ``contrastive_pairs`` (see
            :meth:`contrastive_pairs`), ``mask_a`` / ``mask_v`` ``[B, L]``
            (1 = dropped), ``ids_restore_a`` / ``ids_restore_v`` ``[B, L]``
            and ``num_visible_a`` (int, ``Ka``).
        """
        ratio_a, ratio_v = self.mask_ratios(audio.device)
        audio_tokens = self.embed_audio(audio)
        visual_tokens = self.embed_visual(imgs)
        batch = audio_tokens.shape[0]
        if noise_a is None:
            noise_a = torch.rand(batch, self.num_patches_a,
                                 device=audio.device)
        if noise_v is None:
            noise_v = torch.rand(batch, self.num_patches_v,
                                 device=imgs.device)
        if self.audio_mask_mode != 'unstructured':
            noise_a = structured_noise(noise_a, self.grid_a, ratio_a,
                                       self.audio_mask_mode)
        audio_tokens, mask_a, ids_restore_a = mask_by_noise(
            audio_tokens, noise_a, ratio_a)
        visual_tokens, mask_v, ids_restore_v = mask_by_noise(
            visual_tokens, noise_v, ratio_v)

        audio_tokens = self.encode_modality(audio_tokens, 'a')
        visual_tokens = self.encode_modality(visual_tokens, 'v')
        encoded = dict(mask_a=mask_a, mask_v=mask_v,
                       ids_restore_a=ids_restore_a,
                       ids_restore_v=ids_restore_v,
                       num_visible_a=num_visible(self.num_patches_a,
                                                 ratio_a))
        if with_joint:
            encoded['joint'] = self.joint_stream(audio_tokens, visual_tokens)
        if with_single:
            streams = dict(audio=self.contrastive_stream(audio_tokens, 'a'),
                           visual=self.contrastive_stream(visual_tokens,
                                                          'v'))
            for name, stream in streams.items():
                encoded[name] = stream['tokens']
                if 'cls' in stream:
                    encoded[name + '_cls'] = stream['cls']
            encoded['contrastive_pairs'] = self.contrastive_pairs(
                streams['audio'], streams['visual'])
        return encoded
