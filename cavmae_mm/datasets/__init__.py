"""Audio-visual data: dataset, transforms, sampler, bad-sample hook.

Importing it registers :class:`AudioVisualDataset` (``DATASETS``), the
transforms (``TRANSFORMS``), :class:`ClassBalancedSampler`
(``DATA_SAMPLERS``) and :class:`BadSampleReportHook` (``HOOKS``) in
MMAction2's registries.
"""
from .av_dataset import AudioVisualDataset
from .av_io import AVDataError
from .bad_sample_hook import BadSampleReportHook
from .bad_samples import BadSampleCounter, BadSampleError
from .samplers import ClassBalancedSampler
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AudioVisualDataset', 'AVDataError', 'BadSampleError',
    'BadSampleCounter', 'BadSampleReportHook', 'ClassBalancedSampler'
]
