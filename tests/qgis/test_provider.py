"""The Tessera provider inside a QGIS process: registration, options, dependency check,
algorithm results against independent numpy/scipy computations, errors, styles."""

import importlib.util
import math
import os
import sys

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from qgis_support import TESSERA_VARIABLES, listing  # noqa: E402
from support import ROOT, WORLDVIEW, read_raster, write_raster  # noqa: E402

ALGORITHMS = {  # id -> (group id, group name, icon file)
    "tessera:bandmath": ("analysis", "Analysis", "analysis.svg"),
    "tessera:focalstatistics": ("analysis", "Analysis", "analysis.svg"),
    **{f"tessera:{name}": ("mosaic", "Mosaic", "mosaic.svg")
       for name in ("footprints", "alignrasters", "seamlines", "maskrasters", "mosaic",
                    "mergevectors")},
    **{f"tessera:{name}": ("landscape", "Landscape", "landscape.svg")
       for name in ("categorymaps", "filter", "entropy", "interaction")},
    **{f"tessera:{name}": ("radiometry", "Radiometry", "radiometry.svg")
       for name in ("globalregression", "localblockadjustment", "histogrammatching", "lirrn",
                    "normalizationreport")},
}
NDVI = "(b7 - b5) / (b7 + b5)"
WV_NODATA = -9999


def registry():
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry()


def worldview():
    array, profile = read_raster(WORLDVIEW)
    return array.astype(np.float64), array != profile["nodata"], profile


# --------------------------------------------------------------------------- registration

def test_provider_is_registered_with_id_name_icon(qgis_app):
    provider = registry().providerById("tessera")
    assert provider is qgis_app
    assert (provider.id(), provider.name()) == ("tessera", "Tessera")
    assert provider.longName() == "Tessera windowed raster engine"
    assert provider.isActive()
    assert os.path.realpath(provider.svgIconPath()) == os.path.join(ROOT, "icons", "tessera.svg")
    assert not provider.icon().pixmap(16, 16).isNull()  # the SVG renders
    assert provider.supportedOutputRasterLayerExtensions() == ["tif"]
    assert provider.supportedOutputVectorLayerExtensions() == ["gpkg"]


def test_every_algorithm_with_group_icon_and_help(qgis_app):
    assert sorted(alg.id() for alg in qgis_app.algorithms()) == sorted(ALGORITHMS)
    for algorithm_id, (group_id, group, icon) in ALGORITHMS.items():
        alg = registry().algorithmById(algorithm_id)
        assert (alg.groupId(), alg.group()) == (group_id, group), algorithm_id
        assert os.path.realpath(alg.svgIconPath()) == os.path.join(ROOT, "icons", icon)
        assert os.path.isfile(alg.svgIconPath())
        assert not alg.icon().pixmap(16, 16).isNull(), algorithm_id
        assert alg.displayName() and alg.shortHelpString() and alg.helpUrl().startswith("https")
        copy = alg.createInstance()
        assert type(copy) is type(alg) and copy is not alg


def test_parameter_choices_follow_the_engine(qgis_app):
    from qgis.core import QgsProcessingParameterDefinition
    from tessera.engine import focal
    from tessera.engine.dtypes import DTYPES
    from tessera.engine.neighbourhoods import SHAPES

    bandmath = registry().algorithmById("tessera:bandmath")
    assert bandmath.parameterDefinition("DATA_TYPE").options() == list(DTYPES)
    assert bandmath.parameterDefinition("NODATA").flags() & QgsProcessingParameterDefinition.FlagOptional
    focal_alg = registry().algorithmById("tessera:focalstatistics")
    assert focal_alg.parameterDefinition("STATISTIC").options() == list(focal.STATISTICS)
    assert focal_alg.parameterDefinition("SHAPE").options() == list(SHAPES)
    assert focal_alg.parameterDefinition("DATA_TYPE").options() == ["auto"] + list(DTYPES)
    assert focal_alg.parameterDefinition("UNITS").options() == ["pixels", "map units"]
    # the provider limits destination formats to what the engine writes
    assert bandmath.parameterDefinition("OUTPUT").defaultFileExtension() == "tif"
    footprints = registry().algorithmById("tessera:footprints")
    assert footprints.parameterDefinition("OUTPUT").defaultFileExtension() == "gpkg"


# --------------------------------------------------------------------------- options

