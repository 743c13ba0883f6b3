"""Seamlines: one polygon per image, tiling the union of the images' footprints.

Reference F8 (spectralmatch ``voronoi_center_seamline``) cuts each pairwise
overlap along a Voronoi centre line and keeps, for each image, the piece of
its footprint holding the footprint's centroid. Here:

1. each image's footprint is its valid-data area (:mod:`footprints`, windowed);
2. every connected part of every pairwise overlap is split between the two
   images by cuts (:mod:`cutlines`): centre lines of the part, or, with the
   radiometric cost, cheapest paths through pixels where the images agree,
   away from the images' edges;
3. the footprints and all cuts are overlaid into one planar arrangement, and
   each of its faces goes to the image that wins every pairwise split there;
   where three or more images meet and their preferences go round in a circle
   (A over B, B over C, C over A), or on slivers of the overlay, a face goes to
   the covering image sharing the longest border with it (ties: input order).

So the output tiles the union of the footprints (no gaps, no overlaps) and
each polygon lies within its image's footprint, which the reference guarantees
for neither. The radiometric difference of two images is measured on a coarse
grid over each overlap part by a windowed reduce (memory bounded by the grid,
not the images), so results do not depend on window size or worker count.
"""

import math
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .cutlines import (CostGrid, boundary_spacing, inside, lattice_spacing, split_overlap,
                       TOLERANCE_PIXELS)
from .errors import Cancelled, InvalidInputError, check_choice
from .executors import Execution, reusing_workers
from .footprints import footprint
from .image_sets import check_images, overlap_bounds
from .raster_io import Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_reduce, scaled
from .vector_io import check_geopackage, write_geopackage
from .windows import Window

#: How cuts are placed: along the centre line of each overlap, or where the images agree.
COSTS = ("geometry", "difference")
LAYER = "seamlines"
#: Faces of the overlay smaller than this (pixels squared) are slivers: they go to the
#: covering image sharing the longest border with them.
SLIVER_PIXELS = 1e-3
#: Difference values are rounded to this many decimals, so sums that differ in their
#: last bits (float inputs, other windows) give the same cuts.
DECIMALS = 6


class CellDifferences:
    """Runner accumulator: per cell of ``cell`` x ``cell`` pixels, the sum over bands of
    ``|a - b|`` over the pixels valid in every band of both images, and their count.
    Block 0 is image ``a``, block 1 image ``b`` read onto its grid. Each window keeps
    only the cells it touches; sums are float64 (exact for integer images)."""

    def __init__(self, cell: int):
        self.cell = cell
        self.parts: List[Tuple[int, int, np.ndarray, np.ndarray]] = []

    def add(self, blocks: List[Block], window: Window) -> None:
        first, second = blocks
        both = (first.valid & second.valid).all(axis=0)
        if not both.any():
            return
        difference = np.abs(first.data.astype(np.float64) - second.data).sum(axis=0)
        rows = np.arange(window.row, window.row_stop) // self.cell
        cols = np.arange(window.col, window.col_stop) // self.cell
        shape = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        index = (rows - rows[0])[:, None] * shape[1] + (cols - cols[0])[None, :]
        size = shape[0] * shape[1]
        sums = np.bincount(index[both], weights=difference[both], minlength=size)
        counts = np.bincount(index[both], minlength=size)
        self.parts.append((int(rows[0]), int(cols[0]), sums.reshape(shape),
                           counts.reshape(shape)))

    def merge(self, other: "CellDifferences") -> None:
        self.parts.extend(other.parts)

    def finalize(self) -> List[Tuple[int, int, np.ndarray, np.ndarray]]:
        return self.parts


def _normalised(mean: np.ndarray) -> np.ndarray:
    """``mean`` over a typical difference: the median cell, or the mean cell when most
    cells agree exactly (median 0); all 0 when the images agree everywhere."""
    known = mean[~np.isnan(mean)]
    scale = float(np.median(known)) if known.size else 0.0
    if scale <= 0 and known.size:
        scale = float(known.mean())
    if scale <= 0:
        return np.where(np.isnan(mean), np.nan, 0.0)
    return np.round(mean / scale, DECIMALS)


