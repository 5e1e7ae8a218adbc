"""Book-keeping of bad samples, shared by all data loader workers."""
import multiprocessing as mp
from typing import List, Optional, Tuple, Union


class BadSampleError(RuntimeError):
    """A sample that could not be loaded: its index, file and reason.

    Args:
        index (int | str): Dataset index; or, alone, the whole message (how
            PyTorch's DataLoader re-raises a worker's error in the main
            process, which keeps the type this way).
        path (str, optional): The file (or the clip's main file) that
            failed. Defaults to None.
        reason (str, optional): Why. Defaults to None.
    """

    def __init__(self,
                 index: Union[int, str],
                 path: Optional[str] = None,
                 reason: Optional[str] = None) -> None:
        if path is None and reason is None:
            self.index, self.path, self.reason = None, None, str(index)
            super().__init__(str(index))
            return
        self.index = index
        self.path = path
        self.reason = reason
        super().__init__(f'bad sample #{index} ({path}): {reason}')

    def __reduce__(self):
        if self.index is None:
            return (self.__class__, (self.reason, ))
        return (self.__class__, (self.index, self.path, self.reason))


class BadSampleCounter:
    """Counts failures and remembers which samples failed, in shared memory
    so that the counts of data loader worker processes are visible to the
    main process (a hook logs them at epoch end).

    Created before the workers start (in the dataset's ``__init__``); it
    crosses into them by inheritance (fork) or process start-up pickling
    (spawn). Deep copies share it.

    Args:
        capacity (int): How many failure entries (indices) are kept; the
            total count is exact beyond it. Defaults to 4096.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        # A spawn-context lock also works in forked workers, while a
        # fork-context one cannot go to spawned workers.
        ctx = mp.get_context('spawn')
        self._lock = ctx.Lock()
        self._total = ctx.RawValue('q', 0)
        self._entries = ctx.RawArray('q', capacity)  # sample indices

    def __deepcopy__(self, memo):
        return self

    def record(self, index: int) -> bool:
        """Count one failure of sample ``index``.

        Returns:
            bool: Whether it is the first failure of that sample (as far as
            the ``capacity`` entries tell).
        """
        with self._lock:
            stored = min(self._total.value, self.capacity)
            first = index not in self._entries[:stored]
            if stored < self.capacity:
                self._entries[stored] = index
            self._total.value += 1
        return first

    @property
    def total(self) -> int:
        """All failures counted so far."""
        return self._total.value

    def entries(self, start: int = 0,
                stop: Optional[int] = None) -> List[int]:
        """Indices of failures number ``start`` to ``stop`` (as far as
        stored)."""
        with self._lock:
            stored = min(self._total.value, self.capacity)
            stop = stored if stop is None else min(stop, stored)
            return list(self._entries[start:stop])

    def snapshot(self) -> Tuple[int, List[int]]:
        """``(total, stored indices)``."""
        with self._lock:
            total = self._total.value
            return total, list(self._entries[:min(total, self.capacity)])