@pytest.fixture
def stored_options(qgis_app):
    """Set the provider's options for a test and restore the defaults afterwards."""
    from processing.core.ProcessingConfig import ProcessingConfig

    names = TESSERA_VARIABLES
    saved = {name: ProcessingConfig.settings[name].value for name in names}

    def store(executor_index=None, compression_index=None, **values):
        if executor_index is not None:
            ProcessingConfig.setSettingValue("TESSERA_EXECUTOR", executor_index)
        if compression_index is not None:
            ProcessingConfig.setSettingValue("TESSERA_COMPRESSION", compression_index)
        for name, value in values.items():
            ProcessingConfig.setSettingValue(f"TESSERA_{name.upper()}", value)

    yield store
    for name, value in saved.items():
        ProcessingConfig.settings[name].value = value
        ProcessingConfig.settings[name].save()


def test_options_are_registered_under_tessera(qgis_app):
    from processing.core.ProcessingConfig import ProcessingConfig

    for name in TESSERA_VARIABLES:
        assert ProcessingConfig.settings[name].group == "Tessera"
    assert ProcessingConfig.settings["TESSERA_EXECUTOR"].options == [
        "serial", "processes", "dask"]
    assert ProcessingConfig.settings["TESSERA_COMPRESSION"].options == [
        "zstd", "deflate", "lzw", "none"]


def test_environment_wins_over_stored_options(qgis_app, stored_options, monkeypatch):
    from tessera.engine.executors import Execution
    from tessera.provider import settings

    stored_options(executor_index=0, compression_index=1, workers=3, window=300,
                   python=sys.executable, dask_scheduler="tcp://stored:8786")
    for name in TESSERA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert settings.execution() == Execution("serial", 3, 300, sys.executable, "deflate",
                                             "tcp://stored:8786")

    monkeypatch.setenv("TESSERA_EXECUTOR", "processes")
    monkeypatch.setenv("TESSERA_WORKERS", "2")
    monkeypatch.setenv("TESSERA_WINDOW", "64")
    monkeypatch.setenv("TESSERA_PYTHON", "/usr/bin/python3")
    monkeypatch.setenv("TESSERA_COMPRESSION", "lzw")
    monkeypatch.setenv("TESSERA_DASK_SCHEDULER", " tcp://10.0.0.5:8786 ")
    assert settings.execution() == Execution("processes", 2, 64, "/usr/bin/python3", "lzw",
                                             "tcp://10.0.0.5:8786")

    monkeypatch.setenv("TESSERA_WINDOW", "")  # empty means unset: the stored option again
    assert settings.execution().window_size == 300


def test_algorithms_run_with_the_environment_options(run_algorithm, monkeypatch, tmp_path):
    monkeypatch.setenv("TESSERA_WINDOW", "96")
    _, _, feedback = run_algorithm("tessera:bandmath", {
        "INPUTS": [WORLDVIEW], "EXPRESSION": "b1", "OUTPUT": str(tmp_path / "b1.tif")})
    assert "Executor: serial, window 96 px" in feedback.textLog()


@pytest.mark.parametrize("variable, value", [("TESSERA_WORKERS", "many"),
                                             ("TESSERA_WINDOW", "0")])
def test_bad_option_value_gives_a_clear_message(run_algorithm, monkeypatch, tmp_path,
                                                 variable, value):
    from qgis.core import QgsProcessingException
    from tessera.engine.errors import InvalidInputError
    from tessera.provider import settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidInputError) as problem:
        settings.execution()
    message = str(problem.value)
    assert f"setting {variable} = '{value}' is not a whole number" in message
    assert "Settings > Options > Processing > Providers > Tessera" in message

    with pytest.raises(QgsProcessingException, match="is not a whole number") as raised:
        run_algorithm("tessera:bandmath", {
            "INPUTS": [WORLDVIEW], "EXPRESSION": "b1", "OUTPUT": str(tmp_path / "out.tif")})
    assert str(raised.value) == message
    assert listing(tmp_path) == []


def test_bad_stored_option_names_where_to_fix_it(qgis_app, stored_options, monkeypatch):
    from tessera.engine.errors import InvalidInputError
    from tessera.provider import settings

    monkeypatch.delenv("TESSERA_EXECUTOR")
    stored_options(workers=-2)
    with pytest.raises(InvalidInputError, match=r"setting TESSERA_WORKERS = '-2' is not a whole "
                                                r"number of at least 0: fix it in Settings"):
        settings.execution()


