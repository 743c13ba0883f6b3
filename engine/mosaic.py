"""Merge overlapping rasters into one mosaic: first, last, min, max, mean, median, feather.

The mosaic covers the union of the inputs (or a given extent) on the grid of
the finest input (or a given resolution), aligned to that input's pixels, so
inputs already aligned to each other (see :mod:`align`) are read at integer
offsets without resampling.

Where images overlap, ``first`` keeps the earliest input in the list and
``last`` the latest (as gdalwarp does when it writes inputs in order): the
priority is the input order, never the order in which work finishes.
``feather`` blends images across seamlines (or their footprint edges) over a
distance in map units (see :mod:`feather`). Every method works band by band
on valid pixels only: a pixel is nodata only where no input has a value.

Output is a tiled, compressed GeoTIFF, or a Cloud Optimized GeoTIFF with
overviews (see :mod:`cog`); BigTIFF when the size needs it.
"""

import math
import os
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import feather
from .cog import OVERVIEW_RESAMPLINGS, written_as_cog
from .dtypes import check_nodata
from .errors import InvalidInputError, check_choice
from .executors import Execution
from .image_sets import Bounds, check_images, output_type, union_bounds
from .masks import VectorMask
from .raster_io import (EDGE_NODATA, Block, OutputSpec, RasterInfo, Source, check_output)
from .resample import RESAMPLINGS
from .runner import CancelCheck, Progress, run_map
from .windows import Grid, Window

METHODS = ("first", "last", "min", "max", "mean", "median", "feather")
#: Feather distance, in output pixels, when none is given.
AUTOMATIC_FEATHER_PIXELS = 10


def mosaic_grid(infos: Sequence[RasterInfo], resolution: Optional[Tuple[float, float]] = None,
                bounds: Optional[Bounds] = None) -> Grid:
    """The mosaic's grid: ``bounds`` (default: the union of the inputs) grown outwards to
    the pixel lattice of the finest input (the first of the finest, in input order), at
    ``resolution`` (x, y; default: that input's)."""
    from affine import Affine

    finest = min(infos, key=lambda info: info.grid.res[0] * info.grid.res[1])
    xres, yres = resolution or finest.grid.res
    if xres <= 0 or yres <= 0:
        raise InvalidInputError(f"mosaic resolution {xres} x {yres} must be positive")
    left, bottom, right, top = bounds or union_bounds([info.grid for info in infos])
    if left >= right or bottom >= top:
        raise InvalidInputError(f"mosaic extent {bounds} is empty: give left < right and "
                                f"bottom < top in the inputs' CRS")
    anchor_x, anchor_y = finest.grid.transform.c, finest.grid.transform.f
    col0 = math.floor((left - anchor_x) / xres + 1e-6)
    col1 = math.ceil((right - anchor_x) / xres - 1e-6)
    row0 = math.floor((anchor_y - top) / yres + 1e-6)
    row1 = math.ceil((anchor_y - bottom) / yres - 1e-6)
    transform = Affine(xres, 0, anchor_x + col0 * xres, 0, -yres, anchor_y - row0 * yres)
    return Grid(finest.grid.crs, transform, col1 - col0, row1 - row0)


@dataclass(frozen=True)
class MosaicOperator:
    """Merges one block per input (in input order) with ``method``.

    ``extents`` are the inputs' windows in the mosaic grid, so inputs that do
    not reach a window are skipped without looking at their pixels.
    ``blend`` is the feather distance in pixels; ``regions`` the seamline
    polygon of each input as an include mask (empty: no seamlines).
    """

    method: str
    grid: Grid
    extents: Tuple[Window, ...]
    blend: float = 0.0
    regions: Tuple[VectorMask, ...] = ()
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        reaching = [(index, blocks[index]) for index, extent in enumerate(self.extents)
                    if _overlaps(extent, window)]
        if self.method == "feather":
            return self._feather(reaching, window, blocks[0].data.shape[0])
        return _MERGES[self.method]([block for _, block in reaching], blocks[0].data.shape)

    def _feather(self, reaching: List[Tuple[int, Block]], window: Window, bands: int):
        """Blend by feather weights; a pixel only one image covers keeps that image's value
        exactly (no weight round trip), so a window one image fills is a plain copy."""
        halo = self.halo
        shape = (bands, window.height - 2 * halo, window.width - 2 * halo)
        inner = (slice(None), slice(halo, halo + shape[1]), slice(halo, halo + shape[2]))
        present = [(index, block, Block(block.data[inner], block.valid[inner]))
                   for index, block in reaching if block.valid[inner].any()]
        single, covered = _priority([crop for _, _, crop in present], shape)
        if len(present) <= 1:
            return single, covered
        total = np.zeros(shape, np.float32)
        weights = np.zeros(shape, np.float32)
        count = np.zeros(shape, np.uint8)
        for index, block, crop in present:
            region = self.regions[index].usable(self.grid, window) if self.regions else None
            weight = feather.weight(block.valid.any(axis=0), self.blend, region)[inner[1:]]
            band_weight = weight * crop.valid
            total += band_weight * crop.data.astype(np.float32, copy=False)
            weights += band_weight
            count += crop.valid
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 1, total / weights, single), covered


