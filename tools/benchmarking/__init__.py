"""Measurement helpers behind ``tools/benchmark.py`` (train / infer /
retrieval-metric sub-commands)."""
from .measure import (Measurement, count_flops, matmul_peak, median_time,
                      peak_memory)
from .model_cases import (MODEL_CASES, build_case_model, run_model_case)

__all__ = [
    'Measurement', 'count_flops', 'matmul_peak', 'median_time',
    'peak_memory', 'MODEL_CASES', 'build_case_model', 'run_model_case'
]
