from .random_state_hook import RandomStateHook
from .weight_averaging_hook import WeightAveragingHook

__all__ = ['RandomStateHook', 'WeightAveragingHook']
