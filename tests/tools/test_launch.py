"""tools/launch.py: the data checked before anything is built (one line per
missing path, exit status 1 from the tools), and ``--data-root`` moving
every data loader."""
import copy
import os.path as osp
import subprocess
import sys
import time

import pytest
from mmengine.config import Config
from mmengine.registry import Registry

import cavmae_mm  # noqa: F401
from cavmae_mm.utils.config_checks import MissingDataError
from cavmae_mm.utils.config_checks import check_data_files
from tools import launch
from .tool_utils import ROOT, TOY_PRETRAIN, TOY_RETRIEVAL, load_tool

train_tool = load_tool('train')
test_tool = load_tool('test')


def loader_roots(cfg):
    """``{key: data_root}`` of every ``*_dataloader``'s (wrapped) data
    sets."""
    roots = {}

    def visit(dataset, key):
        inner = [dataset.get('dataset')] + list(dataset.get('datasets') or [])
        inner = [d for d in inner if isinstance(d, dict)]
        if not inner:
            roots[key] = dataset.get('data_root')
        for index, wrapped in enumerate(inner):
            visit(wrapped, f'{key}[{index}]')

    for key in cfg:
        if key.endswith('_dataloader') and isinstance(cfg[key], dict):
            visit(cfg[key].dataset, key)
    return roots


def test_data_root_moves_every_dataloader(tmp_path):
    config = Config.fromfile(TOY_PRETRAIN)
    config.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=config.train_dataloader.dataset)
    path = str(tmp_path / 'repeat.py')
    config.dump(path)
    for tool, argv in ((train_tool, [path]),
                       (test_tool, [path, 'c.pth'])):
        args = tool.parse_args(argv + ['--data-root', '/my/data'])
        cfg = tool.merge_args(Config.fromfile(path), args)
        roots = loader_roots(cfg)
        # train/val/test and the base file's other loaders (8 in all)
        assert len(roots) >= 3 and 'train_dataloader[0]' in roots
        assert set(roots.values()) == {'/my/data'}, roots
        assert 'data_root' not in cfg.train_dataloader.dataset  # the wrapper
        assert cfg.data_root == '/my/data'
    # --cfg-options still overrides one loader after it
    args = train_tool.parse_args([TOY_PRETRAIN, '--data-root', '/my/data',
                                  '--cfg-options',
                                  'val_dataloader.dataset.data_root=/val'])
    cfg = train_tool.merge_args(Config.fromfile(TOY_PRETRAIN), args)
    assert cfg.train_dataloader.dataset.data_root == '/my/data'
    assert cfg.val_dataloader.dataset.data_root == '/val'


def test_missing_data_stops_before_anything_is_built(tmp_path, monkeypatch):
    """train.py and test.py raise MissingDataError with one line per
    missing path before any registry builds (model, data set, runner)."""
    def refuse(self, cfg, *args, **kwargs):
        raise AssertionError(f'built {cfg.get("type")} before the check')

    monkeypatch.setattr(Registry, 'build', refuse)
    root = str(tmp_path / 'nowhere')
    with pytest.raises(MissingDataError) as error:
        train_tool.main([TOY_PRETRAIN, '--data-root', root,
                         '--work-dir', str(tmp_path / 'work')])
    lines = str(error.value).splitlines()
    assert lines[1:] == [
        f'  {root}: not found (set by train_dataloader.dataset.data_root, '
        'val_dataloader.dataset.data_root); make it with: python '
        f'tools/data/make_toy_av.py --out-dir {root} --extract '
        '--train-per-class 64 --duration 4 --width 160 --height 120, or '
        'give its folder with --data-root'
    ]
    # test.py checks before it loads the checkpoint into a model
    with pytest.raises(MissingDataError, match='test_dataloader.dataset'):
        test_tool.main([TOY_RETRIEVAL, 'missing.pth', '--data-root', root,
                        '--work-dir', str(tmp_path / 'work')])


def test_train_tool_exits_with_the_message_in_seconds(tmp_path):
    root = str(tmp_path / 'nowhere')
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', TOY_PRETRAIN, '--data-root', root,
         '--work-dir', str(tmp_path / 'work')],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'error: the data of the config is not there:\n' in proc.stderr, \
        proc.stderr[-3000:]
    assert f'{root}: not found (set by train_dataloader.dataset.data_root' \
        in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not osp.exists(str(tmp_path / 'work'))  # no runner
    assert time.monotonic() - start < 60


def test_each_missing_file_is_one_line_with_its_key(tmp_path):
    """An existing root: the missing annotation and label CSV, each once
    with every key that sets it; an absolute path as given."""
    (tmp_path / 'pretrain.json').write_text('[]')
    cfg = Config.fromfile(TOY_PRETRAIN)
    launch.set_data_root(cfg, str(tmp_path))
    with pytest.raises(MissingDataError) as error:
        check_data_files(cfg)
    lines = str(error.value).splitlines()[1:]
    retrieval = osp.join(str(tmp_path), 'retrieval.json')
    labels = osp.join(str(tmp_path), 'class_labels_indices.csv')
    assert [line.split(';')[0] for line in lines] == [
        f'  {labels}: not found (set by train_dataloader.dataset.label_csv, '
        'val_dataloader.dataset.label_csv, test_dataloader.dataset.label_csv)',
        f'  {retrieval}: not found (set by val_dataloader.dataset.ann_file, '
        'test_dataloader.dataset.ann_file)',
    ]
    (tmp_path / 'retrieval.json').write_text('[]')
    (tmp_path / 'class_labels_indices.csv').write_text('index,mid\n')
    check_data_files(cfg)
    cfg.val_dataloader = copy.deepcopy(cfg.val_dataloader)  # test's alias
    cfg.val_dataloader.dataset.ann_file = str(tmp_path / 'elsewhere.json')
    with pytest.raises(MissingDataError, match='val_dataloader.dataset.'
                       'ann_file'):
        check_data_files(cfg)
    check_data_files(cfg, ('train_dataloader', 'test_dataloader'))
