"""Merge vector layers: intersections against shapely, union counts, layer names, kept
attribute collisions, reprojection, atomic output and bad input."""

import itertools
import os

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from tessera.engine.errors import Cancelled, InvalidInputError
from tessera.engine.vectors import merge_vectors

CRS = "EPSG:32610"


def _layer(folder, name, geometries, crs=CRS, ext="gpkg", **fields):
    import geopandas

    path = os.path.join(folder, f"{name}.{ext}")
    geopandas.GeoDataFrame(fields or None, geometry=list(geometries), crs=crs).to_file(path)
    return path


def _read(path):
    import geopandas

    return geopandas.read_file(path)


@pytest.fixture
def three(tmp_path):
    """Three polygon layers; each has an 'id' field, 'a' also 'kind', 'c' also 'score'."""
    rng = np.random.default_rng(3)
    layers = {}
    for name in "abc":
        corners = rng.uniform(0, 60, size=(4, 2))
        layers[name] = [box(x, y, x + rng.uniform(15, 40), y + rng.uniform(15, 40))
                        for x, y in corners]
    folder = str(tmp_path)
    paths = [_layer(folder, "a", layers["a"], id=[1, 2, 3, 4], kind=list("pqrs")),
             _layer(folder, "b", layers["b"], id=[5, 6, 7, 8]),
             _layer(folder, "c", layers["c"], id=[9, 10, 11, 12], score=[.1, .2, .3, .4])]
    return paths, layers


def test_intersection_pieces_are_the_shapely_intersections_of_every_triple(three, tmp_path):
    paths, layers = three
    out = merge_vectors(paths, str(tmp_path / "common.gpkg"), method="intersection")
    got = _read(out)
    truth = {}
    for (i, a), (j, b), (k, c) in itertools.product(
            *(enumerate(layers[name]) for name in "abc")):
        piece = a.intersection(b).intersection(c)
        if piece.area > 0:
            truth[(i + 1, j + 5, k + 9)] = piece.area
    assert len(truth) >= 3
    assert len(got) == len(truth)
    assert list(got.columns) == ["id_a", "kind", "id_b", "id_c", "score", "geometry"]
    for _, row in got.iterrows():
        assert row.geometry.area == pytest.approx(truth[(row.id_a, row.id_b, row.id_c)])
        assert row.kind == "pqrs"[row.id_a - 1] and row.score == pytest.approx(row.id_c / 10 - .8)
    assert got.crs == CRS


def test_union_keeps_every_feature_and_unites_the_columns(three, tmp_path):
    paths, layers = three
    got = _read(merge_vectors(paths, str(tmp_path / "all.gpkg")))
    assert len(got) == 12
    assert list(got.columns) == ["id", "kind", "score", "geometry"]
    assert got.id.tolist() == list(range(1, 13))
    assert got.kind.tolist()[:4] == list("pqrs") and got.kind[4:].isna().all()
    expected = [shape.area for name in "abc" for shape in layers[name]]
    np.testing.assert_allclose(got.area, expected)
    assert set(got.geom_type) == {"Polygon"}


def test_keep_and_name_fields_record_the_source_layers(three, tmp_path):
    paths, _ = three
    kept = _read(merge_vectors(paths, str(tmp_path / "kept.gpkg"), method="keep"))
    assert kept.source.tolist() == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    named = _read(merge_vectors(paths[:2], str(tmp_path / "named.gpkg"), method="union",
                                name_field="layer"))
    assert named.layer.tolist() == ["a"] * 4 + ["b"] * 4
    common = _read(merge_vectors(paths, str(tmp_path / "common.gpkg"), method="intersection",
                                 name_field="from", separator="+"))
    assert set(common["from"]) == {"a+b+c"}


def test_layers_in_another_crs_are_reprojected_to_the_first(tmp_path):
    import geopandas

    folder = str(tmp_path)
    first = _layer(folder, "utm", [box(500000, 4200000, 500100, 4200100)], id=[1])
    square = geopandas.GeoSeries([box(500050, 4200050, 500150, 4200150)], crs=CRS)
    other = _layer(folder, "wgs", square.to_crs("EPSG:4326"), crs="EPSG:4326", ext="shp",
                   id=[2])
    got = _read(merge_vectors([first, other], str(tmp_path / "m.gpkg"), method="intersection"))
    assert got.crs == CRS and len(got) == 1
    assert got.geometry[0].area == pytest.approx(2500, rel=1e-6)
    assert got.geometry[0].bounds == pytest.approx((500050, 4200050, 500100, 4200100),
                                                   abs=1e-3)


