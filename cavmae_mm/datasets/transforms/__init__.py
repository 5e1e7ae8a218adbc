"""Data transforms, registered in MMAction2's ``TRANSFORMS``."""
from .audio import FbankNoise, KaldiFbank, NormalizeFbank, SpecAugment
from .labels import LabelSmoothing
from .loading import (LoadAudioWaveform, LoadAVFrames, LoadStillImage,
                      SampleAVFrames)
from .mixup import AVMixup
from .processing import AVResize
from .segments import FrameAudioSegments

__all__ = [
    'LoadAudioWaveform', 'SampleAVFrames', 'LoadAVFrames', 'LoadStillImage',
    'KaldiFbank',
    'SpecAugment', 'NormalizeFbank', 'FbankNoise', 'AVMixup',
    'LabelSmoothing', 'AVResize', 'FrameAudioSegments'
]
