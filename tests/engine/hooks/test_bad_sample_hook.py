"""The data path inside MMEngine's runner: dataset + ClassBalancedSampler +
workers + data preprocessor + BadSampleReportHook."""
import json
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from torch import nn

from cavmae_mm.engine.hooks.bad_sample_hook import (
    BadSampleReportHook, find_bad_sample_datasets)
from tools.data.toy import make_toy_dataset

pytestmark = pytest.mark.usefixtures('mmaction_scope')


class TinyAudioVisualModel(BaseModel):
    """Consumes ``inputs['audio'] [B, T, 128]`` and ``inputs['imgs']
    [B, V, 3, 224, 224]`` as the backbone contract says."""

    def __init__(self, data_preprocessor):
        super().__init__(data_preprocessor=data_preprocessor)
        self.audio = nn.Linear(128, 1)
        self.visual = nn.Linear(3, 1)
        self.shapes = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        audio, imgs = inputs['audio'], inputs['imgs']
        self.shapes.append((tuple(audio.shape), tuple(imgs.shape)))
        score = self.audio(audio.mean(1)) + self.visual(imgs.mean(
            (1, 3, 4)))  # [B, 1]
        target = torch.stack(
            [s.gt_labels.item.float().sum() for s in data_samples])
        return dict(loss=((score[:, 0] - target)**2).mean())


@pytest.fixture
def broken_annotation(tmp_path):
    root = str(tmp_path / 'toy')
    outputs = make_toy_dataset(root, num_classes=2, train_per_class=3,
                               val_per_class=0, duration=1.0, width=64,
                               height=48, fps=5)
    entries = json.load(open(outputs['finetune_train']))['data']
    corrupt = str(tmp_path / 'corrupt.mp4')
    with open(corrupt, 'wb') as f:
        f.write(b'garbage' * 100)
    entries[1]['video'] = corrupt
    ann = osp.join(root, 'broken.json')
    with open(ann, 'w') as f:
        json.dump(dict(data=entries), f)
    return ann, outputs['label_csv'], corrupt


def test_runner_trains_through_bad_files_and_reports_them(
        tmp_path, broken_annotation):
    from mmengine.runner import Runner
    from mmaction.registry import MODELS
    ann, label_csv, corrupt = broken_annotation
    preprocessor = MODELS.build(
        dict(
            type='MultiModalDataPreprocessor',
            preprocessors=dict(
                imgs=dict(
                    type='ActionDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375],
                    format_shape='NCHW'),
                audio=dict(type='ActionDataPreprocessor',
                           format_shape='NCHW'))))
    model = TinyAudioVisualModel(preprocessor)
    pipeline = [
        dict(type='LoadAudioWaveform'),
        dict(type='SampleAVFrames', mode='random'),
        dict(type='LoadAVFrames'),
        dict(type='AVResize', scale=(-1, 224)),
        dict(type='CenterCrop', crop_size=224),
        dict(type='KaldiFbank', target_length=128),
        dict(type='NormalizeFbank'),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
             meta_keys=('video_id', )),
    ]
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=dict(type='AudioVisualDataset', ann_file=ann,
                         label_csv=label_csv, pipeline=pipeline),
            sampler=dict(type='ClassBalancedSampler'),
            batch_size=2,
            num_workers=2,
            persistent_workers=False,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.001)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='BadSampleReportHook')],
        default_scope='mmaction',
        randomness=dict(seed=0))
    runner.train()
    assert model.shapes and all(
        shapes == ((2, 128, 128), (2, 1, 3, 224, 224))
        for shapes in model.shapes)
    hook = next(h for h in runner.hooks
                if isinstance(h, BadSampleReportHook))
    dataset = runner.train_dataloader.dataset
    assert find_bad_sample_datasets(dataset) == [dataset]
    total = dataset.bad_sample_counter.total
    report = hook.last_report
    assert report['phase'] == 'train' and report['epoch'] == 2
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    # Each epoch's report covers that epoch only; together all failures.
    reports = [line for line in log.splitlines()
               if 'BadSampleReportHook: ' in line]
    assert len(reports) == 2
    counted = sum(
        int(line.split('BadSampleReportHook: ')[1].split()[0])
        for line in reports if 'failures skipped' in line)
    assert counted == total
    if total:
        assert corrupt in log
    # The corrupt clip weighs 1/6 of an epoch: over 2 epochs of 6 draws
    # it is drawn at least once with high probability (seeded: it is).
    assert total > 0
