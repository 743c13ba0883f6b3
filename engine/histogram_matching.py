"""Histogram matching: give each image, band by band, the value distribution of a reference.

The mapping is scikit-image's ``match_histograms`` (the one behind reference
F52): a source value ``v`` goes to the reference value at the same quantile,
``np.interp(F_src(v), F_ref, ref_values)``, where ``F`` is the fraction of
pixels at or below a value. Here it is computed from streamed histograms, never
from whole arrays:

* integer images get one bin per value (8 and 16 bit over the type's range,
  32 bit over the data's range when it spans at most :data:`EXACT_RANGE`
  values), so the mapping equals scikit-image's exactly;
* other images get :data:`FINE_BINS` bins over the data's range; each bin
  keeps its minimum and maximum, so a bin holding one distinct value is exact
  too and only bins holding three or more values interpolate inside the bin.

Unlike the reference system, which rewrites only the pixels valid in both
images and so leaves seams, the mapping is applied to *every* valid pixel of
the image: values the statistics did not see (outside the overlap or the mask)
are interpolated linearly between the nearest values they did see, and held
at the ends.

The module also holds what a streamed per-band distribution needs in general
(:class:`Binning`, :class:`Histogram`, :func:`measure`); :mod:`lirrn` uses it.
"""

import os
from dataclasses import dataclass
from functools import partial
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import value_range
from .errors import InvalidInputError
from .executors import Execution
from .masks import usable
from .moments import Moments
from .normalization import (Warn, check_images, output_paths, output_spec, overlap_bounds,
                            warn_if_clamped)
from .raster_io import EDGE_NODATA, Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_map, run_reduce, scaled
from .windows import Grid, Window

#: Bins per band of a float image, or of a 32-bit integer image spanning more
#: than :data:`EXACT_RANGE` values.
FINE_BINS = 2 ** 16
#: The widest value range a 32-bit integer image gets one bin per value over.
EXACT_RANGE = 2 ** 22


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
        """The bin of each of ``values`` (float64) of ``band``."""
        low, width, count = self.bands[band]
        return np.clip(np.floor((values - low) / width), 0, count - 1).astype(np.int64)


def needs_extent(dtype: str) -> bool:
    """True when the bins of ``dtype`` depend on the data's range (all but 8/16-bit integers)."""
    dtype = np.dtype(dtype)
    return not (dtype.kind in "iu" and dtype.itemsize <= 2)


def binning_for(dtype: str, bands: int, extent: Optional[Moments] = None) -> Binning:
    """The bins of an image of ``dtype``: one per value for integers where that is
    affordable, else :data:`FINE_BINS` over ``extent`` (the data's minimum and maximum)."""
    if not needs_extent(dtype):
        return Binning((bins_per_value(*value_range(dtype)),) * bands)
    integer = np.dtype(dtype).kind in "iu"
    return Binning(tuple(
        bins_per_value(low, high) if integer and high - low < EXACT_RANGE
        else bins_between(low, high, FINE_BINS) for low, high in zip(extent.min, extent.max)))


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


class SelectedStatistics:
    """Runner accumulator: one per-band statistic per source (aligned on ``grid``), over
    the pixels valid in every source and kept by ``mask``.

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
            keep = keep & block.valid
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
    the pixels valid in all sources and kept by ``mask`` (see :class:`SelectedStatistics`)."""
    return run_reduce(partial(SelectedStatistics, tuple(factories), grid, mask), sources, grid,
                      execution=execution, progress=progress, cancelled=cancelled)


def progress_steps(progress: Progress, total: int) -> Iterator[Progress]:
    """Progress callbacks for ``total`` equal steps taken one after the other."""
    return iter([scaled(progress, step, total) for step in range(total)])


def check_reference(inputs: Sequence[str], reference: str) -> Tuple[RasterInfo, List[RasterInfo]]:
    """Describe the reference and the inputs (one CRS, one band count, distinct names);
    refuse no inputs and a reference that is also an input."""
    if not inputs:
        raise InvalidInputError("no input raster given: choose at least one image to "
                                "normalize to the reference")
    for path in inputs:
        if os.path.abspath(path) == os.path.abspath(reference):
            raise InvalidInputError(
                f"'{path}' is both the reference and an input: the reference is left as it "
                f"is, remove it from the inputs")
    infos = check_images([reference] + list(inputs))
    return infos[0], infos[1:]


@dataclass(frozen=True, eq=False)
class LookupOperator:
    """Per band, ``np.interp(value, values[b], matched[b])``; nodata stays nodata."""

    values: Tuple[np.ndarray, ...]
    matched: Tuple[np.ndarray, ...]
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        block = blocks[0]
        out = np.stack([np.interp(data, values, matched) for data, values, matched
                        in zip(block.data, self.values, self.matched)])
        return out, block.valid


def matching(source: Histogram, reference: Histogram) -> LookupOperator:
    """The lookup that gives ``source``'s values ``reference``'s distribution, band by band."""
    values, matched = [], []
    for band in range(len(source.bins)):
        knots, fractions = source.quantiles(band)
        reference_values, reference_fractions = reference.quantiles(band)
        values.append(knots)
        matched.append(np.interp(fractions, reference_fractions, reference_values))
    return LookupOperator(tuple(values), tuple(matched))


