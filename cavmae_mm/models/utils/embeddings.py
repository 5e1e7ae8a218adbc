"""Retrieval embeddings (SPEC §3): the one path that turns a CAV-MAE
encoder's contrastive-stream tokens into the unit-norm clip embeddings that
retrieval, ``AVEmbeddingModel``, the API and the tools use."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def retrieval_embeddings(backbone: nn.Module,
                         audio: Optional[torch.Tensor] = None,
                         imgs: Optional[torch.Tensor] = None,
                         views: int = 1,
                         with_tokens: bool = False,
                         frames: int = 1) -> Dict[str, torch.Tensor]:
    """Retrieval embeddings (SPEC §3) of each given modality: its unmasked
    contrastive stream (CAV-MAE: the single-modality path), the backbone's
    clip feature (the mean of the patch tokens, or the cls token: see
    ``CAVMAEViT.clip_feature``), L2-normalized; the ``views`` frames of a
    clip are averaged before the normalization.

    Args:
        backbone (CAVMAEViT): The encoder.
        audio (torch.Tensor, optional): ``[B * frames, T, F]``, clip-major.
            Defaults to None.
        imgs (torch.Tensor, optional): ``[B * frames * views, 3, H, W]``,
            clip-major. Defaults to None.
        views (int): Frames per spectrogram, averaged. Defaults to 1.
        with_tokens (bool): Also return the token features (patch tokens
            after the contrastive stream's final norm). Defaults to False.
        frames (int): Paired frames per clip (Sync), kept apart.
            Defaults to 1.

    Returns:
        dict: ``audio`` / ``visual`` ``[B, D]``, or ``[B, frames, D]`` when
        ``frames > 1`` (unit norm per frame), and, with ``with_tokens``,
        ``audio_tokens`` ``[B * frames, La, D]`` / ``visual_tokens``
        ``[B * frames, views, Lv, D]``.
    """
    out = {}
    streams = backbone.forward_contrastive(audio, imgs)
    if 'audio' in streams:
        feature = F.normalize(backbone.clip_feature(streams['audio']),
                              dim=-1)  # [B * frames, D]
        out['audio'] = feature if frames == 1 else feature.reshape(
            -1, frames, feature.shape[-1])
        if with_tokens:
            out['audio_tokens'] = streams['audio']['tokens']
    if 'visual' in streams:
        tokens = streams['visual']['tokens']
        # [B * frames * V, D] -> [B * frames, V, D] -> [B * frames, D]
        clips = backbone.clip_feature(streams['visual']).reshape(
            -1, views, tokens.shape[-1])
        feature = F.normalize(clips.mean(dim=1), dim=-1)
        out['visual'] = feature if frames == 1 else feature.reshape(
            -1, frames, feature.shape[-1])
        if with_tokens:  # [B * frames, V, Lv, D]
            out['visual_tokens'] = tokens.reshape(-1, views,
                                                  *tokens.shape[1:])
    return out
