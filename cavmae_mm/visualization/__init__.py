from .reconstruction import plot_reconstruction, reconstruct

__all__ = ['reconstruct', 'plot_reconstruction']
