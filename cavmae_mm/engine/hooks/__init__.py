from .bad_sample_hook import BadSampleReportHook
from .random_state_hook import RandomStateHook
from .weight_averaging_hook import WeightAveragingHook

__all__ = ['BadSampleReportHook', 'RandomStateHook', 'WeightAveragingHook']
