"""Warping a raster onto another pixel grid, window by window: where each output pixel
comes from in the source raster, and how its value is made there.

Where. A :class:`PixelMap` maps positions in the output grid (fractional columns and
rows; pixel ``k`` spans ``[k, k + 1)``, its centre is ``k + 0.5``) to positions in the
source raster. Between grids of one CRS the map is affine and exact. Between CRSs, exact
transforms (pyproj) are computed at the nodes of a lattice anchored to the output grid
(every ``step`` pixels, from pixel 0) and interpolated bilinearly in between;
:func:`pixel_map` picks, once per job, the largest step whose error at the lattice cell
centres stays below :data:`MAX_ERROR` source pixels (GDAL's default ``-et``). So the
source position of an output pixel depends on the pixel only, never on the window it is
computed in, and tiling is invisible.

How (see :data:`RESAMPLINGS`), as GDAL's warper does it:

* ``nearest``: the source pixel containing the position;
* ``bilinear``, ``cubic`` (Keys, a = -0.5) and ``lanczos`` (3 lobes): the source pixels
  around the position, weighted by the kernel; when the output is coarser than the source
  the kernel is widened by the factor (``zoom`` < 1), so downsampling does not alias;
* ``average``: the source pixels under the output pixel's footprint (its corners mapped
  into the source), each weighted by the fraction of it covered;
* ``mode``: under the same footprint, the value covering the largest area (ties: the
  smallest value).

Nodata. Invalid source pixels never contribute: weights are renormalised over the valid
ones (bilinear, average, mode); cubic and lanczos, whose weights can be negative, fall
back to bilinear where any of their pixels is invalid (as GDAL's cubic does), so holes
and edges cause no ringing. An output pixel is valid exactly where the source pixel
containing its centre is valid, whatever the method (the rule of :mod:`resample`, and
GDAL's): footprints neither grow nor shrink with the method.
"""

import functools
import math
import threading
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from .errors import check_choice
from .raster_io import EDGE_NODATA, Block, Source, read_block
from .windows import Grid, Window, same_crs

RESAMPLINGS = ("nearest", "bilinear", "cubic", "average", "lanczos", "mode")
#: Methods that weight the pixels around a point (the others use footprints or one pixel).
KERNELS = ("bilinear", "cubic", "lanczos")
#: Largest error, in source pixels, of interpolated reprojection coordinates.
MAX_ERROR = 0.125
#: Lattice steps tried, coarsest first (powers of two, so positions divide exactly).
STEPS = (64, 32, 16, 8, 4, 2, 1)
#: Lattice cells whose centres are checked at most (a regular subset beyond that).
CHECKED_CELLS = 2 ** 16
#: A position this close to a pixel edge counts as past it (GDAL's tolerance).
EDGE = 1e-10
#: Values gathered per strip of a window at most (pixels x taps x bands): bounds memory
#: when one output pixel draws on many source pixels (coarse output, mode).
STRIP_BUDGET = 2 ** 22


def check_resampling(method: str) -> str:
    """``method`` if it is one of :data:`RESAMPLINGS`, else an error listing them."""
    check_choice(method, RESAMPLINGS, "resampling")
    return method


_LOCAL = threading.local()


def transformer(from_crs: str, to_crs: str):
    """This thread's pyproj transformer from ``from_crs`` to ``to_crs`` (x, y order; kept
    for reuse, as pyproj transformers must not be shared between threads)."""
    cache = _LOCAL.__dict__.setdefault("transformers", {})
    key = (from_crs, to_crs)
    if key not in cache:
        from pyproj import CRS, Transformer

        cache[key] = Transformer.from_crs(CRS.from_user_input(from_crs),
                                          CRS.from_user_input(to_crs), always_xy=True)
    return cache[key]


