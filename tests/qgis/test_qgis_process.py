"""End to end through ``qgis_process.bin``: every algorithm with the serial and the
process executor, bad input per algorithm, and Ctrl+C.

Each qgis_process start costs about 2 s, so the runs of this module (except the
cancel test) are started together by one module fixture and the tests then
assert on their results.
"""

import os
import subprocess
import time

import pytest

pytest.importorskip("qgis.core")

import geopandas  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from scipy import ndimage  # noqa: E402

from qgis_support import (alive, interrupt, listing, multiprocessing_children,  # noqa: E402
                          output_of)
from support import LANDSAT, WORLDVIEW, crop, read_raster, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "64"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "64"}
EXECUTORS = {"serial": SERIAL, "processes": PROCESSES}
WV_NODATA = -9999

BANDMATH = "(b7 - b5) / (b7 + b5) * 10000; b7 * 10; b1 - b8"
INT16 = 4  # index of int16 in engine.dtypes.DTYPES


def _happy_runs(folder):
    """name -> (algorithm, parameters, env, output path) of the runs that must succeed."""
    runs = {}
    for executor, env in EXECUTORS.items():
        runs[f"bandmath-{executor}"] = ("tessera:bandmath", {
            "INPUTS": WORLDVIEW, "EXPRESSION": BANDMATH, "DATA_TYPE": INT16,
            "OUTPUT": os.path.join(folder, f"bandmath-{executor}.tif")}, env)
        runs[f"focal-{executor}"] = ("tessera:focalstatistics", [
            ("INPUT", WORLDVIEW), ("BANDS", [2, 5]), ("STATISTIC", 2), ("SHAPE", 1),
            ("RADIUS", 2), ("OUTPUT", os.path.join(folder, f"focal-{executor}.tif"))], env)
        runs[f"footprints-{executor}"] = ("tessera:footprints", {
            "INPUTS": [WORLDVIEW, LANDSAT],
            "OUTPUT": os.path.join(folder, f"footprints-{executor}.gpkg")}, env)
    return runs


def _bad_runs(folder, worldview_crop):
    """name -> (algorithm, parameters, expected message) of runs that must fail.

    Engine errors: the expected message is what the engine itself raises for the
    same input (computed here, in this process), and it must be qgis_process's
    ``ERROR:`` line; a short fragment makes sure it is the intended error. QGIS's
    own parameter errors (starting with a tab) follow its "An error was
    encountered while checking parameter values". Each case writes into its own
    empty folder, checked afterwards for leftovers.
    """
    from tessera.engine import bandmath, focal, footprints
    from tessera.engine.errors import EngineError

    other_grid = crop(WORLDVIEW, os.path.join(folder, "other_grid.tif"), (0, 0, 97, 112))

    def out(name, extension="tif"):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name, f"out.{extension}")

    def engine_message(fragment, call, *args, **kwargs):
        with pytest.raises(EngineError) as raised:
            call(*args, **kwargs)
        message = str(raised.value)
        assert fragment in message
        return message

    cases = {}

    def band_math(name, inputs, expression, fragment, **options):
        output = out(name)
        params = {"INPUTS": inputs, "EXPRESSION": expression, "OUTPUT": output}
        params.update({"DATA_TYPE": 2, "NODATA": options["nodata"]} if options else {})
        cases[name] = ("tessera:bandmath", params, engine_message(
            fragment, bandmath.band_math, inputs if isinstance(inputs, list) else [inputs],
            expression, output, **({"dtype": "uint8", **options} if options else {})))

    band_math("mismatched grids", [worldview_crop, other_grid], "A1 + B1",
              "'other_grid' is not on the grid of 'worldview_crop'")
    band_math("unknown band", WORLDVIEW, "b9 - b1", "reads band 9 of input A")
    band_math("import", WORLDVIEW, "__import__('os')", "the function '__import__' is not allowed")
    band_math("attribute", WORLDVIEW, "b1.real", "attribute access ('.') is not allowed")
    band_math("lambda", WORLDVIEW, "lambda: 1", "lambda is not allowed")
    band_math("nodata out of range", WORLDVIEW, "b1",
              "output nodata 300 does not fit type uint8", nodata=300.0)

    output = out("footprints-shp", "shp")
    cases["footprints not gpkg"] = ("tessera:footprints", {"INPUTS": WORLDVIEW, "OUTPUT": output},
                                    engine_message("written as GeoPackage", footprints.footprints,
                                                   [WORLDVIEW], output))
    output = out("focal-band")
    cases["focal band out of range"] = (
        "tessera:focalstatistics", [("INPUT", WORLDVIEW), ("BANDS", [1, 9]), ("OUTPUT", output)],
        engine_message("band 9 does not exist", focal.focal_statistics, WORLDVIEW, output,
                       bands=[1, 9]))

    # QGIS checks layer parameters before the algorithm runs: the algorithms' own
    # checkParameterValues names the missing file (on the line after QGIS's heading)
    cases["missing file (band math)"] = ("tessera:bandmath", {
        "INPUTS": "/nonexistent/missing.tif", "EXPRESSION": "b1",
        "OUTPUT": out("missing-bandmath")},
        "\tInput rasters (A, B, C ... in this order): '/nonexistent/missing.tif' is neither a "
        "readable raster file nor a layer of the project: check the path")
    cases["missing file (focal)"] = ("tessera:focalstatistics", {
        "INPUT": "/nonexistent/missing.tif", "OUTPUT": out("missing-focal")},
        "\tInput raster: '/nonexistent/missing.tif' is neither a readable raster file nor a "
        "layer of the project: check the path")
    return cases


