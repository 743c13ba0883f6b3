"""The two primitives every algorithm is built from: map and reduce over windows.

``run_map`` computes an output raster window by window; ``run_reduce``
computes a statistic from per-window partial results merged in window order.
Both read inputs in the workers (workers get paths and windows, never open
datasets), report progress, honour cancellation between windows, and give the
same result for any window size, worker count or executor.
"""

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


def _drive(fn, tasks, execution, progress: Progress, cancelled: CancelCheck):
    """Run ``tasks`` on the chosen executor; yield (index, result); stop on cancel.

    A job of a single window runs serially: starting workers would cost more
    than the window.
    """
    check_executor(execution.executor)
    try:
        with executor_for(execution if len(tasks) > 1 else Execution("serial")) as executor:
            total = max(len(tasks), 1)
            if cancelled is not None and cancelled():
                raise Cancelled("cancelled by the user before any window was processed")
            results = executor.imap(fn, tasks)
            try:
                for done, (index, result) in enumerate(results, start=1):
                    if cancelled is not None and cancelled():
                        raise Cancelled("cancelled by the user; no output was written")
                    yield index, result
                    if progress is not None:
                        progress(100.0 * done / total)
            finally:
                results.close()
    finally:
        close_sources()


def run_map(operator: Operator, sources: Sequence[Source], output: OutputSpec, *,
            execution: Execution = Execution(), progress: Progress = None,
            cancelled: CancelCheck = None) -> str:
    """Compute ``output`` window by window with ``operator`` over ``sources``.

    The output appears atomically at ``output.path`` when every window is
    written; on error or cancel nothing is left behind.

    Returns
    -------
    str
        The output path.
    """
    windows = _windows(output.grid, execution)
    tasks = [(operator, tuple(sources), window, output) for window in windows]
    with atomic_output(output, execution.compression) as writer:
        for index, array in _drive(_map_window, tasks, execution, progress, cancelled):
            writer.write(windows[index], array)
    return output.path


def run_reduce(make_accumulator: Callable[[], Accumulator], sources: Sequence[Source],
               grid: Grid, *, halo: int = 0, edge: str = EDGE_NODATA,
               execution: Execution = Execution(), progress: Progress = None,
               cancelled: CancelCheck = None):
    """Reduce ``sources`` over ``grid`` to one value with mergeable accumulators.

    ``make_accumulator`` must be picklable (a class or a ``functools.partial``).
    Partials are merged strictly in window order, whatever order they finish
    in, so floating-point results do not depend on scheduling.
    """
    windows = _windows(grid, execution)
    tasks = [(make_accumulator, tuple(sources), window, halo, edge) for window in windows]
    total = make_accumulator()
    waiting = {}
    next_index = 0
    for index, partial in _drive(_reduce_window, tasks, execution, progress, cancelled):
        waiting[index] = partial
        while next_index in waiting:
            total.merge(waiting.pop(next_index))
            next_index += 1
    return total.finalize()


def progress_steps(progress: Progress, total: int) -> Iterator[Progress]:
    """Progress callbacks for ``total`` equal steps taken one after the other."""
    return iter([scaled(progress, step, total) for step in range(total)])
