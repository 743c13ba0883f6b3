"""Filtering rasters with a Gaussian, box or disk kernel that skips nodata (REFERENCE F2).

Each selected band is smoothed by normalized convolution (:func:`kernels.blur`):
the kernel-weighted mean of the valid pixels around each pixel, so nodata and
the raster edge never pull values towards 0. With a *selector band* the filter
runs once per class of that band and each pixel takes the result of its own
class's pass, in which the pixels of every other class are simply invalid:
values never blur across class boundaries, and class edges keep their level
(convster fills other classes with 0, which darkens them).

Values are then mapped onto the output type through an explicit input range
and output range with rounding (:mod:`value_ranges`); an integer input whose
values an integer output type cannot hold is refused unless an input range
says how to rescale it (convster casts it and wraps around).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import check_nodata, default_nodata, value_range
from .errors import GridMismatchError, InvalidInputError, check_choice
from .executors import Execution
from .kernels import EDGES, Kernel, blur, edge_fill, halo, make_kernel
from .raster_io import (EDGE_NODATA, Block, OutputSpec, RasterInfo, Source, check_output,
                        describe, same_grid)
from .runner import CancelCheck, Progress, run_map
from .value_ranges import Range, check_mapping, map_range
from .windows import Grid, Window, trim


@dataclass(frozen=True)
class FilterOperator:
    """Filters every band of a window; the second block, if any, is the selector band.

    ``halo`` is the kernel radius, cut to the raster's size when pixels beyond
    the edge are nodata (farther pixels would all be invalid, and a kernel
    wider than the raster would otherwise read a block mostly of nothing).
    """

    kernel: Kernel
    grid: Grid
    boundary: str
    halo: int
    in_range: Optional[Range]
    out_range: Optional[Range]
    dtype: str
    fill_nodata: bool = False
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        block = edge_fill(blocks[0], window, self.grid, self.boundary)
        selector = (edge_fill(blocks[1], window, self.grid, self.boundary)
                    if len(blocks) > 1 else None)
        h = self.halo
        shape = (block.data.shape[0], window.height - 2 * h, window.width - 2 * h)
        means, valid = np.empty(shape, np.float32), np.empty(shape, bool)
        for band in range(shape[0]):
            data = block.data[band].astype(np.float32)
            if self.in_range is not None:
                np.clip(data, *self.in_range, out=data)
            if selector is None:
                means[band], weight = blur(data, block.valid[band], self.kernel, radius=h)
            else:
                means[band], weight = self._per_class(data, block.valid[band],
                                                      selector.data[0], selector.valid[0])
            valid[band] = weight > 0
            if not self.fill_nodata:
                valid[band] &= trim(block.valid[band], h)
        return map_range(means, self.in_range, self.out_range, self.dtype), valid

    def _per_class(self, data: np.ndarray, ok: np.ndarray, classes: np.ndarray,
                   classified: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """One pass per class found in the window, each over the bounding box of that
        class's pixels (plus halo), with the other classes invalid."""
        h = self.halo
        inner_classes, inner_classified = trim(classes, h), trim(classified, h)
        mean = np.zeros(inner_classes.shape, np.float32)
        weight = np.zeros(inner_classes.shape, np.float32)
        for value in np.unique(inner_classes[inner_classified]):
            member = inner_classified & (inner_classes == value)
            rows, cols = np.flatnonzero(member.any(axis=1)), np.flatnonzero(member.any(axis=0))
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            reach = (slice(rows[0], rows[-1] + 1 + 2 * h), slice(cols[0], cols[-1] + 1 + 2 * h))
            same = ok[reach] & classified[reach] & (classes[reach] == value)
            class_mean, class_weight = blur(data[reach], same, self.kernel, radius=h)
            target = member[box]
            mean[box][target] = class_mean[target]
            weight[box][target] = class_weight[target]
        return mean, weight


