"""The Radiometry algorithms end to end through ``qgis_process.bin``: known distortions
undone, executors agree byte for byte, masks and models, warnings, and bad input.

All runs of the module start together in one fixture (each qgis_process start
costs about 2 s); runs that consume another's outputs go in a second wave.
"""

import json
import os
import time

import pytest

pytest.importorskip("qgis.core")

import numpy as np  # noqa: E402

from qgis_support import listing, output_of  # noqa: E402
from support import (GAINS, OFFSETS, distorted_tiles, read_raster, truth_of_tile,  # noqa: E402
                     write_raster)

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "64"}
PROCESSES = {"TESSERA_EXECUTOR": "processes", "TESSERA_WORKERS": "2", "TESSERA_WINDOW": "64"}
FLOAT32 = 1  # "same as input" comes first, then engine.dtypes.DTYPES
UINT8 = 3


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return distorted_tiles(str(tmp_path_factory.mktemp("tiles")), GAINS, OFFSETS,
                           gradient=0.1)


def _mask_layer(folder, tiles):
    """A GeoPackage with one polygon (the left half of tile1) named 'tile1 only'."""
    import geopandas
    import rasterio
    from shapely.geometry import box

    with rasterio.open(tiles[1]) as ds:
        left, bottom, right, top = ds.bounds
        crs = ds.crs
    path = os.path.join(folder, "mask.gpkg")
    geopandas.GeoDataFrame({"name": ["tile1 only"]},
                           geometry=[box(left, bottom, (left + right) / 2, top)],
                           crs=crs).to_file(path)
    return path


def _first_wave(folder, tiles, bad):
    paths = tiles
    runs = {}
    for name, env in (("serial", SERIAL), ("processes", PROCESSES)):
        runs[f"global-{name}"] = ("tessera:globalregression", {
            "INPUTS": paths, "REFERENCE_MODE": 1, "REFERENCE_NAMES": "tile0",
            "DATA_TYPE": FLOAT32, "SAVE_MODEL": os.path.join(folder, f"model-{name}.json"),
            "OUTPUT_FOLDER": os.path.join(folder, f"global-{name}")}, env)
        runs[f"histmatch-{name}"] = ("tessera:histogrammatching", {
            "INPUTS": paths[1:], "REFERENCE": paths[0], "OVERLAP_ONLY": True,
            "OUTPUT_FOLDER": os.path.join(folder, f"histmatch-{name}")}, env)
        runs[f"lirrn-{name}"] = ("tessera:lirrn", {
            "INPUTS": paths[1:], "REFERENCE": paths[0], "SEED": 4,
            "OUTPUT_FOLDER": os.path.join(folder, f"lirrn-{name}")}, env)
    runs["global-masked"] = ("tessera:globalregression", {
        "INPUTS": paths, "MASK_LAYER": _mask_layer(folder, paths), "MASK_FIELD": "name",
        "MASK_MODE": 1, "OUTPUT_FOLDER": os.path.join(folder, "global-masked")}, SERIAL)
    runs["global-uint8"] = ("tessera:globalregression", {
        "INPUTS": paths, "DATA_TYPE": UINT8, "FIT": 1,
        "OUTPUT_FOLDER": os.path.join(folder, "global-uint8")}, SERIAL)
    runs["global-unmasked"] = ("tessera:globalregression", {
        "INPUTS": paths, "OUTPUT_FOLDER": os.path.join(folder, "global-unmasked")}, SERIAL)
    runs.update({name: (alg, params, SERIAL) for name, (alg, params, _) in bad.items()})
    return runs


def _second_wave(folder, first):
    runs = {}
    global_outputs = [os.path.join(folder, "global-serial", f"tile{k}_global.tif")
                      for k in range(4)]
    for name, env in (("serial", SERIAL), ("processes", PROCESSES)):
        runs[f"local-{name}"] = ("tessera:localblockadjustment", {
            "INPUTS": global_outputs, "BLOCKS": 200,
            "SAVE_MAPS": os.path.join(folder, f"maps-{name}"),
            "OUTPUT_FOLDER": os.path.join(folder, f"local-{name}")}, env)
    runs["report"] = ("tessera:normalizationreport", {
        "BEFORE": first, "AFTER": global_outputs,
        "OUTPUT": os.path.join(folder, "report.html")}, SERIAL)
    runs["global-from-model"] = ("tessera:globalregression", {
        "INPUTS": first[:2], "REFERENCE_MODE": 1, "REFERENCE_NAMES": "tile0",
        "DATA_TYPE": FLOAT32, "MODEL": os.path.join(folder, "model-serial.json"),
        "OUTPUT_FOLDER": os.path.join(folder, "global-from-model")}, SERIAL)
    return runs


