"""WeightAveragingHook, RandomStateHook, tools/average_checkpoints.py."""
import json
import os.path as osp
import sys

import pytest
import torch

import cavmae_mm  # noqa: F401
from cavmae_mm.engine import StateDictAverager, average_state_dicts
from cavmae_mm.utils import get_state_dict, load_checkpoint_safe
from ..runner_utils import StopAfterEpoch, build_runner, model_state

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


def ckpt_weights(path):
    return get_state_dict(load_checkpoint_safe(path))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_state_dict_averager_is_the_plain_mean():
    dicts = [dict(w=torch.tensor([1., 2.], dtype=torch.float16),
                  n=torch.tensor(i)) for i in range(3)]
    dicts[1]['w'] = torch.tensor([4., 8.], dtype=torch.float16)
    mean = average_state_dicts(dicts)
    assert mean['w'].dtype == torch.float16
    assert mean['w'].tolist() == [2., 4.]
    assert mean['n'].item() == 2  # integer buffers keep the latest value
    averager = StateDictAverager()
    averager.add(dicts[0])
    restored = StateDictAverager()
    restored.load_state_dict(averager.state_dict())
    restored.add(dicts[1])
    assert restored.average()['w'].tolist() == [2.5, 5.]
    with pytest.raises(KeyError):
        restored.add(dict(w=torch.zeros(2)))


def test_weight_averaging_hook_averages_the_window(tmp_path):
    runner = build_runner(tmp_path, custom_hooks=[
        dict(type='WeightAveragingHook', begin=2, end=3)])
    runner.train()
    epochs = [ckpt_weights(tmp_path / f'epoch_{i}.pth') for i in (2, 3)]
    averaged = ckpt_weights(tmp_path / 'averaged.pth')
    for key in averaged:
        assert torch.equal(averaged[key], (epochs[0][key] + epochs[1][key])
                           / 2), key
    # The model keeps its last-epoch weights; the average was evaluated.
    assert_same(model_state(runner), ckpt_weights(tmp_path / 'epoch_4.pth'))
    with open(tmp_path / 'averaged_metrics.json') as f:
        report = json.load(f)
    assert report['epochs'] == [2, 3] and 'val/mse' in report['metrics']

    # The tool gives bitwise the same average from the files.
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import average_checkpoints
    finally:
        sys.path.pop(0)
    out = tmp_path / 'tool_avg.pth'
    average_checkpoints.main(['--work-dir', str(tmp_path), '--begin', '2',
                              '--end', '3', '--out', str(out)])
    assert_same(ckpt_weights(out), averaged)


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
