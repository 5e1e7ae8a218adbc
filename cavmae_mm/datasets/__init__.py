"""Audio-visual data: dataset, transforms, sampler, bad-sample counting.

Importing it registers :class:`AudioVisualDataset` and
:class:`ShardedAVDataset` (webdataset shards) (``DATASETS``), the
transforms (``TRANSFORMS``) and :class:`ClassBalancedSampler`
(``DATA_SAMPLERS``) in MMAction2's registries. The hook that reports the
skipped bad samples is :class:`cavmae_mm.engine.BadSampleReportHook`.
"""
from .av_dataset import AudioVisualDataset
from .av_io import AVDataError
from .bad_samples import BadSampleCounter, BadSampleError
from .samplers import ClassBalancedSampler
from .shards import ShardedAVDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AudioVisualDataset', 'AVDataError', 'BadSampleError',
    'BadSampleCounter', 'ClassBalancedSampler', 'ShardedAVDataset'
]
