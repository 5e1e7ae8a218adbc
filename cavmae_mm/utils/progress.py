"""Progress with an ETA for long loops: a live bar on a terminal, log lines
elsewhere.

One helper for the runner's test/val loops (:class:`ProgressHook`) and the
data tools (``tools/data/extraction.py``). On a TTY the bar is redrawn in
place on ``stderr``; otherwise (CI, a log file) a line goes through the
MMEngine logger every ``log_percent`` per cent of the work or every
``log_seconds`` seconds, so the log stays readable.
"""
import datetime
import sys
import time
from typing import IO, Iterable, Iterator, Optional, TypeVar

from mmengine.logging import print_log

T = TypeVar('T')


def format_seconds(seconds: float) -> str:
    """``H:MM:SS`` of a duration in seconds."""
    return str(datetime.timedelta(seconds=int(round(seconds))))


class ProgressReporter:
    """Count work done and report ``done/total``, elapsed time and ETA.

    Args:
        total (int): Units of work (iterations, clips).
        desc (str): What is counted, first in every report.
        stream (IO, optional): Where the live bar goes. Defaults to
            ``sys.stderr``.
        live (bool, optional): Draw a live bar (True) or log lines (False).
            Defaults to None: a bar when ``stream`` is a TTY.
        log_percent (float): Log a line each time this share of the work
            (per cent) is done. Defaults to 10.
        log_seconds (float): ... or when this many seconds passed since the
            last line. Defaults to 60.
        logger (str): The MMEngine logger of the lines. Defaults to
            ``'current'``.
        bar_width (int): Characters of the live bar. Defaults to 30.
        enabled (bool): False reports nothing (a tool's ``--no-progress``).
            Defaults to True.
    """

    def __init__(self,
                 total: int,
                 desc: str = 'progress',
                 stream: Optional[IO] = None,
                 live: Optional[bool] = None,
                 log_percent: float = 10.,
                 log_seconds: float = 60.,
                 logger: str = 'current',
                 bar_width: int = 30,
                 enabled: bool = True) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        if live is None:
            live = bool(getattr(self.stream, 'isatty', lambda: False)())
        self.live = live
        self.log_percent = log_percent
        self.log_seconds = log_seconds
        self.logger = logger
        self.bar_width = bar_width
        self.enabled = enabled
        self.done = 0
        self.start = time.monotonic()
        self._last_log_time = self.start
        self._last_log_done = 0
        self._closed = False

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.start

    def eta(self) -> Optional[float]:
        """Seconds left at the mean rate so far; None before any work."""
        if self.done == 0:
            return None
        return self.elapsed() / self.done * max(self.total - self.done, 0)

    def message(self) -> str:
        """``desc: done/total (pct%), elapsed H:MM:SS, ETA H:MM:SS``."""
        percent = 100. * self.done / self.total if self.total else 100.
        eta = self.eta()
        eta_str = format_seconds(eta) if eta is not None else '?'
        return (f'{self.desc}: {self.done}/{self.total} ({percent:.0f}%), '
                f'elapsed {format_seconds(self.elapsed())}, ETA {eta_str}')

    def update(self, count: int = 1) -> None:
        """``count`` more units done; report if it is time to."""
        self.done += count
        if not self.enabled:
            return
        if self.live:
            self._draw()
        elif self._due():
            self._log()

    def close(self) -> None:
        """Report the final count (once)."""
        if self._closed or not self.enabled:
            return
        self._closed = True
        if self.live:
            self._draw()
            self.stream.write('\n')
            self.stream.flush()
        elif self.done != self._last_log_done or self.done == 0:
            self._log()

    def _due(self) -> bool:
        if self.done >= self.total:
            return True
        step = self.total * self.log_percent / 100.
        if step > 0 and self.done // max(step, 1) > \
                self._last_log_done // max(step, 1):
            return True
        return time.monotonic() - self._last_log_time >= self.log_seconds

    def _log(self) -> None:
        self._last_log_time = time.monotonic()
        self._last_log_done = self.done
        print_log(self.message(), logger=self.logger)

    def _draw(self) -> None:
        filled = (self.bar_width * self.done // self.total
                  if self.total else self.bar_width)
        bar = '#' * filled + '.' * (self.bar_width - filled)
        self.stream.write(f'\r[{bar}] {self.message()}')
        self.stream.flush()


def track(iterable: Iterable[T],
          total: Optional[int] = None,
          desc: str = 'progress',
          enabled: bool = True,
          **kwargs) -> Iterator[T]:
    """Yield from ``iterable`` and report its progress (a
    :class:`ProgressReporter` over ``total`` items, ``len(iterable)`` by
    default; ``kwargs`` go to it).

    Example::

        results = list(track(pool.map(check, jobs), len(jobs), 'validate'))
    """
    if total is None:
        total = len(iterable)  # type: ignore[arg-type]
    reporter = ProgressReporter(total, desc=desc, enabled=enabled, **kwargs)
    try:
        for item in iterable:
            yield item
            reporter.update()
    finally:
        reporter.close()
