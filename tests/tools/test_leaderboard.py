"""tools/leaderboard.py end to end on the generated toy data, with tiny
random-weight checkpoints: the table, its cache, strict loading."""
import json
import logging
import os

from .tool_utils import load_tool

board_tool = load_tool('leaderboard')


def data_options(toy):
    """--cfg-options pointing the toy configs at the generated data."""
    return [
        f'test_dataloader.dataset.data_root={toy}',
        f'retrieval_dataloader.dataset.data_root={toy}',
        'test_dataloader.num_workers=0', 'retrieval_dataloader.num_workers=0'
    ]


def test_leaderboard_table_and_cache(toy, ckpts, tmp_path, capsys):
    out_dir = tmp_path / 'board'
    common = ['--tasks', 'cls', 'cls:audioonly', 'retrieval', '--out-dir',
              str(out_dir), '--cfg-options'] + data_options(toy)
    models = ['--model', ckpts['toy_pt_config'], ckpts['toy_pt'],
              'pretrained', '--model', ckpts['toy_ft_config'],
              ckpts['toy_ft'], 'finetuned']
    assert board_tool.main(models + common) == 0
    printed = capsys.readouterr().out
    assert 'evaluated 6, from cache 0' in printed
    board = json.loads((out_dir / 'leaderboard.json').read_text())
    markdown = (out_dir / 'leaderboard.md').read_text()
    assert markdown.splitlines()[0] in printed
    headers = [column['header'] for column in board['columns']]
    assert headers == [
        'cls top1', 'cls:audioonly top1', 'retrieval a2v_R@1',
        'retrieval a2v_R@5', 'retrieval a2v_R@10', 'retrieval v2a_R@1',
        'retrieval v2a_R@5', 'retrieval v2a_R@10'
    ]
    assert markdown.splitlines()[0] == '| model | ' + ' | '.join(
        headers) + ' |'
    rows = {row['model']: row['results'] for row in board['rows']}
    assert rows['pretrained']['cls']['status'] == 'n/a'
    assert 'pre-training model' in rows['pretrained']['cls']['reason']
    for name in ('pretrained', 'finetuned'):
        metrics = rows[name]['retrieval']['metrics']
        for key in ('a2v_R@1', 'a2v_R@10', 'v2a_R@5', 'v2a_MdR'):
            assert f'retrieval/{key}' in metrics
        # 6 retrieval clips: every clip is within the top 10
        assert metrics['retrieval/a2v_R@10'] == 1.0
        assert 1 <= metrics['retrieval/a2v_MdR'] <= 6
        for key, value in metrics.items():
            if not key.endswith('MdR'):
                assert 0 <= value <= 1
    accuracy = rows['finetuned']['cls']['metrics']['acc/top1']
    assert 0 <= accuracy <= 1
    assert f'| finetuned | {100 * accuracy:.1f} |' in markdown
    assert '| pretrained | n/a | n/a |' in markdown

    # everything cached: nothing is evaluated again
    assert board_tool.main(models + common) == 0
    assert 'evaluated 0, from cache 6' in capsys.readouterr().out
    # a new model: only it is evaluated (the retrieval column alone, to
    # keep the test short)
    retrieval = common[:]
    retrieval[1:4] = ['retrieval']
    more = models + ['--model', ckpts['toy_ft_config'], ckpts['toy_ft_b'],
                     'finetuned-b']
    assert board_tool.main(more + retrieval) == 0
    assert 'evaluated 1, from cache 2' in capsys.readouterr().out
    board = json.loads((out_dir / 'leaderboard.json').read_text())
    assert [row['model'] for row in board['rows']] == [
        'pretrained', 'finetuned', 'finetuned-b'
    ]
    assert [column['header'] for column in board['columns']
            ] == headers[2:]
    # a rewritten checkpoint is evaluated again
    stat = os.stat(ckpts['toy_ft_b'])
    os.utime(ckpts['toy_ft_b'], ns=(stat.st_atime_ns,
                                    stat.st_mtime_ns + 10**9))
    assert board_tool.main(more + retrieval) == 0
    assert 'evaluated 1, from cache 2' in capsys.readouterr().out


def test_leaderboard_clear_errors(toy, ckpts, tmp_path, capsys):
    common = ['--out-dir', str(tmp_path / 'b'), '--cfg-options'
              ] + data_options(toy)
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            str(tmp_path / 'nope.pth')] + common) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            ckpts['pretrain'], '--tasks', 'retrieval'] +
                           common) == 1
    err = capsys.readouterr().err
    assert 'missing keys' in err and 'unexpected keys' in err
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            ckpts['toy_ft'], '--tasks', 'cls:bogus'] +
                           common) == 1
    assert 'unknown task' in capsys.readouterr().err


def test_leaderboard_non_strict(toy, ckpts, tmp_path, capsys):
    """A pre-training checkpoint under the fine-tuning config is refused
    with the hint; --non-strict evaluates it, warns with the key lists, and
    caches the result apart from strict runs."""
    from mmengine.logging import MMLogger
    model = ['--model', ckpts['toy_ft_config'], ckpts['toy_pt'], 'pt_in_ft',
             '--tasks', 'cls', '--out-dir', str(tmp_path / 'board')]
    options = ['--cfg-options'] + data_options(toy)
    assert board_tool.main(model + options) == 1
    err = capsys.readouterr().err
    assert 'missing keys' in err and 'unexpected keys' in err
    assert 'pass --non-strict' in err

    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert board_tool.main(model + ['--non-strict'] + options) == 0
    finally:
        logger.removeHandler(handler)
    assert 'evaluated 1, from cache 0' in capsys.readouterr().out
    warned = [w for w in warnings if 'non-strict loading' in w]
    assert len(warned) == 1
    assert 'cls_head.fc_cls.weight' in warned[0]
    assert 'neck.decoder_embed.weight' in warned[0]
    board = json.loads((tmp_path / 'board' / 'leaderboard.json').read_text())
    assert 'acc/top1' in board['rows'][0]['results']['cls']['metrics']
    # the partial load's result does not answer a strict run
    assert board_tool.main(model + options) == 1
    assert 'missing keys' in capsys.readouterr().err


def test_leaderboard_reports_progress(toy, ckpts, tmp_path, capsys):
    """Each evaluation reports iterations done/total with an ETA (log lines
    here, output not a terminal; shown from --log-level INFO);
    --no-progress leaves them out."""
    model = ['--model', ckpts['toy_ft_config'], ckpts['toy_ft'], 'ft',
             '--tasks', 'cls', '--log-level', 'INFO', '--force',
             '--out-dir', str(tmp_path / 'board'), '--cfg-options'
             ] + data_options(toy)
    assert board_tool.main(model) == 0
    captured = capsys.readouterr()
    output = captured.out + captured.err
    lines = [line for line in output.splitlines() if ' - test: ' in line]
    assert lines and '(100%)' in lines[-1], output[-3000:]
    assert all('ETA ' in line for line in lines)
    assert '\r' not in output
    assert board_tool.main(model + ['--no-progress']) == 0
    captured = capsys.readouterr()
    assert ' - test: ' not in captured.out + captured.err
