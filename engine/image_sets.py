"""Sets of images processed together, one output per input.

Checking a set of images (one CRS, one band count, distinct names), naming
one output per input from a template, writing all outputs together or none,
choosing an output type and nodata that hold, and the boxes where images
overlap. Used by every family that takes a list of images (radiometry,
mosaic).
"""

import math
import os
import uuid
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import check_dtype, default_nodata, value_range
from .errors import GridMismatchError, InvalidInputError
from .raster_io import OutputSpec, RasterInfo, check_output, describe
from .windows import Grid, same_crs

STEM = "{stem}"
Bounds = Tuple[float, float, float, float]


def check_images(paths: Sequence[str], what: str = "input raster", *,
                 one_crs: bool = True, one_band_count: bool = True) -> List[RasterInfo]:
    """Describe ``paths``; refuse duplicate names, (unless ``one_band_count`` is False,
    for steps that treat images one by one) mixed band counts and (unless ``one_crs``
    is False, for steps that reproject) mixed CRSs."""
    if not paths:
        raise InvalidInputError(f"no {what} given: choose at least one")
    infos = [describe(path, what) for path in paths]
    seen = {}
    for info in infos:
        if info.stem in seen:
            raise InvalidInputError(
                f"two inputs are named '{info.stem}' ('{seen[info.stem]}' and '{info.path}'): "
                f"outputs and models are keyed by file name, rename one")
        seen[info.stem] = info.path
    first = infos[0]
    for info in infos[1:]:
        if one_crs and not same_crs(first.grid.crs, info.grid.crs):
            raise GridMismatchError(
                f"'{info.stem}' is in another CRS than '{first.stem}': all inputs must share "
                f"one CRS; reproject it first")
        if one_band_count and info.count != first.count:
            raise InvalidInputError(
                f"'{info.stem}' has {info.count} band(s) but '{first.stem}' has {first.count}: "
                f"all inputs must have the same bands in the same order")
    return infos


def output_paths(infos: Sequence[RasterInfo], folder: str, template: str,
                 inputs: Sequence[str] = ()) -> List[str]:
    """One GeoTIFF path per image in ``folder`` from ``template`` (``{stem}`` is the
    input's file name without extension); the folder is created if needed."""
    if STEM not in template:
        raise InvalidInputError(f"output name template '{template}' lacks {STEM}: every "
                                f"output would get the same name (e.g. use '{STEM}_norm.tif')")
    if not template.lower().endswith((".tif", ".tiff")):
        raise InvalidInputError(f"output name template '{template}' must end in .tif")
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, template.replace(STEM, info.stem)) for info in infos]
    for path in paths:
        check_output(path, list(inputs) + [info.path for info in infos])
    return paths


@contextmanager
def written_together(outputs: Sequence[str]) -> Iterator[List[str]]:
    """Yield hidden temporary paths beside ``outputs``; rename them all into place only
    when the block ends normally. A run that fails or is cancelled after writing some
    images leaves none of its outputs, not a partial set."""
    temps = [os.path.join(os.path.dirname(path), f".{os.path.basename(path)}."
                                                 f"{uuid.uuid4().hex[:8]}.pending.tif")
             for path in outputs]
    try:
        yield temps
        for temp, path in zip(temps, outputs):
            os.replace(temp, path)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)


def output_type(info: RasterInfo, dtype: Optional[str] = None) -> Tuple[str, Optional[float]]:
    """(type, nodata) of an output: the input's type unless ``dtype`` is given; the
    input's nodata when the type holds it, else the type's default nodata."""
    name = check_dtype(dtype or info.dtype).name
    nodata = info.nodata
    if nodata is None or not _fits(nodata, name):
        nodata = default_nodata(name)
    return name, nodata


def output_spec(info: RasterInfo, output: str, dtype: Optional[str] = None) -> OutputSpec:
    """The output of a corrected image: its grid and bands, :func:`output_type`, and valid
    pixels kept valid (``keep_valid``)."""
    out_type, nodata = output_type(info, dtype)
    return OutputSpec(output, info.grid, info.count, out_type, nodata, keep_valid=True)


def _fits(value: float, dtype: str) -> bool:
    if math.isnan(value):
        return np.dtype(dtype).kind == "f"
    low, high = value_range(dtype)
    return low <= value <= high and (np.dtype(dtype).kind == "f" or value == int(value))


def overlap_bounds(a: Bounds, b: Bounds) -> Optional[Bounds]:
    """The intersection of two (left, bottom, right, top) boxes, or None when they do
    not overlap (touching edges are no overlap)."""
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    if left >= right or bottom >= top:
        return None
    return (left, bottom, right, top)


def union_bounds(grids: Sequence[Grid]) -> Bounds:
    """The bounding box of every grid."""
    boxes = np.array([grid.bounds for grid in grids])
    return (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
