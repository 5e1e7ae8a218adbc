"""Training machinery registered in the OpenMMLab registries: the
``MixedPrecisionOptimWrapper`` (AMP on CUDA and CPU), the
``WeightAveragingHook``, the ``RandomStateHook`` (exact resume), the
``BadSampleReportHook`` (skipped bad samples per epoch), the
``ShardStreamHook`` (epochs and exact resume of sharded data), the FSDP
wrap policy ``cavmae_block_wrap_policy``, CPU multi-process set-up and the
CPU fast-path process settings."""
from .cpu_runtime import configure_cpu_runtime, configure_cpu_runtime_from_cfg
from .distributed import setup_cpu_distributed
from .fsdp import cavmae_block_wrap_policy
from .hooks import (BadSampleReportHook, RandomStateHook, ShardStreamHook,
                    WeightAveragingHook)
from .optimizers import MixedPrecisionOptimWrapper
from .weight_averaging import StateDictAverager, average_state_dicts

__all__ = [
    'MixedPrecisionOptimWrapper', 'BadSampleReportHook', 'RandomStateHook',
    'ShardStreamHook',
    'WeightAveragingHook', 'StateDictAverager', 'average_state_dicts',
    'setup_cpu_distributed', 'cavmae_block_wrap_policy',
    'configure_cpu_runtime', 'configure_cpu_runtime_from_cfg'
]
