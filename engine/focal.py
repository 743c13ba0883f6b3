"""Focal (moving-window) statistics that skip nodata.

For every pixel, a statistic of the valid cells of its neighbourhood
(:mod:`neighbourhoods`). Cells beyond the raster edge count as nodata, so
windows are truncated at the border (never padded with invented values).

How each statistic is computed, and why it does not depend on tiling:

* sum, mean, std: sums over the footprint, O(1) per pixel for a square
  (opencv's running box sums) and O(rows) otherwise (row prefix sums).
  For integer-valued data every sum is exact in float64, so results are
  bit-identical for any window size; std uses the shift-invariant form
  ``(n*S2 - S1**2) / n**2`` of sums about a per-window integer shift.
* min, max, range: morphological erosion / dilation with invalid cells at
  +inf / -inf.
* median, mode, variety: the valid neighbourhood values of each pixel,
  sorted. The median of an even count is the mean of the two middle values;
  mode ties go to the smallest value. Median on fully valid neighbourhoods
  with an odd cell count takes a fast path: opencv's median blur for 3 x 3
  and 5 x 5 squares on data that float32 holds exactly, scipy's rank filter
  otherwise.

The focal cell itself may be nodata: with target ``valid`` it stays nodata,
with target ``all`` it receives the statistic of its valid neighbours
(filling holes). A pixel with no valid neighbour is nodata either way.

opencv and scipy are imported where used, so the QGIS provider can list this
algorithm (and explain what to install) on a Python that lacks them.
"""

import dataclasses
import functools
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .dtypes import DTYPES, check_dtype, check_nodata, default_nodata
from .errors import InvalidInputError, check_choice
from .executors import Execution
from .neighbourhoods import Neighbourhood, runs
from .raster_io import EDGE_NODATA, Block, OutputSpec, Source, check_output, describe
from .runner import CancelCheck, Progress, run_map
from .windows import Grid, Window, trim

TARGETS = ("valid", "all")
UNITS = ("pixels", "map units")
_STACK_BYTES = 32 * 2 ** 20


