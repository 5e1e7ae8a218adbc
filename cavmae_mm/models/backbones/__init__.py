from .cavmae_branch import CAVMAEAudioBranch, CAVMAEVisualBranch
from .cavmae_vit import CAVMAEViT

__all__ = ['CAVMAEViT', 'CAVMAEAudioBranch', 'CAVMAEVisualBranch']
