"""A hook that kills its own training process with SIGKILL, for the resume
tests: imported by the training process through the config's
``custom_imports``."""
import os
import signal

from mmengine.hooks import Hook

from mmaction.registry import HOOKS


@HOOKS.register_module()
class SigkillAfterEpoch(Hook):
    """SIGKILL this process at the end of training epoch ``epoch`` (1-based),
    after the hooks before it (``CheckpointHook`` has written the epoch's
    checkpoint): no Python clean-up, data loader workers orphaned.

    Args:
        epoch (int): The epoch after which to die.
    """

    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)
