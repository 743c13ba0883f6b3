"""Seamlines: the polygons tile the union of the footprints (2, 3 and 4 images, triple
overlaps, L-shaped overlaps, nodata holes, nested images, unaligned grids), the cut of
two side-by-side images is the middle of their overlap, the radiometric cost avoids
pixels where the images differ, results do not depend on windows or workers, and bad
input is refused with a message."""

import os

import numpy as np
import pytest

from support import GAINS, OFFSETS, WORLDVIEW, crop, distorted_tiles, uniform_raster, write_raster

from tessera.engine import cutlines
from tessera.engine.errors import Cancelled, GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.footprints import footprint
from tessera.engine.seamlines import LAYER, _tile, seamlines



def _table(path):
    import geopandas

    return geopandas.read_file(path, layer=LAYER)


def _assert_tiles_the_footprints(paths, output):
    """The invariants of the output: one feature per image in input order, union = union
    of footprints (0.1%), no pairwise overlap, each polygon within its footprint."""
    from shapely.ops import unary_union

    table = _table(output)
    assert list(table["image"]) == [os.path.splitext(os.path.basename(p))[0] for p in paths]
    assert list(table["path"]) == list(paths)
    assert table.crs.to_epsg() == 32610
    shapes = [footprint(path) for path in paths]
    union = unary_union(shapes)
    polygons = list(table.geometry)
    assert all(p.geom_type == "MultiPolygon" and p.is_valid for p in polygons)
    assert unary_union(polygons).symmetric_difference(union).area < 1e-3 * union.area
    for i in range(len(polygons)):
        assert polygons[i].difference(shapes[i]).area < 1e-9 * union.area
        for j in range(i + 1, len(polygons)):
            assert polygons[i].intersection(polygons[j]).area < 1e-6 * union.area
    return polygons


