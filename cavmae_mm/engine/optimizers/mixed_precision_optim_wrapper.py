"""Mixed-precision optimizer wrapper that also runs on the CPU."""
from contextlib import contextmanager
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS

from mmaction.registry import OPTIM_WRAPPERS

DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16}


class MixedPrecisionOptimWrapper(OptimWrapper):
    """Automatic mixed precision on CUDA and on the CPU.

    MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. This wrapper
    keeps its semantics on CUDA (``float16`` autocast with dynamic loss
    scaling by default; ``bfloat16`` on request) and adds the CPU, where the
    default is ``bfloat16`` autocast. Loss scaling is used with ``float16``
    only: ``bfloat16`` has float32's exponent range and needs none.

    The device is the one of the optimizer's parameters. ``--amp`` of
    ``tools/train.py`` selects this wrapper. Checkpoints store the loss
    scaler's state under ``loss_scaler`` as ``AmpOptimWrapper`` does, so the
    two can resume each other's checkpoints.

    Args:
        dtype (str or torch.dtype, optional): ``'float16'`` or
            ``'bfloat16'``; None picks ``float16`` on CUDA and ``bfloat16``
            elsewhere. Defaults to None.
        loss_scale (str or float or dict): With ``float16``: ``'dynamic'``
            (``GradScaler()``), a float (a static scale) or a dict of
            ``GradScaler`` arguments. Ignored with ``bfloat16``.
            Defaults to ``'dynamic'``.
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments
            (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.device_type = self._param_device_type()
        if dtype is None:
            dtype = 'float16' if self.device_type == 'cuda' else 'bfloat16'
        if isinstance(dtype, str):
            if dtype not in DTYPES:
                raise ValueError(f'dtype must be one of {list(DTYPES)}, '
                                 f'got {dtype!r}')
            dtype = DTYPES[dtype]
        if dtype not in DTYPES.values():
            raise ValueError(f'dtype must be float16 or bfloat16, got '
                             f'{dtype}')
        self.cast_dtype = dtype
        self._scale_update_param = None
        self.loss_scaler = None
        if dtype == torch.float16:
            self.loss_scaler = self._build_scaler(loss_scale)

    def _param_device_type(self) -> str:
        for group in self.optimizer.param_groups:
            for param in group['params']:
                return param.device.type
        return 'cuda' if torch.cuda.is_available() else 'cpu'

    def _build_scaler(self, loss_scale) -> torch.amp.GradScaler:
        if loss_scale == 'dynamic':
            return torch.amp.GradScaler(self.device_type)
        if isinstance(loss_scale, (int, float)):
            self._scale_update_param = float(loss_scale)
            return torch.amp.GradScaler(self.device_type,
                                        init_scale=float(loss_scale))
        if isinstance(loss_scale, dict):
            return torch.amp.GradScaler(self.device_type, **loss_scale)
        raise TypeError(f'loss_scale must be "dynamic", a float or a dict, '
                        f'got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        state_dict = super().state_dict()
        if self.loss_scaler is not None:
            state_dict['loss_scaler'] = self.loss_scaler.state_dict()
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        if 'base_param_settings' in state_dict:
            self.base_param_settings = state_dict.pop('base_param_settings')
        self.optimizer.load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus
        ``torch.autocast`` on the parameters' device."""
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield


# Registered in MMEngine's registry and in MMAction2's child registry, so it
# resolves under either default scope.
MMENGINE_OPTIM_WRAPPERS.register_module(module=MixedPrecisionOptimWrapper)
OPTIM_WRAPPERS.register_module(module=MixedPrecisionOptimWrapper)
