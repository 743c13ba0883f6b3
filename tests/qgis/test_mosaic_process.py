"""The Mosaic algorithm end to end through ``qgis_process.bin``: gdalwarp's order with
both executors, feathering across seamlines, COG output, and bad input.

All runs of the module start together in one fixture (each qgis_process start
costs about 2 s).
"""

import os
import shutil
import subprocess

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import distorted_tiles, read_raster, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "64"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "64"}
FEATHER = 6
GAINS = [[1.0] * 3, [1.3, 1.3, 1.3], [1.0] * 3, [1.0] * 3]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return distorted_tiles(str(tmp_path_factory.mktemp("tiles")), GAINS, [[0] * 3] * 4)[0]


def _seamlines(folder, tiles):
    """tile0 owns the left of the tile0/tile1 overlap's middle, tile1 the right."""
    import geopandas
    import rasterio
    from shapely.geometry import box

    with rasterio.open(tiles[1]) as ds:
        split = ds.bounds.left + 20 * ds.res[0]
        crs = ds.crs
    path = os.path.join(folder, "seams.gpkg")
    geopandas.GeoDataFrame({"image": ["tile0", "tile1"], "other": [1, 2]},
                           geometry=[box(0, 0, split, 1e8), box(split, 0, 1e9, 1e8)],
                           crs=crs).to_file(path)
    return path


def _runs(folder, tiles):
    """name -> (algorithm, parameters, env, expected error fragment or None)."""
    seams = _seamlines(folder, tiles)
    profile = read_raster(tiles[0])[1]
    crs, pixel = profile["crs"], profile["transform"].a
    two_bands = write_raster(os.path.join(folder, "two.tif"), np.ones((2, 5, 5), np.int16),
                             crs=crs)

    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name, "mosaic.tif")

    runs = {name: ("tessera:mosaic", {"INPUTS": tiles, "OUTPUT": out(name)}, env, None)
            for name, env in (("last-serial", SERIAL), ("last-processes", PROCESSES))}
    runs["feather"] = ("tessera:mosaic", {
        "INPUTS": tiles[:2], "METHOD": 6, "FEATHER_DISTANCE": FEATHER * pixel, "SEAMLINES": seams,
        "OUTPUT": out("feather")}, PROCESSES, None)
    runs["cog"] = ("tessera:mosaic", {
        "INPUTS": tiles, "METHOD": 5, "COG": True, "INTERNAL_MASK": True,
        "OUTPUT": out("cog")}, SERIAL, None)
    runs["bands"] = ("tessera:mosaic", {"INPUTS": [tiles[0], two_bands], "OUTPUT": out("bands")},
                     SERIAL, "'two' has 2 band(s) but 'tile0' has 3")
    runs["seam field"] = ("tessera:mosaic", {
        "INPUTS": tiles[:2], "METHOD": 6, "SEAMLINES": seams, "SEAM_FIELD": "other",
        "OUTPUT": out("field")}, SERIAL, "has no polygon whose 'other' is 'tile0'")
    return runs


@pytest.fixture(scope="module")
def runs(qgis_process, tiles, tmp_path_factory):
    wave = _runs(str(tmp_path_factory.mktemp("mosaic")), tiles)
    done = qgis_process.run_all([(alg, params, env) for alg, params, env, _ in wave.values()])
    return {name: (proc, wave[name]) for name, proc in zip(wave, done)}


def _output(runs, name):
    proc, (_, params, _, _) = runs[name]
    assert proc.returncode == 0, output_of(proc)
    return params["OUTPUT"]


@pytest.mark.skipif(shutil.which("gdalwarp") is None, reason="gdalwarp is not installed")
def test_last_equals_gdalwarp_with_both_executors(runs, tiles, tmp_path):
    serial, parallel = _output(runs, "last-serial"), _output(runs, "last-processes")
    with open(serial, "rb") as a, open(parallel, "rb") as b:
        assert a.read() == b.read()
    gdal = str(tmp_path / "gdal.tif")
    subprocess.run(["gdalwarp", "-q", "-dstnodata", "-9999", *tiles, gdal], check=True)
    np.testing.assert_array_equal(read_raster(serial)[0], read_raster(gdal)[0])


def test_feather_blends_the_brighter_tile_across_the_seamline(runs, tiles):
    mosaic, profile = read_raster(_output(runs, "feather"))
    row = 10  # tile0 and tile1 overlap in columns 60..99 of the mosaic
    got = mosaic[:, row, 60:100]
    tile0 = read_raster(tiles[0])[0][:, row, 60:100]
    tile1 = read_raster(tiles[1])[0][:, row, 0:40]
    seam = 20  # the seamline runs 20 pixels into tile1
    before, after = seam - FEATHER // 2, seam + FEATHER // 2
    np.testing.assert_array_equal(got[:, :before], tile0[:, :before])
    np.testing.assert_array_equal(got[:, after:], tile1[:, after:])
    low, high = np.minimum(tile0, tile1), np.maximum(tile0, tile1)
    assert np.all((low[:, before:after] <= got[:, before:after])
                  & (got[:, before:after] <= high[:, before:after]))
    assert not np.array_equal(got[:, before:after], tile0[:, before:after])
    assert not np.array_equal(got[:, before:after], tile1[:, before:after])
    assert profile["nodata"] == -9999


def test_cog_output_is_a_cog_of_the_median(runs, tiles):
    import rasterio

    with rasterio.open(_output(runs, "cog")) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        median = ds.read()
        np.testing.assert_array_equal(ds.read_masks(1) == 0, (median == -9999).all(axis=0))
    stack = np.stack([read_raster(tiles[0])[0][:, 0:40, 60:100],
                      read_raster(tiles[1])[0][:, 0:40, 0:40]]).astype(float)
    overlap = np.where(stack == -9999, np.nan, stack)
    # only tiles 0 and 1 cover rows 0..39 of columns 60..99: the median is their mean
    expected = np.nanmedian(overlap, axis=0)
    valid = ~np.isnan(expected)
    got = median[:, 0:40, 60:100].astype(float)
    assert np.abs(got[valid] - expected[valid]).max() <= 0.5


@pytest.mark.parametrize("case", ["bands", "seam field"])
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, _, fragment) = runs[case]
    assert proc.returncode != 0, output_of(proc)
    assert fragment in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert listing(os.path.dirname(params["OUTPUT"])) == []
