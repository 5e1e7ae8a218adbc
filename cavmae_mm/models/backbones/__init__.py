from .cavmae_vit import CAVMAEViT

__all__ = ['CAVMAEViT']