def _bad_runs(folder, tiles):
    """name -> (algorithm, parameters, fragment of the expected ERROR line)."""
    def out(name):
        os.makedirs(os.path.join(folder, name))
        return os.path.join(folder, name)

    crs = read_raster(tiles[0])[1]["crs"]
    two_bands = write_raster(os.path.join(folder, "two.tif"), np.ones((2, 5, 5), np.int16),
                             crs=crs)
    utm11 = write_raster(os.path.join(folder, "utm11.tif"), np.ones((3, 5, 5), np.int16),
                         crs="EPSG:32611")
    far = write_raster(os.path.join(folder, "far.tif"), np.ones((3, 5, 5), np.int16),
                       crs=crs, origin=(0.0, 0.0))
    return {
        "band counts": ("tessera:globalregression", {
            "INPUTS": [tiles[0], two_bands], "OUTPUT_FOLDER": out("bands")},
            "'two' has 2 band(s) but 'tile0' has 3: all inputs must have the same bands"),
        "crs": ("tessera:globalregression", {
            "INPUTS": [tiles[0], utm11], "OUTPUT_FOLDER": out("crs")},
            "'utm11' is in another CRS than 'tile0'"),
        "no overlap": ("tessera:globalregression", {
            "INPUTS": [tiles[0], far], "OUTPUT_FOLDER": out("overlap")},
            "no two images overlap (tile0, far)"),
        "unknown reference": ("tessera:globalregression", {
            "INPUTS": tiles, "REFERENCE_MODE": 1, "REFERENCE_NAMES": "tile9",
            "OUTPUT_FOLDER": out("reference")},
            "reference image(s) 'tile9' match no input"),
        "empty mask": ("tessera:globalregression", {
            "INPUTS": tiles, "MASK_LAYER": _mask_layer(folder, tiles), "MASK_FIELD": "name",
            "OUTPUT_FOLDER": out("mask")},
            "'tile0' has no valid pixel to measure (all nodata, or excluded by the mask)"),
        "no block maps": ("tessera:localblockadjustment", {
            "INPUTS": tiles, "LOAD_MAPS": folder, "OUTPUT_FOLDER": out("maps")},
            "no reference block map 'reference_blocks.tif'"),
        "histmatch bands": ("tessera:histogrammatching", {
            "INPUTS": tiles[1], "REFERENCE": two_bands, "OUTPUT_FOLDER": out("hm-bands")},
            "'tile1' has 3 band(s) but 'two' has 2"),
        "histmatch no overlap": ("tessera:histogrammatching", {
            "INPUTS": far, "REFERENCE": tiles[0], "OVERLAP_ONLY": True,
            "OUTPUT_FOLDER": out("hm-overlap")},
            "'far' does not overlap the reference 'tile0'"),
        "lirrn crs": ("tessera:lirrn", {
            "INPUTS": utm11, "REFERENCE": tiles[0], "OUTPUT_FOLDER": out("lirrn-crs")},
            "is in another CRS than"),
        "report counts": ("tessera:normalizationreport", {
            "BEFORE": tiles[:2], "AFTER": tiles[:1],
            "OUTPUT": os.path.join(out("report"), "report.html")},
            "2 input image(s) but 1 normalized image(s) given"),
    }


@pytest.fixture(scope="module")
def runs(qgis_process, tiles, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("radiometry"))
    paths, _ = tiles
    bad = _bad_runs(str(tmp_path_factory.mktemp("bad")), paths)
    started = time.monotonic()
    results = {}
    for wave in (_first_wave(folder, paths, bad), _second_wave(folder, paths)):
        done = qgis_process.run_all(list(wave.values()))
        results.update({name: (proc, wave[name]) for name, proc in zip(wave, done)})
    print(f"\n{len(results)} qgis_process runs in {time.monotonic() - started:.1f} s")
    return results, bad


def _outputs(runs, name):
    proc, (_, params, _) = runs[0][name]
    assert proc.returncode == 0, output_of(proc)
    listed = proc.stdout.split("Results")[-1].split("OUTPUT_LAYERS:\t")[1].split("\n")[0]
    return listed.split(", ")