def apply(transform, x, y):
    """``transform`` (affine.Affine) applied to coordinates ``x``, ``y`` (numbers or arrays),
    written out: affine's ``*`` on points is deprecated in affine 3."""
    t = transform
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def pixel_affine(source, target):
    """The affine map from pixel positions of grid transform ``target`` to pixel positions
    of grid transform ``source`` (``~source * target``, written out)."""
    from affine import Affine

    s, t = ~source, target
    return Affine(s.a * t.a + s.b * t.d, s.a * t.b + s.b * t.e, s.a * t.c + s.b * t.f + s.c,
                  s.d * t.a + s.e * t.d, s.d * t.b + s.e * t.e, s.d * t.c + s.e * t.f + s.f)


@dataclass(frozen=True)
class PixelMap:
    """Output grid positions -> source raster positions (see the module notes).

    ``source`` and ``target`` are the affine transforms of the source raster and of the
    output grid; ``source_crs``/``target_crs`` are set when the map reprojects, and
    ``step`` is then the lattice step (0: exact affine map).
    """

    source: Any
    target: Any
    source_crs: Optional[str] = None
    target_crs: Optional[str] = None
    step: int = 0

    def points(self, rows: np.ndarray, cols: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Exact source (x, y) of output positions given as same-shaped arrays."""
        if not self.step:
            return apply(pixel_affine(self.source, self.target), cols, rows)
        x, y = transformer(self.target_crs, self.source_crs).transform(
            *apply(self.target, cols, rows))
        return apply(~self.source, np.asarray(x, float), np.asarray(y, float))

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Source (x, y) of every output position ``rows`` x ``cols`` (1-D arrays): arrays
        broadcastable to (rows, cols); interpolated on the lattice when reprojecting."""
        if self.step:
            return self._interpolated(rows, cols)
        m = pixel_affine(self.source, self.target)
        if m.b == 0 and m.d == 0:
            return (m.a * cols + m.c)[None, :], (m.e * rows + m.f)[:, None]
        return (m.a * cols[None, :] + m.b * rows[:, None] + m.c,
                m.d * cols[None, :] + m.e * rows[:, None] + m.f)

    def _interpolated(self, rows, cols):
        """Bilinear interpolation between lattice nodes (exact at the nodes): first along
        columns, then along rows, from global node indices, so every window computes the
        same value for a pixel."""
        step = self.step
        node_row = np.floor(rows / step).astype(np.int64)
        node_col = np.floor(cols / step).astype(np.int64)
        first_row, first_col = node_row.min(), node_col.min()
        node_rows = np.arange(first_row, node_row.max() + 2) * float(step)
        node_cols = np.arange(first_col, node_col.max() + 2) * float(step)
        nodes = self.points(*np.meshgrid(node_rows, node_cols, indexing="ij"))
        across = (cols - node_col * step) / step
        down = ((rows - node_row * step) / step)[:, None]
        left, top = node_col - first_col, node_row - first_row
        out = []
        for values in nodes:
            along = values[:, left] * (1 - across) + values[:, left + 1] * across
            rise = along[1:] - along[:-1]
            result = np.empty((rows.size, cols.size))
            for node in np.unique(top):  # the rows between two node rows, at once
                band = slice(np.searchsorted(top, node), np.searchsorted(top, node, "right"))
                np.multiply(rise[node], down[band], out=result[band])
                result[band] += along[node]
            out.append(result)
        return out[0], out[1]


def pixel_map(source: Grid, target: Grid) -> PixelMap:
    """The map from ``target`` (output) positions to ``source`` positions; for a
    reprojection, with the coarsest lattice step that keeps errors below :data:`MAX_ERROR`."""
    if same_crs(source.crs, target.crs):
        return PixelMap(source.transform, target.transform)
    for step in STEPS:
        pixels = PixelMap(source.transform, target.transform, source.crs, target.crs, step)
        if lattice_error(pixels, target) < MAX_ERROR:
            break
    return pixels


def lattice_error(pixels: PixelMap, grid: Grid) -> float:
    """Largest distance (source pixels, per axis) between the exact and the interpolated
    source position of the centres of ``pixels``' lattice cells over ``grid`` (every cell
    up to :data:`CHECKED_CELLS`, else a regular subset). Unprojectable points are skipped."""
    step = pixels.step
    cell_rows, cell_cols = math.ceil(grid.height / step), math.ceil(grid.width / step)
    stride = max(1, math.ceil(math.sqrt(cell_rows * cell_cols / CHECKED_CELLS)))
    top = np.arange(0, cell_rows, stride) * float(step)
    left = np.arange(0, cell_cols, stride) * float(step)

    def exact(rows, cols):
        return pixels.points(*np.meshgrid(rows, cols, indexing="ij"))

    corners = [exact(top + dr, left + dc) for dr in (0, step) for dc in (0, step)]
    centre = exact(top + step / 2, left + step / 2)
    worst = 0.0
    for axis in (0, 1):
        error = np.abs(sum(corner[axis] for corner in corners) / 4 - centre[axis])
        error = error[np.isfinite(error)]
        if error.size:
            worst = max(worst, float(error.max()))
    return worst


def zoom(pixels: PixelMap, grid: Grid) -> Tuple[float, float]:
    """Output pixels per source pixel along columns and rows (GDAL's warp scale), averaged
    over a 5 x 5 sample of ``grid``; a factor within 0.05 of 1/n (n whole) is snapped to it."""
    cols, rows = np.meshgrid((np.arange(5) + 0.5) * grid.width / 5,
                             (np.arange(5) + 0.5) * grid.height / 5)
    x, y = pixels.points(rows, cols)
    scales = []
    for d_row, d_col in ((0, 1), (1, 0)):
        x1, y1 = pixels.points(rows + d_row, cols + d_col)
        length = np.hypot(x1 - x, y1 - y)
        length = length[np.isfinite(length) & (length > 0)]
        scale = 1.0 / float(length.mean()) if length.size else 1.0
        if scale < 1.0 and abs(1.0 / scale - round(1.0 / scale)) < 0.05:
            scale = 1.0 / round(1.0 / scale)
        scales.append(scale)
    return scales[0], scales[1]


# ------------------------------------------------------------------------------- kernels

def _triangle(t: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(t))


def _keys(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (GDAL's cubic)."""
    a = np.abs(t)
    a2 = a * a
    return np.where(a <= 1.0, a2 * (1.5 * a - 2.5) + 1.0,
                    np.where(a <= 2.0, a2 * (-0.5 * a + 2.5) - 4.0 * a + 2.0, 0.0))


def _lanczos(t: np.ndarray) -> np.ndarray:
    """Lanczos windowed sinc with 3 lobes."""
    pt = np.pi * t
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.sin(pt) * np.sin(pt / 3.0) / (pt * pt / 3.0)
    return np.where(t == 0, 1.0, np.where(np.abs(t) < 3.0, w, 0.0))


#: Kernel radius (source pixels at zoom 1) and weight function of each kernel method.
FILTERS = {"bilinear": (1, _triangle), "cubic": (2, _keys), "lanczos": (3, _lanczos)}


def _scales(method: str, zooms: Tuple[float, float]) -> Tuple[float, float]:
    """The factor applied to kernel arguments per axis: the zoom where the output is
    coarser (the kernel widens by 1/zoom), else 1; as in GDAL, bilinear and cubic keep
    their 2 x 2 and 4 x 4 form down to a zoom of 0.95."""
    if method in ("bilinear", "cubic") and min(zooms) >= 0.95:
        return 1.0, 1.0
    return min(zooms[0], 1.0), min(zooms[1], 1.0)


def _taps(radius: int, scale: float) -> range:
    """Offsets from ``floor(position - 0.5)`` of the source pixels a kernel of ``radius``
    widened by ``1 / scale`` can weight: those less than ``radius / scale`` away."""
    half = radius / scale
    return range(math.floor(-half) + 1, math.ceil(1 + half))


def _work_type(dtype) -> np.dtype:
    """float32 where it holds every value exactly (8/16-bit integers, float32), else float64."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64)


@dataclass
class _Crop:
    """A source block read for a strip: its top-left pixel, which output pixels have their
    nearest source pixel inside the raster, and the flat index the others are given (a
    pixel of the block from which every tap stays inside it; their values are dropped)."""

    block: Block
    top: int
    left: int
    inside: np.ndarray
    home: int = 0

    @property
    def width(self) -> int:
        return self.block.data.shape[2]

    @functools.cached_property
    def whole(self) -> bool:
        """True when every pixel of the block is valid."""
        return bool(self.block.valid.all())

    @functools.cached_property
    def mask(self) -> np.ndarray:
        """The block's validity, with one band when every band has the same mask (one
        gather then serves them all)."""
        valid = self.block.valid
        return valid[:1] if (valid == valid[:1]).all() else valid

    def index(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flat indices into the block of source pixels (rows, cols): whole numbers in
        arrays broadcastable to the strip."""
        with np.errstate(invalid="ignore"):  # unknown positions (inf, NaN) are not inside
            flat = (rows - self.top) * self.width + (cols - self.left)
        if not self.inside.all():
            flat = np.where(self.inside, flat, self.home)
        return flat.astype(np.intp)

    def gather(self, index: np.ndarray, data: Optional[np.ndarray] = None) -> np.ndarray:
        """Values (bands, ...) of the block (or of ``data`` shaped like it) at flat ``index``."""
        values = self.block.data if data is None else data
        return np.take(values.reshape(values.shape[0], -1), index, axis=1)

    def validity(self, index: np.ndarray) -> np.ndarray:
        """Validity (bands, ...) of the block's pixels at flat ``index``."""
        shape = (self.block.valid.shape[0],) + index.shape
        if self.whole:
            return np.ones(shape, bool)
        return np.broadcast_to(self.gather(index, self.mask), shape).copy()


def _inside(size: Tuple[int, int], near_rows: np.ndarray, near_cols: np.ndarray) -> np.ndarray:
    """Output pixels whose nearest source pixel (NaN: none) lies in a raster of ``size``."""
    if (near_rows.min() >= 0 and near_rows.max() < size[0]  # False with NaN: full test
            and near_cols.min() >= 0 and near_cols.max() < size[1]):
        return np.ones(np.broadcast_shapes(near_rows.shape, near_cols.shape), bool)
    return ((near_rows >= 0) & (near_rows < size[0])) & ((near_cols >= 0) & (near_cols < size[1]))


def _span(values: np.ndarray, inside: np.ndarray) -> Tuple[int, int]:
    """Smallest and largest of ``values`` (broadcast to the strip) over ``inside`` pixels."""
    chosen = values if inside.all() else np.broadcast_to(values, inside.shape)[inside]
    return int(chosen.min()), int(chosen.max())


def _crop(source: Source, inside: np.ndarray, rows: Tuple, cols: Tuple,
          home: Tuple[int, int] = (0, 0)) -> _Crop:
    """Read the block spanning, over ``inside`` pixels, the lowest of ``rows[0]`` to the
    highest of ``rows[1]`` (inclusive; whole-number arrays), and likewise ``cols``;
    ``home`` (row, col) in the block is where the other pixels point."""
    top, bottom = _span(rows[0], inside)[0], _span(rows[1], inside)[1]
    left, right = _span(cols[0], inside)[0], _span(cols[1], inside)[1]
    block = read_block(source, Window(top, left, bottom - top + 1, right - left + 1), EDGE_NODATA)
    return _Crop(block, top, left, inside, home[0] * (right - left + 1) + home[1])


def _nearest_pixels(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(row, col) of the source pixel containing each position, as floats (NaN where the
    position is unknown)."""
    return np.floor(y + EDGE), np.floor(x + EDGE)


def _empty(bands: int, shape) -> Tuple[np.ndarray, np.ndarray]:
    return np.zeros((bands,) + shape, np.float32), np.zeros((bands,) + shape, bool)


def sample(source: Source, size: Tuple[int, int], bands: int, x: np.ndarray, y: np.ndarray,
           method: str, zooms: Tuple[float, float] = (1.0, 1.0)):
    """Values (bands, rows, cols) and validity of ``source`` (``size`` = its height, width)
    at source positions ``x``, ``y`` (arrays broadcastable to (rows, cols)) by ``nearest``
    or a kernel method; ``zooms`` are the output pixels per source pixel (see :func:`zoom`).
    """
    near_rows, near_cols = _nearest_pixels(x, y)
    inside = _inside(size, near_rows, near_cols)
    if not inside.any():
        return _empty(bands, inside.shape)
    if method == "nearest":
        crop = _crop(source, inside, (near_rows, near_rows), (near_cols, near_cols))
        index = crop.index(near_rows, near_cols)
        return crop.gather(index), crop.validity(index) & inside
    radius, _ = FILTERS[method]
    scales = _scales(method, zooms)
    taps = (_taps(radius, scales[1]), _taps(radius, scales[0]))
    base_rows, base_cols = np.floor(y - 0.5), np.floor(x - 0.5)
    crop = _crop(source, inside, (base_rows + taps[0][0], base_rows + taps[0][-1]),
                 (base_cols + taps[1][0], base_cols + taps[1][-1]), (-taps[0][0], -taps[1][0]))
    fractions = (y - 0.5 - base_rows, x - 0.5 - base_cols)
    data = crop.block.data if crop.whole else np.where(crop.block.valid, crop.block.data, 0)
    base = crop.index(base_rows, base_cols)
    values, complete = _convolve(crop, data, base, method, taps, scales, fractions)
    if complete is not None and method != "bilinear" and not complete.all():
        scales = _scales("bilinear", zooms)
        taps = (_taps(1, scales[1]), _taps(1, scales[0]))
        fallback, _ = _convolve(crop, data, base, "bilinear", taps, scales, fractions)
        values = np.where(complete, values, fallback)
    return values, crop.validity(crop.index(near_rows, near_cols)) & inside


def _convolve(crop: _Crop, data: np.ndarray, base: np.ndarray, method: str, taps, scales,
              fractions):
    """Kernel-weighted mean of the valid pixels around each position: (values, complete),
    ``complete`` telling where every weighted pixel was valid (None: all were). ``data`` is
    the block with invalid values zeroed. The sums run in one fixed order and give the same
    numbers with or without nodata in the block, so a pixel's value never depends on the
    block it was computed from."""
    _, weight = FILTERS[method]
    work = _work_type(data.dtype)
    valid = None if crop.whole else crop.mask
    along_rows, along_cols = (fraction.astype(work) for fraction in fractions)
    row_weights = [weight((k - along_rows) * work.type(scales[1])) for k in taps[0]]
    col_weights = [weight((k - along_cols) * work.type(scales[0])) for k in taps[1]]
    total = norm = complete = None
    for dr, row_weight in zip(taps[0], row_weights):
        for dc, col_weight in zip(taps[1], col_weights):
            w = row_weight * col_weight
            index = base + (dr * crop.width + dc)
            term = crop.gather(index, data) * w
            if valid is None:
                mass = w
            else:
                ok = crop.gather(index, valid)
                mass = ok * w
                if method != "bilinear":
                    complete = ok if complete is None else complete & ok
            if total is None:
                total, norm = term, mass.copy()
            else:
                total += term
                norm += mass
    return np.divide(total, norm, out=np.zeros_like(total), where=norm != 0), complete


def aggregate(source: Source, size: Tuple[int, int], bands: int, corners: Tuple, centres: Tuple,
              method: str):
    """``average`` or ``mode`` of ``source`` under each output pixel's footprint: the box
    spanned by the source positions of its top-left and bottom-right corners (``corners``:
    x, y of the output pixel corners, one more row and column than pixels), each source
    pixel weighted by the fraction of it inside. ``centres`` (x, y) decide validity."""
    near_rows, near_cols = _nearest_pixels(*centres)
    inside = _inside(size, near_rows, near_cols)
    if not inside.any():
        return _empty(bands, inside.shape)
    boxes = [_footprint(c, near, inside.shape) for c, near in ((corners[1], near_rows),
                                                                (corners[0], near_cols))]
    (_, _, first_row, stop_row), (_, _, first_col, stop_col) = boxes
    rows = (np.minimum(first_row, near_rows), np.maximum(stop_row - 1, near_rows))
    cols = (np.minimum(first_col, near_cols), np.maximum(stop_col - 1, near_cols))
    crop = _crop(source, inside, rows, cols)
    near = crop.index(near_rows, near_cols)
    bottom, right = crop.top + crop.block.data.shape[1] - 1, crop.left + crop.width - 1
    along = []
    for (low, high, first, stop), last in zip(boxes, (bottom, right)):
        span = _span(stop - first, inside)[1]
        covers = []
        for k in range(span):
            pixel = first + k
            cover = np.clip(np.minimum(pixel + 1, high) - np.maximum(pixel, low), 0.0, 1.0)
            covers.append((np.minimum(pixel, last), np.where(pixel < stop, cover, 0.0)))
        along.append(covers)
    candidates = []
    for row, row_cover in along[0]:
        for col, col_cover in along[1]:
            index = crop.index(row, col)
            w = row_cover * col_cover
            candidates.append((crop.gather(index),
                               np.where(crop.validity(index) & inside & (w > 0), w, 0.0)))
    values, found = (_average if method == "average" else _mode)(candidates)
    return np.where(found, values, crop.gather(near)), crop.validity(near) & inside


def _footprint(corner: np.ndarray, near: np.ndarray, shape):
    """Along one axis: (low, high) source positions of each output pixel's footprint, and
    the first and one-past-last source pixel it touches (GDAL's 1e-10 tolerance). A corner
    that cannot be projected leaves the footprint of the ``near`` (nearest) pixel."""
    corner = np.broadcast_to(corner, (shape[0] + 1, shape[1] + 1))
    a, b = corner[:-1, :-1], corner[1:, 1:]
    low, high = np.minimum(a, b), np.maximum(a, b)
    known = np.isfinite(low) & np.isfinite(high)
    if not known.all():
        low, high = np.where(known, low, near), np.where(known, high, near + 1)
    first = np.floor(low + EDGE)
    stop = np.maximum(np.ceil(high - EDGE), first + 1)
    return low, high, first, stop


def _average(candidates: List[Tuple[np.ndarray, np.ndarray]]):
    """Coverage-weighted mean of the candidates with weight > 0, and where there was one."""
    total = np.zeros(candidates[0][0].shape)
    norm = np.zeros(total.shape)
    for values, w in candidates:
        total += np.where(w > 0, values * w, 0.0)
        norm += w
    found = norm > 0
    return total / np.where(found, norm, 1.0), found


def _mode(candidates: List[Tuple[np.ndarray, np.ndarray]]):
    """The candidate value with the largest summed weight (ties within 1e-9: the smallest
    value), and where there was one."""
    keys = np.stack([np.where(w > 0, values.astype(np.float64), np.inf)
                     for values, w in candidates], axis=-1)
    weights = np.stack([w for _, w in candidates], axis=-1)
    order = np.argsort(keys, axis=-1, kind="stable")  # each pixel's candidates, contiguous
    keys = np.moveaxis(np.take_along_axis(keys, order, axis=-1), -1, 0).copy()
    weights = np.moveaxis(np.take_along_axis(weights, order, axis=-1), -1, 0).copy()
    run = weights[0].copy()
    best, best_weight = keys[0].copy(), run.copy()
    same, better = np.empty(run.shape, bool), np.empty(run.shape, bool)
    for k in range(1, len(keys)):  # runs of equal values; missing ones (inf) weigh 0
        np.equal(keys[k], keys[k - 1], out=same)
        run *= same
        run += weights[k]
        np.greater(run, best_weight + 1e-9, out=better)
        np.copyto(best, keys[k], where=better)
        np.copyto(best_weight, run, where=better)
    found = np.isfinite(best)
    return np.where(found, best, 0.0), found


# ------------------------------------------------------------------------------ operator

@dataclass(frozen=True, eq=False)
class WarpOperator:
    """Runner operator: the output window of ``source`` warped through ``pixels`` by
    ``method``; reads its source itself (the runner passes no blocks), in strips of at most
    :data:`STRIP_BUDGET` gathered values. With ``shift`` (row, col) the output grid is the
    source's own pixels at an integer offset, and windows are plain reads."""

    source: Source
    size: Tuple[int, int]
    bands: int
    pixels: PixelMap
    method: str
    zooms: Tuple[float, float] = (1.0, 1.0)
    shift: Optional[Tuple[int, int]] = None
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        if self.shift is not None:
            block = read_block(self.source, Window(window.row + self.shift[0],
                                                   window.col + self.shift[1],
                                                   window.height, window.width))
            return block.data, block.valid
        rows = max(1, STRIP_BUDGET // (window.width * self.bands * self.cost()))
        parts = [self._strip(Window(row, window.col, min(rows, window.row_stop - row),
                                    window.width))
                 for row in range(window.row, window.row_stop, rows)]
        if len(parts) == 1:
            return parts[0]
        return (np.concatenate([p[0] for p in parts], axis=1),
                np.concatenate([p[1] for p in parts], axis=1))

    def cost(self) -> int:
        """Source pixels read or gathered per output pixel: the kernel's or footprint's
        taps, or for nearest the source pixels it skips over."""
        if self.method == "nearest":
            return max(1, math.ceil(1 / (self.zooms[0] * self.zooms[1])))
        if self.method in KERNELS:
            radius, _ = FILTERS[self.method]
            scales = _scales(self.method, self.zooms)
            return len(_taps(radius, scales[0])) * len(_taps(radius, scales[1]))
        return (math.ceil(1 / self.zooms[0]) + 1) * (math.ceil(1 / self.zooms[1]) + 1)

    def _strip(self, window: Window):
        rows = np.arange(window.row, window.row_stop, dtype=float)
        cols = np.arange(window.col, window.col_stop, dtype=float)
        centres = self.pixels(rows + 0.5, cols + 0.5)
        if self.method in ("average", "mode"):
            corners = self.pixels(np.append(rows, rows[-1] + 1), np.append(cols, cols[-1] + 1))
            return aggregate(self.source, self.size, self.bands, corners, centres, self.method)
        return sample(self.source, self.size, self.bands, *centres, self.method, self.zooms)


def warp_operator(path: str, source: Grid, bands: int, target: Grid, method: str) -> WarpOperator:
    """The operator that warps raster ``path`` (on grid ``source``, ``bands`` bands) onto
    ``target`` by ``method``; a plain read at an offset when ``target`` is the source's own
    pixel lattice."""
    check_resampling(method)
    pixels = pixel_map(source, target)
    shift = None if pixels.step else _integer_shift(pixel_affine(pixels.source, pixels.target))
    return WarpOperator(Source(path), (source.height, source.width), bands, pixels, method,
                        zoom(pixels, target), shift)


def _integer_shift(m) -> Optional[Tuple[int, int]]:
    """(row, col) offset when the affine map ``m`` between pixel grids is a whole-pixel
    translation, else None."""
    if abs(m.a - 1) > 1e-9 or abs(m.e - 1) > 1e-9 or abs(m.b) > 1e-12 or abs(m.d) > 1e-12:
        return None
    if abs(m.c - round(m.c)) > 1e-6 or abs(m.f - round(m.f)) > 1e-6:
        return None
    return int(round(m.f)), int(round(m.c))
