"""A hook that shows the progress of the test and val loops with an ETA."""
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmaction.registry import HOOKS
from cavmae_mm.utils.progress import ProgressReporter


@HOOKS.register_module()
class ProgressHook(Hook):
    """Iterations done / total, elapsed time and ETA of every test and val
    loop, on rank 0 only.

    On a terminal a live bar on ``stderr``; otherwise (CI, log files) a log
    line through the MMEngine logger every ``log_percent`` per cent of the
    loop or every ``log_seconds`` seconds, and one at the end
    (:class:`~cavmae_mm.utils.progress.ProgressReporter`). MMEngine's
    ``LoggerHook`` also logs test/val iterations with an ETA, but only
    every ``interval`` (10) iterations and only at INFO level, which the
    first minutes of a slow loop never reach. ``tools/test.py`` and
    ``tools/leaderboard.py`` add this hook unless ``--no-progress``.

    Config::

        custom_hooks = [dict(type='ProgressHook')]

    Args:
        live (bool, optional): Force the live bar (True) or log lines
            (False). Defaults to None: a bar when ``stderr`` is a TTY.
        log_percent (float): Log-line step, per cent of the loop.
            Defaults to 10.
        log_seconds (float): Log a line at least this often (seconds).
            Defaults to 60.
    """

    priority = 'LOW'

    def __init__(self,
                 live: Optional[bool] = None,
                 log_percent: float = 10.,
                 log_seconds: float = 60.) -> None:
        self.live = live
        self.log_percent = log_percent
        self.log_seconds = log_seconds
        self.reporter: Optional[ProgressReporter] = None

    def _start(self, dataloader, phase: str) -> None:
        if not is_main_process():
            return
        self.reporter = ProgressReporter(
            len(dataloader), desc=phase, live=self.live,
            log_percent=self.log_percent, log_seconds=self.log_seconds)

    def _step(self) -> None:
        if self.reporter is not None:
            self.reporter.update()

    def _finish(self) -> None:
        if self.reporter is not None:
            self.reporter.close()
            self.reporter = None

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_dataloader, 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._step()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_dataloader, 'val')

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()


def add_progress_hook(custom_hooks) -> list:
    """``custom_hooks`` with a :class:`ProgressHook` added unless one is
    already there (the tools call this so configs need not list it)."""
    hooks = list(custom_hooks or [])
    if not any(str(hook.get('type', '')).split('.')[-1] == 'ProgressHook'
               for hook in hooks):
        hooks.append(dict(type='ProgressHook'))
    return hooks