@pytest.fixture(scope="module")
def runs(qgis_process, tmp_path_factory, worldview_crop):
    """Run every case of this module at once; name -> (CompletedProcess, case)."""
    good = str(tmp_path_factory.mktemp("good"))
    bad = str(tmp_path_factory.mktemp("bad"))
    happy = _happy_runs(good)
    failing = _bad_runs(bad, worldview_crop)
    cases = {name: (alg, params, env) for name, (alg, params, env) in happy.items()}
    cases.update({name: (alg, params, SERIAL) for name, (alg, params, _) in failing.items()})
    started = time.monotonic()
    done = qgis_process.run_all(list(cases.values()))
    print(f"\n{len(cases)} qgis_process runs in {time.monotonic() - started:.1f} s")
    results = dict(zip(cases, done))
    return {name: (results[name], case) for name, case in list(happy.items())
            + list(failing.items())}


def _parameter(params, name):
    return dict(params)[name] if not isinstance(params, dict) else params[name]


def _succeeded(runs, name):
    proc, (_, params, env) = runs[name]
    assert proc.returncode == 0, output_of(proc)
    executor = env["TESSERA_EXECUTOR"]
    expected = (f"Executor: {executor}, window 64 px"
                + (", 2 workers" if executor == "processes" else ""))
    assert expected in proc.stdout, output_of(proc)  # the environment reached the algorithm
    output = _parameter(params, "OUTPUT")
    assert f"OUTPUT:\t{output}" in proc.stdout.split("Results")[-1]
    return output


def _file_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


# --------------------------------------------------------------------------- results

def test_bandmath_int16_equals_numpy_with_both_executors(runs):
    serial = _succeeded(runs, "bandmath-serial")
    parallel = _succeeded(runs, "bandmath-processes")
    array, profile = read_raster(serial)
    source, source_profile = read_raster(WORLDVIEW)
    b = source.astype(np.float64)
    valid = source != WV_NODATA
    with np.errstate(all="ignore"):
        raw = [(b[6] - b[4]) / (b[6] + b[4]) * 10000, b[6] * 10, b[0] - b[7]]
    masks = [valid[6] & valid[4], valid[6], valid[0] & valid[7]]
    assert array.shape == (3, 452, 451)
    assert profile["dtype"] == "int16" and profile["nodata"] == -32768  # type extreme default
    assert profile["transform"] == source_profile["transform"]
    for index, (values, mask) in enumerate(zip(raw, masks)):
        mask = mask & np.isfinite(values)
        expected = np.clip(np.rint(np.where(mask, values, 0)), -32768, 32767).astype(np.int16)
        expected[~mask] = -32768
        np.testing.assert_array_equal(array[index], expected, err_msg=f"band {index + 1}")
    assert (array[1] == 32767).any()  # b7 * 10 overflows int16: clamped, not wrapped
    np.testing.assert_array_equal(read_raster(parallel)[0], array)


def test_focal_max_equals_scipy_with_both_executors(runs):
    serial = _succeeded(runs, "focal-serial")
    parallel = _succeeded(runs, "focal-processes")
    array, profile = read_raster(serial)
    assert array.shape == (2, 452, 451)
    assert profile["dtype"] == "int16" and profile["nodata"] == WV_NODATA  # max keeps both
    source = read_raster(WORLDVIEW)[0]
    dy, dx = np.mgrid[-2:3, -2:3]
    circle = dy ** 2 + dx ** 2 <= 4  # radius 2: 13 cells
    for index, band in enumerate((2, 5)):
        values = source[band - 1].astype(np.float64)
        valid = values != WV_NODATA
        expected = ndimage.maximum_filter(np.where(valid, values, -np.inf), footprint=circle,
                                          mode="constant", cval=-np.inf)
        expected[~valid] = WV_NODATA
        np.testing.assert_array_equal(array[index], expected.astype(np.int16))
    with rasterio.open(serial) as ds:
        assert ds.descriptions == ("max of band 2", "max of band 5")
    np.testing.assert_array_equal(read_raster(parallel)[0], array)


