"""Align rasters: one output per input, all in one CRS, at one pixel size and on one pixel
lattice, so later steps (mosaic, differences, stacking) read them at whole-pixel offsets
without resampling again.

The lattice has pixel edges at ``origin + k * resolution``. Its origin is

* with ``target_grid``: that raster's own (its CRS and pixel size are taken too);
* with target-aligned pixels: (0, 0), so edges fall on multiples of the resolution
  (gdalwarp's ``-tap``);
* otherwise: the top-left corner of the union of the inputs' extents.

Each output covers its own input's extent (reprojected when the CRS changes), grown
outward to the lattice. The resolution asked for is always the one written: the
reference system keeps each input's own grid unless target-aligned pixels are on, and so
silently ignores it. "highest" is the smallest pixel size among the inputs (per axis),
"lowest" the largest, "average" the mean; an input in another CRS counts with the pixel
size gdalwarp suggests for it in the target CRS (the distance between its reprojected
top-left and bottom-right corners over its diagonal in pixels). Pixels are warped by
:mod:`warp`.
"""

import math
import numbers
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import GridMismatchError, InvalidInputError
from .executors import Execution, reusing_workers
from .image_sets import Bounds, check_images, output_paths, output_type, written_together
from .raster_io import OutputSpec, RasterInfo, describe
from .runner import CancelCheck, Progress, Warn, progress_steps, run_map
from .warp import apply, check_resampling, transformer, warp_operator
from .windows import Grid, same_crs

RESOLUTIONS = ("highest", "lowest", "average")
Resolution = Union[str, float, Tuple[float, float]]
#: Extents within this fraction of a pixel of a lattice line end on it (float noise).
SNAP = 1e-6


@dataclass(frozen=True)
class Lattice:
    """The pixel lattice every output is cut from: CRS, pixel size (x, y), and a point
    (x, y) where pixel edges cross."""

    crs: Optional[str]
    res: Tuple[float, float]
    origin: Tuple[float, float]

    def cover(self, bounds: Bounds) -> Grid:
        """The smallest grid on this lattice holding ``bounds`` (left, bottom, right, top)."""
        from affine import Affine

        (xres, yres), (x0, y0) = self.res, self.origin
        left, bottom, right, top = bounds
        col0 = math.floor((left - x0) / xres + SNAP)
        col1 = max(math.ceil((right - x0) / xres - SNAP), col0 + 1)
        row0 = math.floor((y0 - top) / yres + SNAP)
        row1 = max(math.ceil((y0 - bottom) / yres - SNAP), row0 + 1)
        transform = Affine(xres, 0.0, x0 + col0 * xres, 0.0, -yres, y0 - row0 * yres)
        return Grid(self.crs, transform, col1 - col0, row1 - row0)


def check_resolution(resolution: Resolution) -> Resolution:
    """``resolution`` as a name of :data:`RESOLUTIONS` or an (x, y) pixel size; an error
    saying what is allowed otherwise."""
    if isinstance(resolution, str):
        if resolution not in RESOLUTIONS:
            raise InvalidInputError(
                f"resolution '{resolution}' is unknown: choose one of {', '.join(RESOLUTIONS)} "
                f"or give a cell size")
        return resolution
    sizes = (resolution, resolution) if isinstance(resolution, numbers.Real) else resolution
    try:
        xres, yres = (float(size) for size in sizes)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"resolution {resolution!r} is not a cell size: give a number, an (x, y) pair or "
            f"one of {', '.join(RESOLUTIONS)}") from None
    for size in (xres, yres):
        if not (math.isfinite(size) and size > 0):
            raise InvalidInputError(
                f"resolution {size:g} is not a cell size: give a positive cell size in "
                f"target CRS units, or choose {', '.join(RESOLUTIONS)}")
    return xres, yres