def _overlaps(a: Window, b: Window) -> bool:
    return (a.row < b.row_stop and b.row < a.row_stop
            and a.col < b.col_stop and b.col < a.col_stop)


def _priority(blocks: List[Block], shape):
    """The value of the first block (in the given order) valid at each pixel, in the
    inputs' own type (no float round trip: integers are copied as they are)."""
    values = np.zeros(shape, np.result_type(*[block.data for block in blocks])
                      if blocks else np.float64)
    valid = np.zeros(shape, dtype=bool)
    for block in reversed(blocks):
        np.copyto(values, block.data, where=block.valid)
        valid |= block.valid
    return values, valid


def _first(blocks, shape):
    return _priority(blocks, shape)


def _last(blocks, shape):
    return _priority(blocks[::-1], shape)


def _ignoring_nan(pick):
    """A merge keeping ``pick`` (np.fmin or np.fmax, which skip NaN) of the valid values."""
    def merge(blocks, shape):
        values = np.full(shape, np.nan)
        for block in blocks:
            values = pick(values, np.where(block.valid, block.data, np.nan))
        valid = ~np.isnan(values)
        return np.where(valid, values, 0.0), valid
    return merge


def _mean(blocks, shape):
    total = np.zeros(shape)
    count = np.zeros(shape)
    for block in blocks:
        total += np.where(block.valid, block.data, 0)
        count += block.valid
    valid = count > 0
    return np.where(valid, total / np.maximum(count, 1), 0.0), valid


def _median(blocks, shape):
    if not blocks:
        return np.zeros(shape), np.zeros(shape, dtype=bool)
    stack = np.stack([np.where(block.valid, block.data, np.nan) for block in blocks])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.nanmedian(stack, axis=0)
    valid = ~np.isnan(values)
    return np.where(valid, values, 0.0), valid


_MERGES = {"first": _first, "last": _last, "min": _ignoring_nan(np.fmin),
           "max": _ignoring_nan(np.fmax), "mean": _mean, "median": _median}


def seamline_regions(path: str, field: str,
                     infos: Sequence[RasterInfo]) -> Tuple[VectorMask, ...]:
    """The seamline polygon of each image (in the images' CRS) as an include mask: the
    features of ``path`` whose ``field`` equals the image's file name without extension.
    An image whose polygon is empty (one lying wholly under another) owns no pixel."""
    import geopandas
    from shapely.ops import unary_union

    if not os.path.exists(path):
        raise InvalidInputError(f"seamline layer '{path}' does not exist: check the path")
    table = geopandas.read_file(path)
    name = os.path.basename(path)
    if field not in table.columns:
        fields = ", ".join(column for column in table.columns if column != "geometry")
        raise InvalidInputError(f"seamline layer '{name}' has no field '{field}': its fields "
                                f"are {fields or 'none'}; choose the field naming the images")
    if table.crs is not None and infos[0].grid.crs:
        table = table.to_crs(infos[0].grid.crs)
    regions = []
    for info in infos:
        chosen = table[table[field].astype(str) == info.stem].geometry
        if chosen.empty:
            raise InvalidInputError(
                f"seamline layer '{name}' has no polygon whose '{field}' is '{info.stem}': "
                f"give the seamlines made from these images (see Seamlines)")
        shapes = [shape for shape in chosen if shape is not None and not shape.is_empty]
        regions.append(VectorMask("include", (unary_union(shapes).wkb,) if shapes else ()))
    return tuple(regions)


def _extent_in(grid: Grid, info: RasterInfo) -> Window:
    """The pixels of ``grid`` that ``info`` reaches (may lie partly outside ``grid``)."""
    t = grid.transform
    left, bottom, right, top = info.grid.bounds
    col0 = math.floor((left - t.c) / t.a)
    col1 = math.ceil((right - t.c) / t.a)
    row0 = math.floor((top - t.f) / t.e)
    row1 = math.ceil((bottom - t.f) / t.e)
    return Window(row0 - 1, col0 - 1, row1 - row0 + 2, col1 - col0 + 2)


