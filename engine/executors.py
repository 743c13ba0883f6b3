"""Executors: one interface for running window tasks serially or in parallel.

An executor takes a picklable function and an iterable of task arguments and
yields ``(index, result)`` pairs as tasks finish, in any order, with only a
bounded number of tasks in flight so memory stays proportional to the number
of workers, not to the image. The caller (the runner) is the only writer.

Adding a backend (e.g. Dask) means adding one class with ``imap`` and
``close`` and registering it in :data:`EXECUTORS`.
"""

import functools
import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Tuple

from .errors import WorkerError, check_choice
from .interpreter import find_python
from .raster_io import DEFAULT_COMPRESSION

#: GDAL block cache per worker process (MB): workers read each window once.
WORKER_GDAL_CACHE_MB = 64


@dataclass(frozen=True)
class Execution:
    """How a run is executed: backend, worker count, window size, worker Python,
    and the compression of the rasters it writes (see ``raster_io.COMPRESSIONS``)."""

    executor: str = "serial"
    workers: Optional[int] = None
    window_size: int = 512
    python: Optional[str] = None
    compression: str = DEFAULT_COMPRESSION

    @property
    def worker_count(self) -> int:
        return max(1, self.workers or os.cpu_count() or 1)


class SerialExecutor:
    """Runs every task in this process, one after the other."""

    workers = 1

    def imap(self, fn: Callable, tasks: Iterable[Any]) -> Iterator[Tuple[int, Any]]:
        for index, task in enumerate(tasks):
            yield index, fn(task)

    def close(self) -> None:
        """Nothing to release: tasks ran in this process."""


def _init_worker() -> None:
    os.environ.setdefault("GDAL_CACHEMAX", str(WORKER_GDAL_CACHE_MB))


class ProcessExecutor:
    """A pool of spawned worker processes started with a probed interpreter.

    ``spawn`` (never ``fork``: QGIS has Qt threads) with an explicit
    interpreter, and ``ProcessPoolExecutor`` so a worker that dies raises
    :class:`WorkerError` at once instead of being respawned forever.
    """

    def __init__(self, workers: int, python: Optional[str] = None):
        context = multiprocessing.get_context("spawn")
        context.set_executable(find_python(python))
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)

    def imap(self, fn: Callable, tasks: Iterable[Any]) -> Iterator[Tuple[int, Any]]:
        todo = enumerate(tasks)
        pending = {}

        def submit_next() -> bool:
            for index, task in todo:
                pending[self._pool.submit(fn, task)] = index
                return True
            return False

        while len(pending) < 2 * self.workers and submit_next():
            pass
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
                    submit_next()
        except BrokenProcessPool as exc:
            raise WorkerError(
                "a worker process died (out of memory, or its Python cannot import the "
                "engine's packages): try fewer workers, a smaller window, the serial executor, "
                "or set the Python interpreter setting") from exc
        finally:
            for future in pending:  # a pass that stops early leaves no queued work behind
                future.cancel()

    def close(self) -> None:
        """Drop queued tasks, let running ones finish, and join every worker."""
        self._pool.shutdown(wait=True, cancel_futures=True)


EXECUTORS = {
    "serial": lambda execution: SerialExecutor(),
    "processes": lambda execution: ProcessExecutor(execution.worker_count, execution.python),
}


def check_executor(name: str) -> str:
    """``name`` if it is a known executor, else an error listing the known ones."""
    check_choice(name, EXECUTORS, "executor")
    return name


def make_executor(execution: Execution):
    """The executor ``execution`` names."""
    return EXECUTORS[check_executor(execution.executor)](execution)


_SHARED = threading.local()


@contextmanager
def executor_for(execution: Execution):
    """The executor a pass runs on: the one :func:`reusing_workers` keeps for this
    execution (left open), else a new one closed when the pass ends."""
    shared = getattr(_SHARED, "pools", {}).get(execution)
    if shared is not None:
        yield shared
        return
    executor = make_executor(execution)
    try:
        yield executor
    finally:
        executor.close()


def reusing_workers(function):
    """Decorator for multi-pass jobs: every pass of ``function`` runs on one executor,
    started once (a worker pool costs about 1.5 s to start) and closed, with its
    workers, when ``function`` returns, fails or is cancelled. ``function`` takes
    its :class:`Execution` as the keyword ``execution``."""

    @functools.wraps(function)
    def wrapper(*args, execution: Execution = Execution(), **kwargs):
        pools = _SHARED.__dict__.setdefault("pools", {})
        if execution.executor == "serial" or execution in pools:
            return function(*args, execution=execution, **kwargs)
        check_executor(execution.executor)
        pools[execution] = make_executor(execution)
        try:
            return function(*args, execution=execution, **kwargs)
        finally:
            pools.pop(execution).close()

    return wrapper