def filter_raster(raster: str, output: str, *, kernel: str = "gaussian",
                  sigma: Optional[float] = None, diameter: Optional[float] = None,
                  truncate: float = 4.0, units: str = "pixels",
                  bands: Optional[Sequence[int]] = None, edge: str = "nodata",
                  selector: Optional[str] = None, selector_band: int = 1,
                  in_range: Optional[Range] = None, out_range: Optional[Range] = None,
                  dtype: str = "float32", nodata: Optional[float] = None,
                  fill_nodata: bool = False, execution: Execution = Execution(),
                  progress: Progress = None, cancelled: CancelCheck = None) -> str:
    """Write the selected bands of ``raster``, filtered, to ``output``.

    Parameters
    ----------
    raster, output : str
        Input raster and GeoTIFF to create (atomically).
    kernel : {'gaussian', 'box', 'disk'}
    sigma, diameter, truncate, units
        Kernel size (see :func:`kernels.make_kernel`): Gaussian by sigma or
        by diameter and truncate; box side or disk diameter; in pixels or
        map units.
    bands : sequence of int, optional
        1-based bands to filter (default: all), one output band each.
    edge : {'nodata', 'nearest', 'reflect'}
        Pixels beyond the raster: left out (the kernel is renormalised over
        the pixels that exist), or the edge pixels repeated or mirrored.
    selector : str, optional
        Raster (on the grid of ``raster``; may be ``raster`` itself) whose
        band ``selector_band`` holds integer classes: the filter runs per
        class and never mixes classes. Pixels without a class are nodata.
    in_range : (low, high), optional
        The input values that map to the ends of ``out_range``; input values
        outside are clipped to it before filtering. None: values are
        written as they are (rounded and clamped to the output type).
    out_range : (low, high), optional
        Output values for the ends of ``in_range``; default 0 to 1 for float
        types and the type's full range for integers. Needs ``in_range``.
    dtype : str
        Output type (integers are rounded, never truncated or wrapped).
    nodata : float, optional
        Output nodata; default NaN for floats and the type's extreme for
        integers. A valid pixel landing on it is moved one step into range.
    fill_nodata : bool
        Also give nodata pixels the mean of their valid neighbours (filling
        holes as wide as the kernel); otherwise they stay nodata.

    Returns
    -------
    str
        ``output``.

    Raises
    ------
    InvalidInputError
        Bad kernel sizes, bands, ranges, output type or nodata; a float
        selector band; an integer input that the output type cannot hold
        without an input range.
    GridMismatchError
        The selector raster is not on the grid of ``raster``.

    Notes
    -----
    Halo = the kernel radius (Gaussian: ``int(truncate * sigma + 0.5)``),
    cut to the raster size with the nodata edge policy. A pixel is nodata
    when no valid pixel (of its class) is within reach, or when it was
    nodata and ``fill_nodata`` is off. Sums are float32 (about 7 digits).

    Examples
    --------
    A 1 x 3 raster [2, nodata, 4] filtered with a box of side 3 and
    ``fill_nodata`` gives [2, 3, 4]: each pixel averages its valid neighbours.
    """
    info = describe(raster)
    check_choice(edge, EDGES, "edge policy")
    chosen = _bands(info, bands)
    the_kernel = make_kernel(kernel, sigma=sigma, diameter=diameter, truncate=truncate,
                             units=units, grid=info.grid)
    in_range, out_range = check_mapping(in_range, out_range, dtype)
    _check_narrowing(info, dtype, in_range)
    nodata = check_nodata(default_nodata(dtype) if nodata is None else nodata, dtype)
    sources = [Source(raster, chosen)]
    if selector is not None:
        sources.append(_selector_source(info, selector, selector_band))
    check_output(output, [raster] + ([selector] if selector else []))
    operator = FilterOperator(the_kernel, info.grid, edge, halo(the_kernel, info.grid, edge),
                              in_range, out_range, dtype, fill_nodata)
    spec = OutputSpec(output, info.grid, len(chosen), dtype, nodata,
                      tuple(f"{kernel} filter of band {band}" for band in chosen),
                      keep_valid=True)
    return run_map(operator, sources, spec, execution=execution, progress=progress,
                   cancelled=cancelled)


def _bands(info: RasterInfo, bands: Optional[Sequence[int]]) -> Tuple[int, ...]:
    chosen = tuple(bands or range(1, info.count + 1))
    for band in chosen:
        if not 1 <= band <= info.count:
            raise InvalidInputError(
                f"band {band} does not exist in '{info.stem}', which has {info.count} band(s)")
    return chosen


def _check_narrowing(info: RasterInfo, dtype: str, in_range: Optional[Range]) -> None:
    """Refuse integer input whose type an integer output cannot hold, unless rescaled."""
    if in_range is not None or np.dtype(info.dtype).kind not in "iu" \
            or np.dtype(dtype).kind not in "iu":
        return
    low, high = value_range(info.dtype)
    out_low, out_high = value_range(dtype)
    if low < out_low or high > out_high:
        raise InvalidInputError(
            f"'{info.stem}' is {info.dtype} ({low} to {high}), which output type {dtype} "
            f"({out_low} to {out_high}) cannot hold: give an input range to rescale it (e.g. "
            f"the data's minimum and maximum) or choose output type float32")


def _selector_source(info: RasterInfo, selector: str, band: int) -> Source:
    """The selector band as a source, after checking its band, type and grid."""
    chosen = describe(selector, "selector raster")
    if not 1 <= band <= chosen.count:
        raise InvalidInputError(f"selector band {band} does not exist in '{chosen.stem}', "
                                f"which has {chosen.count} band(s)")
    if np.dtype(chosen.dtype).kind not in "iu":
        raise InvalidInputError(
            f"selector band {band} of '{chosen.stem}' is {chosen.dtype}: classes must be "
            f"whole numbers of an integer type; reclassify it (or convert it) to integers first")
    try:
        same_grid([info, chosen])
    except GridMismatchError as exc:
        raise GridMismatchError(f"selector band: {exc}") from exc
    return Source(selector, (band,))