def difference_grid(a: RasterInfo, b: RasterInfo, part, spacing: float, weight: float, *,
                    execution: Execution = Execution(), progress: Progress = None,
                    cancelled: CancelCheck = None) -> Optional[CostGrid]:
    """The normalised difference of images ``a`` and ``b`` over ``part`` on a grid of
    cells about ``spacing`` wide (see :class:`cutlines.CostGrid`), on the finer image's
    grid with the other read onto it (bilinearly when the grids are not aligned);
    None when ``part`` covers no pixel centre."""
    base = a if min(a.grid.res) <= min(b.grid.res) else b
    window = base.grid.window_of(part.bounds)
    if window is None:
        return None
    grid = base.grid.subgrid(window)
    cell = max(1, int(round(spacing / min(grid.res))))
    pieces = run_reduce(partial(CellDifferences, cell),
                        [Source(a.path, grid=grid), Source(b.path, grid=grid)], grid,
                        execution=execution, progress=progress, cancelled=cancelled)
    shape = (math.ceil(window.height / cell), math.ceil(window.width / cell))
    sums, counts = np.zeros(shape), np.zeros(shape)
    for row, col, part_sums, part_counts in pieces:
        target = (slice(row, row + part_sums.shape[0]), slice(col, col + part_sums.shape[1]))
        sums[target] += part_sums
        counts[target] += part_counts
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / (counts * a.count), np.nan)
    t = grid.transform
    return CostGrid(_normalised(mean), (t.c, t.f), (t.a * cell, t.e * cell), weight)


def _polygons(geometry) -> list:
    """The polygons of ``geometry`` with a positive area (of any geometry type)."""
    if geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry] if geometry.area > 0 else []
    return [p for g in getattr(geometry, "geoms", []) for p in _polygons(g)]


def _multipolygon(geometry):
    from shapely.geometry import MultiPolygon

    return MultiPolygon(_polygons(geometry))


def _check_options(point_spacing, min_cut_length, cost, difference_weight) -> None:
    check_choice(cost, COSTS, "seamline cost")
    for name, value in (("point spacing", point_spacing or 0.0),
                        ("minimum cut length", min_cut_length),
                        ("difference weight", difference_weight)):
        if not value >= 0:
            raise InvalidInputError(f"{name} {value:g} is negative: use 0 or more")


def _check_extents(infos: Sequence[RasterInfo]) -> None:
    """Refuse, before any pixel is read, images whose extent meets no other's."""
    _refuse_isolated(infos, [info for info in infos if not any(
        overlap_bounds(info.grid.bounds, other.grid.bounds)
        for other in infos if other is not info)])


def _refuse_isolated(infos: Sequence[RasterInfo], isolated: Sequence[RasterInfo]) -> None:
    """Name the images that overlap no other one, if any."""
    if len(isolated) == len(infos):
        raise InvalidInputError(
            f"no two input images overlap ({', '.join(info.stem for info in infos)}): "
            f"seamlines are cut where images overlap; choose images that overlap")
    if isolated:
        names = ", ".join(f"'{info.stem}'" for info in isolated)
        raise InvalidInputError(
            f"{names} overlap{'s' if len(isolated) == 1 else ''} no other input image: "
            f"seamlines are cut where images overlap; remove "
            f"{'it' if len(isolated) == 1 else 'them'}, or add an image that overlaps "
            f"{'it' if len(isolated) == 1 else 'them'}")


def _overlaps(infos, shapes, pixel: float) -> Dict[Tuple[int, int], list]:
    """(i, j) -> the parts of the overlap of footprints i and j (i < j); an image whose
    footprint overlaps no other is refused."""
    overlaps = {}
    for i in range(len(shapes)):
        for j in range(i + 1, len(shapes)):
            if overlap_bounds(shapes[i].bounds, shapes[j].bounds):
                parts = _polygons(shapes[i].intersection(shapes[j]))
                if sum(p.area for p in parts) > SLIVER_PIXELS * pixel ** 2:
                    overlaps[(i, j)] = parts
    _refuse_isolated(infos, [info for k, info in enumerate(infos)
                             if not any(k in pair for pair in overlaps)])
    return overlaps


