from .prediction import plot_prediction
from .reconstruction import plot_reconstruction, reconstruct

__all__ = ['reconstruct', 'plot_reconstruction', 'plot_prediction']
