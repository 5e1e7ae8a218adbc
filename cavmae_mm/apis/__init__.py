"""High-level entry points: build a model ready for inference."""
from .inference import init_model

__all__ = ['init_model']
