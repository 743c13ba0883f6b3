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

Non-finite values (NaN, ±inf) are nodata to the statistics (see :mod:`histograms`,
which holds the streamed histograms this module builds on). A valid ±inf pixel
is still mapped like any value the statistics did not see: held at the
reference's minimum or maximum.
"""

from dataclasses import dataclass
from functools import partial
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import value_range
from .errors import InvalidInputError
from .executors import Execution, reusing_workers
from .histograms import (Binning, Histogram, bins_between, bins_per_value, measure,
                         require_pixels)
from .moments import Moments
from .image_sets import output_paths, output_spec, overlap_bounds, written_together
from .normalization import check_reference, mask_per_image, warn_if_clamped
from .raster_io import EDGE_NODATA, Block, RasterInfo, Source
from .runner import CancelCheck, Progress, Warn, progress_steps, run_map
from .windows import Grid, Window

#: Bins per band of a float image, or of a 32-bit integer image spanning more
#: than :data:`EXACT_RANGE` values.
FINE_BINS = 2 ** 16
#: The widest value range a 32-bit integer image gets one bin per value over.
EXACT_RANGE = 2 ** 22


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



def _overlap_window(info: RasterInfo, reference: RasterInfo) -> Window:
    bounds = overlap_bounds(info.grid.bounds, reference.grid.bounds)
    window = info.grid.window_of(bounds) if bounds else None
    if window is None:
        raise InvalidInputError(
            f"'{info.stem}' does not overlap the reference '{reference.stem}': with 'overlap "
            f"only' statistics come from the pixels both cover; turn it off or choose an image "
            f"that overlaps the reference")
    return window


@reusing_workers
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
    masks = mask_per_image(masks, len(infos))
    windows = [_overlap_window(info, reference_info) for info in infos] if overlap_only else []
    measured = [[info, reference_info] if overlap_only else [info] for info in infos]
    steps = progress_steps(progress, sum(passes(pair) + 1 for pair in measured)
                           + (0 if overlap_only else passes([reference_info])))
    run = dict(execution=execution, cancelled=cancelled)
    if not overlap_only:
        (reference_histogram,) = distributions([Source(reference)], reference_info.grid,
                                               [reference_info], None, steps, **run)
    with written_together(outputs) as targets:
        for k, (info, target, mask) in enumerate(zip(infos, targets, masks)):
            if overlap_only:
                grid = info.grid.subgrid(windows[k])
                histogram, reference_histogram = distributions(
                    [Source(info.path, grid=grid),
                     Source(reference, grid=grid, resampling="nearest")],
                    grid, measured[k], mask, steps, overlaps=reference_info, **run)
            else:
                (histogram,) = distributions([Source(info.path)], info.grid, measured[k], mask,
                                             steps, **run)
            operator = matching(histogram, reference_histogram)
            spec = output_spec(info, target, dtype)
            warn_if_clamped(info.stem, np.array([m[0] for m in operator.matched]),
                            np.array([m[-1] for m in operator.matched]), spec.dtype, warn)
            run_map(operator, [Source(info.path)], spec, progress=next(steps), **run)
    return outputs
