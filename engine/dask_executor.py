"""The ``dask`` executor: window tasks on a Dask distributed cluster.

Connecting checks the cluster before any work is sent: the scheduler answers
within :data:`CONNECT_TIMEOUT`, every worker gets this exact engine (a zip
registered as a worker plugin, so workers that join later get it too; see
:mod:`.shipping`) and has every package the engine needs. Workers read inputs
themselves, by path or GDAL URL, so inputs must be where every worker can
reach them; a worker that cannot open one says so, naming itself.

Map results come back to this process, where the runner is the only writer;
reductions merge partials on the cluster in the same fixed tree the local
executors use, so only the total travels back. Windows go in batches (see
``DaskExecutor._batches``), at most two batches per worker thread in flight.
A worker lost mid-run has its tasks rerun elsewhere by Dask; a cluster left
with no worker at all fails after :data:`NO_WORKER_GRACE` seconds instead of
waiting forever.
"""

import ctypes
import functools
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import CancelledError
from contextlib import closing
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Set, Tuple

from .errors import InvalidInputError, MissingInputError, WorkerError
from .executors import SerialExecutor, Tick, bounded_results, limit_gdal_cache, merged
from .merge_tree import MergeTree
from .requirements import DASK, environment
from .shipping import ENGINE, build_zip, zip_name

#: Seconds to wait for the scheduler to answer when connecting.
CONNECT_TIMEOUT = 10.0
#: Seconds between checks that the cluster still has workers while tasks run.
POLL = 2.0
#: Seconds a cluster may have no worker at all before the run fails.
NO_WORKER_GRACE = 60.0
#: Most windows one cluster task computes (a power of two, see ``DaskExecutor._batches``).
MAX_BATCH = 8
#: glibc's ``mallopt`` parameter (malloc.h) and the value :func:`reuse_freed_memory` sets.
M_MMAP_THRESHOLD, MMAP_THRESHOLD = -3, 32 * 2 ** 20
#: Name of the worker plugin that installs the engine (one per cluster, replaced on upload).
PLUGIN_NAME = "tessera-engine"