def _pixel(*infos: RasterInfo) -> float:
    return min(min(info.grid.res) for info in infos)


def _split(infos, shapes, overlaps, point_spacing, min_cut_length, cost, difference_weight,
           execution, progress, cancelled):
    """(i, j) -> the area of the overlap of i and j that goes to i; and every cut."""
    from shapely.ops import unary_union

    jobs = [(pair, part) for pair, parts in overlaps.items() for part in parts]
    sides, cuts = {pair: [] for pair in overlaps}, []
    for done, ((i, j), part) in enumerate(jobs):
        _check_cancelled(cancelled)
        pixel = _pixel(infos[i], infos[j])
        spacing = boundary_spacing(part, point_spacing, pixel)
        grid = None
        if cost == "difference":
            grid = difference_grid(infos[i], infos[j], part, lattice_spacing(part, spacing),
                                   difference_weight, execution=execution,
                                   progress=scaled(progress, done, len(jobs)),
                                   cancelled=cancelled)
        mine, _, part_cuts = split_overlap(part, shapes[i], shapes[j], spacing=spacing,
                                           pixel=pixel, min_cut_length=min_cut_length,
                                           cost=grid)
        sides[(i, j)].extend(mine)
        cuts.extend(part_cuts)
    return {pair: unary_union(pieces) for pair, pieces in sides.items()}, cuts


def _check_cancelled(cancelled: CancelCheck) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled("cancelled by the user; no output was written")


def _tile(shapes, sides, cuts, pixel: float) -> list:
    """One region per footprint, tiling their union (see the module notes)."""
    from shapely.geometry import LineString
    from shapely.ops import polygonize, unary_union

    lines = unary_union([shape.boundary for shape in shapes] + [LineString(c) for c in cuts])
    faces = list(polygonize(lines))
    x, y = np.array([face.representative_point().coords[0] for face in faces]).reshape(-1, 2).T
    cover = np.array([inside(shape, x, y) for shape in shapes])
    count = len(shapes)
    owner = np.full(len(faces), -1)
    for i in range(count):
        wins = cover[i].copy()
        for j in range(count):
            if j != i:
                pair = (min(i, j), max(i, j))
                first_wins = inside(sides[pair], x, y) if pair in sides else np.full(len(x), True)
                wins &= ~cover[j] | (first_wins if i < j else ~first_wins)
        owner[wins & (owner < 0)] = i
    owner[np.array([face.area for face in faces]) < SLIVER_PIXELS * pixel ** 2] = -1
    _fill(owner, faces, cover, TOLERANCE_PIXELS * pixel)
    # a footprint less the faces it covers but does not own: a few overlays, however
    # many nodata holes the footprints have (a union of every owned face would be slow)
    return [_multipolygon(shape.difference(unary_union(
        [faces[f] for f in np.flatnonzero(cover[i] & (owner != i))])))
        for i, shape in enumerate(shapes)]


def _fill(owner: np.ndarray, faces: list, cover: np.ndarray, tolerance: float) -> None:
    """Give each face without an owner (-1) that some image covers to the covering image
    whose faces share the longest border with it (ties: input order), in rounds so faces
    bordering only other such faces follow their neighbours; what no round reaches goes
    to its first covering image."""
    pending = [f for f in np.flatnonzero(owner < 0) if cover[:, f].any()]
    bounds = np.array([face.bounds for face in faces]).reshape(-1, 4) if pending else None
    while pending:
        chosen, waiting = {}, []
        for f in pending:
            grown = faces[f].buffer(tolerance)
            left, bottom, right, top = grown.bounds
            near = np.flatnonzero((bounds[:, 0] <= right) & (bounds[:, 2] >= left)
                                  & (bounds[:, 1] <= top) & (bounds[:, 3] >= bottom)
                                  & (owner >= 0) & cover[:, f][np.maximum(owner, 0)])
            shared = np.zeros(len(cover))
            for n in near:
                shared[owner[n]] += faces[n].intersection(grown).area
            if shared.max() > 0:
                chosen[f] = int(np.argmax(shared))
            else:
                waiting.append(f)
        if not chosen:
            chosen = {f: int(np.flatnonzero(cover[:, f])[0]) for f in waiting}
            waiting = []
        for f, k in chosen.items():
            owner[f] = k
        pending = waiting


