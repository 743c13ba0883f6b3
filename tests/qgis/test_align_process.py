"""Align rasters end to end through ``qgis_process.bin``: executors agree byte for byte and
match the engine, a target CRS reprojects mixed inputs, and bad input fails with the
engine's message and leaves the output folder empty.

All runs start together in one module fixture (each qgis_process start costs ~2 s).
"""

import os
import subprocess
import time

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402
from affine import Affine  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import WORLDVIEW, read_raster, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "64"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "64"}
CELL_SIZE = 3  # RESOLUTION option "cell size given below"
CUBIC = 2  # RESAMPLING options follow engine.warp.RESAMPLINGS
BAD = {
    "crs": "'utm11' is in another CRS than 'wv0': choose a target CRS (or a target grid) to "
           "reproject them onto one grid",
    "cell size 0": "resolution 0 is not a cell size: give a positive cell size in target CRS "
                   "units, or choose highest, lowest, average",
}


def _tiles(folder):
    """Two overlapping 3-band crops of the WorldView-3 image, the second shifted by a
    fraction of a pixel, and the first reprojected to UTM zone 11 by gdalwarp."""
    array, profile = read_raster(WORLDVIEW)
    t = profile["transform"]
    paths = []
    for k, (row, col, dx) in enumerate(((100, 100, 0.0), (150, 160, 0.7))):
        transform = Affine(t.a, 0, t.c + t.a * col + dx, 0, t.e, t.f + t.e * row)
        paths.append(write_raster(os.path.join(folder, f"wv{k}.tif"),
                                  array[:3, row:row + 80, col:col + 90], nodata=-9999,
                                  crs=profile["crs"], transform=transform))
    utm11 = os.path.join(folder, "utm11.tif")
    subprocess.run(["gdalwarp", "-q", "-t_srs", "EPSG:32611", paths[0], utm11], check=True)
    return paths, utm11


@pytest.fixture(scope="module")
def runs(qgis_process, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("align"))
    tiles, utm11 = _tiles(folder)

    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name)

    happy = {"INPUTS": tiles, "RESOLUTION": CELL_SIZE, "CELL_SIZE": 3.0, "TAP": True,
             "RESAMPLING": CUBIC}
    plan = {
        "serial": ("tessera:alignrasters", dict(happy, OUTPUT_FOLDER=out("serial")), SERIAL),
        "processes": ("tessera:alignrasters", dict(happy, OUTPUT_FOLDER=out("processes")),
                      PROCESSES),
        "target crs": ("tessera:alignrasters", {
            "INPUTS": [tiles[1], utm11], "TARGET_CRS": "EPSG:3857",
            "OUTPUT_FOLDER": out("crs-ok")}, SERIAL),
        "crs": ("tessera:alignrasters", {"INPUTS": [tiles[0], utm11],
                                         "OUTPUT_FOLDER": out("crs")}, SERIAL),
        "cell size 0": ("tessera:alignrasters", {"INPUTS": tiles, "RESOLUTION": CELL_SIZE,
                                                 "OUTPUT_FOLDER": out("zero")}, SERIAL),
    }
    started = time.monotonic()
    done = qgis_process.run_all(list(plan.values()))
    print(f"\n{len(done)} qgis_process runs in {time.monotonic() - started:.1f} s")
    return {name: (proc, plan[name]) for name, proc in zip(plan, done)}, tiles


def _outputs(runs, name):
    proc, _ = runs[0][name]
    assert proc.returncode == 0, output_of(proc)
    listed = proc.stdout.split("Results")[-1].split("OUTPUT_LAYERS:\t")[1].split("\n")[0]
    return listed.split(", ")


def test_executors_agree_byte_for_byte_and_match_the_engine(runs, tmp_path):
    from tessera.engine.align import align_rasters
    from tessera.engine.raster_io import describe

    serial, parallel = _outputs(runs, "serial"), _outputs(runs, "processes")
    assert [os.path.basename(p) for p in serial] == ["wv0_aligned.tif", "wv1_aligned.tif"]
    expected = align_rasters(runs[1], str(tmp_path), resolution=3.0,
                             target_aligned_pixels=True, resampling="cubic")
    for one, two, three in zip(serial, parallel, expected):
        with open(one, "rb") as a, open(two, "rb") as b:
            assert a.read() == b.read()
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(three)[0])
        grid = describe(one).grid
        assert grid.res == (3.0, 3.0)
        assert grid.transform.c % 3 == 0 and grid.transform.f % 3 == 0


def test_a_target_crs_reprojects_inputs_in_two_crss_onto_one_grid(runs):
    from tessera.engine.raster_io import describe
    from tessera.engine.windows import same_crs

    grids = [describe(path).grid for path in _outputs(runs, "target crs")]
    assert all(same_crs(grid.crs, "EPSG:3857") for grid in grids)
    assert grids[0].res == grids[1].res
    offset = (grids[1].transform.c - grids[0].transform.c) / grids[0].res[0]
    assert abs(offset - round(offset)) < 1e-6


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, _) = runs[0][case]
    assert proc.returncode != 0, output_of(proc)
    assert BAD[case] in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert listing(params["OUTPUT_FOLDER"]) == []
