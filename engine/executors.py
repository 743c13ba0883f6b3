"""Executors: one interface for running window tasks serially or in parallel.

An executor has three methods. ``imap(fn, tasks)`` yields ``(index, result)``
pairs as tasks finish, in any order, with only a bounded number of tasks in
flight so memory stays proportional to the number of workers, not to the
image; the caller (the runner) is the only writer. ``reduce(fn, tasks, tick)``
merges the partial results (accumulators) of the tasks in a fixed
:class:`~.merge_tree.MergeTree`, calls ``tick()`` as each task finishes, and
returns the total. ``close()`` releases the workers.

A backend is one class with these methods registered in :data:`EXECUTORS`:
serial, a local process pool, and a Dask cluster (:mod:`.dask_executor`).
"""

import functools
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, Set, Tuple

from .errors import WorkerError, check_choice
from .interpreter import find_python
from .merge_tree import MergeTree
from .raster_io import DEFAULT_COMPRESSION

#: GDAL block cache per worker process (MB): workers read each window once.
WORKER_GDAL_CACHE_MB = 64


@dataclass(frozen=True)
class Execution:
    """How a run is executed: backend, worker count, window size, worker Python,
    the compression of the rasters it writes (see ``raster_io.COMPRESSIONS``)
    and, for the ``dask`` executor, the scheduler address."""

    executor: str = "serial"
    workers: Optional[int] = None
    window_size: int = 512
    python: Optional[str] = None
    compression: str = DEFAULT_COMPRESSION
    scheduler: Optional[str] = None

    @property
    def worker_count(self) -> int:
        return max(1, self.workers or os.cpu_count() or 1)


Tick = Callable[[], None]


def bounded_results(submit: Callable[[Any], Any], wait_any: Callable[[Set], Iterable],
                    tasks: Iterable[Any], limit: int) -> Iterator[Tuple[int, Any]]:
    """Submit ``tasks`` keeping at most ``limit`` in flight; yield ``(index, future)`` as
    each finishes. ``submit(task)`` returns a future with ``cancel()``; ``wait_any(futures)``
    returns the finished ones. Closing the iterator early cancels what is still queued."""
    todo = enumerate(tasks)
    pending: Dict[Any, int] = {}

    def submit_next() -> None:
        for index, task in todo:
            pending[submit(task)] = index
            return

    for _ in range(limit):
        submit_next()
    try:
        while pending:
            for future in wait_any(set(pending)):
                index = pending.pop(future)
                yield index, future
                submit_next()
    finally:
        for future in pending:
            future.cancel()


def merged(left, right):
    """``left`` with the accumulator ``right`` (the later windows) folded into it."""
    left.merge(right)
    return left


class LocalExecutor(ABC):
    """Base of the executors whose results come back to this process: reductions
    merge the partials here, as they arrive."""

    @abstractmethod
    def imap(self, fn: Callable, tasks: Sequence[Any]) -> Iterator[Tuple[int, Any]]:
        """Yield ``(index, fn(task))`` as tasks finish."""

    def reduce(self, fn: Callable, tasks: Sequence[Any], tick: Tick):
        """The :func:`merged` total of ``fn(task)`` over ``tasks``; ``tick()`` after each."""
        tree = MergeTree(len(tasks), merged)
        with closing(self.imap(fn, tasks)) as results:
            for index, partial in results:
                tree.add(index, partial)
                tick()
        return tree.root


class SerialExecutor(LocalExecutor):
    """Runs every task in this process, one after the other."""

    workers = 1

    def imap(self, fn: Callable, tasks: Iterable[Any]) -> Iterator[Tuple[int, Any]]:
        for index, task in enumerate(tasks):
            yield index, fn(task)

    def close(self) -> None:
        """Nothing to release: tasks ran in this process."""


def limit_gdal_cache() -> None:
    """Give this worker process a small GDAL block cache unless one was configured:
    workers read each window once, so GDAL's default (5 % of RAM) only costs memory.
    Must run before the process first reads a raster."""
    os.environ.setdefault("GDAL_CACHEMAX", str(WORKER_GDAL_CACHE_MB))


class ProcessExecutor(LocalExecutor):
    """A pool of spawned worker processes started with a probed interpreter.

    ``spawn`` (never ``fork``: QGIS has Qt threads) with an explicit
    interpreter, and ``ProcessPoolExecutor`` so a worker that dies raises
    :class:`WorkerError` at once instead of being respawned forever.
    """

    def __init__(self, workers: int, python: Optional[str] = None):
        context = multiprocessing.get_context("spawn")
        context.set_executable(find_python(python))
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=context,
                                         initializer=limit_gdal_cache)

    def imap(self, fn: Callable, tasks: Iterable[Any]) -> Iterator[Tuple[int, Any]]:
        def first_completed(futures):
            return wait(futures, return_when=FIRST_COMPLETED)[0]

        results = bounded_results(functools.partial(self._pool.submit, fn), first_completed,
                                  tasks, 2 * self.workers)
        try:
            with closing(results):
                for index, future in results:
                    yield index, future.result()
        except BrokenProcessPool as exc:
            raise WorkerError(
                "a worker process died (out of memory, or its Python cannot import the "
                "engine's packages): try fewer workers, a smaller window, the serial executor, "
                "or set the Python interpreter setting") from exc

    def close(self) -> None:
        """Drop queued tasks, let running ones finish, and join every worker."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _dask_executor(execution: Execution):
    from .dask_executor import DaskExecutor  # distributed is optional: imported on demand

    return DaskExecutor(execution.scheduler)


EXECUTORS = {
    "serial": lambda execution: SerialExecutor(),
    "processes": lambda execution: ProcessExecutor(execution.worker_count, execution.python),
    "dask": _dask_executor,
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
