"""The two primitives every algorithm is built from: map and reduce over windows.

``run_map`` computes an output raster window by window; ``run_reduce``
computes a statistic from per-window partial results merged in window order.
Both read inputs in the workers (workers get paths and windows, never open
datasets), report progress, honour cancellation between windows, and give the
same result for any window size, worker count or executor.
"""

import itertools
from contextlib import closing, contextmanager
from typing import Callable, Iterator, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from .errors import Cancelled
from .executors import Execution, check_executor, executor_for
from .raster_io import (BLOCK_SIZE, EDGE_NODATA, Block, OutputSpec, Source, atomic_output,
                        close_sources, encode, read_block)
from .windows import Grid, Window, plan_windows

Progress = Optional[Callable[[float], None]]
CancelCheck = Optional[Callable[[], bool]]
#: Where an algorithm sends warnings that do not stop it (QGIS: ``feedback.pushWarning``).
Warn = Optional[Callable[[str], None]]


class Operator(Protocol):
    """A picklable per-window computation.

    ``halo`` is how many extra pixels it needs on every side; ``edge`` is the
    policy for pixels beyond the raster (see :mod:`raster_io`). Called with
    one :class:`Block` per source covering the window grown by ``halo`` (and
    that grown window), it returns float values of shape (bands, rows, cols)
    for the window itself (the grown window less ``halo`` on every side) and
    a boolean validity mask of that shape.
    """

    halo: int
    edge: str

    def __call__(self, blocks: List[Block], window: Window) -> Tuple[np.ndarray, np.ndarray]:
        ...


class Accumulator(Protocol):
    """A mergeable partial statistic: add windows, merge partials, finalize."""

    def add(self, blocks: List[Block], window: Window) -> None:
        ...

    def merge(self, other: "Accumulator") -> None:
        ...

    def finalize(self):
        ...


def scaled(progress: Progress, part: int, parts: int) -> Progress:
    """A progress callback for step ``part`` of ``parts`` equal steps of a larger job."""
    if progress is None:
        return None
    return lambda percent: progress((part + percent / 100.0) * 100.0 / parts)


def _read(sources: Sequence[Source], window: Window, edge: str) -> List[Block]:
    return [read_block(source, window, edge) for source in sources]


def _map_window(task) -> np.ndarray:
    operator, sources, window, spec = task
    outer = window.expand(operator.halo)
    values, valid = operator(_read(sources, outer, operator.edge), outer)
    return encode(values, valid, spec)


def _reduce_window(task):
    make_accumulator, sources, window, halo, edge = task
    accumulator = make_accumulator()
    outer = window.expand(halo)
    accumulator.add(_read(sources, outer, edge), outer)
    return accumulator


def _windows(grid: Grid, execution: Execution) -> List[Window]:
    return list(plan_windows(grid, execution.window_size, BLOCK_SIZE))


@contextmanager
def _executing(tasks: Sequence, execution: Execution, cancelled: CancelCheck):
    """The executor for ``tasks``; inputs opened in this process are closed afterwards.

    A job of a single window runs serially: starting workers would cost more
    than the window.
    """
    check_executor(execution.executor)
    try:
        with executor_for(execution if len(tasks) > 1 else Execution("serial")) as executor:
            if cancelled is not None and cancelled():
                raise Cancelled("cancelled by the user before any window was processed")
            yield executor
    finally:
        close_sources()


def _ticker(total: int, progress: Progress, cancelled: CancelCheck) -> Callable[[], None]:
    """Called once per finished window: reports progress, raises :class:`Cancelled`."""
    done = itertools.count(1)

    def tick() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled("cancelled by the user; no output was written")
        if progress is not None:
            progress(100.0 * next(done) / total)

    return tick


def run_map(operator: Operator, sources: Sequence[Source], output: OutputSpec, *,
            execution: Execution = Execution(), progress: Progress = None,
            cancelled: CancelCheck = None) -> str:
    """Compute ``output`` window by window with ``operator`` over ``sources``.

    The output appears atomically at ``output.path`` when every window is
    written; on error or cancel nothing is left behind. Windows are written in
    window order, whatever order they finish in: GDAL flushes tiles to the file
    as its cache fills, so this keeps the file's bytes (not only its pixels)
    the same for every executor.

    Returns
    -------
    str
        The output path.
    """
    windows = _windows(output.grid, execution)
    tasks = [(operator, tuple(sources), window, output) for window in windows]
    tick = _ticker(len(tasks), progress, cancelled)
    finished, next_index = {}, 0
    with atomic_output(output, execution.compression) as writer, \
            _executing(tasks, execution, cancelled) as executor, \
            closing(executor.imap(_map_window, tasks)) as results:
        for index, array in results:
            finished[index] = array
            while next_index in finished:
                writer.write(windows[next_index], finished.pop(next_index))
                next_index += 1
            tick()
    return output.path


def run_reduce(make_accumulator: Callable[[], Accumulator], sources: Sequence[Source],
               grid: Grid, *, halo: int = 0, edge: str = EDGE_NODATA,
               execution: Execution = Execution(), progress: Progress = None,
               cancelled: CancelCheck = None):
    """Reduce ``sources`` over ``grid`` to one value with mergeable accumulators.

    ``make_accumulator`` must be picklable (a class or a ``functools.partial``).
    Partials are merged in a fixed tree over the windows (see
    :mod:`.merge_tree`), in this process or on the cluster, whatever order they
    finish in, so floating-point results do not depend on scheduling.
    """
    windows = _windows(grid, execution)
    tasks = [(make_accumulator, tuple(sources), window, halo, edge) for window in windows]
    with _executing(tasks, execution, cancelled) as executor:
        total = executor.reduce(_reduce_window, tasks, _ticker(len(tasks), progress, cancelled))
    return total.finalize()


def progress_steps(progress: Progress, total: int) -> Iterator[Progress]:
    """Progress callbacks for ``total`` equal steps taken one after the other."""
    return iter([scaled(progress, step, total) for step in range(total)])