def distributions(sources: Sequence[Source], grid: Grid, infos: Sequence[RasterInfo], mask,
                  steps: Iterator[Progress], *, overlaps: Optional[RasterInfo] = None,
                  execution: Execution, cancelled: CancelCheck) -> List[Histogram]:
    """The :class:`Histogram` of each of ``sources`` (described by ``infos``) over the pixels
    valid in all of them and kept by ``mask``, in :func:`passes` passes; ``overlaps`` names
    the reference of a pair in the message when no pixel is left."""
    bands = infos[0].count
    extents = [None] * len(infos)
    if passes(infos) > 1:
        extents = measure(sources, grid, [partial(Moments, bands)] * len(sources), mask,
                          execution=execution, progress=next(steps), cancelled=cancelled)
        require_pixels(extents[0].count, infos[0], overlaps, mask)
    binnings = [binning_for(info.dtype, bands, extent) for info, extent in zip(infos, extents)]
    histograms = measure(sources, grid, [partial(Histogram, binning) for binning in binnings],
                         mask, execution=execution, progress=next(steps), cancelled=cancelled)
    require_pixels(histograms[0].count, infos[0], overlaps, mask)
    return histograms


def passes(infos: Sequence[RasterInfo]) -> int:
    """Passes :func:`distributions` makes over images of these types."""
    return 1 + any(needs_extent(info.dtype) for info in infos)


def require_pixels(count: np.ndarray, info: RasterInfo, overlaps: Optional[RasterInfo] = None,
                   mask=None) -> None:
    """Refuse statistics of ``info`` that have no pixel in some band (``count`` per band),
    saying where pixels were looked for."""
    empty = [str(band + 1) for band in range(len(count)) if count[band] == 0]
    if not empty:
        return
    where = " and ".join(([f"where it overlaps the reference '{overlaps.stem}'"] if overlaps
                          else []) + (["inside its mask"] if mask is not None else []))
    raise InvalidInputError(
        f"'{info.stem}' has no valid pixel {where + ' ' if where else ''}in band(s) "
        f"{', '.join(empty)}: there is nothing to measure; check its nodata value"
        f"{', the overlap' if overlaps else ''}{' and the mask' if mask is not None else ''}")


def _overlap_window(info: RasterInfo, reference: RasterInfo) -> Window:
    bounds = overlap_bounds(info.grid.bounds, reference.grid.bounds)
    window = info.grid.window_of(bounds) if bounds else None
    if window is None:
        raise InvalidInputError(
            f"'{info.stem}' does not overlap the reference '{reference.stem}': with 'overlap "
            f"only' statistics come from the pixels both cover; turn it off or choose an image "
            f"that overlaps the reference")
    return window


def histogram_matching(inputs: Sequence[str], reference: str, output_folder: str, *,
                       template: str = "{stem}_histmatch.tif", overlap_only: bool = False,
                       masks: Optional[Sequence] = None, dtype: Optional[str] = None,
                       execution: Execution = Execution(), progress: Progress = None,
                       cancelled: CancelCheck = None, warn: Warn = None) -> List[str]:
    """Match each input's per-band value distribution to the reference's.

    Parameters
    ----------
    inputs : sequence of str
        Images to match; one CRS and band count, shared with the reference. Grids may
        differ from each other and from the reference's.
    reference : str
        The image whose distributions the outputs take; it is not rewritten.
    output_folder, template : str
        Where outputs go; ``{stem}`` in the template is the input's name.
    overlap_only : bool
        Take both distributions from the pixels valid in the input *and* the reference
        only (the reference read onto the input's grid by nearest neighbour, so its
        values stay its own); the mapping still applies to every valid input pixel.
    masks : sequence, optional
        One mask per input (:mod:`masks`) restricting the pixels its statistics use
        (with ``overlap_only``, the paired reference pixels too).
    dtype : str, optional
        Output type (default: the input's); integers are rounded and clamped.
    warn : callable, optional
        Receives warnings (e.g. matched values clamped to the output type).

    Returns
    -------
    list of str
        The output paths, one per input.

    Raises
    ------
    InvalidInputError
        Another band count or CRS than the reference's, no overlap with
        ``overlap_only``, or no valid pixel to measure.

    Notes
    -----
    Passes per input: one histogram (two for 32-bit and float types, whose bins
    need the data's range first), then the lookup; the reference is measured once
    unless ``overlap_only``. Example: an input with pixels 10, 20, 20, 30 matched to
    a reference 1, 2, 3, 4 has quantiles 1/4, 3/4, 1 and becomes 1, 3, 3, 4.
    """
    reference_info, infos = check_reference(inputs, reference)
    outputs = output_paths(infos, output_folder, template, [reference])
    masks = list(masks) if masks is not None else [None] * len(infos)
    if len(masks) != len(infos):
        raise InvalidInputError(f"{len(masks)} masks given for {len(infos)} inputs: give one "
                                f"mask per input, or none")
    windows = [_overlap_window(info, reference_info) for info in infos] if overlap_only else []
    measured = [[info, reference_info] if overlap_only else [info] for info in infos]
    steps = progress_steps(progress, sum(passes(pair) + 1 for pair in measured)
                           + (0 if overlap_only else passes([reference_info])))
    run = dict(execution=execution, cancelled=cancelled)
    if not overlap_only:
        (reference_histogram,) = distributions([Source(reference)], reference_info.grid,
                                               [reference_info], None, steps, **run)
    for k, (info, output, mask) in enumerate(zip(infos, outputs, masks)):
        if overlap_only:
            grid = info.grid.subgrid(windows[k])
            histogram, reference_histogram = distributions(
                [Source(info.path, grid=grid), Source(reference, grid=grid, resampling="nearest")],
                grid, measured[k], mask, steps, overlaps=reference_info, **run)
        else:
            (histogram,) = distributions([Source(info.path)], info.grid, measured[k], mask,
                                         steps, **run)
        operator = matching(histogram, reference_histogram)
        spec = output_spec(info, output, dtype)
        warn_if_clamped(info.stem, np.array([m[0] for m in operator.matched]),
                        np.array([m[-1] for m in operator.matched]), spec.dtype, warn)
        run_map(operator, [Source(info.path)], spec, progress=next(steps), **run)
    return outputs