def target_grids(infos: Sequence[RasterInfo], *, resolution: Resolution = "highest",
                 target_aligned_pixels: bool = False, target_crs: Optional[str] = None,
                 target_grid: Optional[str] = None, warn: Warn = None) -> List[Grid]:
    """The output grid of each input (see the module notes), before any pixel is read."""
    resolution = check_resolution(resolution)
    grid_info = describe(target_grid, "target grid raster") if target_grid else None
    crs = _target_crs(infos, target_crs, grid_info)
    extents = [_extent(info, crs) for info in infos]
    if grid_info is not None:
        t = grid_info.grid.transform
        if t.b or t.d:
            raise InvalidInputError(f"target grid raster '{grid_info.stem}' is rotated: "
                                    f"choose a north-up raster")
        if resolution != "highest" and warn is not None:
            warn(f"the pixel size of target grid '{grid_info.stem}' is used; resolution "
                 f"{resolution} is ignored")
        lattice = Lattice(crs, grid_info.grid.res, (t.c, t.f))
    else:
        sizes = [_native_resolution(info, crs, extent) for info, extent in zip(infos, extents)]
        res = _pick(resolution, sizes)
        origin = (0.0, 0.0) if target_aligned_pixels else (min(e[0] for e in extents),
                                                          max(e[3] for e in extents))
        lattice = Lattice(crs, res, origin)
    return [lattice.cover(extent) for extent in extents]


def _target_crs(infos: Sequence[RasterInfo], target_crs: Optional[str],
                grid_info: Optional[RasterInfo]) -> Optional[str]:
    """The CRS of the outputs (WKT): the target grid's, the target CRS, or the inputs' one."""
    if target_crs:
        target_crs = _parse_crs(target_crs)
    if grid_info is not None:
        if grid_info.grid.crs is None:
            raise InvalidInputError(f"target grid raster '{grid_info.stem}' has no CRS: "
                                    f"choose a georeferenced raster")
        if target_crs and not same_crs(target_crs, grid_info.grid.crs):
            raise InvalidInputError(
                f"the target CRS differs from the CRS of target grid '{grid_info.stem}': "
                f"give only the target grid, or a target CRS that matches it")
        target_crs = grid_info.grid.crs
    if target_crs:
        for info in infos:
            if info.grid.crs is None:
                raise InvalidInputError(f"'{info.stem}' has no CRS, so it cannot be "
                                        f"reprojected: assign its CRS first")
        return target_crs
    first = infos[0]
    for info in infos[1:]:
        if not same_crs(first.grid.crs, info.grid.crs):
            raise GridMismatchError(
                f"'{info.stem}' is in another CRS than '{first.stem}': choose a target CRS "
                f"(or a target grid) to reproject them onto one grid")
    return first.grid.crs


def _parse_crs(text: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text).to_wkt()
    except CRSError as exc:
        raise InvalidInputError(f"target CRS '{text}' cannot be read ({exc}): give an "
                                f"authority code such as 'EPSG:3857', a PROJ string or WKT"
                                ) from None


def _extent(info: RasterInfo, crs: Optional[str]) -> Bounds:
    """The bounding box of ``info``'s pixels in ``crs`` (edges densified when reprojecting)."""
    t, grid = info.grid.transform, info.grid
    xs, ys = apply(t, np.array([0, grid.width, 0, grid.width]),
                   np.array([0, 0, grid.height, grid.height]))
    box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    if same_crs(grid.crs, crs):
        return box
    bounds = transformer(grid.crs, crs).transform_bounds(*box, densify_pts=21)
    if not all(math.isfinite(value) for value in bounds):
        raise InvalidInputError(f"'{info.stem}' cannot be projected to the target CRS (its "
                                f"extent falls outside the CRS's area): choose another CRS")
    return tuple(bounds)


def _native_resolution(info: RasterInfo, crs: Optional[str],
                       extent: Bounds) -> Tuple[float, float]:
    """``info``'s pixel size (x, y) in ``crs``: its own, or the one gdalwarp suggests when
    reprojected: square pixels, as many along the diagonal from the top-left to the
    bottom-right corner as the input has (the extent's diagonal if a corner fails)."""
    t, grid = info.grid.transform, info.grid
    if same_crs(grid.crs, crs):
        return math.hypot(t.a, t.d), math.hypot(t.b, t.e)
    (x0, x1), (y0, y1) = transformer(grid.crs, crs).transform(
        *apply(t, np.array([0.0, grid.width]), np.array([0.0, grid.height])))
    dx, dy = x1 - x0, y1 - y0
    if not (math.isfinite(dx) and math.isfinite(dy)) or dx == 0 or dy == 0:
        dx, dy = extent[2] - extent[0], extent[3] - extent[1]
    size = math.hypot(dx, dy) / math.hypot(grid.width, grid.height)
    return size, size