def mosaic(inputs: Sequence[str], output: str, *, method: str = "last",
           feather_distance: Optional[float] = None, seamlines: Optional[str] = None,
           seam_field: str = "image", resolution: Optional[Tuple[float, float]] = None,
           bounds: Optional[Bounds] = None, resampling: str = "nearest",
           dtype: Optional[str] = None, nodata: Optional[float] = None, cog: bool = False,
           overview_resampling: str = "average", internal_mask: bool = False,
           execution: Execution = Execution(),
           progress: Progress = None, cancelled: CancelCheck = None) -> str:
    """Merge ``inputs`` (one CRS, same bands) into the raster ``output``.

    Parameters
    ----------
    method : one of :data:`METHODS`
        How overlapping valid pixels combine; ``first``/``last`` follow the
        input order.
    feather_distance : float, optional
        Blend width in map units (``feather`` only, > 0); default
        :data:`AUTOMATIC_FEATHER_PIXELS` pixels.
    seamlines : str, optional
        A polygon layer with one polygon per image (see :mod:`seamlines`),
        matched by ``seam_field`` == file name; the feather blends across its
        edges. Without it the images blend by distance to their footprint edges.
    resolution, bounds
        Output pixel size (x, y) and extent (left, bottom, right, top) in the
        inputs' CRS; default the finest input's pixel size and the union.
    resampling : 'nearest' or 'bilinear'
        How inputs off the mosaic's pixel lattice are read.
    dtype, nodata
        Output type and nodata; default the first input's (a nodata value
        the type can hold is chosen when it has none).
    cog : bool
        Write a Cloud Optimized GeoTIFF with overviews made by
        ``overview_resampling``.
    internal_mask : bool
        Also write an internal mask band (valid where any band has a value),
        carried into the COG and its overviews.

    Returns
    -------
    str
        ``output``.
    """
    check_choice(method, METHODS, "mosaic method")
    check_choice(resampling, RESAMPLINGS, "resampling")
    check_choice(overview_resampling, OVERVIEW_RESAMPLINGS, "overview resampling")
    infos = check_images(inputs)
    check_output(output, inputs)
    grid = mosaic_grid(infos, resolution, bounds)
    operator = _operator(method, grid, infos, feather_distance, seamlines, seam_field)
    out_type, out_nodata = output_type(infos[0], dtype)
    if nodata is not None:
        out_nodata = check_nodata(nodata, out_type, "mosaic")
    descriptions = _descriptions(infos[0])

    def spec(path: str) -> OutputSpec:
        return OutputSpec(path, grid, infos[0].count, out_type, out_nodata, descriptions,
                          internal_mask=internal_mask)

    sources = [Source(info.path, grid=grid, resampling=resampling) for info in infos]
    options = dict(execution=execution, progress=progress, cancelled=cancelled)
    if not cog:
        return run_map(operator, sources, spec(output), **options)
    with written_as_cog(output, execution.compression, overview_resampling) as tiled:
        run_map(operator, sources, spec(tiled), **options)
    return output


def _operator(method: str, grid: Grid, infos: Sequence[RasterInfo],
              feather_distance: Optional[float],
              seamlines: Optional[str], seam_field: str) -> MosaicOperator:
    extents = tuple(_extent_in(grid, info) for info in infos)
    if method != "feather":
        if seamlines:
            raise InvalidInputError(f"seamlines are used by the feather method only; with "
                                    f"'{method}' leave them out or choose feather")
        return MosaicOperator(method, grid, extents)
    if feather_distance is None:
        feather_distance = AUTOMATIC_FEATHER_PIXELS * min(grid.res)
    if not feather_distance > 0:
        raise InvalidInputError(f"feather distance {feather_distance} must be more than 0 map "
                                f"units (e.g. 10 pixels' width)")
    blend = feather_distance / min(grid.res)
    regions = seamline_regions(seamlines, seam_field, infos) if seamlines else ()
    return MosaicOperator(method, grid, extents, blend, regions,
                          halo=feather.halo(blend, bool(regions)))


def _descriptions(info: RasterInfo) -> Tuple[str, ...]:
    """The first input's band descriptions (empty when it has none)."""
    import rasterio

    with rasterio.open(info.path) as ds:
        names = tuple(text or "" for text in ds.descriptions)
    return names if any(names) else ()
