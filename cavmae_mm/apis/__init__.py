"""High-level entry points: build a model ready for inference, classify a
clip, embed a clip."""
from ..models.algorithms import AVEmbeddingModel  # re-exported
from .av_inference import (AVInputLoader, ModalityError, embed_batch,
                           embed_inputs, extract_features, inference_av,
                           resolve_class_names)
from .inference import init_model

__all__ = [
    'init_model', 'inference_av', 'extract_features', 'embed_inputs',
    'embed_batch', 'resolve_class_names', 'AVInputLoader',
    'AVEmbeddingModel', 'ModalityError'
]
