"""Drive a streamed (sharded) training data set from the runner: seed,
epoch, and the exact mid-epoch resume."""
from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmaction.registry import HOOKS

CHECKPOINT_KEY = 'shard_stream'


def find_stream_dataset(dataset):
    """The data set with ``set_epoch(seed, epoch, skip_batches)`` (a
    :class:`~cavmae_mm.datasets.ShardedAVDataset`) in ``dataset`` or its
    wrappers, or None."""
    while dataset is not None:
        if hasattr(dataset, 'set_epoch') and hasattr(dataset, 'state'):
            return dataset
        dataset = getattr(dataset, 'dataset', None)
    return None


@HOOKS.register_module()
class ShardStreamHook(Hook):
    """Tells a :class:`~cavmae_mm.datasets.ShardedAVDataset` the runner's
    seed and epoch before each training epoch, and makes ``--resume``
    continue mid-epoch where the run stopped.

    * ``before_train``: checks the loop (``EpochBasedTrainLoop``) and that
      the data set's ``batch_size`` is the data loader's.
    * ``before_train_epoch``: ``dataset.set_epoch(runner.seed, epoch,
      skip)`` and ``dataset.set_sample_seed(runner.seed, epoch)`` (the
      per-sample augmentation seeds, as ``RandomStateHook`` sets them);
      ``skip`` is the number of batches this rank already ran in this
      epoch when the run was resumed from a checkpoint written inside it
      (``CheckpointHook(by_epoch=False)``), else 0. The data set then
      yields the rest of the epoch's sequence, so the resumed run sees the
      samples of the uninterrupted run in the same order (same world
      size, workers and batch size, else a warning and the epoch's start).
    * ``before_save_checkpoint``: stores the epoch, the batches done in it
      and the layout under ``shard_stream``.

    Config::

        custom_hooks = [dict(type='ShardStreamHook')]
    """

    priority = 'NORMAL'  # after_train_iter before CheckpointHook's

    def __init__(self) -> None:
        self._done = 0
        self._epoch = None
        self._resumed: Optional[dict] = None

    @staticmethod
    def _dataset(runner):
        dataset = find_stream_dataset(
            getattr(runner.train_loop.dataloader, 'dataset', None))
        if dataset is None:
            raise TypeError('ShardStreamHook: the training data set is not '
                            'a streamed one (ShardedAVDataset)')
        return dataset

    def _layout(self, runner) -> dict:
        loader = runner.train_loop.dataloader
        return dict(world_size=get_world_size(),
                    num_workers=loader.num_workers,
                    batch_size=loader.batch_size,
                    samples=self._dataset(runner).num_samples)

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError(
                'ShardedAVDataset needs an EpochBasedTrainLoop (its epochs '
                'are the shard passes); got '
                f'{type(runner.train_loop).__name__}')
        dataset = self._dataset(runner)
        batch_size = runner.train_loop.dataloader.batch_size
        if dataset.batch_size != batch_size:
            raise ValueError(
                f'train_dataloader.dataset.batch_size={dataset.batch_size} '
                f'differs from train_dataloader.batch_size={batch_size}; '
                'set both (the data set cuts the epoch into batches)')

    def before_train_epoch(self, runner) -> None:
        skip = 0
        resumed, self._resumed = self._resumed, None
        if resumed is not None and resumed['epoch'] == runner.epoch:
            layout = self._layout(runner)
            stored = {key: resumed.get(key) for key in layout}
            if stored == layout:
                skip = int(resumed['batches_done'])
                runner.logger.info(
                    f'ShardStreamHook: resuming epoch {runner.epoch + 1} '
                    f'after its first {skip} batches')
            else:
                runner.logger.warning(
                    f'ShardStreamHook: the checkpoint was written with '
                    f'{stored}, this run has {layout}; epoch '
                    f'{runner.epoch + 1} starts again from its beginning')
        self._epoch, self._done = runner.epoch, skip
        dataset = self._dataset(runner)
        dataset.set_epoch(runner.seed, runner.epoch, skip)
        dataset.set_sample_seed(runner.seed, runner.epoch)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._done += 1

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._epoch is not None:
            checkpoint[CHECKPOINT_KEY] = dict(
                epoch=self._epoch, batches_done=self._done,
                **self._layout(runner))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            self._resumed = checkpoint.get(CHECKPOINT_KEY)