class _Focal:
    """One band of one window: the values, validity and footprint, with shared sums."""

    def __init__(self, values: np.ndarray, valid: np.ndarray, footprint: np.ndarray):
        self.valid = valid
        self.float32_exact = values.dtype == np.float32 or (
            values.dtype.kind in "ui" and values.dtype.itemsize <= 2)
        self.values = np.where(valid, values.astype(np.float64), 0.0)
        self.footprint = footprint
        self.e = footprint.shape[0] // 2
        self.shape = (valid.shape[0] - 2 * self.e, valid.shape[1] - 2 * self.e)
        self.runs = runs(footprint)

    @functools.cached_property
    def count(self) -> np.ndarray:
        return self.sum(self.valid.astype(np.float64))

    def sum(self, array: np.ndarray) -> np.ndarray:
        """Sum of ``array`` (outer shape) over the footprint, for the inner pixels."""
        h, w = self.shape
        e = self.e
        if self.footprint.all():
            import cv2

            size = 2 * e + 1
            return trim(cv2.boxFilter(array, -1, (size, size), normalize=False,
                                      borderType=cv2.BORDER_CONSTANT), e)
        prefix = np.zeros((array.shape[0], array.shape[1] + 1))
        np.cumsum(array, axis=1, out=prefix[:, 1:])
        total = np.zeros((h, w))
        for dy, first, last in self.runs:
            band = prefix[e + dy:e + dy + h]
            total += band[:, e + last + 1:e + last + 1 + w] - band[:, e + first:e + first + w]
        return total

    def morphology(self, name: str, fill: float) -> np.ndarray:
        import cv2

        operation = getattr(cv2, name)
        filled = np.where(self.valid, self.values, fill)
        kernel = self.footprint.astype(np.uint8)
        return trim(operation(filled, kernel, borderType=cv2.BORDER_REPLICATE), self.e)

    @functools.cached_property
    def with_nan(self) -> np.ndarray:
        return np.where(self.valid, self.values, np.nan)

    def neighbours(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Sorted neighbourhood values (M, K) of inner pixels (rows, cols); nodata as NaN last."""
        offsets = np.argwhere(self.footprint)
        stack = np.empty((rows.size, len(offsets)))
        for k, (dy, dx) in enumerate(offsets):
            stack[:, k] = self.with_nan[rows + dy, cols + dx]
        stack.sort(axis=1)
        return stack

    def chunks(self, rows: np.ndarray, cols: np.ndarray):
        """(rows, cols, sorted neighbours) in chunks small enough to bound memory."""
        step = max(1, _STACK_BYTES // (8 * int(self.footprint.sum())))
        for start in range(0, rows.size, step):
            r, c = rows[start:start + step], cols[start:start + step]
            yield r, c, self.neighbours(r, c)


def _sum(f: _Focal) -> np.ndarray:
    return f.sum(f.values)


def _mean(f: _Focal) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return f.sum(f.values) / f.count


def _std(f: _Focal) -> np.ndarray:
    shift = np.round(f.values[f.valid].mean()) if f.valid.any() else 0.0
    centred = np.where(f.valid, f.values - shift, 0.0)
    s1, s2, n = f.sum(centred), f.sum(centred * centred), f.count
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.maximum(n * s2 - s1 * s1, 0.0)) / n


def _min(f: _Focal) -> np.ndarray:
    return f.morphology("erode", np.inf)


def _max(f: _Focal) -> np.ndarray:
    return f.morphology("dilate", -np.inf)


def _range(f: _Focal) -> np.ndarray:
    return _max(f) - _min(f)


def _per_pixel(f: _Focal, reduce, where: Optional[np.ndarray] = None,
               out: Optional[np.ndarray] = None) -> np.ndarray:
    """Apply ``reduce(sorted_neighbours, counts)`` to the inner pixels selected by ``where``."""
    out = np.full(f.shape, np.nan) if out is None else out
    rows, cols = np.nonzero(f.count > 0 if where is None else where)
    for r, c, stack in f.chunks(rows, cols):
        out[r, c] = reduce(stack, f.count[r, c].astype(np.int64))
    return out


def _median_of_sorted(stack: np.ndarray, counts: np.ndarray) -> np.ndarray:
    low = np.take_along_axis(stack, ((counts - 1) // 2)[:, None], axis=1)[:, 0]
    high = np.take_along_axis(stack, (counts // 2)[:, None], axis=1)[:, 0]
    return (low + high) / 2.0


def _median(f: _Focal) -> np.ndarray:
    from scipy import ndimage

    cells = int(f.footprint.sum())
    if cells % 2 == 0:
        return _per_pixel(f, _median_of_sorted)
    if f.float32_exact and f.footprint.all() and f.footprint.shape[0] in (3, 5):
        import cv2

        fast = trim(cv2.medianBlur(f.values.astype(np.float32), f.footprint.shape[0]),
                    f.e).astype(np.float64)
    else:
        fast = trim(ndimage.median_filter(f.values, footprint=f.footprint, mode="nearest"),
                    f.e)
    partial = (f.count > 0) & (f.count < cells)
    return _per_pixel(f, _median_of_sorted, where=partial, out=fast)


def _runs_reduce(stack: np.ndarray, counts: np.ndarray, want_mode: bool) -> np.ndarray:
    best_value, best_length = stack[:, 0].copy(), np.ones(len(stack), dtype=np.int64)
    run = np.ones(len(stack), dtype=np.int64)
    distinct = np.ones(len(stack), dtype=np.int64)
    for k in range(1, stack.shape[1]):
        inside = k < counts
        same = stack[:, k] == stack[:, k - 1]
        run = np.where(same, run + 1, 1)
        distinct += inside & ~same
        better = inside & (run > best_length)
        best_length = np.where(better, run, best_length)
        best_value = np.where(better, stack[:, k], best_value)
    return best_value if want_mode else distinct.astype(np.float64)


def _mode(f: _Focal) -> np.ndarray:
    return _per_pixel(f, functools.partial(_runs_reduce, want_mode=True))


def _variety(f: _Focal) -> np.ndarray:
    return _per_pixel(f, functools.partial(_runs_reduce, want_mode=False))


#: statistic name -> function of one band's window
STATISTICS = {
    "mean": _mean, "min": _min, "max": _max, "sum": _sum, "std": _std,
    "median": _median, "mode": _mode, "range": _range, "variety": _variety,
}
_KEEPS_INPUT_TYPE = ("min", "max", "mode")


@dataclass(frozen=True)
class FocalOperator:
    """Computes one focal statistic for every band of a window; halo = neighbourhood extent."""

    statistic: str
    footprint: np.ndarray
    target: str
    halo: int
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        block = blocks[0]
        inner = (block.data.shape[0],) + (window.height - 2 * self.halo,
                                          window.width - 2 * self.halo)
        values, valid = np.empty(inner), np.empty(inner, dtype=bool)
        for band in range(block.data.shape[0]):
            focal = _Focal(block.data[band], block.valid[band], self.footprint)
            values[band] = STATISTICS[self.statistic](focal)
            valid[band] = focal.count > 0
            if self.target == "valid":
                valid[band] &= trim(block.valid[band], self.halo)
        return values, valid


def pixels_from_map_units(distance: float, grid: Grid) -> float:
    """A distance in map units expressed in pixels (mean of the x and y pixel sizes)."""
    return distance / (sum(grid.res) / 2.0)


def focal_statistics(raster: str, output: str, *, statistic: str = "mean",
                     neighbourhood: Neighbourhood = Neighbourhood(), units: str = "pixels",
                     bands: Optional[List[int]] = None, target: str = "valid",
                     dtype: Optional[str] = None, nodata: Optional[float] = None,
                     execution: Execution = Execution(), progress: Progress = None,
                     cancelled: CancelCheck = None) -> str:
    """Write the focal ``statistic`` of each selected band of ``raster`` to ``output``.

    Parameters
    ----------
    raster, output : str
        Input raster and GeoTIFF to create (atomically).
    statistic : str
        One of :data:`STATISTICS`.
    neighbourhood : Neighbourhood
        Shape and sizes (radius and inner radius) in ``units``.
    units : {'pixels', 'map units'}
        Unit of the neighbourhood sizes; map units are divided by the mean
        pixel size (see :func:`pixels_from_map_units`).
    bands : list of int, optional
        1-based bands to process (default: all), one output band each.
    target : {'valid', 'all'}
        Compute at valid focal cells only, or also fill nodata cells.
    dtype : str, optional
        Output type; default keeps the input type for min, max and mode,
        uint16 for variety, float32 (float64 for float64 input) otherwise.
    nodata : float, optional
        Output nodata; default the input's when the type is kept, else NaN
        for floats and the type's extreme for integers.

    Returns
    -------
    str
        ``output``.

    Notes
    -----
    Halo = the neighbourhood's extent ``e``; edge policy: outside is nodata.

    Examples
    --------
    A 3 x 3 raster of 1..9 with a radius-1 square gives a centre mean of 5
    and a corner mean of (1 + 2 + 4 + 5) / 4 = 3.
    """
    check_choice(statistic, STATISTICS, "statistic")
    check_choice(target, TARGETS, "target")
    if units not in UNITS:
        raise InvalidInputError(f"units '{units}' are unknown: choose one of {', '.join(UNITS)}")
    info = describe(raster)
    if units == "map units":
        neighbourhood = dataclasses.replace(
            neighbourhood, radius=pixels_from_map_units(neighbourhood.radius, info.grid),
            inner=pixels_from_map_units(neighbourhood.inner, info.grid))
    chosen = tuple(bands or range(1, info.count + 1))
    for band in chosen:
        if not 1 <= band <= info.count:
            raise InvalidInputError(
                f"band {band} does not exist in '{info.stem}', which has {info.count} band(s)")
    footprint = neighbourhood.footprint()
    out_type, nodata = _output_type(statistic, info, dtype, nodata)
    check_output(output, [raster])
    operator = FocalOperator(statistic, footprint, target, footprint.shape[0] // 2)
    spec = OutputSpec(output, info.grid, len(chosen), out_type, nodata,
                      tuple(f"{statistic} of band {band}" for band in chosen))
    return run_map(operator, [Source(raster, chosen)], spec, execution=execution,
                   progress=progress, cancelled=cancelled)


def _output_type(statistic, info, dtype, nodata):
    if dtype is None:
        if statistic in _KEEPS_INPUT_TYPE and info.dtype in DTYPES:
            dtype = info.dtype
        elif statistic == "variety":
            dtype = "uint16"
        else:
            dtype = "float64" if info.dtype == "float64" else "float32"
    out_type = check_dtype(dtype)
    if nodata is None:
        kept = out_type.name == info.dtype and info.nodata is not None
        nodata = info.nodata if kept else default_nodata(out_type)
    return out_type.name, check_nodata(nodata, out_type)