def _distributed():
    """The ``distributed`` module, or an error saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        _, pip, deb = DASK
        raise InvalidInputError(
            f"the dask executor needs the Python packages 'dask' and '{pip}', which are not "
            f"installed: install them with 'apt-get install {deb}' on Debian/Ubuntu or "
            f"'python3 -m pip install {pip}' in the QGIS Python; the serial and processes "
            f"executors work without them") from exc
    return distributed


def register_on_workers(client, plugin, name: str) -> None:
    """Register worker ``plugin`` under ``name`` (replacing one of that name) on every
    worker, and on workers that join later (distributed 2022.12 to the newest)."""
    register = getattr(client, "register_plugin", None) or client.register_worker_plugin
    register(plugin, name=name)


@functools.lru_cache(maxsize=None)
def reuse_freed_memory() -> None:
    """Let this worker reuse freed memory for new window arrays (once per process).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which also freezes
    glibc's mmap threshold at 128 KiB: every array of a window then comes from fresh
    pages, and the page faults made a 512 px focal window take 19 ms instead of 13
    (``bench/bench_dask.py``). A fixed 32 MiB threshold (glibc's own ceiling) keeps
    window arrays in the heap; the trim threshold still hands freed memory back.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass  # not glibc (musl has no such tunable): nothing to do


def _reporting_inputs(work: Callable[[], Any]) -> Any:
    """``work()`` on a worker; an input the worker cannot open becomes an error that names
    the worker and says where inputs must be. It is raised outside the ``except`` so it
    carries no rasterio exception along: those do not unpickle."""
    import rasterio.errors
    from distributed import get_worker

    limit_gdal_cache()
    reuse_freed_memory()
    try:
        return work()
    except rasterio.errors.RasterioIOError as exc:
        reason = str(exc)
    raise MissingInputError(
        f"Dask worker {get_worker().address} (host {socket.gethostname()}) cannot open an "
        f"input: {reason}. Workers open inputs themselves, so every input must be at a path "
        f"all workers reach (a shared file system mounted at the same path) or a GDAL URL "
        f"(/vsis3/..., /vsicurl/...); files in this machine's memory or on its local disk "
        f"are not visible to other hosts")


def map_batch(fn: Callable, tasks: Sequence[Any]) -> List[Any]:
    """One cluster task: ``fn`` over a batch of consecutive window tasks."""
    return _reporting_inputs(lambda: [fn(task) for task in tasks])


def reduce_batch(fn: Callable, tasks: Sequence[Any]) -> Any:
    """One cluster task: the partials of an aligned batch of windows merged in the order
    of the global :class:`MergeTree` (so the result is exactly one of its nodes)."""
    return _reporting_inputs(lambda: SerialExecutor().reduce(fn, tasks, lambda: None))


class DaskExecutor:
    """Runs window tasks on the Dask cluster whose scheduler is at ``address``."""

    def __init__(self, address: str):
        if not address:
            raise InvalidInputError(
                "the dask executor needs the address of a Dask scheduler (e.g. "
                "tcp://192.168.1.10:8786): set it in Settings > Options > Processing > "
                "Providers > Tessera or in the environment variable TESSERA_DASK_SCHEDULER")
        self._distributed = _distributed()
        self.address = address
        self._client = self._connect()
        try:
            self._install_engine()
        except BaseException:
            self._client.close()
            raise

    def _connect(self):
        try:
            return self._distributed.Client(self.address, timeout=CONNECT_TIMEOUT,
                                            set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"cannot reach the Dask scheduler at '{self.address}' within "
                f"{CONNECT_TIMEOUT:g} s ({exc}): check the address (tcp://host:8786), that the "
                f"scheduler is running and that this machine can reach its port") from exc

    def _install_engine(self) -> None:
        """Register this engine's zip as a worker plugin (and as a scheduler plugin where
        the scheduler unpickles tasks, distributed 2024 and later); check that every
        worker (and that scheduler) loaded it and can import the engine's packages."""
        from distributed.diagnostics import plugin as plugins

        with tempfile.TemporaryDirectory(prefix="tessera-engine-") as folder:
            path = build_zip(folder)
            register_on_workers(self._client, plugins.UploadFile(path), PLUGIN_NAME)
            reports = {f"worker {worker}": report
                       for worker, report in self._client.run(environment).items()}
            if not reports:
                raise WorkerError(f"the Dask cluster at '{self.address}' has no workers: "
                                  f"start some with 'dask worker {self.address}'")
            if hasattr(plugins, "SchedulerUploadFile"):
                self._client.register_plugin(plugins.SchedulerUploadFile(path),
                                             name=PLUGIN_NAME)
                reports[f"the scheduler {self.address}"] = \
                    self._client.run_on_scheduler(environment)
        problems = [problem for who, report in sorted(reports.items())
                    for problem in _problems(who, report)]
        if problems:
            raise WorkerError("the Dask cluster cannot run Tessera:\n" + "\n".join(problems))

    @property
    def workers(self) -> int:
        """Worker threads on the cluster now."""
        return sum(self._client.nthreads().values())

    def _batches(self, tasks: Sequence[Any]) -> Tuple[int, List[Tuple[Any, ...]]]:
        """(level, batches): consecutive tasks in aligned batches of ``2**level``, the
        largest up to :data:`MAX_BATCH` that still leaves four batches per worker thread.
        A cluster task costs client, scheduler and worker about 12 ms together, as much as
        computing a 512 px window, so one window per task would double the work."""
        level = 0
        while (2 << level) <= MAX_BATCH and len(tasks) // (2 << level) >= 4 * self.workers:
            level += 1
        size = 1 << level
        return level, [tuple(tasks[start:start + size]) for start in range(0, len(tasks), size)]

    def _submitter(self, batch_fn: Callable, fn: Callable) -> Callable[[Any], Any]:
        """Submits one batch, bound into a partial so Dask does not read the task tuples
        (whose first items may be callable) as tasks of its own graph."""
        return lambda batch: self._client.submit(functools.partial(batch_fn, fn, batch),
                                                 pure=False)

    def _wait_any(self, futures: Set) -> Iterable:
        """The finished ``futures``; fails if the cluster has had no worker for too long."""
        alone_since = None
        while True:
            try:
                with self._client.as_current():
                    return self._distributed.wait(futures, timeout=POLL,
                                                  return_when="FIRST_COMPLETED").done
            except TimeoutError:
                pass
            if self._living_workers():
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since > NO_WORKER_GRACE:
                raise WorkerError(
                    f"the Dask cluster at '{self.address}' has had no workers for "
                    f"{NO_WORKER_GRACE:g} s: start workers, or use the processes executor")

    def _living_workers(self) -> int:
        try:
            return len(self._client.nthreads())
        except OSError as exc:
            raise WorkerError(f"lost the connection to the Dask scheduler at "
                              f"'{self.address}' ({exc})") from exc

    def _result(self, future) -> Any:
        """``future``'s value; cluster failures become errors that say what happened."""
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise WorkerError(
                f"Dask workers died while running a window ({exc}); they may run out of "
                f"memory: use a smaller window or workers with more memory") from exc
        except CancelledError as exc:
            raise WorkerError(f"the Dask scheduler at '{self.address}' dropped the run "
                              f"(it restarted or lost this client)") from exc

    def _in_flight(self) -> int:
        return 2 * max(self.workers, 1)

    def imap(self, fn: Callable, tasks: Sequence[Any]) -> Iterator[Tuple[int, Any]]:
        """Yield ``(index, fn(task))`` as batches of tasks finish on the cluster."""
        level, batches = self._batches(tasks)
        results = bounded_results(self._submitter(map_batch, fn), self._wait_any, batches,
                                  self._in_flight())
        with closing(results):
            for number, future in results:
                for offset, value in enumerate(self._result(future)):
                    yield (number << level) + offset, value

    def reduce(self, fn: Callable, tasks: Sequence[Any], tick: Tick):
        """The :func:`merged` total of ``fn(task)`` over ``tasks``, merged on the cluster
        (a tree reduction: each batch merges its windows, merge tasks join the batches);
        only the total comes back."""
        level, batches = self._batches(tasks)
        tree = MergeTree(len(tasks), self._merge)
        results = bounded_results(self._submitter(reduce_batch, fn), self._wait_any, batches,
                                  self._in_flight())
        try:
            with closing(results):
                for number, future in results:
                    if future.status == "error":
                        self._result(future)
                    tree.add(number, future, level)
                    for _ in batches[number]:
                        tick()
            total = tree.root
            self._wait_any({total})
            return self._result(total)
        finally:
            for future in tree.waiting:
                future.cancel()

    def _merge(self, left, right):
        return self._client.submit(merged, left, right, pure=False)

    def close(self) -> None:
        """Disconnect; the cluster keeps running (it is not ours to stop)."""
        self._client.close()


def _problems(who: str, report: Dict[str, Any]) -> Iterator[str]:
    """What keeps ``who`` (its :func:`~.requirements.environment` report) from running
    this engine, one line each."""
    where = f"{who} (host {report['host']}, Python {report['python']})"
    if zip_name() not in report["engine"]:
        yield (f"{where} loads {ENGINE} from {report['engine']}, not the version this "
               f"client sent ({zip_name()})")
    for pip in report["missing"]:
        yield (f"{where} lacks the Python package '{pip}': install it in its Python (the "
               f"scheduler and workers need the packages QGIS has: numpy, rasterio, scipy, "
               f"opencv-python-headless, shapely, pyproj, geopandas)")
