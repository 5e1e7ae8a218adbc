from .bad_sample_hook import BadSampleReportHook
from .progress_hook import ProgressHook, add_progress_hook
from .random_state_hook import RandomStateHook
from .shard_stream_hook import ShardStreamHook
from .test_visualization_hook import TestVisualizationHook
from .weight_averaging_hook import WeightAveragingHook

__all__ = [
    'BadSampleReportHook', 'ProgressHook', 'RandomStateHook',
    'ShardStreamHook', 'TestVisualizationHook', 'WeightAveragingHook',
    'add_progress_hook'
]
