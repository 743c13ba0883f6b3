"""Mask rasters by polygons and merge vector layers end to end through ``qgis_process.bin``:
executors agree byte for byte, results equal the engine's and known answers, bad input
fails with its message and leaves nothing.

All runs of the module start together in one fixture (each qgis_process start costs
about 2 s).
"""

import os
import time

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import WORLDVIEW, crop, read_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "16"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "16"}
FLOAT32 = 1  # "same as input" comes first, then engine.dtypes.DTYPES
#: (row, col) of two 60 x 60 tiles cut from the WorldView-3 image, overlapping by 30 columns.
TILES = ((100, 100), (110, 130))
BUFFER = 5.0


def _tiles(folder):
    return [crop(WORLDVIEW, os.path.join(folder, f"tile{k}.tif"), (row, col, 60, 60))
            for k, (row, col) in enumerate(TILES)]


def _seams(folder, tiles, crs="EPSG:32610", name="seams"):
    """A seamline-like layer: tile0 left of the middle of the overlap, tile1 right of it."""
    import geopandas
    import rasterio
    from shapely.geometry import box

    bounds = [rasterio.open(path).bounds for path in tiles]
    middle = (bounds[1].left + bounds[0].right) / 2
    table = geopandas.GeoDataFrame(
        {"image": ["tile0", "tile1"]},
        geometry=[box(bounds[0].left, bounds[1].bottom, middle, bounds[0].top),
                  box(middle, bounds[1].bottom, bounds[1].right, bounds[0].top)],
        crs="EPSG:32610").to_crs(crs)
    path = os.path.join(folder, f"{name}.gpkg")
    table.to_file(path)
    return path


def _vector_layers(folder):
    """a (two squares), b (one square, Shapefile in WGS 84), c (one square)."""
    import geopandas
    from shapely.geometry import box

    x, y = 546500.0, 4183500.0

    def write(name, boxes, crs="EPSG:32610", ext="gpkg", **fields):
        path = os.path.join(folder, f"{name}.{ext}")
        table = geopandas.GeoDataFrame(fields, geometry=[box(x + a, y + b, x + c, y + d)
                                                         for a, b, c, d in boxes],
                                       crs="EPSG:32610")
        table.to_crs(crs).to_file(path)
        return path

    return {"a": write("a", [(0, 0, 100, 100), (200, 0, 300, 100)], id=[1, 2]),
            "b": write("b", [(50, 50, 250, 150)], crs="EPSG:4326", ext="shp", id=[3]),
            "c": write("c", [(60, 0, 240, 80)], id=[4], kind=["c"])}


def method_index(method):
    from tessera.engine.vectors import METHODS

    return METHODS.index(method)


def _runs(folder):
    tiles = _tiles(folder)
    seams = _seams(folder, tiles)
    layers = _vector_layers(folder)

    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name)

    runs = {}
    for name, env in (("serial", SERIAL), ("processes", PROCESSES)):
        runs[f"mask-{name}"] = ("tessera:maskrasters", {
            "INPUTS": tiles, "MASK": seams, "FIELD": "image", "BUFFER": BUFFER,
            "ALL_TOUCHED": True, "OUTPUT_FOLDER": os.path.join(folder, f"mask-{name}")}, env)
    runs["mask-exclude"] = ("tessera:maskrasters", {
        "INPUTS": tiles[0], "MASK": _seams(folder, tiles, "EPSG:4326", "seams_wgs84"),
        "MODE": 1, "NODATA": 0, "DATA_TYPE": FLOAT32,
        "OUTPUT_FOLDER": os.path.join(folder, "mask-exclude")}, SERIAL)
    for method, extra in (("union", {}), ("intersection", {"NAME_FIELD": "from"}),
                          ("keep", {"SEPARATOR": "+"})):
        runs[f"merge-{method}"] = ("tessera:mergevectors", dict({
            "INPUTS": [layers["a"], layers["b"], layers["c"]], "METHOD": method_index(method),
            "OUTPUT": os.path.join(folder, f"merge-{method}.gpkg")}, **extra), SERIAL)
    bad = {
        "mask field missing": ("tessera:maskrasters", {
            "INPUTS": tiles, "MASK": seams, "FIELD": "name", "OUTPUT_FOLDER": out("bad-field")},
            "mask layer 'seams.gpkg' has no field 'name': fields are image"),
        "merge unknown layer": ("tessera:mergevectors", {
            "INPUTS": [layers["a"], os.path.join(folder, "nowhere.gpkg")],
            "OUTPUT": os.path.join(out("bad-layer"), "merged.gpkg")},
            f"Vector layers: '{os.path.join(folder, 'nowhere.gpkg')}' is neither a readable "
            f"vector file nor a layer of the project: check the path"),
    }
    runs.update({name: (alg, params, SERIAL) for name, (alg, params, _) in bad.items()})
    return runs, bad, tiles, layers


