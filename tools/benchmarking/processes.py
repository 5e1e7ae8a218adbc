"""The coordinator's side of the benchmark workers (:mod:`.worker`).

Each implementation runs the way a user runs it: in a fresh Python
process (``subprocess`` of ``sys.executable``, not ``multiprocessing``,
whose ``spawn`` passes the whole environment on and re-imports the
parent's ``__main__``) with the parent's environment less the variables
that change memory allocation (:func:`is_allocator_env`), so neither
implementation inherits the coordinator's allocator settings; glibc's
``mallopt`` settings and the floating-point mode do not survive ``exec``.
Each worker is in a session of its own, so a Ctrl-C reaches only the
coordinator, which then stops the workers.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from typing import Dict, List, Tuple

#: Environment variables that change how memory is allocated: glibc's
#: (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, ... and its
#: ``GLIBC_TUNABLES``), jemalloc's ``MALLOC_CONF``, tcmalloc's, mimalloc's,
#: and ``LD_PRELOAD``, through which such allocators are swapped in.
ALLOCATOR_ENV_PREFIXES = ('MALLOC_', 'TCMALLOC_', 'MIMALLOC_', 'JE_MALLOC_',
                          '_RJEM_MALLOC_')
ALLOCATOR_ENV_NAMES = ('GLIBC_TUNABLES', 'LD_PRELOAD')
WORKER_MODULE = f'{__package__}.worker'
STDERR_TAIL = 4000  # characters of a failed worker's stderr in the error


def is_allocator_env(name: str) -> bool:
    return (name.startswith(ALLOCATOR_ENV_PREFIXES)
            or name in ALLOCATOR_ENV_NAMES)


def worker_env() -> Tuple[Dict[str, str], List[str]]:
    """The environment of a worker, and the names left out of it."""
    removed = sorted(name for name in os.environ if is_allocator_env(name))
    env = {name: value for name, value in os.environ.items()
           if name not in removed}
    # The worker imports this package from where this process found it.
    env['PYTHONPATH'] = os.pathsep.join(path or os.getcwd()
                                        for path in sys.path)
    return env, removed


class WorkerError(RuntimeError):
    """A worker died, failed or did not answer in time."""


class WorkerProcess:
    """A worker process, started at once with its ``setup`` request.

    Args:
        name (str): What the errors call it, e.g. ``'pretrain bf16 fast'``.
        setup (dict): The ``setup`` request's arguments
            (:meth:`.worker.CaseWorker.setup`).
        timeout (float): Seconds to wait for any one answer; past it the
            worker is killed and :class:`WorkerError` raised.
    """

    def __init__(self, name: str, setup: dict, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        env, _ = worker_env()
        self.process = subprocess.Popen(
            [sys.executable, '-m', WORKER_MODULE], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, env=env, text=True,
            start_new_session=True)
        self.pid = self.process.pid
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_answers, daemon=True).start()
        self.send('setup', **setup)

    def _read_answers(self) -> None:
        for line in self.process.stdout:
            self._answers.put(line)
        self._answers.put(None)  # end of output: the worker has exited

    def send(self, op: str, **kwargs) -> None:
        try:
            self.process.stdin.write(json.dumps(dict(op=op, **kwargs)) +
                                     '\n')
            self.process.stdin.flush()
        except OSError:
            pass  # it has exited: receive() says how

    def receive(self) -> dict:
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            self.close(force=True)
            raise WorkerError(
                f'{self.name} worker (pid {self.pid}) gave no answer within '
                f'{self.timeout:g} s and was stopped{self._stderr_tail()}'
            ) from None
        if line is None:
            try:
                status = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.close(force=True)
                status = self.process.returncode
            raise WorkerError(
                f'{self.name} worker (pid {self.pid}) exited with status '
                f'{status}{self._stderr_tail()}')
        return json.loads(line)

    def request(self, op: str, **kwargs) -> dict:
        self.send(op, **kwargs)
        return self.receive()

    def _stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(size - STDERR_TAIL, 0))
        tail = self._stderr.read().decode(errors='replace').strip()
        return f'; its stderr ends:\n{tail}' if tail else '; no stderr'

    def close(self, force: bool = False, grace: float = 30) -> None:
        """End the worker: closing its input ends it once it is idle;
        ``force`` (or ``grace`` seconds without exiting) terminates it,
        then kills it."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        if not force:
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                force = True
        if force and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> 'WorkerProcess':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(force=exc_type is not None)
        self._stderr.close()
