"""Retrieval embeddings (SPEC §3): the one path that turns a CAV-MAE
encoder's single-modality tokens into the unit-norm clip embeddings that
retrieval, ``AVEmbeddingModel``, the API and the tools use."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def retrieval_embeddings(backbone: nn.Module,
                         audio: Optional[torch.Tensor] = None,
                         imgs: Optional[torch.Tensor] = None,
                         views: int = 1,
                         with_tokens: bool = False
                         ) -> Dict[str, torch.Tensor]:
    """Retrieval embeddings (SPEC §3) of each given modality: its
    single-modality path, mean over tokens, L2-normalized; the ``views``
    frames of a clip are averaged before the normalization.

    Args:
        backbone (CAVMAEViT): The encoder.
        audio (torch.Tensor, optional): ``[B, T, F]``. Defaults to None.
        imgs (torch.Tensor, optional): ``[B * views, 3, H, W]``,
            clip-major. Defaults to None.
        views (int): Frames per clip. Defaults to 1.
        with_tokens (bool): Also return the token features (after the
            shared layers and the modality's final norm).
            Defaults to False.

    Returns:
        dict: ``audio`` / ``visual`` ``[B, D]`` (unit norm) and, with
        ``with_tokens``, ``audio_tokens`` ``[B, La, D]`` /
        ``visual_tokens`` ``[B, views, Lv, D]``.
    """
    out = {}
    if audio is not None:
        tokens = backbone.forward_tokens(audio=audio,
                                         mode='audioonly')['audio']
        out['audio'] = F.normalize(tokens.mean(dim=1), dim=-1)
        if with_tokens:
            out['audio_tokens'] = tokens  # [B, La, D]
    if imgs is not None:
        tokens = backbone.forward_tokens(imgs=imgs,
                                         mode='videoonly')['visual']
        # [B * V, Lv, D] -> [B * V, D] -> [B, V, D] -> [B, D]
        clips = tokens.mean(dim=1).reshape(-1, views, tokens.shape[-1])
        out['visual'] = F.normalize(clips.mean(dim=1), dim=-1)
        if with_tokens:  # [B, V, Lv, D]
            out['visual_tokens'] = tokens.reshape(-1, views,
                                                  *tokens.shape[1:])
    return out