def _seam(first, second):
    """The line where two output polygons meet."""
    return first.boundary.intersection(second.boundary)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Uniform 20 x 20 px rasters (2 m pixels) placed to make every kind of overlap."""
    folder = tmp_path_factory.mktemp("synthetic")

    def raster(name, size=(20, 20), origin=(0.0, 40.0), **kwargs):
        return uniform_raster(str(folder / f"{name}.tif"), [100, 100], size=size,
                              origin=origin, **kwargs)

    return {
        "a": raster("a"), "b": raster("b", origin=(24.0, 40.0)),
        "c": raster("c", origin=(12.0, 64.0)),
        "d": raster("d", origin=(30.0, 70.0), holes=[(5, 5, 4, 6)]),
        "ell": raster("ell", size=(30, 30), origin=(0.0, 60.0), holes=[(0, 15, 15, 15)]),
        "right": raster("right", size=(30, 30), origin=(16.0, 44.0)),
        "big": raster("big", size=(40, 40), origin=(0.0, 80.0)),
        "inner": raster("inner", size=(10, 10), origin=(20.0, 60.0)),
        "odd": raster("odd", size=(17, 23), res=3.0, origin=(20.7, 49.3), holes=[(3, 4, 2, 2)]),
        "holey": raster("holey", origin=(24.0, 40.0), holes=[(4, 2, 5, 3), (12, 6, 3, 2)]),
    }


CASES = {
    "two": ["a", "b"],
    "triple overlap": ["a", "b", "c"],
    "four with a nodata hole": ["a", "b", "c", "d"],
    "L-shaped overlap": ["ell", "right"],
    "nodata holes in the overlap": ["a", "holey"],
    "nested": ["big", "inner"],
    "unaligned grids": ["a", "b", "odd"],
}


@pytest.mark.parametrize("cost", ["geometry", "difference"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_polygons_tile_the_union_of_the_footprints(synthetic, tmp_path, case, cost):
    paths = [synthetic[name] for name in CASES[case]]
    polygons = _assert_tiles_the_footprints(
        paths, seamlines(paths, str(tmp_path / "seams.gpkg"), cost=cost))
    assert all(p.area > 0 for p in polygons)


def test_a_nested_image_keeps_its_whole_footprint(synthetic, tmp_path):
    big, inner = _table(seamlines([synthetic["big"], synthetic["inner"]],
                                  str(tmp_path / "s.gpkg"))).geometry
    assert inner.area == pytest.approx(10 * 10 * 4.0)
    assert big.area == pytest.approx((40 * 40 - 10 * 10) * 4.0)


def test_tiles_of_a_real_image_with_nodata(tmp_path):
    """Four tiles of the WorldView-3 image (nodata holes, a four-image overlap), and three
    corners of it cut with its slanted nodata edge."""
    tiles, _ = distorted_tiles(str(tmp_path), GAINS, OFFSETS)
    for cost in ("geometry", "difference"):
        _assert_tiles_the_footprints(tiles, seamlines(tiles, str(tmp_path / f"{cost}.gpkg"),
                                                      cost=cost))
    corners = [crop(WORLDVIEW, str(tmp_path / f"corner{k}.tif"), window)
               for k, window in enumerate([(0, 0, 120, 150), (0, 90, 120, 150),
                                           (70, 40, 120, 150)])]
    _assert_tiles_the_footprints(corners, seamlines(corners, str(tmp_path / "corners.gpkg")))


def test_the_cut_of_side_by_side_images_is_the_middle_of_their_overlap(synthetic, tmp_path):
    """a spans x 0..40 m, b 24..64 m, both y 0..40 m (2 m pixels): the seam runs from top
    to bottom along x = 32 m, the overlap's centre line: exactly with the automatic
    spacing (2 pixels), within half a pixel with coarser spacings."""
    for spacing, tolerance in ((None, 0.0), (3.0, 1.0), (7.0, 1.0)):
        first, second = _table(seamlines([synthetic["a"], synthetic["b"]],
                                         str(tmp_path / "s.gpkg"),
                                         point_spacing=spacing)).geometry
        seam = _seam(first, second)
        left, bottom, right, top = seam.bounds
        assert (bottom, top) == (0.0, 40.0)
        assert 32.0 - tolerance <= left <= right <= 32.0 + tolerance
        assert seam.length == pytest.approx(40.0, rel=0.01)
        assert first.area == pytest.approx(32 * 40, abs=tolerance * 40)


def test_cuts_shorter_than_the_minimum_are_not_made(synthetic, tmp_path):
    """Without the 40 m cut, the whole overlap goes to one image: a (its exclusive area
    and b's border the overlap alike; ties go to the first image)."""
    first, second = _table(seamlines([synthetic["a"], synthetic["b"]],
                                     str(tmp_path / "s.gpkg"), min_cut_length=41.0)).geometry
    assert first.bounds == (0.0, 0.0, 40.0, 40.0)
    assert second.bounds == (40.0, 0.0, 64.0, 40.0)


@pytest.fixture(scope="module")
def bright_strip(tmp_path_factory):
    """Two 50 x 50 px images cut from one random image, overlapping in x 60..100 m; the
    second is brighter in a strip x 74..86 m, y 20..80 m in the overlap's middle."""
    folder = tmp_path_factory.mktemp("strip")
    base = np.random.default_rng(1).integers(50, 200, (2, 50, 80)).astype(np.uint16)
    second = base[:, :, 30:].copy()
    second[:, 10:40, 7:13] += 120
    return [write_raster(str(folder / "left.tif"), base[:, :, :50], nodata=0,
                         origin=(0.0, 100.0)),
            write_raster(str(folder / "right.tif"), second, nodata=0, origin=(60.0, 100.0))]


def test_the_difference_cost_goes_round_pixels_where_the_images_differ(bright_strip,
                                                                        tmp_path):
    from shapely.geometry import box

    strip = box(74, 20, 86, 80)
    inside = {}
    for cost in ("geometry", "difference"):
        output = seamlines(bright_strip, str(tmp_path / f"{cost}.gpkg"), cost=cost)
        seam = _seam(*_table(output).geometry)
        assert seam.bounds[1] == 0.0 and seam.bounds[3] == 100.0  # crosses the overlap
        inside[cost] = seam.intersection(strip).length / seam.length
    assert inside["geometry"] == pytest.approx(0.6)
    assert inside["difference"] == 0.0
    # with no weight on differences, only the edge penalty steers: the cut crosses again
    output = seamlines(bright_strip, str(tmp_path / "w0.gpkg"), cost="difference",
                       difference_weight=0.0)
    seam = _seam(*_table(output).geometry)
    assert seam.intersection(strip).length / seam.length > 0.3


@pytest.mark.parametrize("cost", ["geometry", "difference"])
def test_results_do_not_depend_on_window_size_or_workers(tmp_path, cost):
    tiles, _ = distorted_tiles(str(tmp_path), GAINS, OFFSETS, gradient=0.1)
    runs = {}
    for name, execution in (("serial", Execution()), ("tiny windows", Execution(window_size=13)),
                            ("2 workers", Execution("processes", workers=2, window_size=64))):
        output = seamlines(tiles, str(tmp_path / f"{name}.gpkg"), cost=cost,
                           execution=execution)
        runs[name] = [shape.wkb for shape in _table(output).geometry]
    assert runs["serial"] == runs["tiny windows"] == runs["2 workers"]


def test_footprint_vertices_do_not_depend_on_window_size(tmp_path):
    tiles, _ = distorted_tiles(str(tmp_path), GAINS, OFFSETS)
    assert (footprint(tiles[0], execution=Execution(window_size=7)).wkb
            == footprint(tiles[0]).wkb)


def test_cyclic_preferences_in_a_triple_overlap_leave_no_gap():
    """Three squares around a common area where a beats b, b beats c and c beats a: no
    image wins the triple area, which goes whole to one covering image."""
    from shapely.geometry import MultiPolygon, box
    from shapely.ops import unary_union

    shapes = [MultiPolygon([box(0, 0, 10, 10)]), MultiPolygon([box(6, 0, 16, 10)]),
              MultiPolygon([box(3, 6, 13, 16)])]
    sides = {(0, 1): shapes[0].intersection(shapes[1]),  # a wins all of a ∩ b
             (1, 2): shapes[1].intersection(shapes[2]),  # b wins all of b ∩ c
             (0, 2): box(0, 0, 0, 0).buffer(0)}           # c wins all of a ∩ c
    regions = _tile(shapes, sides, [], pixel=1.0)
    triple = box(6, 6, 10, 10)
    assert unary_union(regions).area == pytest.approx(unary_union(shapes).area)
    assert [round(r.intersection(triple).area, 9) for r in regions].count(16.0) == 1
    for i in range(3):
        assert regions[i].difference(shapes[i]).area == pytest.approx(0.0)
        for j in range(i + 1, 3):
            assert regions[i].intersection(regions[j]).area == pytest.approx(0.0)


def test_segment_ring_meeting_matches_shapely():
    """The vectorised test of Voronoi edges against ring segments agrees with shapely's
    ``intersects`` (an independent reference) on random segments near a jagged ring."""
    from shapely.geometry import LineString, Polygon

    rng = np.random.default_rng(3)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
    radii = rng.uniform(5, 10, 40)
    ring = Polygon(np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1))
    rings = cutlines._rings(ring, ring, ring, 0.01, 0.0)
    starts = rng.uniform(-11, 11, (500, 2))
    ends = starts + rng.normal(0, 2, (500, 2))
    got = cutlines._cross(starts, ends, rings, 0.5)
    expected = [LineString([s, e]).intersects(ring.exterior) for s, e in zip(starts, ends)]
    assert got.tolist() == expected and 50 < sum(expected) < 450


