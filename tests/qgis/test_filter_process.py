"""The Filter algorithm end to end through ``qgis_process.bin``: scipy's Gaussian, per-class
filtering with ranges onto uint8 equal to the engine with both executors, a disk in map
units filling nodata, a kernel wider than the raster, and bad input.

All runs of the module start together in one fixture (each qgis_process start
costs about 2 s).
"""

import os

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import read_raster, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "7"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "64"}
NEAREST, REFLECT = 1, 2
FLOAT64, UINT8 = 1, 2           # engine.dtypes.DTYPES
BOX, DISK = 1, 2                # engine.kernels.KINDS
MAP_UNITS = 1
NODATA = 65535


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    """A float32 gradient with noise, a uint16 raster with nodata, its uint8 classes (0 =
    none), a float32 'classes' raster and classes on a shifted grid; 5 m pixels."""
    folder = str(tmp_path_factory.mktemp("filter-data"))
    rng = np.random.default_rng(12)
    rows, cols = np.mgrid[0:70, 0:90]
    smooth = (rows * 5.0 + cols * 2.0 + rng.normal(0, 10, rows.shape)).astype(np.float32)
    counts = rng.integers(100, 3000, rows.shape).astype(np.uint16)
    counts[rng.random(rows.shape) < 0.2] = NODATA
    counts[30:38, 40:52] = NODATA
    classes = np.where(rows < 0.5 * cols + 10, 1, 2).astype(np.uint8)
    classes[50:60, 5:20] = 3
    classes[:4, :4] = 0

    def write(name, array, **kwargs):
        return write_raster(os.path.join(folder, f"{name}.tif"), array, res=5.0, **kwargs)

    return {"smooth": (write("smooth", smooth), smooth),
            "counts": (write("counts", counts, nodata=NODATA), counts),
            "classes": (write("classes", classes, nodata=0), classes),
            "floatclasses": (write("floatclasses", classes.astype(np.float32)), None),
            "elsewhere": (write("elsewhere", classes, origin=(500005.0, 4200000.0)), None),
            "tiny": (write("tiny", smooth[:6, :4]), smooth[:6, :4])}


def _runs(folder, rasters):
    """name -> (parameters, env, expected error fragment or None)."""
    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name, "filtered.tif")

    smooth, counts, classes = (rasters[name][0] for name in ("smooth", "counts", "classes"))
    per_class = {"INPUT": counts, "SIGMA": 10.0, "UNITS": MAP_UNITS, "EDGE": REFLECT,
                 "SELECTOR": classes, "SELECTOR_BAND": 1, "INPUT_MIN": 0, "INPUT_MAX": 3000,
                 "OUTPUT_MIN": 0, "OUTPUT_MAX": 250, "DATA_TYPE": UINT8}
    return {
        "gaussian": ({"INPUT": smooth, "SIGMA": 2.5, "EDGE": NEAREST,
                      "OUTPUT": out("gaussian")}, SERIAL, None),
        "per class serial": (dict(per_class, OUTPUT=out("serial")), SERIAL, None),
        "per class processes": (dict(per_class, OUTPUT=out("processes")), PROCESSES, None),
        "disk": ({"INPUT": counts, "KERNEL": DISK, "DIAMETER": 35.0, "UNITS": MAP_UNITS,
                  "FILL_NODATA": True, "DATA_TYPE": FLOAT64, "NODATA": -1,
                  "OUTPUT": out("disk")}, SERIAL, None),
        "wider than the raster": ({"INPUT": rasters["tiny"][0], "SIGMA": 40.0, "EDGE": NEAREST,
                                   "OUTPUT": out("wide")}, SERIAL, None),
        "sigma 0": ({"INPUT": smooth, "SIGMA": 0, "OUTPUT": out("sigma")}, SERIAL,
                    "Gaussian sigma 0 px must be greater than 0"),
        "box below a pixel": ({"INPUT": smooth, "KERNEL": BOX, "DIAMETER": 2.0,
                               "UNITS": MAP_UNITS, "OUTPUT": out("box")}, SERIAL,
                              "box kernel diameter 0.4 px is below one pixel"),
        "selector grid": ({"INPUT": counts, "SELECTOR": rasters["elsewhere"][0],
                           "OUTPUT": out("grid")}, SERIAL,
                          "selector band: input 'elsewhere' is not on the grid of 'counts' "
                          "(origin (500005, 4.2e+06) instead of (500000, 4.2e+06))"),
        "float selector": ({"INPUT": counts, "SELECTOR": rasters["floatclasses"][0],
                            "OUTPUT": out("float")}, SERIAL,
                           "selector band 1 of 'floatclasses' is float32: classes must be "
                           "whole numbers"),
        "output range": ({"INPUT": counts, "INPUT_MIN": 0, "INPUT_MAX": 3000, "OUTPUT_MIN": 0,
                          "OUTPUT_MAX": 300, "DATA_TYPE": UINT8, "OUTPUT": out("range")},
                         SERIAL, "output range 0 to 300 does not fit output type uint8 (0 to "
                                 "255, whole numbers)"),
        "half a range": ({"INPUT": counts, "INPUT_MIN": 0, "OUTPUT": out("half")}, SERIAL,
                         "Input range: low (maps to the output's low) is set but its other end "
                         "is not"),
        "wrap-around": ({"INPUT": counts, "DATA_TYPE": UINT8, "OUTPUT": out("wrap")}, SERIAL,
                        "'counts' is uint16 (0 to 65535), which output type uint8 (0 to 255) "
                        "cannot hold: give an input range"),
    }


