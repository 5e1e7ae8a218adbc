"""tools/benchmark.py data --shard-workers: shards against the file
layouts through a DataLoader, on generated clips (the numbers' presence
and sense, not their speed)."""
import json

from ..tool_utils import import_tool


def test_data_benchmark_times_shards_and_files(tmp_path, capsys):
    tool = import_tool('benchmark.py')
    output = tmp_path / 'bench.json'
    assert tool.main([
        'data', '--samples-dir', '', '--toy-clips', '3', '--toy-size',
        '64x48', '--iters', '1', '--rounds', '1', '--per-clip', '0',
        '--recipes', 'finetune', '--workers', '1', '--work-dir',
        str(tmp_path / 'work'), '--shard-workers', '0', '2',
        '--shard-size', '2', '--loader-batches', '2', '--batch-size', '2',
        '--output', str(output)
    ]) == 0
    rows = json.load(open(output))['shards']
    assert [(r['loader'], r['workers']) for r in rows] == [
        (loader, workers) for workers in (0, 2)
        for loader in ('shards', 'files, pre-extracted', 'files, raw video')]
    assert all(r['samples_per_s'] > 0 for r in rows)
    with open(tmp_path / 'work' / 'toy360p' / 'shards' / 'index.json') as f:
        index = json.load(f)
    assert [s['num_samples'] for s in index['shards']] == [2, 1]
    assert '| toy360p | finetune | shards | 2 |' in capsys.readouterr().out
