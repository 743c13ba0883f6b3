"""Raster footprints: the polygons of each raster's valid-data area.

Validity is streamed window by window (a reduce): each window's mask is
polygonised in *pixel* coordinates, where neighbouring windows share edges
exactly, the pieces are merged in window order and dissolved, and only then
is the result put into map coordinates. This is the base seamlines build on.

rasterio, shapely and geopandas are imported where used, so the QGIS provider
can list this algorithm (and explain what to install) without them.
"""

from functools import partial
from typing import List, Sequence

import numpy as np

from .errors import InvalidInputError, check_choice
from .executors import Execution, reusing_workers
from .raster_io import Block, Source, check_output, describe
from .runner import CancelCheck, Progress, run_reduce, scaled
from .vector_io import write_geopackage
from .windows import Window

COMBINE = ("any", "all")
LAYER = "footprints"


class FootprintAccumulator:
    """Collects the valid-area polygons of windows, in pixel coordinates."""

    def __init__(self, combine: str = "any"):
        self.combine = combine
        self.pieces: List = []

    def add(self, blocks: List[Block], window: Window) -> None:
        valid = blocks[0].valid
        mask = valid.any(axis=0) if self.combine == "any" else valid.all(axis=0)
        if not mask.any():
            return
        import rasterio.features
        from affine import Affine
        from shapely.geometry import shape

        shift = Affine.translation(window.col, window.row)
        for geometry, _ in rasterio.features.shapes(mask.view(np.uint8), mask=mask,
                                                    transform=shift):
            self.pieces.append(shape(geometry))

    def merge(self, other: "FootprintAccumulator") -> None:
        self.pieces.extend(other.pieces)

    def finalize(self):
        from shapely.ops import unary_union

        return unary_union(self.pieces)


def _canonical(geometry):
    """Pixel-edge polygons without collinear vertices, their rings and parts in a fixed
    order: the same area gives the same vertices whatever windows it was assembled
    from, so work done on the polygons does not depend on the window size.

    ``normalize`` starts every ring at its lowest corner, which is never collinear, so
    the Douglas-Peucker pass with tolerance 0 that drops collinear vertices (and never a
    ring's start) leaves the same rings whatever vertices the windows added.
    """
    return geometry.normalize().simplify(0, preserve_topology=False).normalize()


def _drop_small_holes(geometry, min_area: float):
    from shapely.geometry import MultiPolygon, Polygon

    parts = getattr(geometry, "geoms", [geometry])
    kept = [Polygon(p.exterior, [h for h in p.interiors if Polygon(h).area >= min_area])
            for p in parts if not p.is_empty]
    return MultiPolygon(kept)


def footprint(raster: str, *, combine: str = "any", simplify: float = 0.0,
              min_hole_area: float = 0.0, execution: Execution = Execution(),
              progress: Progress = None, cancelled: CancelCheck = None):
    """The valid-data area of ``raster`` as a MultiPolygon in its own CRS.

    Parameters
    ----------
    combine : {'any', 'all'}
        A pixel is valid where any band (or every band) is valid.
    simplify : float
        Douglas-Peucker tolerance in map units (0: keep pixel edges).
    min_hole_area : float
        Holes smaller than this (map units squared) are filled.
    """
    check_choice(combine, COMBINE, "band combination")
    info = describe(raster)
    pixels = _canonical(run_reduce(partial(FootprintAccumulator, combine), [Source(raster)],
                                   info.grid, execution=execution, progress=progress,
                                   cancelled=cancelled))
    from shapely import affinity

    t = info.grid.transform
    geometry = affinity.affine_transform(pixels, [t.a, t.b, t.d, t.e, t.c, t.f])
    if simplify > 0:
        geometry = geometry.simplify(simplify, preserve_topology=True)
    return _drop_small_holes(geometry, min_hole_area)


@reusing_workers
def footprints(rasters: Sequence[str], output: str, *, combine: str = "any",
               simplify: float = 0.0, min_hole_area: float = 0.0,
               execution: Execution = Execution(), progress: Progress = None,
               cancelled: CancelCheck = None) -> str:
    """Write the footprint of each raster to one GeoPackage layer.

    One feature per raster: ``image`` (file stem), ``path``, ``area`` (map
    units squared) and a MultiPolygon in the first raster's CRS (others are
    reprojected). The file appears atomically at ``output``.

    Returns
    -------
    str
        ``output``.
    """
    import geopandas

    if not rasters:
        raise InvalidInputError("no input raster given: choose at least one")
    if simplify < 0 or min_hole_area < 0:
        raise InvalidInputError("simplify tolerance and minimum hole area must be 0 or more")
    if not output.lower().endswith(".gpkg"):
        raise InvalidInputError(f"footprints are written as GeoPackage: give '{output}' "
                                f"the extension .gpkg")
    check_output(output, rasters)
    infos = [describe(path) for path in rasters]
    crs = infos[0].grid.crs
    frames = []
    for index, info in enumerate(infos):
        geometry = footprint(info.path, combine=combine, simplify=simplify,
                             min_hole_area=min_hole_area, execution=execution,
                             progress=scaled(progress, index, len(infos)), cancelled=cancelled)
        frame = geopandas.GeoDataFrame({"image": [info.stem], "path": [info.path]},
                                       geometry=[geometry], crs=info.grid.crs)
        frames.append(frame.to_crs(crs) if crs and info.grid.crs else frame)
    table = geopandas.GeoDataFrame(geopandas.pd.concat(frames, ignore_index=True), crs=crs)
    table["area"] = table.geometry.area
    write_geopackage(table, output, LAYER)
    return output
