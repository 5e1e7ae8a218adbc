"""A small model and data set that draw random numbers the way CAV-MAE
training does (masking noise in the forward, augmentation in the pipeline,
shuffling), for testing the training machinery in seconds."""
import random

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from cavmae_mm.utils import get_state_dict, load_checkpoint_safe


class RandomAugmentDataset(Dataset):
    """Regression pairs; each fetch adds NumPy and Python random noise."""

    def __init__(self, num=24, dim=6, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.inputs = torch.randn(num, dim, generator=gen)
        self.targets = self.inputs @ torch.randn(dim, 1, generator=gen)

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, idx):
        noise = np.random.normal(scale=0.1, size=self.inputs.shape[1])
        scale = random.uniform(0.9, 1.1)
        return dict(inputs=self.inputs[idx] * scale +
                    torch.from_numpy(noise).float(),
                    data_samples=self.targets[idx])


class NoisyRegressor(BaseModel):
    """Linear regression with dropout and a random input mask."""

    def __init__(self, dim=6):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, 16), nn.ReLU(),
                                  nn.Dropout(0.2), nn.Linear(16, 1))
        self.head = nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        if self.training:
            inputs = inputs * (torch.rand_like(inputs) > 0.1)
        outputs = self.head(self.body(inputs))
        if mode == 'loss':
            targets = torch.stack(data_samples) if isinstance(
                data_samples, list) else data_samples
            return dict(loss=((outputs - targets)**2).mean())
        if mode == 'predict':
            targets = torch.stack(data_samples) if isinstance(
                data_samples, list) else data_samples
            return [dict(pred=p, target=t) for p, t in zip(outputs, targets)]
        return outputs


class StopAfterEpoch(Hook):
    """Stops training after ``epoch`` epochs, as an interrupted run
    (after the checkpoint of that epoch is written)."""
    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 >= self.epoch:
            runner.train_loop.stop_training = True


class MSEMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['target'])**2))

    def compute_metrics(self, results):
        return dict(mse=float(np.mean(results)))


def build_runner(work_dir, max_epochs=4, custom_hooks=(), resume=False,
                 load_from=None, optim_wrapper=None, val=True, seed=7,
                 **kwargs):
    """An MMEngine runner around NoisyRegressor (uses the mmaction scope,
    where our hooks are registered)."""
    loader = dict(batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=True),
                  collate_fn=dict(type='default_collate'))
    val_loader = dict(loader, sampler=dict(type='DefaultSampler',
                                           shuffle=False))
    torch.manual_seed(seed)  # the model is built before the runner seeds
    return Runner(
        model=NoisyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, dataset=RandomAugmentDataset()),
        val_dataloader=dict(val_loader, dataset=RandomAugmentDataset(
            num=8, seed=1)) if val else None,
        val_evaluator=[MSEMetric(prefix="val")] if val else None,
        val_cfg=dict() if val else None,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs,
                       val_interval=1),
        optim_wrapper=optim_wrapper or dict(
            optimizer=dict(type='Adam', lr=1e-2)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[2, 3], gamma=0.5),
        custom_hooks=list(custom_hooks),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=seed),
        resume=resume,
        load_from=load_from,
        default_scope='mmaction',
        experiment_name=f'exp_{id(work_dir)}_{random.random():.6f}',
        **kwargs)


def model_state(runner):
    return {k: v.detach().clone() for k, v in runner.model.state_dict()
            .items()}


def ckpt_weights(path):
    return get_state_dict(load_checkpoint_safe(path))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
