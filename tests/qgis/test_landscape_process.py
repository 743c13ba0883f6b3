"""Category maps, Entropy and Interaction end to end through ``qgis_process.bin``: equal to
the engine and to scipy references with both executors, two steps equal to one, a kernel
larger than the raster, outputs named and styled, and bad input.

All runs of the module start together in one fixture (each qgis_process start costs
about 2 s); runs that read another's output go in a second wave.
"""

import os

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402

from landscape_data import (CODES, landcover, reference_entropy,  # noqa: E402
                            reference_proportions)
from qgis_support import listing, output_of  # noqa: E402
from support import read_raster, write_raster  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "16"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "48"}
REFLECT = 2                 # engine.kernels.EDGES
UINT8 = 1                   # engine.categories.FRACTION_TYPES
PRESENCE = 1                # engine.categories.VALUES
SIGMA = 2.5


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """The land-cover map (97 x 113, nodata 0), a float raster, and a 9 x 12 map."""
    folder = tmp_path_factory.mktemp("landscape-data")
    rng = np.random.default_rng(8)
    small = rng.integers(1, 4, (9, 12)).astype(np.uint8)
    return {"landcover": landcover(folder / "landcover.tif", (0, 0, 97, 113)),
            "dem": str(write_raster(folder / "dem.tif", rng.random((9, 12)).astype(np.float32))),
            "small": (str(write_raster(folder / "small.tif", small)), small)}


def _first_wave(folder, maps):
    """name -> (algorithm, parameters, env, expected error fragment or None)."""
    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name, f"{name}.tif")

    landcover = maps["landcover"][0]
    blur = {"INPUT": landcover, "SIGMA": SIGMA, "EDGE": REFLECT}
    runs = {}
    for name, env in (("serial", SERIAL), ("processes", PROCESSES)):
        runs[f"maps-{name}"] = ("tessera:categorymaps", dict(
            blur, DATA_TYPE=UINT8, OUTPUT=out(f"maps-{name}")), env, None)
        runs[f"entropy-{name}"] = ("tessera:entropy", dict(
            blur, OUTPUT=out(f"entropy-{name}")), env, None)
    runs.update({
        "maps-float": ("tessera:categorymaps", dict(blur, OUTPUT=out("maps-float")), SERIAL,
                       None),
        "presence": ("tessera:categorymaps", {
            "INPUT": landcover, "VALUES": PRESENCE, "CATEGORIES": "31, 12",
            "OUTPUT": out("presence")}, SERIAL, None),
        "interaction": ("tessera:interaction", dict(
            blur, CATEGORIES="21,31", STANDARDIZE=True, DATA_TYPE=UINT8,
            OUTPUT=out("interaction")), SERIAL, None),
        "wide kernel": ("tessera:entropy", {
            "INPUT": maps["small"][0], "SIGMA": 8, "OUTPUT": out("wide")}, SERIAL, None),
        # bad input
        "float map": ("tessera:categorymaps", {
            "INPUT": maps["dem"], "OUTPUT": out("float")}, SERIAL,
            "'dem' holds float32 values, not category codes: a categorical map needs an "
            "integer type"),
        "category absent": ("tessera:categorymaps", {
            "INPUT": landcover, "CATEGORIES": "11, 99", "OUTPUT": out("absent")}, SERIAL,
            "category 99 does not occur in 'landcover', which holds 11, 12, 21, 22, 31, 32: "
            "choose among those"),
        "sigma zero": ("tessera:entropy", {
            "INPUT": landcover, "SIGMA": 0, "OUTPUT": out("sigma0")}, SERIAL,
            "Gaussian sigma 0 px must be greater than 0"),
        "bad categories": ("tessera:entropy", {
            "INPUT": landcover, "CATEGORIES": "11;12", "OUTPUT": out("text")}, SERIAL,
            "categories '11;12': '11;12' is not a whole number"),
    })
    return runs


def _second_wave(folder, first):
    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name, f"{name}.tif")

    maps_float = first["maps-float"][1]["OUTPUT"]
    return {"entropy-two-steps": ("tessera:entropy", {
        # SIGMA 0 would be refused for a categorical map: the kernel does not apply here
        "INPUT": maps_float, "SIGMA": 0, "OUTPUT": out("two-steps")}, SERIAL, None)}


@pytest.fixture(scope="module")
def runs(qgis_process, maps, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("landscape"))
    results = {}
    first = _first_wave(folder, maps)
    for wave in (first, _second_wave(folder, first)):
        names = list(wave)
        done = qgis_process.run_all([(alg, params, env) for alg, params, env, _ in wave.values()])
        results.update({name: (proc, wave[name]) for name, proc in zip(names, done)})
    return results


def _output(runs, name):
    proc, (_, params, _, _) = runs[name]
    assert proc.returncode == 0, output_of(proc)
    return params["OUTPUT"]


