from .av_contrastive_loss import AVInfoNCELoss
from .masked_patch_loss import MaskedPatchReconstructionLoss

__all__ = ['AVInfoNCELoss', 'MaskedPatchReconstructionLoss']
