"""Streamed per-band value distributions: binned histograms and the pass that measures them.

Histogram matching (:mod:`histogram_matching`) and LIRRN (:mod:`lirrn`) both
need, per band, how the valid values of a whole image are distributed, and
neither may hold the image. This module is what they share:

* :class:`Binning`: equal-width bins per band (:func:`bins_between` over a
  range, :func:`bins_per_value` for integers);
* :class:`Histogram`: the occupied bins with their pixel count and the sum,
  minimum and maximum of their values, so a bin holding one distinct value
  is exact and class statistics (minimum, mean, maximum) are exact too;
* :class:`SelectedStatistics` and :func:`measure`: one streamed pass that
  feeds any mergeable per-band statistic (these, :class:`moments.Moments`,
  :class:`lirrn.NearestValues`) the pixels valid in every source and kept by
  a mask, partials merged in window order, so results do not depend on
  window size, worker count or executor;
* :func:`require_pixels`: the error when a band has nothing to measure.

Non-finite values: NaN is already nodata when read (:mod:`raster_io`), and
here ±inf is too. :class:`SelectedStatistics` drops every non-finite pixel
of a float source (in every source, since pixels are kept only where all
are valid) before any statistic sees it, so an infinite pixel can neither
stretch the bins (an infinite range gives infinite or NaN bin widths) nor
enter a mean. Outputs still cover such pixels; what they become is the
calling algorithm's to say.
"""

from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError
from .executors import Execution
from .masks import usable
from .raster_io import Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_reduce
from .windows import Grid, Window


def bins_between(low: float, high: float, bins: int) -> Tuple[float, float, int]:
    """(low, width, count) of ``bins`` equal bins from ``low`` to ``high`` (one bin if equal)."""
    if high > low:
        return (float(low), (high - low) / bins, bins)
    return (float(low), 1.0, 1)


def bins_per_value(low: float, high: float) -> Tuple[float, float, int]:
    """(low, width, count) of one bin per integer from ``low`` to ``high``."""
    return (float(low), 1.0, int(high - low) + 1)


@dataclass(frozen=True)
class Binning:
    """Equal-width bins, one (low, width, count) per band: a value ``v`` of band ``b``
    falls in bin ``floor((v - low) / width)``, values past either end in the end bins."""

    bands: Tuple[Tuple[float, float, int], ...]

    def index(self, band: int, values: np.ndarray) -> np.ndarray:
        """The bin of each of ``values`` (float64, finite) of ``band``."""
        low, width, count = self.bands[band]
        return np.clip(np.floor((values - low) / width), 0, count - 1).astype(np.int64)


_NO_BINS = (np.empty(0, np.int64), np.empty(0, np.int64)) + (np.empty(0),) * 3


def _reduce(ids, counts, sums, mins, maxs):
    """Bins with the same id combined (count and sum added, extremes kept), sorted by id.

    The sort is stable, so sums add up in the order given: window order when merging.
    """
    if ids.size == 0:
        return ids, counts, sums, mins, maxs
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    return (ids[starts], np.add.reduceat(counts[order], starts),
            np.add.reduceat(sums[order], starts), np.minimum.reduceat(mins[order], starts),
            np.maximum.reduceat(maxs[order], starts))


def _joined(a, b):
    return _reduce(*(np.concatenate(pair) for pair in zip(a, b)))


