"""Seamlines end to end through ``qgis_process.bin``: the polygons tile the footprints of
four overlapping tiles, executors agree, the radiometric cost runs and equals the engine,
and bad input fails with its message and leaves nothing.

All runs of the module start together in one fixture (each qgis_process start costs
about 2 s).
"""

import os
import time

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import distorted_tiles, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "32"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "32"}
GAINS = [[1.0] * 3, [1.2, 0.9, 1.1], [0.8, 1.15, 0.95], [1.1, 1.05, 0.85]]
OFFSETS = [[0.0] * 3, [50, -20, 10], [-30, 40, 0], [100, 0, -60]]
DIFFERENCE = 1  # the engine's COSTS: geometry, difference


def _runs(folder):
    tiles, _ = distorted_tiles(folder, GAINS, OFFSETS, gradient=0.1)
    far = write_raster(os.path.join(folder, "far.tif"),
                       np.arange(75, dtype=np.int16).reshape(3, 5, 5), crs="EPSG:32610",
                       origin=(0.0, 0.0))
    os.makedirs(os.path.join(folder, "bad"))
    runs = {
        f"geometry-{name}": ("tessera:seamlines", {
            "INPUTS": tiles, "OUTPUT": os.path.join(folder, f"geometry-{name}.gpkg")}, env)
        for name, env in (("serial", SERIAL), ("processes", PROCESSES))}
    runs["difference"] = ("tessera:seamlines", {
        "INPUTS": tiles, "COST": DIFFERENCE, "DIFFERENCE_WEIGHT": 2.0, "POINT_SPACING": 5.0,
        "OUTPUT": os.path.join(folder, "difference.gpkg")}, SERIAL)
    runs["no overlap"] = ("tessera:seamlines", {
        "INPUTS": [tiles[0], tiles[1], far], "OUTPUT": os.path.join(folder, "bad", "seams.gpkg")},
        SERIAL)
    return runs, tiles


@pytest.fixture(scope="module")
def runs(qgis_process, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("seamlines"))
    planned, tiles = _runs(folder)
    started = time.monotonic()
    done = qgis_process.run_all(list(planned.values()))
    print(f"\n{len(done)} qgis_process runs in {time.monotonic() - started:.1f} s")
    return {name: (proc, planned[name]) for name, proc in zip(planned, done)}, tiles


def _polygons(runs, name):
    import geopandas

    proc, (_, params, _) = runs[0][name]
    assert proc.returncode == 0, output_of(proc)
    output = proc.stdout.split("Results")[-1].split("OUTPUT:\t")[1].split("\n")[0]
    assert output == params["OUTPUT"]
    table = geopandas.read_file(output, layer="seamlines")
    assert list(table["image"]) == [f"tile{k}" for k in range(4)]
    return list(table.geometry)


def test_polygons_tile_the_footprints_and_executors_agree(runs):
    from shapely.ops import unary_union
    from tessera.engine.footprints import footprint

    serial = _polygons(runs, "geometry-serial")
    assert [p.wkb for p in serial] == [p.wkb for p in _polygons(runs, "geometry-processes")]
    shapes = [footprint(path) for path in runs[1]]
    union = unary_union(shapes)
    assert unary_union(serial).symmetric_difference(union).area < 1e-3 * union.area
    for i, polygon in enumerate(serial):
        assert polygon.area > 0.1 * union.area
        assert polygon.difference(shapes[i]).area < 1e-9 * union.area
        for other in serial[i + 1:]:
            assert polygon.intersection(other).area < 1e-6 * union.area


def test_the_radiometric_cost_equals_the_engine(runs, tmp_path):
    from tessera.engine.seamlines import seamlines

    got = _polygons(runs, "difference")
    expected = seamlines(runs[1], str(tmp_path / "seams.gpkg"), cost="difference",
                         difference_weight=2.0, point_spacing=5.0)
    import geopandas

    assert [p.wkb for p in got] == [p.wkb for p in geopandas.read_file(expected).geometry]
    assert [p.wkb for p in got] != [p.wkb for p in _polygons(runs, "geometry-serial")]


def test_no_overlap_fails_with_the_message_and_leaves_nothing(runs):
    proc, (_, params, _) = runs[0]["no overlap"]
    assert proc.returncode != 0, output_of(proc)
    assert ("'far' overlaps no other input image: seamlines are cut where images overlap; "
            "remove it, or add an image that overlaps it") in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert listing(os.path.dirname(params["OUTPUT"])) == []
