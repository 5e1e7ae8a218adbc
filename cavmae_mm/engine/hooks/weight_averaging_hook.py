"""Average the weights of a window of epochs and evaluate the average."""
import json
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmengine.runner.checkpoint import save_checkpoint

from mmaction.registry import HOOKS
from ..weight_averaging import StateDictAverager

CHECKPOINT_KEY = 'weight_averaging'


@HOOKS.register_module()
class WeightAveragingHook(Hook):
    """Plain mean of the end-of-epoch weights of epochs ``begin``..``end``
    (1-based, inclusive), saved and evaluated after training (SPEC §6: the
    reference averages its per-epoch checkpoints, e.g. epochs 3-15 for
    AudioSet-20K, then evaluates the average once).

    The running sum lives on the CPU and in each checkpoint written inside
    the window (key ``weight_averaging``; it adds one model-sized copy), so
    a resumed run averages exactly the same weights. After the last epoch
    the average is written to ``<work_dir>/<filename>`` (an MMEngine
    checkpoint for ``tools/test.py`` or ``load_from``), evaluated with the
    validation (or test) dataloader and evaluator, logged with the prefix
    ``averaged/`` and written to ``<work_dir>/averaged_metrics.json``; the
    model then gets its last-epoch weights back.

    Args:
        begin (int): First epoch in the window (1-based). Defaults to 1.
        end (int, optional): Last epoch (inclusive); None means the last
            training epoch. Defaults to None.
        filename (str): Defaults to ``'averaged.pth'``.
        evaluate_on (str, optional): ``'val'``, ``'test'`` or None (do not
            evaluate). Defaults to ``'val'``.
        priority (str or int): Before ``CheckpointHook`` so the epoch's
            checkpoint includes the epoch. Defaults to ``'NORMAL'``.
    """

    def __init__(self,
                 begin: int = 1,
                 end: Optional[int] = None,
                 filename: str = 'averaged.pth',
                 evaluate_on: Optional[str] = 'val',
                 priority='NORMAL') -> None:
        if begin < 1 or (end is not None and end < begin):
            raise ValueError(f'need 1 <= begin <= end, got begin={begin}, '
                             f'end={end}')
        if evaluate_on not in ('val', 'test', None):
            raise ValueError(f"evaluate_on must be 'val', 'test' or None, "
                             f'got {evaluate_on!r}')
        self.begin, self.end = begin, end
        self.filename = filename
        self.evaluate_on = evaluate_on
        self.priority = priority
        self.averager = StateDictAverager()
        self.epochs = []

    @staticmethod
    def _model(runner) -> torch.nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _last(self, runner) -> int:
        max_epochs = runner.max_epochs
        return max_epochs if self.end is None else min(self.end, max_epochs)

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError('WeightAveragingHook averages epochs: it needs '
                            'an epoch-based training loop')
        if self.begin > runner.max_epochs:
            runner.logger.warning(
                f'WeightAveragingHook: begin={self.begin} is after the last '
                f'epoch ({runner.max_epochs}); nothing will be averaged')

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1  # 1-based number of the finished epoch
        if self.begin <= epoch <= self._last(runner):
            self.averager.add(self._model(runner).state_dict())
            self.epochs.append(epoch)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.averager.count:
            checkpoint[CHECKPOINT_KEY] = dict(
                averager=self.averager.state_dict(), epochs=self.epochs)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Only a resumed training run continues the sum (not load_from).
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is not None and getattr(runner, '_resume', False):
            self.averager.load_state_dict(state['averager'])
            self.epochs = list(state['epochs'])

    def after_train(self, runner) -> None:
        if not self.averager.count:
            return
        averaged = self.averager.average()
        first, last = self.epochs[0], self.epochs[-1]
        path = osp.join(runner.work_dir, self.filename)
        if is_main_process():
            meta = dict(averaged_epochs=self.epochs,
                        dataset_meta=getattr(runner.train_dataloader.dataset,
                                             'metainfo', None))
            save_checkpoint(dict(meta=meta, state_dict=averaged), path)
        runner.logger.info(f'WeightAveragingHook: averaged the weights of '
                           f'{len(self.epochs)} epochs ({first}-{last}) -> '
                           f'{path}')
        if self.evaluate_on is None:
            return
        model = self._model(runner)
        last_weights = {k: v.detach().clone()
                        for k, v in model.state_dict().items()}
        model.load_state_dict(averaged)
        try:
            metrics = self.evaluate(runner)
        finally:
            model.load_state_dict(last_weights)
        runner.logger.info('averaged weights: ' + ', '.join(
            f'{k}: {float(v):.4f}' for k, v in metrics.items()))
        runner.visualizer.add_scalars(
            {f'averaged/{k}': v for k, v in metrics.items()},
            step=runner.iter)
        runner.message_hub.update_info('averaged_metrics', metrics)
        if is_main_process():
            with open(osp.join(runner.work_dir, 'averaged_metrics.json'),
                      'w') as f:
                json.dump(dict(epochs=self.epochs, checkpoint=path,
                               metrics=metrics), f, indent=2, default=float)

    @torch.no_grad()
    def evaluate(self, runner) -> Dict[str, float]:
        """Run the ``evaluate_on`` dataloader and evaluator on the current
        model, without the loop's hooks (so no best-checkpoint logic sees
        the average)."""
        loop = runner.val_loop if self.evaluate_on == 'val' \
            else runner.test_loop
        if loop is None:
            raise RuntimeError(f'WeightAveragingHook: evaluate_on='
                               f'{self.evaluate_on!r} but the config has no '
                               f'{self.evaluate_on} dataloader')
        runner.model.eval()
        for data_batch in loop.dataloader:
            outputs = runner.model.val_step(data_batch) \
                if self.evaluate_on == 'val' else \
                runner.model.test_step(data_batch)
            loop.evaluator.process(data_samples=outputs,
                                   data_batch=data_batch)
        return loop.evaluator.evaluate(len(loop.dataloader.dataset))
