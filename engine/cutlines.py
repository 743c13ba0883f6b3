"""Cutlines: how one connected part of the overlap of two footprints is split between them.

Reference F8 (spectralmatch ``voronoi_center_seamline``) cuts the overlap of two
images along a shortest path through the Voronoi diagram of its densified
boundary. Here, for one part ``P`` of the overlap of footprints ``A`` (the first
image) and ``B`` (the second), with the reference's defects fixed:

1. **Sides.** Each segment of P's rings is labelled by what lies just outside
   it: ``A`` only (the segment is B's edge, beyond it only the first image has
   pixels), ``B`` only, or neither (both edges coincide there). Going round a
   ring, a *crossing* is where the label changes from one image to the other:
   the point where the two edges cross, or the middle of a stretch they share.
   Every ring of every part is used, not only the largest part's exterior.
2. **Graph.** The Voronoi diagram of points every ``spacing`` along P's rings,
   crossings included; of its edges only those wholly inside P are kept (the
   reference keeps edges outside the overlap), and they trace P's centre line
   (medial axis). With a radiometric cost, the points of a hexagonal lattice
   inside P are added, so the cut can move sideways, and each edge costs its
   length x (1 + weight x the normalised difference of the images under it +
   a penalty near the footprints' edges, so a cut through agreeing pixels still
   leaves room for feathering rather than hugging an image's edge). Holes
   smaller than a few spacings (nodata specks) are left out of the graph: a
   cut may cross them, which splits nothing that matters.
3. **Cuts.** The crossings of each ring are paired by the cheapest pairing
   whose cuts do not cross (every such pairing leaves the A-sides and B-sides
   of the ring apart), each pair joined by its shortest path (Dijkstra). Cuts
   shorter than ``min_cut_length`` are not made.
4. **Pieces.** P is split by its cuts and each piece goes to the image whose
   exclusive area it borders along more length (not, as in the reference, the
   piece holding the footprint's centroid). A part that no edge crossing
   reaches is not cut: one footprint is nested in the other there, and the
   part goes to the nested image, so an image lying inside another is kept
   rather than dropped; a part both edges bound alike (identical footprints)
   goes to the first image.

The geometry is deterministic: the same part, footprints and cost give the same
cuts. shapely and scipy are imported where used.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import numpy as np

NEITHER, FIRST, SECOND = 0, 1, 2
#: Boundary points per overlap part when the spacing is automatic, and at most
#: (a finer spacing given by the user is coarsened to this many points).
AUTOMATIC_POINTS = 4000
MAX_POINTS = 20000
#: Automatic spacing is never finer than this many pixels.
AUTOMATIC_PIXELS = 2.0
#: Lattice points per part at most (radiometric cost): bounds the graph's size.
MAX_LATTICE = 10000
#: Beyond this many crossings on one ring, neighbouring crossings are paired
#: (the cheaper of the two ways) instead of searching every non-crossing pairing.
MAX_SEARCHED = 40
#: Graph nodes tried, nearest first, when joining a crossing to the graph.
SNAP_CANDIDATES = 16
#: Holes of an overlap part smaller than this many spacings squared are left out of
#: the cut graph: a cut may cross them (nodata specks must not make the search slow).
SMALL_HOLE_SPACINGS = 4
#: Probe offsets, cut extensions and the like, in pixels.
TOLERANCE_PIXELS = 0.01


def inside(geometry, x, y) -> np.ndarray:
    """Booleans: which points (``x``, ``y`` arrays) lie in the interior of ``geometry``
    (``shapely.contains_xy`` with shapely 2, ``shapely.vectorized.contains`` with 1.8)."""
    import shapely

    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    if hasattr(shapely, "contains_xy"):
        return np.asarray(shapely.contains_xy(geometry, x, y), dtype=bool)
    from shapely import vectorized

    return np.asarray(vectorized.contains(geometry, x, y), dtype=bool)


def boundary_spacing(part, point_spacing: Optional[float], pixel: float) -> float:
    """Distance between boundary points of ``part`` (map units): ``point_spacing``, or
    when None ``AUTOMATIC_PIXELS`` pixels or ``AUTOMATIC_POINTS`` points along its
    exterior, whichever is coarser; never finer than ``MAX_POINTS`` points."""
    perimeter = part.exterior.length
    automatic = max(AUTOMATIC_PIXELS * pixel, perimeter / AUTOMATIC_POINTS)
    return max(point_spacing or automatic, perimeter / MAX_POINTS)


def lattice_spacing(part, spacing: float) -> float:
    """Distance between the lattice points of ``part`` (radiometric cost): ``spacing``,
    coarsened so the lattice has at most ``MAX_LATTICE`` points."""
    return max(spacing, math.sqrt(part.area / (MAX_LATTICE * math.sqrt(3) / 2)))


@dataclass(frozen=True)
class CostGrid:
    """How much two images differ, on a coarse grid over an overlap part.

    ``values`` (rows, cols): the mean absolute difference of the images in each
    cell divided by a typical difference of the part (so 1 is typical, 0 is
    agreement), NaN where unknown; ``origin`` (x, y) is the grid's top-left
    corner and ``cell`` (dx, dy) its cell size (dy < 0 for north-up grids).
    """

    values: np.ndarray
    origin: Tuple[float, float]
    cell: Tuple[float, float]
    weight: float

    def factor(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """1 + weight x difference at the points (``x``, ``y``); unknown counts as typical."""
        rows, cols = self.values.shape
        row = np.clip(np.floor((y - self.origin[1]) / self.cell[1]), 0, rows - 1).astype(int)
        col = np.clip(np.floor((x - self.origin[0]) / self.cell[0]), 0, cols - 1).astype(int)
        difference = self.values[row, col]
        return 1.0 + self.weight * np.where(np.isnan(difference), 1.0, difference)


class _Ring:
    """One ring of a part, the part on its left; once :meth:`label` is called, each
    segment is labelled by what lies just outside it (:data:`FIRST`, :data:`SECOND`
    or :data:`NEITHER`) and :attr:`crossings` holds where the label changes."""

    def __init__(self, coords: np.ndarray):
        self.coords = coords
        self.steps = coords[1:] - coords[:-1]
        self.lengths = np.hypot(self.steps[:, 0], self.steps[:, 1])
        self.starts = np.concatenate([[0.0], np.cumsum(self.lengths)])
        self.length = float(self.starts[-1])
        self.labels = np.zeros(len(self.lengths), dtype=int)
        self.crossings = np.zeros((0, 2))

    def probes(self, tolerance: float) -> np.ndarray:
        """Points ``tolerance`` outside the middle of each segment."""
        ok = self.lengths > 0
        outward = np.zeros_like(self.steps)
        outward[ok] = (np.stack([self.steps[ok, 1], -self.steps[ok, 0]], axis=1)
                       / self.lengths[ok, None])
        return (self.coords[1:] + self.coords[:-1]) / 2 + tolerance * outward

    def label(self, labels: np.ndarray) -> None:
        self.labels = np.where(self.lengths > 0, labels, NEITHER)
        self.crossings = self._crossings()

    def _segments(self, distances: np.ndarray) -> np.ndarray:
        """The segment holding each arc distance (already taken modulo the length)."""
        return np.clip(np.searchsorted(self.starts, distances, side="right") - 1,
                       0, len(self.lengths) - 1)

    def at(self, distances: np.ndarray) -> np.ndarray:
        """Points (k, 2) at arc ``distances`` along the ring (taken modulo its length)."""
        distances = np.mod(distances, self.length) if self.length > 0 else distances * 0
        index = self._segments(distances)
        span = self.lengths[index]
        safe = np.where(span > 0, span, 1.0)
        fraction = np.where(span > 0, (distances - self.starts[index]) / safe, 0.0)
        return self.coords[index] + fraction[:, None] * (self.coords[index + 1]
                                                         - self.coords[index])

    def samples(self, spacing: float, edges_only: bool = False) -> np.ndarray:
        """Points every ``spacing`` (or a little less) along the ring; with ``edges_only``
        only those on segments labelled with an image (an edge of one footprint)."""
        count = max(1, math.ceil(self.length / spacing))
        distances = np.arange(count) * (self.length / count)
        if edges_only:
            distances = distances[self.labels[self._segments(distances)] != NEITHER]
        return self.at(distances)

    def _crossings(self) -> np.ndarray:
        """Points (k, 2), in ring order, where the label changes between the two images:
        a shared vertex, or the middle of the unlabelled stretch between them."""
        labelled = np.flatnonzero(self.labels != NEITHER)
        if len(labelled) == 0 or (self.labels[labelled] == self.labels[labelled[0]]).all():
            return np.zeros((0, 2))
        middles = []
        for a, b in zip(labelled, np.roll(labelled, -1)):
            if self.labels[a] != self.labels[b]:
                end = self.starts[b] + (self.length if b <= a else 0.0)
                middles.append((self.starts[a + 1] + end) / 2)
        return self.at(np.array(middles))

    def runs(self, label: int) -> List[np.ndarray]:
        """The polylines (coordinate arrays) of the ring's stretches labelled ``label``."""
        mask = self.labels == label
        if not mask.any():
            return []
        if mask.all():
            return [self.coords]
        shift = int(np.flatnonzero(mask & ~np.roll(mask, 1))[0])
        rolled = np.roll(mask, -shift)
        edges = np.diff(np.concatenate([[0], rolled.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        vertices = self.coords[:-1]
        return [np.take(vertices, np.arange(start, stop + 1) + shift, axis=0, mode="wrap")
                for start, stop in zip(starts, stops)]


def _signed_area(coords: np.ndarray) -> float:
    """Shoelace area of a closed ring: positive when it runs anticlockwise."""
    x, y = coords[:-1, 0], coords[:-1, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def _rings(part, first, second, tolerance: float, min_hole_area: float) -> List[_Ring]:
    """The exterior and the holes of at least ``min_hole_area`` of ``part``, each running
    with the part on its left, labelled."""
    rings = []
    for k, ring in enumerate([part.exterior, *part.interiors]):
        coords = np.asarray(ring.coords, dtype=np.float64)
        area = _signed_area(coords)
        if k == 0 or abs(area) >= min_hole_area:
            rings.append(_Ring(coords if (area > 0) == (k == 0) else coords[::-1].copy()))
    probes = np.vstack([ring.probes(tolerance) for ring in rings])
    in_first = inside(first, probes[:, 0], probes[:, 1])
    in_second = inside(second, probes[:, 0], probes[:, 1])
    labels = np.where(in_first & ~in_second, FIRST,
                      np.where(in_second & ~in_first, SECOND, NEITHER))
    for ring, ring_labels in zip(rings, np.split(labels, np.cumsum(
            [len(ring.lengths) for ring in rings])[:-1])):
        ring.label(ring_labels)
    return rings


def _lattice(part, spacing: float) -> np.ndarray:
    """The points of a hexagonal lattice of pitch ``spacing`` inside ``part``, anchored
    at its bounding box (so the same part always gets the same lattice)."""
    left, bottom, right, top = part.bounds
    pitch = spacing * math.sqrt(3) / 2
    ys = bottom + pitch / 2 + np.arange(max(1, math.ceil((top - bottom) / pitch))) * pitch
    xs = left + spacing / 4 + np.arange(max(1, math.ceil((right - left) / spacing))) * spacing
    x, y = np.meshgrid(xs, ys)
    x[1::2] += spacing / 2
    keep = inside(part, x.ravel(), y.ravel())
    return np.stack([x.ravel()[keep], y.ravel()[keep]], axis=1)


class _EdgeRoom:
    """With a radiometric cost, a penalty for running close to the edge of a footprint
    (where only one image continues): 1 on such an edge, fading linearly to 0 at half the
    part's greatest depth from them, so a cut through agreeing pixels still keeps room
    for feathering instead of hugging an image's edge."""

    def __init__(self, rings: Sequence[_Ring], spacing: float, points: np.ndarray):
        from scipy.spatial import cKDTree

        self.tree = cKDTree(np.vstack([ring.samples(spacing / 2, edges_only=True)
                                       for ring in rings] + [r.crossings for r in rings]))
        self.margin = max(float(self.tree.query(points)[0].max()) / 2, spacing)

    def penalty(self, points: np.ndarray) -> np.ndarray:
        return np.clip(1.0 - self.tree.query(points)[0] / self.margin, 0.0, 1.0)


@dataclass
class _Graph:
    """Voronoi edges inside a part: node coordinates (k, 2), edges (m, 2) as node
    indices, the prepared part, and the radiometric cost with its edge penalty (None:
    length alone)."""

    nodes: np.ndarray
    edges: np.ndarray
    prepared: object
    cost: Optional[CostGrid]
    room: Optional[_EdgeRoom]

    def weight(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Cost of straight segments ``start`` -> ``end`` (k, 2 arrays): the length, times
        1 + weight x difference + edge penalty (their means at 3 points) with a cost."""
        length = np.hypot(*(end - start).T)
        if self.cost is None:
            return length
        samples = [start + (end - start) * f for f in (0.25, 0.5, 0.75)]
        factors = np.mean([self.cost.factor(p[:, 0], p[:, 1]) + self.room.penalty(p)
                           for p in samples], axis=0)
        return length * factors


def _graph(points: np.ndarray, outline, rings: Sequence[_Ring], cost: Optional[CostGrid],
           spacing: float) -> Optional[_Graph]:
    """The graph of the Voronoi edges of ``points`` that lie wholly inside ``outline``
    (whose rings are ``rings``); None when there are none."""
    from scipy.spatial import QhullError, Voronoi
    from shapely.prepared import prep

    if len(points) < 4:
        return None
    try:
        diagram = Voronoi(points)
    except QhullError:
        return None
    ridges = np.array([r for r in diagram.ridge_vertices if len(r) == 2],
                      dtype=int).reshape(-1, 2)
    ridges = ridges[(ridges >= 0).all(axis=1)]
    vertices = diagram.vertices
    within = inside(outline, vertices[:, 0], vertices[:, 1])
    ridges = ridges[within[ridges].all(axis=1)]
    ridges = ridges[~_cross(vertices[ridges[:, 0]], vertices[ridges[:, 1]], rings,
                            spacing / 2)]
    if len(ridges) == 0:
        return None
    used, edges = np.unique(ridges, return_inverse=True)
    room = None if cost is None else _EdgeRoom(rings, spacing, points)
    return _Graph(vertices[used], edges.reshape(-1, 2), prep(outline), cost, room)


def _cross(starts: np.ndarray, ends: np.ndarray, rings: Sequence[_Ring],
           piece: float) -> np.ndarray:
    """Booleans: which segments ``starts`` -> ``ends`` meet a ring (touching counts).

    Vectorised: ring segments are cut into pieces at most ``piece`` long, and each
    segment is tested only against the pieces whose middle lies within half its
    length plus half a piece of its own middle (any piece it meets does).
    """
    from scipy.spatial import cKDTree

    if len(starts) == 0:
        return np.zeros(0, dtype=bool)
    first, second = [], []
    for ring in rings:
        counts = np.maximum(1, np.ceil(ring.lengths / piece).astype(int))
        segment = np.repeat(np.arange(len(ring.lengths)), counts)
        share = np.repeat(counts, counts)
        step = (np.arange(len(segment)) - np.repeat(np.cumsum(counts) - counts, counts)) / share
        first.append(ring.coords[segment] + ring.steps[segment] * step[:, None])
        second.append(ring.coords[segment] + ring.steps[segment] * (step + 1 / share)[:, None])
    first, second = np.vstack(first), np.vstack(second)
    reach = np.hypot(*(ends - starts).T) / 2 + piece / 2 * (1 + 1e-9)
    near = cKDTree((first + second) / 2).query_ball_point((starts + ends) / 2, reach)
    sizes = np.array([len(found) for found in near])
    segment = np.repeat(np.arange(len(starts)), sizes)
    if len(segment) == 0:
        return np.zeros(len(starts), dtype=bool)
    found = np.concatenate([np.asarray(f, dtype=int) for f in near if f])
    p, q, r, t = starts[segment], ends[segment], first[found], second[found]
    meets = ((_side(p, q, r) != _side(p, q, t)) & (_side(r, t, p) != _side(r, t, q)))
    crossed = np.zeros(len(starts), dtype=bool)
    crossed[segment[meets]] = True
    return crossed


def _side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Sign of the turn a -> b -> c (1 left, -1 right, 0 collinear), row by row."""
    return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
                   - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _joins(graph: _Graph, points: np.ndarray, nudge: float) -> np.ndarray:
    """Edges (m, 2: point index, node index) from each of ``points`` on the part's
    boundary to those of its nearest graph nodes that a straight segment inside the part
    reaches, so the shortest path picks the best way in."""
    from scipy.spatial import cKDTree
    from shapely.geometry import LineString

    count = min(SNAP_CANDIDATES, len(graph.nodes))
    _, nearest = cKDTree(graph.nodes).query(points, count)
    joins = []
    for k, (point, candidates) in enumerate(zip(points, nearest.reshape(len(points), -1))):
        for node in candidates:
            target = graph.nodes[node]
            gap = float(np.hypot(*(target - point)))
            start = point + (target - point) * min(1.0, nudge / gap) if gap > 0 else point
            if gap <= nudge or graph.prepared.contains(LineString([start, target])):
                joins.append((k, int(node)))
    return np.array(joins, dtype=int).reshape(-1, 2)


def _pairing(costs: np.ndarray) -> List[Tuple[int, int]]:
    """The cheapest non-crossing pairing of crossings ``0..m-1`` (ring order, ``m``
    even) with pair costs ``costs``; beyond ``MAX_SEARCHED`` crossings, the cheaper of
    pairing each with its next or with its previous neighbour."""
    count = len(costs)
    if count > MAX_SEARCHED:
        options = [[(k, (k + 1) % count) for k in range(shift, count, 2)] for shift in (0, 1)]
        return min(options, key=lambda pairs: sum(costs[a, b] for a, b in pairs))

    @lru_cache(maxsize=None)
    def best(start: int, stop: int) -> Tuple[float, Tuple[Tuple[int, int], ...]]:
        if start >= stop:
            return 0.0, ()
        chosen = (math.inf, ())
        for partner in range(start + 1, stop, 2):
            inner, outer = best(start + 1, partner), best(partner + 1, stop)
            total = costs[start, partner] + inner[0] + outer[0]
            if total < chosen[0] or not chosen[1]:
                chosen = (total, ((start, partner),) + inner[1] + outer[1])
        return chosen

    return list(best(0, count)[1])


def _cuts(rings: Sequence[_Ring], graph: _Graph, tolerance: float) -> List[np.ndarray]:
    """The cut polylines joining paired crossings of each ring, each extended by
    ``tolerance`` past the part's boundary at both ends (so it splits the part cleanly).
    Crossings join the graph as extra nodes; every edge costs at least a tiny amount,
    so zero-length Voronoi edges still count as edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    crossings = np.vstack([ring.crossings for ring in rings])
    joins = _joins(graph, crossings, tolerance)
    if len(joins) == 0:
        return []
    first = len(graph.nodes)
    nodes = np.vstack([graph.nodes, crossings])
    edges = np.vstack([graph.edges, np.stack([joins[:, 0] + first, joins[:, 1]], axis=1)])
    weights = np.maximum(graph.weight(nodes[edges[:, 0]], nodes[edges[:, 1]]),
                         tolerance * 1e-6)
    matrix = coo_matrix((weights, (edges[:, 0], edges[:, 1])),
                        shape=(len(nodes), len(nodes))).tocsr()
    cuts, offset = [], 0
    for ring in rings:
        ids = first + offset + np.arange(len(ring.crossings))
        offset += len(ids)
        # one source at a time: memory stays one row of the graph, however many crossings
        costs = np.array([dijkstra(matrix, directed=False, indices=source)[ids]
                          for source in ids]).reshape(len(ids), len(ids))
        for a, b in _pairing(costs):
            if math.isfinite(costs[a, b]):
                _, previous = dijkstra(matrix, directed=False, indices=ids[a],
                                       return_predecessors=True)
                cuts.append(_extended(nodes[_path(previous, ids[a], ids[b])], tolerance))
    return cuts


def _path(previous: np.ndarray, source: int, target: int) -> List[int]:
    nodes = [target]
    while nodes[-1] != source:
        nodes.append(int(previous[nodes[-1]]))
    return nodes[::-1]


def _extended(line: np.ndarray, distance: float) -> np.ndarray:
    """``line`` with its first and last points moved ``distance`` further outwards."""
    line = line.copy()
    for end, others in ((0, line[1:]), (len(line) - 1, line[-2::-1])):
        for other in others:
            away = line[end] - other
            gap = float(np.hypot(*away))
            if gap > 0:
                line[end] = line[end] + away / gap * distance
                break
    return line


def _length(line: np.ndarray) -> float:
    return float(np.hypot(*np.diff(line, axis=0).T).sum())


def _pieces(part, cuts: Sequence[np.ndarray]) -> list:
    """``part`` split by ``cuts`` (each piece a Polygon)."""
    from shapely.geometry import LineString
    from shapely.ops import polygonize, unary_union

    if not cuts:
        return [part]
    pieces = list(polygonize(unary_union([part.boundary] + [LineString(c) for c in cuts])))
    points = np.array([piece.representative_point().coords[0] for piece in pieces])
    keep = inside(part, points[:, 0], points[:, 1])
    return [piece for piece, kept in zip(pieces, keep) if kept]


def _nested_owner(exterior: _Ring) -> int:
    """The image an uncut part goes to: the nested one (whose edge bounds the part
    while the other image continues beyond it), or the first when both edges bound it."""
    labels = set(exterior.labels.tolist()) - {NEITHER}
    return SECOND if labels == {FIRST} else FIRST


def split_overlap(part, first, second, *, spacing: float, pixel: float,
                  min_cut_length: float = 0.0, cost: Optional[CostGrid] = None):
    """Split one overlap part between two images (see the module notes).

    Parameters
    ----------
    part : shapely Polygon
        A connected part of ``first`` ∩ ``second``.
    first, second : shapely (Multi)Polygon
        The two footprints.
    spacing : float
        Distance between boundary points (see :func:`boundary_spacing`); the lattice
        of a radiometric cost is spaced as :func:`lattice_spacing` says.
    pixel : float
        The finer pixel size of the two images: tolerances are a fraction of it.
    min_cut_length : float
        Cuts shorter than this (map units) are not made.
    cost : CostGrid, optional
        Radiometric cost; None: the geometric centre line.

    Returns
    -------
    (list of Polygon, list of Polygon, list of numpy arrays)
        The pieces of ``part`` for the first image, those for the second, and the
        cut polylines (k, 2) that separate them.
    """
    from shapely.geometry import MultiLineString, Polygon

    tolerance = TOLERANCE_PIXELS * pixel
    rings = _rings(part, first, second, tolerance, (SMALL_HOLE_SPACINGS * spacing) ** 2)
    if not any(len(ring.crossings) for ring in rings):
        owner = _nested_owner(rings[0])
        return ([part], [], []) if owner == FIRST else ([], [part], [])
    outline = Polygon(rings[0].coords, [ring.coords for ring in rings[1:]])
    points = [ring.samples(spacing) for ring in rings] + [ring.crossings for ring in rings]
    if cost is not None:
        points.append(_lattice(outline, lattice_spacing(part, spacing)))
    points = np.unique(np.vstack(points), axis=0)
    graph = _graph(points, outline, rings, cost, spacing)
    cuts = [] if graph is None else _cuts(rings, graph, tolerance)
    cuts = [cut for cut in cuts if _length(cut) - 2 * tolerance >= min_cut_length]
    borders = [MultiLineString([run for ring in rings for run in ring.runs(label)])
               for label in (FIRST, SECOND)]
    mine, theirs = [], []
    for piece in _pieces(outline, cuts):
        grown = piece.buffer(tolerance)
        near = [border.intersection(grown).length if not border.is_empty else 0.0
                for border in borders]
        (mine if near[0] >= near[1] else theirs).append(piece)
    return mine, theirs, cuts
