"""tools/toy_demo/seeds.py and summaries.py: numbers over several seeds."""
import json

import pytest

from tools.toy_demo.seeds import (cell, flatten, format_rows, seed_dir,
                                  summarize, value_cell, write_summary)
from tools.toy_demo.summaries import cavmae_demo_table


def test_flatten_keeps_numbers_under_path_keys():
    results = dict(seed=1, a=dict(b=0.5, c=dict(d=2)), name='x',
                   flag=True, values=[1, 2], none=None)
    assert flatten(results) == {'seed': 1.0, 'a/b': 0.5, 'a/c/d': 2.0}


def test_summary_is_mean_min_max_over_seeds():
    per_seed = [dict(r=dict(r1=0.1, mdr=4.0), only0=1.0),
                dict(r=dict(r1=0.4, mdr=6.0)),
                dict(r=dict(r1=0.25, mdr=5.0), only2=3.0)]
    summary = summarize(per_seed)
    assert set(summary) == {'r/r1', 'r/mdr'}  # the keys all seeds have
    assert summary['r/r1']['mean'] == pytest.approx(0.25)
    assert (summary['r/r1']['min'], summary['r/r1']['max']) == (0.1, 0.4)
    assert summary['r/mdr'] == dict(mean=5.0, min=4.0, max=6.0,
                                    values=[4.0, 6.0, 5.0])
    with pytest.raises(ValueError):
        summarize([])


def test_cells_show_the_mean_and_range():
    stats = dict(mean=0.25, min=0.1, max=0.4, values=[0.1, 0.4, 0.25])
    assert cell(stats) == '25.0 [10.0-40.0]'
    assert cell(dict(mean=5, min=4, max=6, values=[4, 5, 6]), False) == \
        '5.0 [4.0-6.0]'
    assert cell(dict(mean=0.5, min=0.5, max=0.5, values=[0.5])) == '50.0'
    assert value_cell(None) == '-' and value_cell(0.125) == '12.5'
    assert value_cell(3.5, percent=False) == '3.5'
    lines = format_rows([('name', 'x'), ('a', '10.0')])
    assert lines == ['  name     x', '  a     10.0']


def test_write_summary(tmp_path):
    path = str(tmp_path / 'results.json')
    out = write_summary(path, [0, 1], [dict(x=1.0), dict(x=3.0)], note='n')
    with open(path) as f:
        assert json.load(f) == out
    assert out['summary']['x']['mean'] == 2.0 and out['note'] == 'n'
    assert write_summary(path, [], [])['summary'] == {}
    assert seed_dir('w', 2).endswith('seed_2')


def demo_results(seed, r1, top1):
    """A seed's results.json of tools/run_toy_demo.py, made up."""
    metrics = {'a2v_R@1': r1, 'a2v_R@5': 0.5, 'a2v_MdR': 5.0,
               'v2a_R@1': r1, 'v2a_R@5': 0.5, 'v2a_MdR': 6.0}
    return dict(seed=seed,
                retrieval=dict(num_clips=40, chance_r1=1 / 40,
                               random_init=dict(metrics),
                               pretrained=dict(metrics)),
                classification=dict(last=dict(top1=top1, top5=1.0),
                                    averaged=dict(top1=top1, top5=1.0)),
                num_classes=8, time_s=dict(pretrain=250.0, total=360.0))


def test_cavmae_demo_table_over_seeds():
    table = cavmae_demo_table(
        [demo_results(0, 0.1, 0.9), demo_results(1, 0.15, 0.8)], [0, 1])
    assert 'Mean [min-max] over seeds [0, 1]' in table
    assert '12.5 [10.0-15.0]' in table  # R@1 of the pre-trained model
    assert '85.0 [80.0-90.0]' in table  # top-1
    assert '2.5' in table.split('chance')[1]  # chance R@1 of 40 clips
    assert 'pretrain 250 [250-250] s' in table