def test_crossings_are_paired_without_cuts_crossing():
    """Four crossings round a ring: pairs are neighbours (0-1 and 2-3, or 1-2 and 3-0),
    never 0-2 and 1-3, whose cuts would cross; the cheaper neighbour pairing wins."""
    costs = np.array([[0, 1, 0.1, 5], [1, 0, 5, 0.1], [0.1, 5, 0, 1], [5, 0.1, 1, 0]])
    assert cutlines._pairing(costs) == [(0, 1), (2, 3)]
    costs[0, 3] = costs[3, 0] = costs[1, 2] = costs[2, 1] = 0.5
    assert sorted(cutlines._pairing(costs)) == [(0, 3), (1, 2)]


def _message(tmp_path, paths, error=InvalidInputError, **kwargs):
    with pytest.raises(error) as info:
        seamlines(paths, str(tmp_path / "out.gpkg"), **kwargs)
    assert not (tmp_path / "out.gpkg").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    return str(info.value)


def test_bad_input_is_refused_with_a_message(synthetic, tmp_path):
    a, b = synthetic["a"], synthetic["b"]
    far = uniform_raster(str(tmp_path / "far.tif"), [1, 1], origin=(500.0, 500.0))
    # extents overlap, valid pixels do not: b's pixels over a are all nodata
    apart = uniform_raster(str(tmp_path / "apart.tif"), [1, 1], origin=(24.0, 40.0),
                           holes=[(0, 0, 20, 8)])
    empty = uniform_raster(str(tmp_path / "empty.tif"), [1, 1], origin=(24.0, 40.0),
                           holes=[(0, 0, 20, 20)])
    utm11 = uniform_raster(str(tmp_path / "utm11.tif"), [1, 1], origin=(24.0, 40.0),
                           crs="EPSG:32611")
    assert "seamlines need two or more overlapping images, 1 given" in _message(tmp_path, [a])
    assert _message(tmp_path, [a, b, far]) == (
        "'far' overlaps no other input image: seamlines are cut where images overlap; "
        "remove it, or add an image that overlaps it")
    assert _message(tmp_path, [a, apart]) == (
        "no two input images overlap (a, apart): seamlines are cut where images overlap; "
        "choose images that overlap")
    away = uniform_raster(str(tmp_path / "away.tif"), [1, 1], origin=(-500.0, -500.0))
    assert "'far', 'away' overlap no other input image" in _message(tmp_path,
                                                                    [a, b, far, away])
    assert "'empty' has no valid pixel (all nodata)" in _message(tmp_path, [a, empty])
    assert "'utm11' is in another CRS than 'a'" in _message(tmp_path, [a, utm11],
                                                            GridMismatchError)
    assert "seamline cost 'fancy' is unknown" in _message(tmp_path, [a, b], cost="fancy")
    assert "point spacing -1 is negative" in _message(tmp_path, [a, b], point_spacing=-1)
    assert "difference weight -2 is negative" in _message(tmp_path, [a, b],
                                                         difference_weight=-2)
    with pytest.raises(InvalidInputError, match="give '.*seams.shp' the extension .gpkg"):
        seamlines([a, b], str(tmp_path / "seams.shp"))


def test_cancel_leaves_nothing(synthetic, tmp_path):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    _message(tmp_path, [synthetic["a"], synthetic["b"], synthetic["c"]], Cancelled,
             cancelled=cancelled)


def test_an_older_output_is_replaced(synthetic, tmp_path):
    output = tmp_path / "out.gpkg"
    output.write_text("old")
    seamlines([synthetic["a"], synthetic["b"]], str(output))
    assert len(_table(str(output))) == 2
