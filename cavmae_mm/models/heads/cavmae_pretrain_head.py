"""Pre-training objectives of CAV-MAE: reconstruction + contrastive."""
from typing import Dict, Optional

import torch
import torch.nn as nn

from mmaction.registry import MODELS
from ..utils.patchify import audio_as_image, patchify


@MODELS.register_module()
class CAVMAEPretrainHead(nn.Module):
    """Turns decoder predictions and encoder embeddings into losses.

    Logs ``loss_mae_a`` and ``loss_mae_v`` (each already multiplied by the
    reconstruction loss weight), ``loss_c`` (weighted InfoNCE) and ``acc_c``
    (contrastive accuracy). A loss whose config is None or whose
    ``loss_weight`` is 0 is not computed.

    Args:
        loss_mae (dict, optional): Reconstruction loss config. Defaults to
            ``MaskedPatchReconstructionLoss(norm_pix=True, loss_weight=1.)``.
        loss_contrastive (dict, optional): Contrastive loss config. Defaults
            to ``AVInfoNCELoss(temperature=0.05, loss_weight=0.01)``.
        patch_size (int): Set by :class:`CAVMAE` from its backbone.
            Defaults to 16.
    """

    def __init__(self,
                 loss_mae: Optional[dict] = dict(
                     type='MaskedPatchReconstructionLoss', norm_pix=True,
                     loss_weight=1.0),
                 loss_contrastive: Optional[dict] = dict(
                     type='AVInfoNCELoss', temperature=0.05,
                     loss_weight=0.01),
                 patch_size: int = 16) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.loss_mae = self._build(loss_mae)
        self.loss_contrastive = self._build(loss_contrastive)

    @staticmethod
    def _build(cfg: Optional[dict]) -> Optional[nn.Module]:
        if cfg is None or cfg.get('loss_weight', 1.0) == 0:
            return None
        return MODELS.build(cfg)

    @property
    def with_mae(self) -> bool:
        return self.loss_mae is not None

    @property
    def with_contrastive(self) -> bool:
        return self.loss_contrastive is not None

    def targets(self, audio: torch.Tensor,
                imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Patchified (not yet per-patch normalized) targets:
        ``audio`` ``[B, La, p*p]`` and ``imgs`` ``[B, Lv, p*p*3]``."""
        return dict(audio=patchify(audio_as_image(audio), self.patch_size),
                    imgs=patchify(imgs, self.patch_size))

    def loss(self,
             audio: torch.Tensor,
             imgs: torch.Tensor,
             encoded: Dict[str, torch.Tensor],
             pred_a: Optional[torch.Tensor] = None,
             pred_v: Optional[torch.Tensor] = None,
             frames_per_clip: int = 1) -> Dict[str, torch.Tensor]:
        """Compute the losses.

        Args:
            audio (torch.Tensor): Model input ``[B, T, F]``.
            imgs (torch.Tensor): Model input ``[B, 3, H, W]``.
            encoded (dict): Output of ``CAVMAEViT.forward_pretrain``.
            pred_a (torch.Tensor, optional): ``[B, La, p*p]``.
            pred_v (torch.Tensor, optional): ``[B, Lv, p*p*3]``.
            frames_per_clip (int): Consecutive rows that are frames of one
                clip (for the contrastive loss). Defaults to 1.

        Returns:
            dict[str, torch.Tensor]: ``loss_mae_a``, ``loss_mae_v``,
            ``loss_c``, ``acc_c``.
        """
        zero = audio.new_zeros(())
        losses = dict(loss_mae_a=zero, loss_mae_v=zero, loss_c=zero,
                      acc_c=zero)
        if self.with_mae:
            targets = self.targets(audio, imgs)
            losses['loss_mae_a'] = self.loss_mae(
                pred_a.float(), targets['audio'].float(), encoded['mask_a'])
            losses['loss_mae_v'] = self.loss_mae(
                pred_v.float(), targets['imgs'].float(), encoded['mask_v'])
        if self.with_contrastive:
            # The backbone's embedding pairs (contrastive_feature): one,
            # or (global, local) whose losses and accuracies are averaged.
            results = [
                self.loss_contrastive(audio_emb, visual_emb,
                                      frames_per_clip=frames_per_clip)
                for audio_emb, visual_emb in encoded['contrastive_pairs']
            ]
            if len(results) == 1:
                losses['loss_c'], losses['acc_c'] = results[0]
            else:
                losses['loss_c'] = sum(r[0] for r in results) / len(results)
                losses['acc_c'] = sum(r[1] for r in results) / len(results)
        return losses