@pytest.mark.parametrize("algorithm", ["bandmath", "focal"])
def test_executors_write_identical_bytes_without_dead_space(runs, tmp_path, algorithm):
    """Integer outputs of serial and processes runs (same window) are the same file, and
    a window-64 output is no larger than the same pixels written in one go."""
    from tessera.engine.raster_io import creation_options

    serial = _succeeded(runs, f"{algorithm}-serial")
    parallel = _succeeded(runs, f"{algorithm}-processes")
    array, profile = read_raster(serial)
    at_once = str(tmp_path / "at_once.tif")
    options = dict(profile, **creation_options())
    with rasterio.open(serial) as ds:
        descriptions = ds.descriptions
    with rasterio.open(at_once, "w", **options) as ds:
        for band, text in enumerate(descriptions, start=1):
            ds.set_band_description(band, text)
        ds.write(array)
    assert os.path.getsize(serial) <= 1.05 * os.path.getsize(at_once), (
        os.path.getsize(serial), os.path.getsize(at_once))
    assert _file_bytes(serial) == _file_bytes(parallel)


def test_footprints_one_feature_per_raster_and_executors_agree(runs):
    tables = {executor: geopandas.read_file(_succeeded(runs, f"footprints-{executor}"),
                                            layer="footprints")
              for executor in EXECUTORS}
    table = tables["serial"]
    assert list(table["image"]) == ["worldview3_2016-09-30", "landsat_2022-03-13"]
    assert list(table["path"]) == [WORLDVIEW, LANDSAT]
    assert table.crs.to_epsg() == 32610  # the Landsat footprint was reprojected to the first
    source, profile = read_raster(WORLDVIEW)
    transform = profile["transform"]
    expected = (source != WV_NODATA).any(axis=0).sum() * abs(transform.a * transform.e)
    assert table["area"][0] == pytest.approx(expected, rel=1e-9)
    assert table.geometry[0].area == pytest.approx(expected, rel=1e-9)
    assert table["area"][1] > 0
    parallel = tables["processes"]
    assert list(parallel["image"]) == list(table["image"])
    for mine, theirs in zip(table.geometry, parallel.geometry):
        assert mine.equals(theirs)
    np.testing.assert_array_equal(table["area"], parallel["area"])


# --------------------------------------------------------------------------- bad input

BAD_CASES = ["mismatched grids", "unknown band", "import", "attribute", "lambda",
             "nodata out of range", "missing file (band math)", "missing file (focal)",
             "footprints not gpkg", "focal band out of range"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, message) = runs[case]
    output = _parameter(params, "OUTPUT")
    assert proc.returncode != 0, output_of(proc)
    expected = message if message.startswith("\t") else f"ERROR:\t{message}\n"
    assert expected in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr  # a clean message, no Python crash
    assert "Results" not in proc.stdout
    folder = os.path.dirname(output)
    assert listing(folder) == [], "the output folder must stay empty (no output, no partial)"


# --------------------------------------------------------------------------- Ctrl+C

def test_ctrl_c_cancels_removes_partial_output_and_stops_workers(qgis_process, tmp_path):
    """SIGINT to qgis_process (text mode: with --json 3.22 never checks for cancel)."""
    big = write_raster(str(tmp_path / "big.tif"),
                       np.random.default_rng(3).random((3000, 3000), dtype=np.float32),
                       res=1.0)
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    proc = qgis_process.popen("tessera:focalstatistics", {
        "INPUT": big, "STATISTIC": 5, "SHAPE": 0, "RADIUS": 5,  # median of 11 x 11: ~40 s
        "OUTPUT": str(out_folder / "median.tif")},
        env_extra={"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2",
                   "TESSERA_WINDOW": "256"})
    try:
        started = time.monotonic()
        workers = {}
        while time.monotonic() - started < 20 and proc.poll() is None:
            workers.update(multiprocessing_children(proc.pid))
            spawned = [pid for pid, cmd in workers.items() if "spawn_main" in cmd]
            if len(spawned) >= 2 and time.monotonic() - started >= 3:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be cancelled"
        assert len([cmd for cmd in workers.values() if "spawn_main" in cmd]) == 2, workers
        assert any(name.endswith(".partial.tif") for name in listing(out_folder))
        interrupt(proc)
        interrupted = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        latency = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    finished = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    print(f"cancelled {latency:.1f} s after SIGINT")
    assert proc.returncode != 0, output_of(finished)
    assert "ERROR:\tcancelled by the user; no output was written" in stderr, output_of(finished)
    assert "Results" not in stdout
    assert latency < 20, f"took {latency:.1f} s to stop after Ctrl+C"
    assert listing(out_folder) == []
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], f"workers survived: {workers}"
