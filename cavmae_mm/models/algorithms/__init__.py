from .av_embedding_model import AVEmbeddingModel
from .cavmae import CAVMAE

__all__ = ['CAVMAE', 'AVEmbeddingModel']