@pytest.fixture(scope="module")
def runs(qgis_process, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("mask_merge"))
    planned, bad, tiles, layers = _runs(folder)
    started = time.monotonic()
    done = qgis_process.run_all(list(planned.values()))
    print(f"\n{len(done)} qgis_process runs in {time.monotonic() - started:.1f} s")
    results = {name: (proc, planned[name]) for name, proc in zip(planned, done)}
    return results, bad, tiles, layers


def _result(runs, name, key):
    proc, _ = runs[0][name]
    assert proc.returncode == 0, output_of(proc)
    return proc.stdout.split("Results")[-1].split(f"{key}:\t")[1].split("\n")[0]


def test_masks_agree_between_executors_and_with_the_engine(runs, tmp_path):
    from tessera.engine.mask_rasters import mask_rasters

    serial = _result(runs, "mask-serial", "OUTPUT_LAYERS").split(", ")
    parallel = _result(runs, "mask-processes", "OUTPUT_LAYERS").split(", ")
    assert [os.path.basename(path) for path in serial] == ["tile0_masked.tif",
                                                           "tile1_masked.tif"]
    params = runs[0]["mask-serial"][1][1]
    expected = mask_rasters(runs[2], params["MASK"], str(tmp_path), field="image",
                            buffer=BUFFER, all_touched=True)
    for one, two, three in zip(serial, parallel, expected):
        with open(one, "rb") as a, open(two, "rb") as b:
            assert a.read() == b.read()
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(three)[0])


def test_each_tile_keeps_its_side_of_the_seam_and_a_buffer_beyond(runs):
    """Tile0 spans columns 0-59 and the seam lies at its column 45: columns 0-44 are kept,
    and 5 m (2.25 pixels) beyond the seam, columns 45-47 too (all touched); 48 on are
    nodata. Tile1 (starting 30 columns right) mirrors it around its column 15."""
    tile0, tile1 = (read_raster(path)[0] for path in
                    _result(runs, "mask-serial", "OUTPUT_LAYERS").split(", "))
    source0, source1 = (read_raster(path)[0] for path in runs[2])
    np.testing.assert_array_equal(tile0[:, :, :48], source0[:, :, :48])
    assert (tile0[:, :, 48:] == -9999).all()
    np.testing.assert_array_equal(tile1[:, :, 12:], source1[:, :, 12:])
    assert (tile1[:, :, :12] == -9999).all()


def test_exclude_mode_with_a_reprojected_layer_and_a_given_nodata(runs, tmp_path):
    from tessera.engine.mask_rasters import mask_rasters

    (path,) = _result(runs, "mask-exclude", "OUTPUT_LAYERS").split(", ")
    params = runs[0]["mask-exclude"][1][1]
    (expected,) = mask_rasters(runs[2][:1], params["MASK"], str(tmp_path), mode="exclude",
                               nodata=0, dtype="float32")
    got, profile = read_raster(path)
    assert profile["dtype"] == "float32" and profile["nodata"] == 0
    np.testing.assert_array_equal(got, read_raster(expected)[0])
    assert (got == 0).all()  # both seam polygons cover the whole tile


def test_merge_methods(runs):
    import geopandas

    union = geopandas.read_file(_result(runs, "merge-union", "OUTPUT"))
    assert len(union) == 4 and union.id.tolist() == [1, 2, 3, 4]
    assert union.crs == "EPSG:32610"
    np.testing.assert_allclose(union.area, [1e4, 1e4, 2e4, 180 * 80], rtol=1e-6)
    keep = geopandas.read_file(_result(runs, "merge-keep", "OUTPUT"))
    assert keep.source.tolist() == ["a", "a", "b", "c"]
    common = geopandas.read_file(_result(runs, "merge-intersection", "OUTPUT"))
    # a's squares 0-100 and 200-300 x 0-100, b 50-250 x 50-150, c 60-240 x 0-80
    assert sorted(common.id_a) == [1, 2] and set(common.id_b) == {3}
    assert set(common.kind) == {"c"} and set(common["from"]) == {"a_b_c"}
    np.testing.assert_allclose(sorted(common.area), [40 * 30, 40 * 30], rtol=1e-6)


BAD = ["mask field missing", "merge unknown layer"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, _) = runs[0][case]
    fragment = runs[1][case][2]
    assert proc.returncode != 0, output_of(proc)
    assert fragment in proc.stdout + proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    folder = params.get("OUTPUT_FOLDER") or os.path.dirname(params["OUTPUT"])
    assert listing(folder) == []
