"""Valid-pixel masks that restrict which pixels statistics use.

Two kinds, both evaluated per window on whatever grid the statistics run on,
so they never need the whole image:

* :class:`VectorMask`: polygons including (or excluding) pixels whose centre
  lies inside (or, with ``all_touched``, that they touch); one mask per image,
  built by :func:`vector_masks` from a layer whose name field *contains* the
  image name (or every feature when no field is given), optionally grown or
  shrunk by a buffer;
* :class:`RasterMask`: a raster whose nonzero, valid pixels are usable
  (or, in exclude mode, unusable), read onto the grid by nearest neighbour;
  one per image, matched by :func:`raster_masks` on file names.

Statistics use masks to select pixels (their outputs are computed for every
valid pixel); :mod:`mask_rasters` uses them to set pixels to nodata.
"""

import functools
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError, check_choice
from .raster_io import RasterInfo, Source, read_block
from .vector_io import read_layer
from .windows import Grid, Window

MODES = ("include", "exclude")


def _check_mode(mode: str) -> str:
    return check_choice(mode, MODES, "mask mode")


@dataclass(frozen=True)
class VectorMask:
    """Polygons (WKB, in the image CRS) including or excluding the pixels they cover:
    those whose centre is inside, or with ``all_touched`` every pixel they touch."""

    mode: str
    shapes: Tuple[bytes, ...]
    all_touched: bool = False

    def usable(self, grid: Grid, window: Window) -> np.ndarray:
        """(rows, cols) booleans: True where a pixel of ``window`` may be used.

        Polygons are rasterized in pixel coordinates of the whole ``grid``, the
        window placed by its whole-pixel offset: a polygon edge on a pixel edge or
        centre stays exactly there in every window (subtracting a whole number is
        exact), so the mask does not depend on how the grid is cut into windows (in
        map coordinates, rounding of each window's origin can move such ties to
        either side).
        """
        inside = np.zeros(window.shape, dtype=bool)
        if self.shapes:
            import rasterio.features
            from affine import Affine

            inside = rasterio.features.geometry_mask(
                _in_pixels(self.shapes, tuple(grid.transform)[:6]), window.shape,
                Affine.translation(window.col, window.row), invert=True,
                all_touched=self.all_touched)
        return inside if self.mode == "include" else ~inside


@functools.lru_cache(maxsize=16)
def _in_pixels(shapes: Tuple[bytes, ...], transform: Tuple[float, ...]) -> list:
    """WKB ``shapes`` in pixel coordinates (column, row) of a grid with ``transform``, as
    GeoJSON-like mappings (what rasterio reads); cached, so a process converts each
    image's polygons once, not once per window."""
    import shapely.wkb
    from affine import Affine
    from shapely import affinity
    from shapely.geometry import mapping

    inverse = ~Affine(*transform)
    matrix = [inverse.a, inverse.b, inverse.d, inverse.e, inverse.xoff, inverse.yoff]
    return [mapping(affinity.affine_transform(shapely.wkb.loads(shape), matrix))
            for shape in shapes]


@dataclass(frozen=True)
class RasterMask:
    """A raster (band 1) whose nonzero valid pixels are included (or excluded)."""

    path: str
    mode: str = "include"

    def usable(self, grid: Grid, window: Window) -> np.ndarray:
        """(rows, cols) booleans: True where a pixel of ``window`` may be used."""
        block = read_block(Source(self.path, (1,), grid=grid, resampling="nearest"), window)
        inside = block.valid[0] & (block.data[0] != 0)
        return inside if self.mode == "include" else ~inside


def usable(mask, grid: Grid, window: Window) -> np.ndarray:
    """``mask.usable`` or, without a mask, every pixel."""
    if mask is None:
        return np.ones(window.shape, dtype=bool)
    return mask.usable(grid, window)


def vector_masks(path: str, mode: str, field: Optional[str], infos: Sequence[RasterInfo], *,
                 all_touched: bool = False, buffer: float = 0.0) -> List[VectorMask]:
    """One :class:`VectorMask` per image from the polygons of ``path``.

    With ``field``, an image gets the features whose field value contains its
    file name (without extension); without, every feature. Polygons are
    reprojected to each image's CRS, then grown by ``buffer`` (in units of that
    CRS; negative shrinks, with round corners) and those left empty are dropped.
    """
    import os

    _check_mode(mode)
    if not math.isfinite(buffer):
        raise InvalidInputError(f"mask buffer {buffer} is not a finite distance: give a "
                                f"distance in map units (0 for none)")
    table = read_layer(path, "mask layer")
    if field and field not in table.columns:
        raise InvalidInputError(
            f"mask layer '{os.path.basename(path)}' has no field '{field}': fields are "
            f"{', '.join(c for c in table.columns if c != 'geometry')}")
    masks = []
    for info in infos:
        chosen = table if not field else table[table[field].astype(str).str.contains(
            info.stem, regex=False)]
        if chosen.crs is not None and info.grid.crs:
            chosen = chosen.to_crs(info.grid.crs)
        shapes = [geometry.buffer(buffer) if buffer else geometry
                  for geometry in chosen.geometry if geometry is not None]
        masks.append(VectorMask(mode, tuple(shape.wkb for shape in shapes if not shape.is_empty),
                                all_touched))
    return masks


def raster_masks(paths: Sequence[str], mode: str,
                 infos: Sequence[RasterInfo]) -> List[RasterMask]:
    """The mask raster of each image: the one whose file name contains the image's name
    (the shortest such file name wins, so image 'a' takes 'a_mask', not 'ab_mask')."""
    import os

    _check_mode(mode)
    stems = {path: os.path.splitext(os.path.basename(path))[0] for path in paths}
    masks, missing = [], []
    for info in infos:
        matches = [path for path, stem in stems.items() if info.stem in stem]
        if not matches:
            missing.append(info.stem)
            continue
        masks.append(RasterMask(min(matches, key=lambda p: (len(stems[p]), p)), mode))
    if missing:
        raise InvalidInputError(
            f"no mask raster for {', '.join(missing)}: give one mask raster per image whose "
            f"file name contains the image's name (e.g. <image>_mask.tif)")
    return masks


def masks_for(paths: Sequence[str], *, vector: Optional[str] = None, field: Optional[str] = None,
              rasters: Sequence[str] = (), mode: str = "include") -> Optional[List]:
    """One mask per image of ``paths`` from a polygon layer or from mask rasters (not both),
    or None when neither is given."""
    from .raster_io import describe

    if vector and rasters:
        raise InvalidInputError("give a mask layer or mask rasters, not both")
    if not vector and not rasters:
        return None
    infos = [describe(path) for path in paths]
    if vector:
        return vector_masks(vector, mode, field, infos)
    return raster_masks(rasters, mode, infos)