class Histogram:
    """Per band, the occupied bins of a :class:`Binning` (sorted ids) with their pixel
    count and the sum, minimum and maximum of their values.

    Only occupied bins are kept, so a window's partial is as small as its distinct
    bins; :meth:`add` and :meth:`merge` make it a statistic for :func:`measure`.
    """

    def __init__(self, binning: Binning):
        self.binning = binning
        self.bins = [_NO_BINS] * len(binning.bands)

    def add(self, values: np.ndarray, valid: np.ndarray) -> None:
        """Add the ``valid`` pixels of ``values`` (bands, rows, cols)."""
        for band, known in enumerate(self.bins):
            kept = np.sort(values[band][valid[band]], kind="stable").astype(np.float64)
            self.bins[band] = _joined(known, self._runs(band, kept))

    def _runs(self, band: int, kept: np.ndarray) -> tuple:
        """The bins of sorted values (bins are runs of them: the bin grows with the value)."""
        ids = self.binning.index(band, kept)
        if ids.size == 0:
            return _NO_BINS
        starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
        ends = np.append(starts[1:], ids.size)
        return (ids[starts], ends - starts, np.add.reduceat(kept, starts), kept[starts],
                kept[ends - 1])

    def merge(self, other: "Histogram") -> None:
        self.bins = [_joined(mine, theirs) for mine, theirs in zip(self.bins, other.bins)]

    @property
    def count(self) -> np.ndarray:
        """Pixels per band."""
        return np.array([counts.sum() for _, counts, *_ in self.bins])

    def dense(self, band: int) -> np.ndarray:
        """The pixel count of every bin of ``band``, occupied or not."""
        ids, counts = self.bins[band][:2]
        dense = np.zeros(self.binning.bands[band][2], np.int64)
        dense[ids] = counts
        return dense

    def quantiles(self, band: int) -> Tuple[np.ndarray, np.ndarray]:
        """Knots of the empirical distribution of ``band``: increasing values and the
        fraction of pixels at or below each.

        A bin holding one distinct value gives that value and its exact fraction (so
        one-value-per-bin histograms give scikit-image's quantiles); a bin holding more
        gives its minimum, with the fraction below it plus one pixel, and its maximum,
        with its exact fraction.
        """
        _, counts, _, mins, maxs = self.bins[band]
        total = counts.sum()
        below = np.cumsum(counts)
        spread = mins < maxs
        values = np.concatenate([mins[spread], maxs])
        fractions = np.concatenate([below[spread] - counts[spread] + 1, below]) / total
        order = np.argsort(values, kind="stable")
        return values[order], fractions[order]


def measurable(block: Block) -> np.ndarray:
    """``block.valid`` less its non-finite values (±inf; NaN is never valid)."""
    if block.data.dtype.kind != "f":
        return block.valid
    return block.valid & np.isfinite(block.data)


class SelectedStatistics:
    """Runner accumulator: one per-band statistic per source (aligned on ``grid``), over
    the pixels valid and finite in every source and kept by ``mask``.

    A statistic is anything with ``add(values, valid)`` and ``merge(other)``
    (:class:`moments.Moments`, :class:`Histogram`...), made by ``factories``.
    """

    def __init__(self, factories: tuple, grid: Grid, mask=None):
        self.statistics = [make() for make in factories]
        self.grid = grid
        self.mask = mask

    def add(self, blocks: List[Block], window: Window) -> None:
        keep = usable(self.mask, self.grid, window)
        for block in blocks:
            keep = keep & measurable(block)
        for statistic, block in zip(self.statistics, blocks):
            statistic.add(block.data, keep)

    def merge(self, other: "SelectedStatistics") -> None:
        for mine, theirs in zip(self.statistics, other.statistics):
            mine.merge(theirs)

    def finalize(self) -> list:
        return self.statistics


def measure(sources: Sequence[Source], grid: Grid, factories: Sequence, mask=None, *,
            execution: Execution = Execution(), progress: Progress = None,
            cancelled: CancelCheck = None) -> list:
    """One pass over ``grid``: the statistic made by ``factories[k]`` of ``sources[k]``, over
    the pixels valid and finite in all sources and kept by ``mask`` (see
    :class:`SelectedStatistics`)."""
    return run_reduce(partial(SelectedStatistics, tuple(factories), grid, mask), sources, grid,
                      execution=execution, progress=progress, cancelled=cancelled)


def require_pixels(count: np.ndarray, info: RasterInfo, overlaps: Optional[RasterInfo] = None,
                   mask=None) -> None:
    """Refuse statistics of ``info`` that have no pixel in some band (``count`` per band),
    saying where pixels were looked for."""
    empty = [str(band + 1) for band in range(len(count)) if count[band] == 0]
    if not empty:
        return
    where = " and ".join(([f"where it overlaps the reference '{overlaps.stem}'"] if overlaps
                          else []) + (["inside its mask"] if mask is not None else []))
    floats = any(np.dtype(image.dtype).kind == "f" for image in (info, overlaps) if image)
    raise InvalidInputError(
        f"'{info.stem}' has no valid pixel {where + ' ' if where else ''}in band(s) "
        f"{', '.join(empty)}: there is nothing to measure; check its nodata value"
        f"{', the overlap' if overlaps else ''}{' and the mask' if mask is not None else ''}"
        f"{' (NaN and infinite values count as nodata)' if floats else ''}")
