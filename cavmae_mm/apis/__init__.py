"""High-level entry points: build a model ready for inference, classify a
clip, embed a clip; inputs go through the config's test pipeline."""
from ..models.algorithms import AVEmbeddingModel  # re-exported
from .features import embed_batch, embed_inputs, extract_features
from .inference import inference_av, init_model, resolve_class_names
from .inputs import ModalityError
from .pipeline import InferencePipeline

__all__ = [
    'init_model', 'inference_av', 'extract_features', 'embed_inputs',
    'embed_batch', 'resolve_class_names', 'InferencePipeline',
    'AVEmbeddingModel', 'ModalityError'
]