def _read(path):
    import rasterio

    with rasterio.open(path) as ds:
        return (ds.read().astype(np.float64), ds.nodata, ds.descriptions,
                [ds.tags(band) for band in range(1, ds.count + 1)])


def test_category_maps_equal_the_engine_with_both_executors(runs, maps, tmp_path):
    from tessera.engine.categories import category_maps

    path, codes, valid = maps["landcover"]
    serial, processes = _output(runs, "maps-serial"), _output(runs, "maps-processes")
    with open(serial, "rb") as a, open(processes, "rb") as b:
        assert a.read() == b.read()
    expected = category_maps(path, str(tmp_path / "maps.tif"), sigma=SIGMA, edge="reflect",
                             dtype="uint8")
    assert read_raster(serial)[0].tobytes() == read_raster(expected)[0].tobytes()
    values, nodata, names, tags = _read(serial)
    assert names == tuple(f"LC_{value}" for value in CODES)
    assert tags == [{"category": str(value)} for value in CODES] and nodata == 255
    shares = reference_proportions(codes, valid, CODES, SIGMA, mode="reflect")
    assert np.abs(values[:, valid] / 254 - shares[:, valid]).max() <= 0.5 / 254 + 1e-6


def test_presence_of_chosen_categories(runs, maps):
    _, codes, valid = maps["landcover"]
    values, _, names, _ = _read(_output(runs, "presence"))
    assert names == ("LC_31", "LC_12")
    np.testing.assert_array_equal(values[0][valid], (codes == 31)[valid])
    np.testing.assert_array_equal(values[1][valid], (codes == 12)[valid])


def test_entropy_equals_scipy_with_both_executors_and_in_two_steps(runs, maps):
    _, codes, valid = maps["landcover"]
    serial = read_raster(_output(runs, "entropy-serial"))[0][0]
    assert serial.tobytes() == read_raster(_output(runs, "entropy-processes"))[0][0].tobytes()
    expected = reference_entropy(reference_proportions(codes, valid, CODES, SIGMA,
                                                       mode="reflect"))
    np.testing.assert_allclose(serial[valid], expected[valid], atol=1e-5)
    assert np.isnan(serial[~valid]).all()
    two_steps = read_raster(_output(runs, "entropy-two-steps"))[0][0]
    np.testing.assert_array_equal(two_steps, serial)
    assert _read(_output(runs, "entropy-serial"))[3] == [{"category": "entropy"}]


def test_interaction_is_the_ceiled_product_of_proportions(runs, maps):
    _, codes, valid = maps["landcover"]
    values, nodata, names, _ = _read(_output(runs, "interaction"))
    a, b = reference_proportions(codes, valid, (21, 31), SIGMA, mode="reflect")
    with np.errstate(invalid="ignore"):
        expected = np.where(a + b > 0, a * b / (a + b), 0) * 4
    error = values[0][valid] / 254 - np.minimum(expected[valid], 1)
    assert error.min() >= -1e-5 and error.max() <= 1 / 254 + 1e-5
    assert names == ("interaction of 21, 31",)
    assert (values[0][~valid] == nodata).all()


def test_a_kernel_larger_than_the_raster_works(runs, maps):
    _, small = maps["small"]
    got = read_raster(_output(runs, "wide kernel"))[0][0]  # radius 32 px, raster 9 x 12
    layers = reference_proportions(small, np.ones(small.shape, bool), (1, 2, 3), 8)
    np.testing.assert_allclose(got, reference_entropy(layers), atol=1e-5)


BAD = ["float map", "category absent", "sigma zero", "bad categories"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, _, fragment) = runs[case]
    assert proc.returncode != 0, output_of(proc)
    assert fragment in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert listing(os.path.dirname(params["OUTPUT"])) == []


def test_outputs_load_with_a_colour_ramp_and_named_bands(run_algorithm, maps, tmp_path):
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import QgsApplication, QgsProcessingOutputLayerDefinition, QgsProject

    project = QgsProject.instance()
    landcover = maps["landcover"][0]
    for algorithm, extra, renderer in (
            ("tessera:entropy", {}, "singlebandpseudocolor"),
            ("tessera:interaction", {"CATEGORIES": "21, 31"}, "singlebandpseudocolor"),
            ("tessera:categorymaps", {}, None)):
        project.removeAllMapLayers()
        out = str(tmp_path / f"{algorithm.split(':')[1]}.tif")
        parameters = dict(extra, INPUT=landcover, SIGMA=1,
                          OUTPUT=QgsProcessingOutputLayerDefinition(out, project))
        _, context, feedback = run_algorithm(algorithm, parameters)
        assert handleAlgorithmResults(
            QgsApplication.processingRegistry().createAlgorithmById(algorithm), context,
            feedback)
        (layer,) = project.mapLayers().values()
        if renderer:
            assert layer.renderer().type() == renderer, algorithm
        else:
            assert [layer.bandName(band) for band in (1, 6)] == ["Band 1: LC_11",
                                                                 "Band 6: LC_32"]
    project.removeAllMapLayers()
