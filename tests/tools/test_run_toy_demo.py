"""tools/run_toy_demo.py --seeds: one demo run per seed, then the summary
(the runs themselves replaced by stand-ins that write results.json)."""
import json
import os
import os.path as osp

from .tool_utils import import_tool
from .toy_demo.test_seeds import demo_results

demo = import_tool('run_toy_demo.py')


def test_seed_arguments():
    args = demo.parse_args(['--seeds', '0', '1', '--work-dir', '/w',
                            '--data-root', '/d', '--pretrain-epochs', '2',
                            '--data-args', '--num-classes', '3'])
    first = demo.seed_argv(args, 0, True)
    assert first == ['--seed', '0', '--work-dir', '/w/seed_0', '--data-root',
                     '/d', '--workers', '2', '--pretrain-epochs', '2',
                     '--data-args', '--num-classes', '3']
    later = demo.seed_argv(args, 1, False)
    assert later[:4] == ['--seed', '1', '--work-dir', '/w/seed_1']
    assert '--skip-data' in later  # the data is made once, by the first
    args = demo.parse_args(['--seeds', '4', '--skip-data'])
    assert '--skip-data' in demo.seed_argv(args, 4, True)
    assert '--finetune-epochs' not in demo.seed_argv(args, 4, True)


def test_seeds_run_in_turn_and_are_summarized(tmp_path, monkeypatch,
                                              capsys):
    commands = []

    def fake_run(cmd):
        commands.append(cmd)
        seed = int(cmd[cmd.index('--seed') + 1])
        work_dir = cmd[cmd.index('--work-dir') + 1]
        os.makedirs(work_dir)
        with open(osp.join(work_dir, 'results.json'), 'w') as f:
            json.dump(demo_results(seed, 0.1 * (seed + 1), 0.9), f)

    monkeypatch.setattr(demo, 'run', fake_run)
    work_dir = str(tmp_path / 'w')
    assert demo.main(['--seeds', '0', '1', '2', '--work-dir', work_dir]) == 0
    assert [c[c.index('--seed') + 1] for c in commands] == ['0', '1', '2']
    assert ['--skip-data' in c for c in commands] == [False, True, True]
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['seeds'] == [0, 1, 2]
    r1 = results['summary']['retrieval/pretrained/a2v_R@1']
    assert (r1['min'], r1['max']) == (0.1, 0.30000000000000004)
    assert '20.0 [10.0-30.0]' in capsys.readouterr().out
