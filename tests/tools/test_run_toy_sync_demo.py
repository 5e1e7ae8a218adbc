"""tools/run_toy_sync_demo.py: its commands, chance levels and tables, and
one small run end to end (both models trained by tools/train.py)."""
import json
import os.path as osp

import pytest

from .tool_utils import import_tool

demo = import_tool('run_toy_sync_demo.py')


def test_train_commands_same_budget_for_both_models(tmp_path):
    commands = {model: demo.train_command('py', model, 3, 'w', 'd')
                for model in ('cavmae', 'sync')}
    for model, cmd in commands.items():
        assert cmd[:3] == ['py', 'tools/train.py', demo.MODELS[model]['train']]
        assert cmd[3:] == ['--work-dir', 'w', '--data-root', 'd', '--seed',
                           '3', '--no-validate']
    short = demo.train_command('py', 'sync', 0, 'w', 'd', epochs=6)
    options = short[short.index('--cfg-options') + 1:]
    # The halving milestones 40, 50 of 60 epochs at the same fractions.
    assert options == ['train_cfg.max_epochs=6', 'param_scheduler.1.end=6',
                       'param_scheduler.1.milestones=[4,5]']
    assert demo.epoch_options(demo.MODELS['cavmae']['train'], 6) == options


def test_data_command_makes_the_sync_variant_with_96_retrieval_clips():
    cmd = demo.data_command('py', 'out', 5, 2)
    assert cmd[:8] == ['py', 'tools/data/make_toy_av.py', '--out-dir', 'out',
                       '--workers', '2', '--seed', '5']
    args = dict(zip(cmd[8::2], cmd[9::2]))
    assert args['--variant'] == 'sync'
    assert int(args['--num-classes']) * int(
        args['--retrieval-per-class']) == 96
    assert demo.data_command('py', 'o', 0, 1, ['--x'])[-1] == '--x'


def test_metric_keys_and_chance():
    assert demo.strip({'retrieval/a2v_R@1': 0.5,
                       'alignment/v2a_acc': 0.25}) == {
                           'a2v_R@1': 0.5, 'align_v2a_acc': 0.25}
    chance = demo.chance(96, 8)
    assert chance['a2v_R@1'] == pytest.approx(1 / 96)
    assert chance['v2a_R@5'] == pytest.approx(5 / 96)
    assert chance['a2v_MdR'] == 48.5
    assert chance['align_a2v_acc'] == chance['align_v2a_acc'] == 1 / 8


def fake_seed(seed, sync_align):
    def metrics(align=None):
        out = {'a2v_R@1': 0.1 * (seed + 1), 'a2v_R@5': 0.5,
               'a2v_MdR': 5.0, 'v2a_R@1': 0.2, 'v2a_R@5': 0.6,
               'v2a_MdR': 4.0}
        if align is not None:
            out.update(align_a2v_acc=align, align_v2a_acc=align)
        return out
    return dict(seed=seed,
                cavmae=dict(clip=metrics(), segments=metrics(0.125)),
                sync=dict(segments=metrics(sync_align)))


def test_tables_per_seed_and_over_seeds():
    chance = demo.chance(96, 8)
    one = demo.table([fake_seed(0, 0.5)], chance, 'Seed 0:')
    lines = one.splitlines()
    assert lines[0] == 'Seed 0:'
    row = next(line for line in lines if 'CAV-MAE Sync' in line).split()
    assert row[-2:] == ['50.0', '50.0'] and row[-8] == '10.0'
    clip = next(line for line in lines if 'clip audio' in line).split()
    assert clip[-2:] == ['-', '-']  # no alignment from one clip feature
    assert lines[-1].split()[1:] == ['1.0', '5.2', '48.5', '1.0', '5.2',
                                     '48.5', '12.5', '12.5']
    over = demo.table([fake_seed(0, 0.5), fake_seed(1, 0.3)], chance, 'All')
    sync_row = next(line for line in over.splitlines()
                    if 'CAV-MAE Sync' in line)
    assert '15.0 [10.0-20.0]' in sync_row and '40.0 [30.0-50.0]' in sync_row
    assert 'random init' not in over


def test_the_demo_runs_end_to_end(sync_toy_root, tmp_path, capsys):
    """One seed, one epoch each, on the small sync toy set: every number
    of the table is there and in range, results.json written."""
    work_dir = str(tmp_path / 'demo')
    assert demo.main(['--work-dir', work_dir, '--data-root', sync_toy_root,
                      '--skip-data', '--seeds', '3', '--epochs', '1']) == 0
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['seeds'] == [3] and results['num_clips'] == 8
    [seed] = results['per_seed']
    for prefix in ('', 'random_init/'):
        for model, evaluation in (('cavmae', 'clip'),
                                  ('cavmae', 'segments'),
                                  ('sync', 'segments')):
            key = f'{prefix}{model}/{evaluation}/a2v_R@1'
            assert 0 <= results['summary'][key]['mean'] <= 1, key
    for model in ('cavmae', 'sync'):
        assert 0 <= seed[model]['segments']['align_v2a_acc'] <= 1
        assert seed[model]['segments']['align_chance'] == 1 / 8
        assert osp.isfile(seed['checkpoints'][model])
    assert 'align_a2v_acc' not in seed['cavmae']['clip']
    assert results['time_s']['total'] > 0
    out = capsys.readouterr().out
    assert 'Seed 3 (8 retrieval clips x 8 frame positions' in out