def test_global_regression_undoes_known_distortions_with_both_executors(runs, tiles):
    _, truth = tiles
    serial, parallel = _outputs(runs, "global-serial"), _outputs(runs, "global-processes")
    assert [os.path.basename(p) for p in serial] == [f"tile{k}_global.tif" for k in range(4)]
    for k, (one, two) in enumerate(zip(serial, parallel)):
        with open(one, "rb") as a, open(two, "rb") as b:
            assert a.read() == b.read()
        got, expected = read_raster(one)[0], truth_of_tile(truth, k)
        valid = ~np.isnan(expected)
        # the ±5% illumination gradient remains (global gains cannot remove it): within 5%
        assert np.abs(got[valid] - expected[valid]).mean() < 0.05 * np.nanmean(expected)
    model = json.load(open(runs[0]["global-serial"][1][1]["SAVE_MODEL"]))
    assert sorted(model["images"]) == [f"tile{k}" for k in range(4)]


def test_a_loaded_model_reproduces_the_outputs(runs):
    for saved, again in zip(_outputs(runs, "global-serial"), _outputs(runs, "global-from-model")):
        np.testing.assert_array_equal(read_raster(saved)[0], read_raster(again)[0])


def test_local_adjustment_lowers_seams_and_executors_agree(runs, tiles):
    serial, parallel = _outputs(runs, "local-serial"), _outputs(runs, "local-processes")
    for one, two in zip(serial, parallel):
        with open(one, "rb") as a, open(two, "rb") as b:
            assert a.read() == b.read()

    def seam(paths):
        a = read_raster(paths[0])[0][:, :, 60:].astype(float)
        b = read_raster(paths[1])[0][:, :, :40].astype(float)
        valid = (a != -9999) & (b != -9999)
        return np.abs(a - b)[valid].mean()

    assert seam(serial) < seam(_outputs(runs, "global-serial"))
    assert len(listing(runs[0]["local-serial"][1][1]["SAVE_MAPS"])) == 1 + 2 * 4


def test_an_exclusion_mask_changes_the_statistics(runs):
    masked, plain = _outputs(runs, "global-masked"), _outputs(runs, "global-unmasked")
    assert not np.array_equal(read_raster(masked[1])[0], read_raster(plain[1])[0])


def test_clamping_to_uint8_warns(runs):
    proc, _ = runs[0]["global-uint8"]
    assert proc.returncode == 0, output_of(proc)
    assert "values are clamped to that range" in proc.stdout + proc.stderr
    assert read_raster(_outputs(runs, "global-uint8")[1])[0].dtype == np.uint8


@pytest.mark.parametrize("algorithm", ["histmatch", "lirrn"])
def test_reference_algorithms_match_the_engine_with_both_executors(runs, tiles, tmp_path,
                                                                   algorithm):
    from tessera.engine.histogram_matching import histogram_matching
    from tessera.engine.lirrn import lirrn

    paths, _ = tiles
    serial = _outputs(runs, f"{algorithm}-serial")
    parallel = _outputs(runs, f"{algorithm}-processes")
    if algorithm == "histmatch":
        expected = histogram_matching(paths[1:], paths[0], str(tmp_path), overlap_only=True)
    else:
        expected = lirrn(paths[1:], paths[0], str(tmp_path), seed=4)
    for one, two, three in zip(serial, parallel, expected):
        assert read_raster(one)[0].tobytes() == read_raster(two)[0].tobytes()
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(three)[0])


def test_report_names_every_image_and_links_its_plots(runs):
    proc, (_, params, _) = runs[0]["report"]
    assert proc.returncode == 0, output_of(proc)
    html = open(params["OUTPUT"]).read()
    assert all(f"tile{k}_global" in html for k in range(4))
    files = os.path.join(os.path.dirname(params["OUTPUT"]), "report_files")
    assert "overlaps.png" in listing(files) and 'src="report_files/overlaps.png"' in html


BAD = ["band counts", "crs", "no overlap", "unknown reference", "empty mask", "no block maps",
       "histmatch bands", "histmatch no overlap", "lirrn crs", "report counts"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_fails_with_the_message_and_leaves_nothing(runs, case):
    proc, (_, params, _) = runs[0][case]
    fragment = runs[1][case][2]
    assert proc.returncode != 0, output_of(proc)
    assert fragment in proc.stderr, output_of(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    folder = params.get("OUTPUT_FOLDER") or os.path.dirname(params["OUTPUT"])
    assert listing(folder) == []