@pytest.mark.parametrize("window", [
    "128",  # 16 windows
    "512",  # one window: run serially, but the executor name is still checked
])
def test_unknown_executor_is_refused_and_nothing_is_written(run_algorithm, monkeypatch,
                                                             tmp_path, window):
    from qgis.core import QgsProcessingException

    monkeypatch.setenv("TESSERA_EXECUTOR", "threads")
    monkeypatch.setenv("TESSERA_WINDOW", window)  # 451 x 452 px: one window at 512
    with pytest.raises(QgsProcessingException) as raised:
        run_algorithm("tessera:bandmath", {
            "INPUTS": [WORLDVIEW], "EXPRESSION": "b1", "OUTPUT": str(tmp_path / "out.tif")})
    message = str(raised.value)
    assert "'threads'" in message and "serial" in message and "processes" in message, message
    assert listing(tmp_path) == []  # the hidden partial file is gone too


# --------------------------------------------------------------------------- dependencies

@pytest.fixture
def hide_packages(monkeypatch):
    """hide('cv2', ...) makes importlib.util.find_spec report those packages missing."""
    real = importlib.util.find_spec

    def hide(*names):
        def find_spec(name, *args, **kwargs):
            return None if name in names else real(name, *args, **kwargs)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def test_the_executor_option_says_when_dask_is_not_installed(qgis_app, hide_packages):
    from tessera.provider import settings

    assert "dask runs on the Dask cluster at the scheduler address below" \
        in settings.executor_help()
    hide_packages("distributed")
    assert settings.executor_help().endswith(
        "dask: not installed (apt-get install python3-distributed or pip install "
        "distributed))")


def test_nothing_missing_here(qgis_app):
    from tessera.provider import dependencies

    assert dependencies.message() == ""
    for alg in qgis_app.algorithms():
        assert alg.canExecute() == (True, "")


def test_missing_package_is_named_with_its_install_command(qgis_app, hide_packages):
    from tessera.provider import dependencies

    hide_packages("cv2")
    message = dependencies.message()
    assert message.startswith("Tessera needs the Python package 'opencv-python-headless'")
    assert "python3 -m pip install opencv-python-headless" in message
    assert "apt-get install python3-opencv" in message
    assert "\n" not in message and "rasterio" not in message  # only what is missing
    for alg in qgis_app.algorithms():
        assert alg.canExecute() == (False, message), alg.id()

    hide_packages("cv2", "geopandas")
    lines = dependencies.message().splitlines()
    assert len(lines) == 2
    assert "pip install opencv-python-headless" in lines[0]
    assert "pip install geopandas" in lines[1] and "python3-geopandas" in lines[1]


def test_provider_still_lists_algorithms_and_logs_what_is_missing(qgis_app, hide_packages):
    from qgis.core import QgsApplication

    hide_packages("scipy")
    logged = []

    def received(message, tag, level):
        logged.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(received)
    try:
        qgis_app.refreshAlgorithms()
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(received)
    assert len(qgis_app.algorithms()) == len(ALGORITHMS)
    assert any(tag == "Tessera" and "pip install scipy" in message for tag, message in logged)


# --------------------------------------------------------------------------- results

def test_bandmath_ndvi_equals_numpy(run_algorithm, monkeypatch, tmp_path):
    values, valid, profile = worldview()
    with np.errstate(all="ignore"):
        expected = ((values[6] - values[4]) / (values[6] + values[4])).astype(np.float32)
    expected[~(valid[6] & valid[4])] = np.nan

    serial = str(tmp_path / "ndvi_serial.tif")
    results, _, _ = run_algorithm("tessera:bandmath", {
        "INPUTS": [WORLDVIEW], "EXPRESSION": NDVI, "DATA_TYPE": 0, "OUTPUT": serial})
    assert results == {"OUTPUT": serial}
    array, out_profile = read_raster(serial)
    assert array.shape == (1, 452, 451) and array.dtype == np.float32
    assert math.isnan(out_profile["nodata"])
    assert out_profile["crs"] == profile["crs"] and out_profile["transform"] == profile["transform"]
    np.testing.assert_array_equal(array[0], expected)
    assert 1000 < np.isnan(expected).sum() < expected.size  # the nodata edge is exercised

    # worker processes started from inside QGIS give the same pixels
    monkeypatch.setenv("TESSERA_EXECUTOR", "processes")
    monkeypatch.setenv("TESSERA_WORKERS", "2")
    monkeypatch.setenv("TESSERA_WINDOW", "128")
    parallel = str(tmp_path / "ndvi_processes.tif")
    _, _, feedback = run_algorithm("tessera:bandmath", {
        "INPUTS": [WORLDVIEW], "EXPRESSION": NDVI, "DATA_TYPE": 0, "OUTPUT": parallel})
    assert "Executor: processes, window 128 px, 2 workers" in feedback.textLog()
    np.testing.assert_array_equal(read_raster(parallel)[0][0], expected)