@pytest.fixture(scope="module")
def runs(qgis_process, rasters, tmp_path_factory):
    wave = _runs(str(tmp_path_factory.mktemp("filter")), rasters)
    done = qgis_process.run_all([("tessera:filter", params, env)
                                 for params, env, _ in wave.values()])
    return {name: (proc, wave[name]) for name, proc in zip(wave, done)}


def _output(runs, name):
    proc, (params, _, _) = runs[name]
    assert proc.returncode == 0, output_of(proc)
    assert f"OUTPUT:\t{params['OUTPUT']}" in proc.stdout, output_of(proc)
    return read_raster(params["OUTPUT"])[0]


def test_gaussian_equals_scipy(runs, rasters):
    expected = ndimage.gaussian_filter(rasters["smooth"][1].astype(np.float64), 2.5,
                                       mode="nearest")
    np.testing.assert_allclose(_output(runs, "gaussian")[0], expected, rtol=2e-6)


def test_per_class_uint8_equals_the_engine_with_both_executors(runs, rasters, tmp_path):
    from tessera.engine.filters import filter_raster

    serial, parallel = _output(runs, "per class serial"), _output(runs, "per class processes")
    expected = read_raster(filter_raster(
        rasters["counts"][0], str(tmp_path / "e.tif"), sigma=2.0, edge="reflect",
        selector=rasters["classes"][0], in_range=(0, 3000), out_range=(0, 250),
        dtype="uint8"))[0]
    assert serial.dtype == np.uint8
    np.testing.assert_array_equal(serial, expected)
    np.testing.assert_array_equal(parallel, expected)
    counts, classes = rasters["counts"][1], rasters["classes"][1]
    nodata = (counts == NODATA) | (classes == 0)
    assert (serial[0][nodata] == 255).all() and serial[0][~nodata].max() <= 250


def test_disk_in_map_units_fills_nodata_from_neighbours(runs, rasters):
    """35 m on 5 m pixels: a disk of diameter 7 px; the 8 x 12 hole is filled at its rim
    and stays nodata at its centre, which is 4 px from any valid pixel."""
    got = _output(runs, "disk")[0]
    counts = rasters["counts"][1].astype(np.float64)
    valid = counts != NODATA
    yy, xx = np.mgrid[-3:4, -3:4]
    disk = (np.hypot(yy, xx) <= 3.5).astype(np.float64)
    total = ndimage.correlate(np.where(valid, counts, 0), disk, mode="constant")
    weight = ndimage.correlate(valid.astype(np.float64), disk, mode="constant")
    reached = weight > 0
    np.testing.assert_array_equal(got != -1, reached)
    np.testing.assert_allclose(got[reached], total[reached] / weight[reached], rtol=2e-6)
    assert got[30, 41] != -1 and got[34, 46] == -1


def test_a_kernel_wider_than_the_raster_works(runs, rasters):
    tiny = rasters["tiny"][1].astype(np.float64)
    np.testing.assert_allclose(_output(runs, "wider than the raster")[0],
                               ndimage.gaussian_filter(tiny, 40.0, mode="nearest"), rtol=2e-6)


BAD = ["sigma 0", "box below a pixel", "selector grid", "float selector", "output range",
       "half a range", "wrap-around"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (params, _, fragment) = runs[case]
    assert proc.returncode != 0, output_of(proc)
    assert fragment in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert listing(os.path.dirname(params["OUTPUT"])) == []
