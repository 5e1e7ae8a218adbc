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


def test_shards_pretrain_from_shards_made_of_the_training_clips(
        tmp_path, monkeypatch):
    """--shards: the shards are (re)made from pretrain.json after the data
    step, the pre-training uses the shard config, the rest is unchanged."""
    data_root, commands = tmp_path / 'd', []
    data_root.mkdir()
    (data_root / 'retrieval.json').write_text(json.dumps(dict(data=[{}] * 4)))
    (data_root / 'class_labels_indices.csv').write_text('index\n0\n1\n')
    stale = data_root / 'shards' / 'index.json'
    stale.parent.mkdir()
    stale.write_text('{}')
    (tmp_path / 'w').mkdir()  # the real runs make it
    monkeypatch.setattr(demo, 'run', commands.append)
    monkeypatch.setattr(demo, 'check_existing_data', lambda *a: None)
    monkeypatch.setattr(demo, 'random_init_checkpoint', lambda *a: 'init')
    monkeypatch.setattr(demo, 'latest_checkpoint', lambda d: d + '/e.pth')
    metrics = {f'x/{k}': 0.5 for k in (
        'top1', 'top5', 'a2v_R@1', 'a2v_R@5', 'a2v_MdR', 'v2a_R@1',
        'v2a_R@5', 'v2a_MdR')}
    monkeypatch.setattr(demo, 'evaluate', lambda *a, **k: metrics)
    assert demo.main(['--shards', '--work-dir', str(tmp_path / 'w'),
                      '--data-root', str(data_root)]) == 0
    scripts = [osp.relpath(c[1], demo.ROOT) if osp.isabs(c[1]) else c[1]
               for c in commands]
    assert scripts == ['tools/data/make_toy_av.py',
                       'tools/data/make_shards.py', 'tools/train.py',
                       'tools/train.py']
    make_shards, pretrain = commands[1], commands[2]
    assert make_shards[2] == str(data_root / 'pretrain.json')
    assert make_shards[make_shards.index('--out-dir') + 1] == \
        str(data_root / 'shards')
    assert not stale.exists()  # the shards of older clips are gone
    assert pretrain[2] == demo.SHARDS_PRETRAIN_CFG
    assert commands[3][2] == demo.FINETUNE_CFG
    with open(tmp_path / 'w' / 'results.json') as f:
        assert json.load(f)['pretrain_config'] == \
            'configs/cavmae_toy_pretrain_shards.py'
    args = demo.parse_args(['--seeds', '0', '--shards'])
    assert '--shards' in demo.seed_argv(args, 0, True)