def test_bandmath_two_inputs_integer_output_and_nodata(run_algorithm, tmp_path, worldview_crop):
    """A and B letter the inputs; uint16 output is rounded and clamped; NODATA is honoured."""
    crop, crop_profile = read_raster(worldview_crop)
    second = write_raster(str(tmp_path / "second.tif"), (crop // 2).astype(np.int16),
                          nodata=WV_NODATA, crs=crop_profile["crs"],
                          transform=crop_profile["transform"])
    second_array = (crop // 2).astype(np.int16)
    out = str(tmp_path / "out.tif")
    run_algorithm("tessera:bandmath", {
        "INPUTS": [worldview_crop, second], "EXPRESSION": "A7 * 10 - B2 / 3",
        "DATA_TYPE": 3, "NODATA": 7, "OUTPUT": out})
    array, profile = read_raster(out)
    assert profile["dtype"] == "uint16" and profile["nodata"] == 7
    expected = np.clip(np.rint(crop[6] * 10.0 - second_array[1] / 3.0), 0, 65535)
    expected[(crop[6] == WV_NODATA) | (second_array[1] == WV_NODATA)] = 7
    np.testing.assert_array_equal(array[0], expected.astype(np.uint16))
    assert (array[0] == 65535).any()  # values above the range were clamped, not wrapped


def test_focal_mean_of_a_small_raster_by_hand(run_algorithm, tmp_path):
    source = np.arange(1, 21, dtype=np.int16).reshape(4, 5)
    source[2, 2] = -1  # nodata
    raster = write_raster(str(tmp_path / "small.tif"), source, nodata=-1, res=2.0)

    def focal_mean(target, radius, units):
        out = str(tmp_path / f"mean_{target}_{units}.tif")
        run_algorithm("tessera:focalstatistics", {
            "INPUT": raster, "STATISTIC": 0, "SHAPE": 0, "RADIUS": radius, "UNITS": units,
            "TARGET": target, "OUTPUT": out})
        array, profile = read_raster(out)
        assert profile["dtype"] == "float32" and math.isnan(profile["nodata"])
        return array[0]

    valid = focal_mean(0, 1, 0)
    assert valid[0, 0] == (1 + 2 + 6 + 7) / 4
    assert valid[1, 1] == (1 + 2 + 3 + 6 + 7 + 8 + 11 + 12) / 8  # 6.25: the hole is skipped
    assert math.isnan(valid[2, 2])  # target 'valid cells only' keeps the hole
    assert valid[3, 4] == (14 + 15 + 19 + 20) / 4
    filled = focal_mean(1, 1, 0)
    assert filled[2, 2] == (7 + 8 + 9 + 12 + 14 + 17 + 18 + 19) / 8  # 13: filled
    np.testing.assert_array_equal(np.delete(filled.ravel(), 12), np.delete(valid.ravel(), 12))

    # every pixel against a plain loop
    expected = np.full(source.shape, np.nan, dtype=np.float32)
    for row in range(4):
        for col in range(5):
            window = source[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]
            if source[row, col] != -1:
                expected[row, col] = window[window != -1].mean()
    np.testing.assert_array_equal(valid, expected)

    # 2 map units on a 2 m grid is a radius of one pixel
    np.testing.assert_array_equal(focal_mean(0, 2.0, 1), valid)


def test_focal_min_of_selected_band_keeps_type_and_nodata(run_algorithm, tmp_path,
                                                           worldview_crop):
    out = str(tmp_path / "min.tif")
    run_algorithm("tessera:focalstatistics", {
        "INPUT": worldview_crop, "BANDS": [3], "STATISTIC": 1, "SHAPE": 1, "RADIUS": 2,
        "OUTPUT": out})
    array, profile = read_raster(out)
    assert array.shape == (1, 97, 113)
    assert profile["dtype"] == "int16" and profile["nodata"] == WV_NODATA
    band = read_raster(worldview_crop)[0][2].astype(np.float64)
    valid = band != WV_NODATA
    dy, dx = np.mgrid[-2:3, -2:3]
    expected = ndimage.minimum_filter(np.where(valid, band, np.inf), footprint=dy ** 2 + dx ** 2 <= 4,
                                      mode="constant", cval=np.inf)
    expected[~valid] = WV_NODATA
    np.testing.assert_array_equal(array[0], expected.astype(np.int16))


def test_footprint_area_is_valid_pixels_times_pixel_area(run_algorithm, tmp_path):
    from qgis.core import QgsVectorLayer, QgsWkbTypes

    values, valid, profile = worldview()
    transform = profile["transform"]
    expected_area = valid.any(axis=0).sum() * abs(transform.a * transform.e)
    out = str(tmp_path / "footprints.gpkg")
    run_algorithm("tessera:footprints", {"INPUTS": [WORLDVIEW], "OUTPUT": out})

    layer = QgsVectorLayer(f"{out}|layername=footprints", "footprints", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 1
    assert {"image", "path", "area"} <= set(layer.fields().names())
    assert layer.crs().authid() == "EPSG:32610"
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PolygonGeometry
    feature = next(layer.getFeatures())
    assert feature["image"] == "worldview3_2016-09-30"
    assert feature["path"] == WORLDVIEW
    assert feature["area"] == pytest.approx(expected_area, rel=1e-9)
    assert feature.geometry().area() == pytest.approx(expected_area, rel=1e-9)
    assert expected_area < 451 * 452 * abs(transform.a * transform.e)  # nodata edge excluded


# --------------------------------------------------------------------------- errors

def _engine_message(call):
    from tessera.engine.errors import EngineError

    with pytest.raises(EngineError) as raised:
        call()
    return str(raised.value)


def test_engine_errors_surface_as_processing_exceptions(run_algorithm, tmp_path,
                                                        worldview_crop):
    """The QgsProcessingException carries the engine's own message, word for word."""
    from qgis.core import QgsProcessingException
    from tessera.engine import bandmath, focal, footprints
    from tessera.engine.neighbourhoods import Neighbourhood

    engine_out, out = str(tmp_path / "engine" / "x.tif"), str(tmp_path / "qgis.tif")
    cases = [
        ("tessera:bandmath", {"INPUTS": [worldview_crop], "EXPRESSION": "b9 + 1", "OUTPUT": out},
         lambda: bandmath.band_math([worldview_crop], "b9 + 1", engine_out),
         "reads band 9 of input A"),
        ("tessera:focalstatistics", {"INPUT": worldview_crop, "SHAPE": 2, "RADIUS": 2,
                                     "INNER_RADIUS": 3, "OUTPUT": out},
         lambda: focal.focal_statistics(worldview_crop, engine_out,
                                        neighbourhood=Neighbourhood("annulus", 2, 3)),
         "annulus inner radius 3 is larger than its outer radius 2"),
        ("tessera:footprints", {"INPUTS": [worldview_crop], "OUTPUT": str(tmp_path / "f.shp")},
         lambda: footprints.footprints([worldview_crop], str(tmp_path / "f.shp")),
         "footprints are written as GeoPackage"),
    ]
    for algorithm_id, parameters, engine_call, fragment in cases:
        expected = _engine_message(engine_call)
        assert fragment in expected
        with pytest.raises(QgsProcessingException) as raised:
            run_algorithm(algorithm_id, parameters)
        assert str(raised.value) == expected, algorithm_id
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- styles

@pytest.fixture
def project(qgis_app):
    from qgis.core import QgsProject

    project = QgsProject.instance()
    project.removeAllMapLayers()
    yield project
    project.removeAllMapLayers()


def _run_and_load(run_algorithm, project, algorithm_id, parameters, output):
    """Run with OUTPUT loaded on completion, then load results as the Toolbox does."""
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import QgsProcessingOutputLayerDefinition

    parameters = dict(parameters, OUTPUT=QgsProcessingOutputLayerDefinition(output, project))
    results, context, feedback = run_algorithm(algorithm_id, parameters)
    assert context.willLoadLayerOnCompletion(output)
    assert context.layerToLoadOnCompletionDetails(output).postProcessor() is not None
    alg = registry().createAlgorithmById(algorithm_id)
    assert handleAlgorithmResults(alg, context, feedback)
    layers = list(project.mapLayers().values())
    assert len(layers) == 1 and layers[0].source().split("|")[0] == output
    return layers[0]


def test_single_band_outputs_load_as_pseudocolor(run_algorithm, project, tmp_path):
    out = str(tmp_path / "ndvi.tif")
    layer = _run_and_load(run_algorithm, project, "tessera:bandmath",
                          {"INPUTS": [WORLDVIEW], "EXPRESSION": NDVI}, out)
    renderer = layer.renderer()
    assert renderer.type() == "singlebandpseudocolor"
    data = read_raster(out)[0][0]
    ramp = renderer.shader().rasterShaderFunction()
    assert ramp.minimumValue() == pytest.approx(float(np.nanmin(data)), abs=1e-6)
    assert ramp.maximumValue() == pytest.approx(float(np.nanmax(data)), abs=1e-6)
    assert len(ramp.colorRampItemList()) == 5
    project.removeAllMapLayers()

    focal_layer = _run_and_load(run_algorithm, project, "tessera:focalstatistics",
                                {"INPUT": out, "RADIUS": 1}, str(tmp_path / "focal.tif"))
    assert focal_layer.renderer().type() == "singlebandpseudocolor"


def test_multi_band_output_keeps_the_default_renderer(run_algorithm, project, tmp_path):
    layer = _run_and_load(run_algorithm, project, "tessera:bandmath",
                          {"INPUTS": [WORLDVIEW], "EXPRESSION": "b1; b2; b3"},
                          str(tmp_path / "three.tif"))
    assert layer.bandCount() == 3
    assert layer.renderer().type() == "multibandcolor"


def test_footprints_load_as_outlines(run_algorithm, project, tmp_path):
    from qgis.core import QgsSimpleFillSymbolLayer
    from qgis.PyQt.QtCore import Qt

    layer = _run_and_load(run_algorithm, project, "tessera:footprints", {"INPUTS": [WORLDVIEW]},
                          str(tmp_path / "footprints.gpkg"))
    renderer = layer.renderer()
    assert renderer.type() == "singleSymbol"
    fill = renderer.symbol().symbolLayer(0)
    assert isinstance(fill, QgsSimpleFillSymbolLayer)
    assert fill.brushStyle() == Qt.NoBrush
    assert fill.strokeColor().name() == "#e31a1c"
    assert fill.strokeWidth() == pytest.approx(0.6)


def test_nothing_is_styled_when_nothing_is_loaded(run_algorithm, tmp_path):
    _, context, _ = run_algorithm("tessera:bandmath", {
        "INPUTS": [WORLDVIEW], "EXPRESSION": NDVI, "OUTPUT": str(tmp_path / "ndvi.tif")})
    assert context.layersToLoadOnCompletion() == {}


# --------------------------------------------------------------------------- Python entry points

def test_processing_run_entry_point(qgis_app, tmp_path):
    """``processing.run`` (Python console, scripts, processing.runAndLoadResults) works."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    out = str(tmp_path / "ndvi.tif")
    results = processing.run("tessera:bandmath",
                             {"INPUTS": [WORLDVIEW], "EXPRESSION": NDVI, "OUTPUT": out},
                             context=QgsProcessingContext(), feedback=QgsProcessingFeedback())
    assert results["OUTPUT"] == out and os.path.isfile(out)


def test_algorithm_run_api_returns_results_and_ok(qgis_app, tmp_path):
    """``alg.run(parameters, context, feedback)`` returns (results, ok) as the QGIS API says
    (processing/gui/BatchAlgorithmDialog.py and AlgorithmExecutor.execute rely on it)."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    alg = registry().createAlgorithmById("tessera:bandmath")
    out = str(tmp_path / "ndvi.tif")
    results, ok = alg.run({"INPUTS": [WORLDVIEW], "EXPRESSION": NDVI, "OUTPUT": out},
                          QgsProcessingContext(), QgsProcessingFeedback())
    assert ok and results["OUTPUT"] == out


def test_rarely_used_parameters_are_advanced(qgis_app):
    from tessera.algorithms.compat import ADVANCED

    focal = registry().algorithmById("tessera:focalstatistics")
    advanced = {d.name() for d in focal.parameterDefinitions() if d.flags() & ADVANCED}
    assert advanced == {"INNER_RADIUS", "START_ANGLE", "END_ANGLE", "DATA_TYPE", "NODATA"}
    bandmath = registry().algorithmById("tessera:bandmath")
    assert {d.name() for d in bandmath.parameterDefinitions() if d.flags() & ADVANCED} == {
        "NODATA"}
