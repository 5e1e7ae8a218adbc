"""A hook that reports the bad samples skipped during each epoch."""
from typing import Dict, List, Optional

from mmengine.dist import all_gather_object, is_distributed
from mmengine.hooks import Hook

from mmaction.registry import HOOKS


def find_bad_sample_datasets(dataset) -> List:
    """Datasets with a ``bad_sample_counter`` inside ``dataset`` and its
    wrappers (``ConcatDataset``, ``RepeatDataset``, ...)."""
    found, stack, seen = [], [dataset], set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if hasattr(current, 'bad_sample_counter'):
            found.append(current)
        stack.extend(getattr(current, 'datasets', []) or [])
        stack.append(getattr(current, 'dataset', None))
    return found


@HOOKS.register_module()
class BadSampleReportHook(Hook):
    """Log, at the end of every train/val/test epoch, how many bad samples
    the data loader skipped (``AudioVisualDataset(on_error='skip')``) and
    which files, summed over all ranks and workers.

    Config::

        custom_hooks = [dict(type='BadSampleReportHook')]

    Args:
        max_files (int): File names listed per report. Defaults to 20.
    """

    priority = 'LOW'

    def __init__(self, max_files: int = 20) -> None:
        self.max_files = max_files
        self._seen: Dict[int, int] = {}  # counter id -> total at last report
        self.last_report: Optional[dict] = None

    def _report(self, runner, dataloader, phase: str) -> None:
        dataset = getattr(dataloader, 'dataset', None)
        new_count, files = 0, {}
        for data in find_bad_sample_datasets(dataset):
            counter = data.bad_sample_counter
            start = self._seen.get(id(counter), 0)
            total = counter.total
            self._seen[id(counter)] = total
            new_count += total - start
            for index in counter.entries(start, total):
                path = data.sample_path(index)
                files[path] = files.get(path, 0) + 1
        if is_distributed():
            gathered = all_gather_object((new_count, files))
            new_count, files = 0, {}
            for count, rank_files in gathered:
                new_count += count
                for path, hits in rank_files.items():
                    files[path] = files.get(path, 0) + hits
        # after_train_epoch runs before the runner counts the epoch done.
        epoch = runner.epoch + 1 if phase == 'train' else runner.epoch
        self.last_report = dict(
            phase=phase, epoch=epoch, failures=new_count, files=files)
        if new_count == 0:
            runner.logger.info(f'BadSampleReportHook: no bad samples in '
                               f'{phase} epoch {epoch}.')
            return
        listed = ', '.join(
            f'{path} (x{hits})'
            for path, hits in sorted(files.items())[:self.max_files])
        more = len(files) - self.max_files
        runner.logger.warning(
            f'BadSampleReportHook: {new_count} bad-sample failures skipped in '
            f'{phase} epoch {epoch}, {len(files)} files: {listed}' +
            (f' and {more} more' if more > 0 else '') + '.')

    def after_train_epoch(self, runner) -> None:
        """Report the training epoch's bad samples."""
        self._report(runner, runner.train_loop.dataloader, 'train')

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Report the validation epoch's bad samples."""
        self._report(runner, runner.val_loop.dataloader, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Report the test epoch's bad samples."""
        self._report(runner, runner.test_loop.dataloader, 'test')
