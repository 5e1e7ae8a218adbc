"""tools/test.py: argument merging (--dump), and a checkpoint that does not
fit the model refused with the key lists unless --non-strict."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS
from .tool_utils import (ROOT, TOY_FINETUNE, TOY_PRETRAIN, TOY_RETRIEVAL,
                         small_config)

sys.path.insert(0, osp.join(ROOT, 'tools'))
import test as test_tool  # noqa: E402

sys.path.pop(0)


def test_test_tool_dump_and_checkpoint():
    args = test_tool.parse_args([TOY_RETRIEVAL, 'c.pth', '--dump', 'o.pkl'])
    cfg = test_tool.merge_args(Config.fromfile(TOY_RETRIEVAL), args)
    assert cfg.load_from == 'c.pth'
    assert [m['type'] for m in cfg.test_evaluator] == ['AVRetrievalMetric',
                                                       'DumpResults']
    with pytest.raises(ValueError, match='pkl'):
        test_tool.merge_args(Config.fromfile(TOY_RETRIEVAL),
                             test_tool.parse_args([TOY_RETRIEVAL, 'c.pth',
                                                   '--dump', 'o.txt']))


def test_test_tool_refuses_a_checkpoint_that_does_not_fit(toy_root,
                                                          tmp_path):
    """A pre-training checkpoint under the toy fine-tuning config:
    tools/test.py stops (exit status 1) with the missing and unexpected
    keys and the hint, instead of evaluating a random head; --non-strict
    evaluates and warns with the same key lists."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    pretrained = MODELS.build(Config.fromfile(TOY_PRETRAIN).model)
    checkpoint = str(tmp_path / 'pretrain.pth')
    torch.save(dict(state_dict=pretrained.state_dict()), checkpoint)
    config = str(tmp_path / 'finetune.py')
    small_config(toy_root, path=TOY_FINETUNE).dump(config)

    def test_tool(*options):
        return subprocess.run(
            [sys.executable, 'tools/test.py', config, checkpoint,
             '--work-dir', str(tmp_path / 'work'), *options],
            cwd=ROOT, capture_output=True, text=True, timeout=400)

    proc = test_tool()
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"error: checkpoint '{checkpoint}' does not match the model " \
        '(CAVMAERecognizer)' in proc.stderr
    assert 'missing keys (in the model, not in the checkpoint)' in proc.stderr
    assert 'cls_head.fc_cls.weight' in proc.stderr
    assert 'unexpected keys (in the checkpoint, not in the model)' in \
        proc.stderr
    assert 'neck.decoder_embed.weight' in proc.stderr
    assert 'hint: a pre-training checkpoint (with decoder) given to a ' \
        'classification model' in proc.stderr
    assert 'pass --non-strict' in proc.stderr
    assert 'acc/top1' not in proc.stdout + proc.stderr

    proc = test_tool('--non-strict')
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert 'non-strict loading (--non-strict): checkpoint' in output
    assert 'cls_head.fc_cls.weight' in output
    assert 'neck.decoder_embed.weight' in output
    assert 'acc/top1' in output


def test_test_tool_adds_the_progress_hook_once():
    args = test_tool.parse_args([TOY_FINETUNE, 'c.pth'])
    cfg = test_tool.merge_args(Config.fromfile(TOY_FINETUNE), args)
    assert [h['type'] for h in cfg.custom_hooks].count('ProgressHook') == 1
    cfg = test_tool.merge_args(cfg, args)  # already there: not twice
    assert [h['type'] for h in cfg.custom_hooks].count('ProgressHook') == 1
    args = test_tool.parse_args([TOY_FINETUNE, 'c.pth', '--no-progress'])
    cfg = test_tool.merge_args(Config.fromfile(TOY_FINETUNE), args)
    assert 'ProgressHook' not in [h['type']
                                  for h in cfg.get('custom_hooks', [])]


def test_test_tool_reports_progress_with_eta(toy_root, tmp_path):
    """A toy test run, output not a terminal: log lines with done/total,
    elapsed and ETA from the first iteration on, no carriage returns."""
    init_default_scope('mmaction')
    cfg = small_config(toy_root, path=TOY_FINETUNE)
    cfg.test_dataloader.batch_size = 2  # a few iterations
    cfg.default_hooks.logger.interval = 100  # MMEngine's own lines: none
    config = str(tmp_path / 'finetune.py')
    cfg.dump(config)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'finetune.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()),
               checkpoint)
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, checkpoint,
         '--work-dir', str(tmp_path / 'work')],
        cwd=ROOT, capture_output=True, text=True, timeout=400)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    lines = [line for line in output.splitlines() if ' - test: ' in line]
    assert lines, output[-3000:]
    total = int(lines[-1].split(' - test: ')[1].split('/')[1].split()[0])
    assert total > 1
    assert f'test: 1/{total} (' in lines[0]
    assert f'test: {total}/{total} (100%)' in lines[-1]
    assert all('elapsed 0:' in line and 'ETA ' in line for line in lines)
    assert '\r' not in output


@pytest.mark.parametrize('config', [TOY_RETRIEVAL, TOY_FINETUNE])
def test_show_dir_writes_pictures_of_the_first_samples(config, toy_root,
                                                       tmp_path):
    """--show-dir: in-painting figures of a pre-training model, prediction
    figures of a recognizer, one PNG per sample up to --show-max, named by
    video id; the metrics are unchanged."""
    from PIL import Image
    init_default_scope('mmaction')
    cfg = small_config(toy_root, path=config)
    cfg.test_dataloader.batch_size = 2
    path = str(tmp_path / 'config.py')
    cfg.dump(path)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()),
               checkpoint)
    common = [path, checkpoint, '--work-dir', str(tmp_path / 'work'),
              '--no-progress']
    plain = test_tool.main(common)
    show = tmp_path / 'show'
    shown = test_tool.main(common + ['--show-dir', str(show),
                                     '--show-max', '3'])
    assert shown == plain
    pictures = sorted(show.iterdir())
    assert len(pictures) == 3
    ids = {p.stem for p in pictures}
    assert all(video_id.startswith('toy_') for video_id in ids), ids
    for picture in pictures:
        with Image.open(picture) as image:
            assert image.size[0] > 500 and image.size[1] > 200
