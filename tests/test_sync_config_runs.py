"""The Sync configs through tools/train.py, one short run each on generated
clips at a tiny width (the configs' geometry, schedule hooks, samplers,
mixed precision, evaluators): pre-training validated by 16-frame retrieval
with its best checkpoint, fine-tuning with mixup, class-balanced sampling,
activation checkpointing and the weight averaging of the last epochs."""
import shutil
import subprocess
import sys

from .sync_config_helpers import (ROOT, load, make_sync_clips,
                                  tiny_cfg_options)

LOADER_OPTIONS = [
    f'{loader}.{key}'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key in ('num_workers=0', 'persistent_workers=False', 'batch_size=2')
]


def train(cfg, data, work_dir, *options):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', cfg.filename, '--data-root',
         str(data), '--work-dir', str(work_dir), '--cfg-options',
         *tiny_cfg_options(cfg), 'load_from=None', *LOADER_OPTIONS,
         *options],
        cwd=ROOT, capture_output=True, text=True, timeout=500)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    return output


def test_pretrain_config_trains_and_validates_by_retrieval(tmp_path):
    cfg = load('cavmae_sync_pretrain_vggsound.py')
    data = make_sync_clips(tmp_path / 'vggsound')
    for name in (cfg.ann_file_train, cfg.ann_file_retrieval):
        shutil.copy(data / 'ann.json', data / name)
    shutil.copy(data / 'vgg.csv', data / cfg.label_csv)
    output = train(cfg, data, tmp_path / 'work', 'train_cfg.max_epochs=1')
    assert 'Epoch(val) [1][1/1]    retrieval/a2v_R@1' in output
    assert 'alignment/chance: 0.0625' in output
    assert (tmp_path / 'work' / 'best_retrieval_a2v_R@1_epoch_1.pth').exists()


def test_finetune_config_trains_and_averages(tmp_path):
    cfg = load('cavmae_sync_finetune_vggsound.py')
    data = make_sync_clips(tmp_path / 'vggsound')
    for name in (cfg.ann_file_train, cfg.ann_file_test):
        shutil.copy(data / 'ann.json', data / name)
    shutil.copy(data / 'vgg.csv', data / cfg.label_csv)
    (data / 'vgg_train_cleaned_weight.csv').write_text('1.0\n1.0\n')
    assert [h.type for h in cfg.custom_hooks] == ['RandomStateHook',
                                                  'WeightAveragingHook']
    output = train(cfg, data, tmp_path / 'work', 'train_cfg.max_epochs=2',
                   'custom_hooks.1.begin=1', 'custom_hooks.1.end=2')
    assert 'Epoch(val) [2][1/1]    acc/top1' in output
    assert 'WeightAveragingHook: averaged the weights of 2 epochs (1-2)' \
        in output
    assert 'averaged weights: acc/top1' in output
