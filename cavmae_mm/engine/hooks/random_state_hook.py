"""Save and restore the random number generators, for exact resume."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmaction.registry import HOOKS
from ...datasets.sample_rng import derived_seed, set_sample_seeds

CHECKPOINT_KEY = 'random_states'


def get_random_state() -> dict:
    """The state of Python's, NumPy's and torch's (CPU and CUDA) global
    generators, as tensors and plain Python values (loadable with
    ``torch.load(weights_only=True)``)."""
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=(kind, torch.from_numpy(keys.astype(np.int64)), pos,
                        has_gauss, cached_gaussian),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Inverse of :func:`get_random_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached_gaussian = state['numpy']
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos,
                         has_gauss, cached_gaussian))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Makes resuming exact: a run stopped after epoch ``k`` and resumed
    draws the same random numbers (masking noise, augmentation, shuffling
    seeds) as the uninterrupted run, with or without (persistent) data
    loader workers.

    MMEngine's resume re-seeds from the configured seed, which restarts the
    random streams instead of continuing them. This hook

    * records every rank's generator states at the end of each training
      epoch (each iteration for iteration-based loops), which the checkpoint
      written at that point stores under ``random_states``;
    * restores this rank's states when training starts from a resumed
      checkpoint (not for ``load_from`` without ``--resume``);
    * keeps validation during training from consuming the training streams
      (it runs on a copy of the states, which are put back afterwards), so
      that the run does not depend on when or whether it validates;
    * before each training epoch, seeds the training data set's samples
      from ``(runner.seed, epoch)`` (:func:`set_sample_seeds`, shared
      memory that reaches persistent workers too): the workers' augmentation
      is then a function of (seed, epoch, sample index), see
      :mod:`cavmae_mm.datasets.sample_rng`, and needs no saved state;
    * gives the training data loader its own generator, seeded from
      ``(runner.seed, epoch)``, for the base seed it draws when it starts
      workers: otherwise that draw comes from the global torch generator
      in the epochs where workers start, which differ between a resumed
      run and an uninterrupted one with persistent workers.

    The generator states it saves are the main process's: the model's
    randomness (masking, dropout). Exactness also needs a fixed
    ``randomness.seed``, the same number of processes, an epoch-based loop
    (with an iteration-based one the samples stay unseeded) and random
    transforms that draw from the sample's streams (ours do; MMAction2's
    own random transforms draw from the workers' global generators).

    Args:
        priority (str or int): Runs before ``CheckpointHook`` (``VERY_LOW``),
            so the recorded state is the one at the checkpoint.
            Defaults to ``'LOW'``.
    """

    def __init__(self, priority='LOW') -> None:
        self.priority = priority
        self._recorded: Optional[list] = None
        self._to_restore: Optional[dict] = None
        self._before_val: Optional[dict] = None

    def _record(self) -> None:
        state = get_random_state()
        self._recorded = all_gather_object(state) \
            if get_world_size() > 1 else [state]

    def after_train_epoch(self, runner) -> None:
        self._record()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            self._record()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._recorded is not None:
            checkpoint[CHECKPOINT_KEY] = self._recorded

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get(CHECKPOINT_KEY)
        if not getattr(runner, '_resume', False) or states is None:
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'RandomStateHook: the checkpoint holds the random states of '
                f'{len(states)} processes, this run has {get_world_size()}; '
                f'the random streams restart from the seed, so the resumed '
                f'run is not bitwise identical to an uninterrupted one')
            return
        self._to_restore = states[get_rank()]

    def before_train(self, runner) -> None:
        # After load_or_resume; nothing draws random numbers in between.
        if self._to_restore is not None:
            set_random_state(self._to_restore)
            self._to_restore = None

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        dataloader = getattr(loop, 'dataloader', None)
        if dataloader is None:
            return
        epoch_based = isinstance(loop, EpochBasedTrainLoop)
        set_sample_seeds(dataloader.dataset,
                         runner.seed if epoch_based else None, runner.epoch)
        if hasattr(dataloader, 'generator'):
            generator = torch.Generator()
            generator.manual_seed(
                derived_seed(runner.seed, f'data_loader{runner.epoch}'))
            dataloader.generator = generator

    def before_val(self, runner) -> None:
        self._before_val = get_random_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_state(self._before_val)
            self._before_val = None
