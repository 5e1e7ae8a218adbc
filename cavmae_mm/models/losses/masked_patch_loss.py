"""MAE reconstruction loss on the masked patches."""
import torch
import torch.nn as nn

from mmaction.registry import MODELS


@MODELS.register_module()
class MaskedPatchReconstructionLoss(nn.Module):
    """Mean squared error per patch, averaged over the masked patches.

    Args:
        norm_pix (bool): Standardize each target patch by its own mean and
            unbiased variance (``(t - mean) / sqrt(var + 1e-6)``).
            Defaults to True.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, norm_pix: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.norm_pix = norm_pix
        self.loss_weight = loss_weight

    def normalize_target(self, target: torch.Tensor) -> torch.Tensor:
        """Per-patch standardization if ``norm_pix`` (else unchanged)."""
        if not self.norm_pix:
            return target
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)  # unbiased, as the reference
        return (target - mean) / (var + 1.e-6)**.5

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Args: pred, target ``[B, L, P]``; mask ``[B, L]`` (1 = masked).
        Returns the weighted scalar loss."""
        target = self.normalize_target(target)
        per_patch = ((pred - target)**2).mean(dim=-1)  # [B, L]
        # Nothing masked (mask ratio 0): nothing to reconstruct, loss 0
        # (kept in the graph) rather than 0 / 0.
        loss = (per_patch * mask).sum() / mask.sum().clamp(min=1)
        return self.loss_weight * loss