def _pick(resolution: Resolution, sizes: Sequence[Tuple[float, float]]) -> Tuple[float, float]:
    if not isinstance(resolution, str):
        return resolution
    pick = {"highest": np.min, "lowest": np.max, "average": np.mean}[resolution]
    return tuple(float(pick([size[axis] for size in sizes])) for axis in (0, 1))


@reusing_workers
def align_rasters(inputs: Sequence[str], output_folder: str, *,
                  template: str = "{stem}_aligned.tif", resolution: Resolution = "highest",
                  target_aligned_pixels: bool = False, resampling: str = "bilinear",
                  target_crs: Optional[str] = None, target_grid: Optional[str] = None,
                  dtype: Optional[str] = None, execution: Execution = Execution(),
                  progress: Progress = None, cancelled: CancelCheck = None,
                  warn: Warn = None) -> List[str]:
    """Warp every input onto one CRS, pixel size and pixel lattice.

    Parameters
    ----------
    inputs : sequence of str
        Rasters to align (same band count, distinct file names); CRSs may differ when
        ``target_crs`` or ``target_grid`` is given.
    output_folder, template : str
        Where outputs go; ``{stem}`` in the template is the input's name.
    resolution : str, float or (float, float)
        "highest", "lowest" or "average" of the inputs' pixel sizes, or a cell size
        (x, y) in target CRS units; always honoured.
    target_aligned_pixels : bool
        Put pixel edges on multiples of the resolution (gdalwarp ``-tap``); else on the
        top-left corner of the inputs' union.
    resampling : str
        One of :data:`warp.RESAMPLINGS` (see :mod:`warp`).
    target_crs : str, optional
        Output CRS (EPSG code, PROJ string or WKT); None keeps the inputs' shared CRS.
    target_grid : str, optional
        A raster whose CRS, pixel size and pixel alignment the outputs take.
    dtype : str, optional
        Output type (default: the input's); integers are rounded and clamped.
    warn : callable, optional
        Receives warnings (e.g. nearest neighbour dropping pixels of a much finer input).

    Returns
    -------
    list of str
        The output paths, one per input, all written or none.

    Raises
    ------
    GridMismatchError
        Inputs in different CRSs without a target CRS or grid.
    InvalidInputError
        A resolution that is not a positive size, an unknown resampling, an input that
        cannot be projected, mixed band counts or duplicate names.

    Notes
    -----
    Outputs keep the input's nodata (or get the type's default) and valid pixels stay
    valid. Every output pixel depends only on its position, so results do not depend on
    window size, workers or executor. Example: a 2 m raster aligned at resolution 4 with
    target-aligned pixels and ``average`` gets 4 m pixels whose edges are multiples of 4,
    each the mean of the 2 x 2 pixels under it when the input's edges are multiples of 4.
    """
    check_resampling(resampling)
    resolution = check_resolution(resolution)
    infos = check_images(inputs, one_crs=False)
    grids = target_grids(infos, resolution=resolution, target_crs=target_crs,
                         target_aligned_pixels=target_aligned_pixels, target_grid=target_grid,
                         warn=warn)
    operators = [warp_operator(info.path, info.grid, info.count, grid, resampling)
                 for info, grid in zip(infos, grids)]
    types = [output_type(info, dtype) for info in infos]
    for info, operator in zip(infos, operators):
        _warn_if_decimating(info, operator, warn)
    outputs = output_paths(infos, output_folder, template, [target_grid] if target_grid else [])
    steps = progress_steps(progress, len(infos))
    with written_together(outputs) as targets:
        for info, grid, operator, (out_type, nodata), target in zip(infos, grids, operators,
                                                                   types, targets):
            spec = OutputSpec(target, grid, info.count, out_type, nodata, keep_valid=True)
            run_map(operator, [], spec, execution=execution, progress=next(steps),
                    cancelled=cancelled)
    return outputs


def _warn_if_decimating(info: RasterInfo, operator, warn: Warn) -> None:
    """Nearest neighbour onto pixels at least twice as coarse reads one input pixel in four
    or fewer: say so, and what uses them all."""
    factor = 1.0 / min(operator.zooms)
    if warn is not None and operator.method == "nearest" and factor >= 2:
        warn(f"'{info.stem}': output pixels are {factor:.1f} times its own, so nearest "
             f"neighbour keeps about one input pixel in {factor * factor:.0f}; choose average "
             f"(or mode for classes) to use them all")