@reusing_workers
def seamlines(inputs: Sequence[str], output: str, *, point_spacing: Optional[float] = None,
              min_cut_length: float = 0.0, cost: str = "geometry",
              difference_weight: float = 1.0, execution: Execution = Execution(),
              progress: Progress = None, cancelled: CancelCheck = None) -> str:
    """Write one seamline polygon per image to the GeoPackage ``output``.

    Parameters
    ----------
    inputs : sequence of str
        Two or more rasters in one CRS with the same bands; grids may differ.
        Every image must overlap another.
    output : str
        A .gpkg path; layer ``seamlines``, one feature per input in input order:
        ``image`` (file name without extension), ``path`` and a MultiPolygon in
        the inputs' CRS. It appears only when complete.
    point_spacing : float, optional
        Distance (map units) between the points along each overlap's boundary
        whose Voronoi diagram makes the cut graph; None or 0: 2 pixels, or 1/4000
        of the overlap part's perimeter when coarser. Never finer than 1/20000 of
        the perimeter.
    min_cut_length : float
        Cuts shorter than this (map units) are not made: the overlap part goes
        whole to one image (the one whose exclusive area it borders most). (The
        reference drops Voronoi edges shorter than this instead, which can leave
        no path at all.)
    cost : {'geometry', 'difference'}
        ``geometry``: the cut follows the centre line of each overlap.
        ``difference``: the cut is the cheapest path through a lattice over the
        overlap, each step costing its length x (1 + ``difference_weight`` x the
        mean absolute difference of the two images there, over bands, divided
        by the part's median cell difference + a penalty from 1 on an image's
        edge to 0 at a quarter of the overlap's width), so it prefers pixels where
        the images agree and keeps room for feathering. Where they agree
        everywhere it is a short path through the overlap's middle, not exactly
        its centre line.
    difference_weight : float
        How strongly the difference cost steers the cut (0: not at all).

    Returns
    -------
    str
        ``output``.

    Raises
    ------
    InvalidInputError
        Fewer than two images, mixed CRSs or band counts, an image without valid
        pixels or that overlaps no other image, bad options or output path.

    Notes
    -----
    The polygons tile the union of the footprints: their union equals it, they
    do not overlap, and each lies within its image's footprint. An image nested
    inside another keeps its area. Footprints are exact pixel-edge polygons and
    differences exact sums for integer images, so the same inputs give the same
    polygons for any window size, worker count or executor.

    Examples
    --------
    Two 20 x 20 px images side by side overlapping by 8 columns: the seam runs
    down the middle of the overlap, 4 columns from either edge.
    """
    _check_options(point_spacing, min_cut_length, cost, difference_weight)
    check_geopackage(output, inputs, "seamline layer")
    infos = check_images(inputs)
    if len(infos) < 2:
        raise InvalidInputError(f"seamlines need two or more overlapping images, "
                                f"{len(infos)} given: add the images that overlap it")
    _check_extents(infos)
    steps = len(infos) + 1
    shapes = []
    for k, info in enumerate(infos):
        shape = footprint(info.path, execution=execution, progress=scaled(progress, k, steps),
                          cancelled=cancelled)
        if shape.is_empty:
            raise InvalidInputError(f"'{info.stem}' has no valid pixel (all nodata): remove "
                                    f"it from the inputs")
        shapes.append(shape)
    pixel = _pixel(*infos)
    overlaps = _overlaps(infos, shapes, pixel)
    sides, cuts = _split(infos, shapes, overlaps, point_spacing, min_cut_length, cost,
                         difference_weight, execution, scaled(progress, steps - 1, steps),
                         cancelled)
    _check_cancelled(cancelled)
    regions = _tile(shapes, sides, cuts, pixel)
    import geopandas

    table = geopandas.GeoDataFrame({"image": [info.stem for info in infos],
                                    "path": [info.path for info in infos]},
                                   geometry=regions, crs=infos[0].grid.crs)
    write_geopackage(table, output, LAYER)
    if progress is not None:
        progress(100.0)
    return output
