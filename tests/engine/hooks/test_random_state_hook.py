"""RandomStateHook (cavmae_mm/engine/hooks/random_state_hook.py): resuming
is exact, and validation does not change training."""
import torch

import cavmae_mm  # noqa: F401
from ..runner_utils import (StopAfterEpoch, assert_same, build_runner,
                            ckpt_weights, model_state)


def test_resume_is_exact_with_random_state_hook(tmp_path):
    hooks = [dict(type='RandomStateHook'),
             dict(type='WeightAveragingHook', begin=2)]
    full = build_runner(tmp_path / 'full', custom_hooks=hooks)
    full.train()

    first = build_runner(tmp_path / 'part',
                         custom_hooks=hooks + [StopAfterEpoch(2)])
    first.train()
    resumed = build_runner(tmp_path / 'part', custom_hooks=hooks,
                           resume=True)
    resumed.train()
    assert_same(model_state(resumed), model_state(full))
    assert_same(ckpt_weights(tmp_path / 'part' / 'averaged.pth'),
                ckpt_weights(tmp_path / 'full' / 'averaged.pth'))


def test_without_random_state_hook_resume_differs(tmp_path):
    """The control for the test above: the streams matter here."""
    full = build_runner(tmp_path / 'full')
    full.train()
    first = build_runner(tmp_path / 'part', custom_hooks=[StopAfterEpoch(2)])
    first.train()
    resumed = build_runner(tmp_path / 'part', resume=True)
    resumed.train()
    state, expected = model_state(resumed), model_state(full)
    assert any(not torch.equal(state[k], expected[k]) for k in state)


def test_validation_does_not_change_training(tmp_path):
    hooks = [dict(type='RandomStateHook')]
    with_val = build_runner(tmp_path / 'a', max_epochs=2,
                            custom_hooks=hooks)
    with_val.train()
    without_val = build_runner(tmp_path / 'b', max_epochs=2,
                               custom_hooks=hooks, val=False)
    without_val.train()
    assert_same(model_state(with_val), model_state(without_val))
