"""WeightAveragingHook (cavmae_mm/engine/hooks/weight_averaging_hook.py),
and tools/average_checkpoints.py giving the same average from the files."""
import json
import os.path as osp
import sys

import torch

import cavmae_mm  # noqa: F401
from ..runner_utils import assert_same, build_runner, ckpt_weights, model_state

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


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
