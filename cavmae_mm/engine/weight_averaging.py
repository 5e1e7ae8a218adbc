"""Plain mean of model weights (SPEC §6 "weight averaging")."""
from collections import OrderedDict
from typing import Dict, Iterable, Optional

import torch


class StateDictAverager:
    """Running sum of state dicts whose :meth:`average` is their plain mean.

    Floating-point entries are summed in float32 (float64 when stored so),
    divided by the count and cast back to their own dtype, as the reference
    does with its per-epoch checkpoints; other entries (integer buffers)
    keep the latest value.
    ``WeightAveragingHook`` and ``tools/average_checkpoints.py`` share this
    class, so both give bitwise the same average of the same weights.
    """

    def __init__(self) -> None:
        self.sums: Optional[Dict[str, torch.Tensor]] = None
        self.dtypes: Dict[str, torch.dtype] = {}
        self.count = 0

    @staticmethod
    def _sum_dtype(tensor: torch.Tensor) -> torch.dtype:
        return torch.float64 if tensor.dtype == torch.float64 \
            else torch.float32

    def add(self, state_dict: Dict[str, torch.Tensor]) -> None:
        """Add one state dict (copied to the CPU)."""
        if self.sums is None:
            self.sums = OrderedDict()
            for key, value in state_dict.items():
                value = value.detach().cpu()
                self.dtypes[key] = value.dtype
                self.sums[key] = value.to(self._sum_dtype(value), copy=True) \
                    if value.is_floating_point() else value.clone()
        else:
            if set(state_dict) != set(self.sums):
                missing = set(self.sums) ^ set(state_dict)
                raise KeyError(f'state dicts to average differ in the keys '
                               f'{sorted(missing)[:10]}')
            for key, value in state_dict.items():
                value = value.detach().cpu()
                if value.is_floating_point():
                    self.sums[key] += value.to(self.sums[key].dtype)
                else:
                    self.sums[key] = value.clone()
        self.count += 1

    def average(self) -> 'OrderedDict[str, torch.Tensor]':
        """The mean of the added state dicts, in their dtypes."""
        if not self.count:
            raise RuntimeError('nothing to average')
        out = OrderedDict()
        for key, value in self.sums.items():
            mean = value / self.count if value.is_floating_point() \
                else value.clone()
            out[key] = mean.to(self.dtypes[key])
        return out

    def state_dict(self) -> dict:
        # dtypes as names: plain data for weights-only checkpoint loading.
        return dict(sums=self.sums, count=self.count,
                    dtypes={k: str(v).replace('torch.', '')
                            for k, v in self.dtypes.items()})

    def load_state_dict(self, state: dict) -> None:
        self.sums, self.count = state['sums'], state['count']
        self.dtypes = {k: getattr(torch, v)
                       for k, v in state['dtypes'].items()}


def average_state_dicts(state_dicts: Iterable[Dict[str, torch.Tensor]]
                        ) -> 'OrderedDict[str, torch.Tensor]':
    """Plain mean of several state dicts (see :class:`StateDictAverager`)."""
    averager = StateDictAverager()
    for state_dict in state_dicts:
        averager.add(state_dict)
    return averager.average()
