"""MixedPrecisionOptimWrapper on the CPU (the CUDA path is MMEngine's
AmpOptimWrapper logic with torch.amp.GradScaler('cuda'))."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

import cavmae_mm  # noqa: F401
from cavmae_mm.engine import MixedPrecisionOptimWrapper
from ..runner_utils import build_runner


def linear_wrapper(**kwargs):
    torch.manual_seed(0)
    model = nn.Linear(8, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return model, MixedPrecisionOptimWrapper(optimizer=optimizer, **kwargs)


def test_cpu_default_is_bfloat16_autocast_without_loss_scaling():
    model, wrapper = linear_wrapper()
    assert wrapper.cast_dtype == torch.bfloat16
    assert wrapper.loss_scaler is None
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(before, model.weight)
    assert 'loss_scaler' not in wrapper.state_dict()


def test_float16_uses_a_loss_scaler_and_checkpoints_it():
    model, wrapper = linear_wrapper(dtype='float16', loss_scale=512.)
    assert isinstance(wrapper.loss_scaler, torch.amp.GradScaler)
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 8))
    assert out.dtype == torch.float16
    wrapper.update_params(out.float().pow(2).mean())
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 512.
    _, other = linear_wrapper(dtype='float16')
    other.load_state_dict(state)
    assert other.loss_scaler.get_scale() == 512.
    # An AmpOptimWrapper checkpoint (with a scaler) loads into bfloat16 too.
    _, bf16 = linear_wrapper(dtype='bfloat16')
    bf16.load_state_dict(state)


def test_invalid_dtype_is_refused():
    with pytest.raises(ValueError, match='dtype'):
        linear_wrapper(dtype='float32')


def test_gradient_accumulation_steps_every_n_updates():
    model, wrapper = linear_wrapper(accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 4)
    before = model.weight.detach().clone()
    for step in range(2):
        with wrapper.optim_context(model):
            loss = model(torch.randn(2, 8)).float().pow(2).mean()
        wrapper.update_params(loss)
        assert torch.equal(before, model.weight) == (step == 0)


def test_built_from_both_registries():
    model = nn.Linear(2, 2)
    cfg = dict(type='MixedPrecisionOptimWrapper',
               optimizer=dict(type='Adam', lr=1e-3))
    assert isinstance(build_optim_wrapper(model, cfg),
                      MixedPrecisionOptimWrapper)
    from mmaction.registry import OPTIM_WRAPPERS
    assert OPTIM_WRAPPERS.get('MixedPrecisionOptimWrapper') is \
        MixedPrecisionOptimWrapper


def test_trains_in_the_runner_and_resumes(tmp_path):
    wrapper = dict(type='MixedPrecisionOptimWrapper',
                   optimizer=dict(type='Adam', lr=1e-2))
    runner = build_runner(tmp_path, max_epochs=2, optim_wrapper=wrapper,
                          val=False)
    runner.train()
    assert isinstance(runner.optim_wrapper, MixedPrecisionOptimWrapper)
    assert torch.isfinite(torch.tensor(
        runner.message_hub.get_scalar('train/loss').current()))
    resumed = build_runner(tmp_path, max_epochs=3, optim_wrapper=wrapper,
                           val=False, resume=True)
    resumed.train()
    assert resumed.epoch == 3