def test_mixed_single_and_multi_polygons_are_written_as_multi(tmp_path):
    folder = str(tmp_path)
    single = _layer(folder, "single", [box(0, 0, 1, 1)])
    multi = _layer(folder, "multi", [box(2, 2, 3, 3).union(box(5, 5, 6, 6))])
    got = _read(merge_vectors([single, multi], str(tmp_path / "m.gpkg")))
    assert got.geom_type.tolist() == ["MultiPolygon", "MultiPolygon"]
    np.testing.assert_allclose(got.area, [1.0, 2.0])


def test_the_output_replaces_an_older_file_only_when_complete(three, tmp_path):
    paths, _ = three
    out = str(tmp_path / "m.gpkg")
    merge_vectors(paths[:1], out)
    far = _layer(str(tmp_path), "far", [box(1000, 1000, 1001, 1001)])
    with pytest.raises(InvalidInputError, match="the layers a, far have no area in common"):
        merge_vectors([paths[0], far], out, method="intersection")
    assert len(_read(out)) == 4
    with pytest.raises(Cancelled):
        merge_vectors(paths, out, cancelled=lambda: True)
    assert len(_read(out)) == 4
    assert sorted(os.listdir(tmp_path)) == ["a.gpkg", "b.gpkg", "c.gpkg", "far.gpkg", "m.gpkg"]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # pyogrio, on the no-CRS layer
def test_bad_input_is_refused_with_a_remedy(three, tmp_path):
    paths, _ = three
    folder = str(tmp_path)
    out = str(tmp_path / "m.gpkg")
    cases = [
        (dict(inputs=paths, method="dissolve"), "merge method 'dissolve' is unknown: choose "
                                                "one of union, intersection, keep"),
        (dict(inputs=paths[:1], method="intersection"), "an intersection needs two vector "
                                                        "layers or more"),
        (dict(inputs=[]), "no vector layer given"),
        (dict(inputs=paths, output=str(tmp_path / "m.shp")), "give '.*m.shp' the extension "
                                                              ".gpkg"),
        (dict(inputs=paths + [_layer(folder, "roads", [LineString([(0, 0), (1, 1)])])]),
         "vector layer 'roads' has LineString geometries but 'a' has Polygon geometries"),
        (dict(inputs=paths, method="keep", name_field="id"), "vector layer 'a' already has a "
                                                             "field 'id'"),
        (dict(inputs=[paths[0], _layer(folder, "nocrs", [box(0, 0, 1, 1)], crs=None)]),
         "vector layer 'nocrs' has no CRS but other layers have one"),
        (dict(inputs=[paths[0], _layer(folder, "bowtie", [_bowtie()])],
              method="intersection"), "vector layer 'bowtie' has 1 invalid geometries"),
    ]
    os.makedirs(tmp_path / "x")
    cases.append((dict(inputs=[paths[0], _layer(str(tmp_path / "x"), "a", [Point(0, 0)])],
                       method="keep"), "two layers are named 'a'"))
    for options, message in cases:
        options.setdefault("output", out)
        with pytest.raises(InvalidInputError, match=message):
            merge_vectors(options.pop("inputs"), **options)
    with pytest.raises(FileNotFoundError, match="vector layer '.*nowhere.gpkg' does not exist"):
        merge_vectors([paths[0], str(tmp_path / "nowhere.gpkg")], out)
    (tmp_path / "garbage.shp").write_text("not a layer")
    with pytest.raises(FileNotFoundError, match="'.*garbage.shp' cannot be read as a vector "
                                                "layer"):
        merge_vectors([paths[0], str(tmp_path / "garbage.shp")], out)
    assert not os.path.exists(out)


def _bowtie():
    from shapely.geometry import Polygon

    return Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
