"""Valid-pixel masks that restrict which pixels statistics use.

Two kinds, both evaluated per window on whatever grid the statistics run on,
so they never need the whole image:

* :class:`VectorMask`: polygons including (or excluding) pixels whose centre
  lies inside; one mask per image, built by :func:`vector_masks` from a
  layer whose name field *contains* the image name (or every feature when no
  field is given);
* :class:`RasterMask`: a raster whose nonzero, valid pixels are usable
  (or, in exclude mode, unusable), read onto the grid by nearest neighbour;
  one per image, matched by :func:`raster_masks` on file names.

Masks only select pixels for statistics; outputs are computed for every
valid pixel.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError, MissingInputError
from .raster_io import RasterInfo, Source, read_block
from .windows import Grid, Window

MODES = ("include", "exclude")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidInputError(f"mask mode '{mode}' is unknown: use 'include' or 'exclude'")
    return mode


@dataclass(frozen=True)
class VectorMask:
    """Polygons (WKB, in the image CRS) including or excluding the pixels they cover."""

    mode: str
    shapes: Tuple[bytes, ...]

    def usable(self, grid: Grid, window: Window) -> np.ndarray:
        """(rows, cols) booleans: True where a pixel of ``window`` may be used."""
        inside = np.zeros(window.shape, dtype=bool)
        if self.shapes:
            import rasterio.features
            import shapely.wkb

            inside = rasterio.features.geometry_mask(
                [shapely.wkb.loads(shape) for shape in self.shapes], window.shape,
                grid.subgrid(window).transform, invert=True)
        return inside if self.mode == "include" else ~inside


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


def vector_masks(path: str, mode: str, field: Optional[str],
                 infos: Sequence[RasterInfo]) -> List[VectorMask]:
    """One :class:`VectorMask` per image from the polygons of ``path``.

    With ``field``, an image gets the features whose field value contains its
    file name (without extension); without, every feature. Polygons are
    reprojected to each image's CRS.
    """
    import os

    import geopandas

    _check_mode(mode)
    if not os.path.exists(path):
        raise MissingInputError(f"mask layer '{path}' does not exist: check the path")
    table = geopandas.read_file(path)
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
        masks.append(VectorMask(mode, tuple(geometry.wkb for geometry in chosen.geometry
                                            if geometry is not None and not geometry.is_empty)))
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
