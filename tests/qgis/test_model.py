"""The committed model models/bandmath_focal_footprints.model3: current, valid, and
right when qgis_process runs it (band math -> focal statistics -> footprints)."""

import importlib.util
import math
import os

import pytest

pytest.importorskip("qgis.core")

import geopandas  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from qgis_support import MODEL, listing, output_of  # noqa: E402
from support import ROOT, WORLDVIEW, read_raster  # noqa: E402

EXPRESSION = "(b7 - b5) / (b7 + b5); (b3 - b7) / (b3 + b7)"  # NDVI and NDWI: two bands
OUTPUTS = ("bandmath:index", "focal:smoothed", "footprints:footprints")


def _make_model_script():
    spec = importlib.util.spec_from_file_location(
        "tessera_make_model", os.path.join(ROOT, "scripts", "make_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(qgis_app):
    from qgis.core import QgsProcessingModelAlgorithm

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(MODEL), MODEL
    return model


def test_committed_model_is_valid_and_wired(qgis_app):
    model = _load(qgis_app)
    ok, issues = model.validate()
    assert ok and not issues, issues
    assert (model.name(), model.group()) == ("bandmath_focal_footprints", "Tessera examples")
    names = [p.name() for p in model.parameterDefinitions()]
    assert {"input", "expression", "radius", *OUTPUTS} <= set(names)
    children = model.childAlgorithms()
    assert {child_id: child.algorithmId() for child_id, child in children.items()} == {
        "bandmath": "tessera:bandmath", "focal": "tessera:focalstatistics",
        "footprints": "tessera:footprints"}
    # the chain: focal reads band math's output, footprints reads focal's output
    assert model.dependsOnChildAlgorithms("focal") == {"bandmath"}
    assert model.dependsOnChildAlgorithms("footprints") == {"bandmath", "focal"}
    focal_input = children["focal"].parameterSources()["INPUT"][0]
    assert (focal_input.outputChildId(), focal_input.outputName()) == ("bandmath", "OUTPUT")
    assert children["bandmath"].parameterSources()["EXPRESSION"][0].parameterName() == "expression"


@pytest.mark.parametrize("file_name", ["bandmath_focal_footprints.model3",
                                       "radiometric_normalization.model3"])
def test_committed_models_match_their_generator(qgis_app, tmp_path, file_name):
    """models/*.model3 is what scripts/make_model.py writes (regenerate it after edits)."""
    regenerated = str(tmp_path / "regenerated.model3")
    assert _make_model_script().MODELS[file_name]().toFile(regenerated)
    committed = os.path.join(ROOT, "models", file_name)
    assert _canonical(regenerated) == _canonical(committed), "run scripts/make_model.py, commit"


def _canonical(path):
    """The XML tree with attribute order ignored (Qt writes attributes in hash order)."""
    import xml.etree.ElementTree as ElementTree

    def walk(element):
        return (element.tag, dict(element.attrib), (element.text or "").strip(),
                [walk(child) for child in element])

    return walk(ElementTree.parse(path).getroot())


def test_model_runs_in_qgis_process(qgis_process, tmp_path):
    out = {name: str(tmp_path / file) for name, file in zip(
        OUTPUTS, ("index.tif", "smoothed.tif", "footprints.gpkg"))}
    proc = qgis_process(MODEL, {"input": WORLDVIEW, "expression": EXPRESSION, "radius": 2,
                                **out}, env_extra={"TESSERA_EXECUTOR": "serial"})
    assert proc.returncode == 0, output_of(proc)
    assert "Executed 3 algorithms" in proc.stdout, output_of(proc)
    assert sorted(name for name in listing(tmp_path) if not name.endswith(".aux.xml")) == sorted(
        os.path.basename(path) for path in out.values())

    # band math: NDVI and NDWI as numpy computes them
    source, source_profile = read_raster(WORLDVIEW)
    b = source.astype(np.float64)
    valid = source != -9999
    index, profile = read_raster(out["bandmath:index"])
    assert index.shape == (2, 452, 451) and profile["dtype"] == "float32"
    with np.errstate(all="ignore"):
        expected = np.stack([(b[6] - b[4]) / (b[6] + b[4]), (b[2] - b[6]) / (b[2] + b[6])])
    expected[0][~(valid[6] & valid[4])] = np.nan
    expected[1][~(valid[2] & valid[6])] = np.nan
    np.testing.assert_array_equal(index, expected.astype(np.float32))

    # focal: circular mean (radius 2) of each index band over its valid cells
    smoothed, profile = read_raster(out["focal:smoothed"])
    assert smoothed.shape == (2, 452, 451) and profile["dtype"] == "float32"
    assert profile["transform"] == source_profile["transform"]
    dy, dx = np.mgrid[-2:3, -2:3]
    circle = (dy ** 2 + dx ** 2 <= 4).astype(np.float64)
    for band in range(2):
        values = index[band].astype(np.float64)
        ok = ~np.isnan(values)
        sums = ndimage.correlate(np.where(ok, values, 0.0), circle, mode="constant")
        counts = ndimage.correlate(ok.astype(np.float64), circle, mode="constant")
        mean = np.where(ok, sums / np.maximum(counts, 1), np.nan)
        np.testing.assert_array_equal(np.isnan(smoothed[band]), ~ok)
        np.testing.assert_allclose(smoothed[band][ok], mean[ok], rtol=1e-5, atol=1e-6)

    # footprints: one feature, the valid area of the smoothed raster
    table = geopandas.read_file(out["footprints:footprints"], layer="footprints")
    assert len(table) == 1
    assert table["image"][0] == "smoothed"
    transform = profile["transform"]
    area = (~np.isnan(smoothed)).any(axis=0).sum() * abs(transform.a * transform.e)
    assert area > 0 and not math.isnan(area)
    assert table["area"][0] == pytest.approx(area, rel=1e-9)
    assert table.geometry[0].area == pytest.approx(area, rel=1e-9)


def test_normalization_model_chains_global_local_and_report(qgis_process, tmp_path):
    from support import distorted_tiles

    tiles, _ = distorted_tiles(str(tmp_path), [[1.0] * 3, [1.2, 0.9, 1.1], [0.8, 1.0, 1.0],
                                               [1.1, 1.0, 0.9]], [[0] * 3, [50, 0, 0],
                                                                  [-30, 0, 0], [0, 20, 0]])
    model = os.path.join(ROOT, "models", "radiometric_normalization.model3")
    out = {"global:global": str(tmp_path / "global"), "local:local": str(tmp_path / "local"),
           "report:report": str(tmp_path / "report.html")}
    proc = qgis_process(model, [("inputs", tiles), ("blocks", 200), *out.items()],
                        env_extra={"TESSERA_EXECUTOR": "serial"}, timeout=240)
    assert proc.returncode == 0, output_of(proc)
    assert listing(out["local:local"]) == [f"tile{k}_global_local.tif" for k in range(4)]
    report = open(out["report:report"]).read()
    assert all(f"tile{k}" in report for k in range(4))
    from tessera.engine.differences import overlap_differences

    before = overlap_differences(tiles)
    after = overlap_differences([os.path.join(out["local:local"], name)
                                 for name in listing(out["local:local"])])
    assert np.mean([p.mean_mad for p in after]) < 0.5 * np.mean([p.mean_mad for p in before])


def _affine_residual(mosaic, truth, valid):
    """RMS residual of the best per-band affine fit of ``mosaic`` to ``truth`` on ``valid``:
    what is left once one gain and offset per band are allowed."""
    residuals = []
    for band in range(mosaic.shape[0]):
        x, y = truth[band][valid[band]], mosaic[band][valid[band]].astype(float)
        gain, offset = np.polyfit(x, y, 1)
        residuals.append(np.sqrt(np.mean((y - gain * x - offset) ** 2)))
    return np.array(residuals)


def test_seamless_mosaic_model_is_the_flagship_and_beats_a_plain_merge(qgis_process, tmp_path):
    """The README's main job: the four sample tiles (known gains, offsets, illumination) give
    a COG mosaic closer to the source image than a plain merge, and seamlines that tile the
    union of the tiles."""
    import rasterio
    import subprocess
    from rasterio.windows import from_bounds

    tiles = sorted(os.path.join(ROOT, "examples", "data", "tiles", name)
                   for name in os.listdir(os.path.join(ROOT, "examples", "data", "tiles")))
    model = os.path.join(ROOT, "models", "seamless_mosaic.model3")
    out = {"seamlines:seamlines": str(tmp_path / "seamlines.gpkg"),
           "mosaic:mosaic": str(tmp_path / "mosaic.tif")}
    proc = qgis_process(model, [("inputs", tiles), ("feather", 20), ("cog", "true"),
                                *out.items()],
                        env_extra={"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2"},
                        timeout=300)
    assert proc.returncode == 0, output_of(proc)
    plain = str(tmp_path / "plain.tif")
    subprocess.run(["gdalwarp", "-q", "-tr", "2.2255969836615117", "2.225596983661562",
                    *tiles, plain], check=True)
    with rasterio.open(out["mosaic:mosaic"]) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        mosaic, bounds, shape = ds.read(), ds.bounds, ds.shape
    with rasterio.open(plain) as ds:
        merged = ds.read(window=from_bounds(*bounds, ds.transform), boundless=True,
                         out_shape=(4,) + shape, fill_value=-9999)
    with rasterio.open(WORLDVIEW) as ds:
        truth = ds.read((2, 3, 5, 7), window=from_bounds(*bounds, ds.transform),
                        boundless=True, out_shape=(4,) + shape, fill_value=-9999)
    valid = (mosaic != -9999) & (merged != -9999) & (truth != -9999)
    assert valid.mean() > 0.95
    ours, theirs = _affine_residual(mosaic, truth, valid), _affine_residual(merged, truth, valid)
    # part of the residual is the 2.5 m tile's lost detail, common to both
    assert np.all(ours < 0.8 * theirs), (ours, theirs)

    table = geopandas.read_file(out["seamlines:seamlines"])
    assert sorted(table["image"]) == ["tile_ne", "tile_nw", "tile_se", "tile_sw"]
    union = table.geometry.unary_union
    assert sum(table.geometry.area) == pytest.approx(union.area, rel=1e-6)
