from .av_recognizer import CAVMAERecognizer

__all__ = ['CAVMAERecognizer']
