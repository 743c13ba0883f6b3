"""Band math against numpy on whole arrays, nodata and type rules, and bad input."""

import os

import numpy as np
import pytest

from support import LANDSAT, WORLDVIEW, read_raster, write_raster
from tessera.engine.bandmath import band_math
from tessera.engine.errors import (ExpressionError, GridMismatchError, InvalidInputError,
                                   MissingInputError)
from tessera.engine.executors import Execution


def test_ndvi_on_a_real_image_equals_numpy(tmp_path):
    out = band_math([WORLDVIEW], "(b7 - b5) / (b7 + b5)", str(tmp_path / "ndvi.tif"))
    data, profile = read_raster(WORLDVIEW)
    got, out_profile = read_raster(out)
    nir, red = data[6].astype(np.float64), data[4].astype(np.float64)
    valid = (data[6] != -9999) & (data[4] != -9999)
    with np.errstate(all="ignore"):
        expected = ((nir - red) / (nir + red)).astype(np.float32)
    assert out_profile["dtype"] == "float32" and np.isnan(out_profile["nodata"])
    np.testing.assert_array_equal(np.isnan(got[0]), ~valid | np.isnan(expected))
    np.testing.assert_array_equal(got[0][valid], expected[valid])


def test_two_inputs_and_several_expressions(tmp_path):
    a = np.arange(12, dtype=np.uint16).reshape(3, 4)
    b = np.stack([a * 2, a + 100]).astype(np.int16)
    write_raster(tmp_path / "a.tif", a, nodata=5)
    write_raster(tmp_path / "b.tif", b, nodata=-1)
    out = band_math([str(tmp_path / "a.tif"), str(tmp_path / "b.tif")],
                    "A1 + B2; B1 * 1.5; 7", str(tmp_path / "o.tif"), dtype="float64",
                    nodata=-5)
    got, profile = read_raster(out)
    assert got.shape == (3, 3, 4) and profile["nodata"] == -5
    first = a + b[1].astype(float)
    first[a == 5] = -5
    np.testing.assert_array_equal(got[0], first)
    np.testing.assert_array_equal(got[1], b[0] * 1.5)
    np.testing.assert_array_equal(got[2], np.full((3, 4), 7.0))


def test_integer_output_rounds_and_clamps_and_division_by_zero_is_nodata(tmp_path):
    a = np.array([[10, 300, 7, 0]], dtype=np.uint16)
    write_raster(tmp_path / "a.tif", a)
    out = band_math([str(tmp_path / "a.tif")], "b1 * 1.05; 10 / b1", str(tmp_path / "o.tif"),
                    dtype="uint8", nodata=0)
    got, _ = read_raster(out)
    np.testing.assert_array_equal(got[0][0], [10, 255, 7, 0])
    np.testing.assert_array_equal(got[1][0], [1, 0, 1, 0])


def test_nodata_only_from_bands_the_expression_reads(tmp_path):
    a = np.array([[[1, 0], [2, 3]], [[0, 4], [5, 6]]], dtype=np.int16)
    write_raster(tmp_path / "a.tif", a, nodata=0)
    out = band_math([str(tmp_path / "a.tif")], "b1; b2; b1 + b2", str(tmp_path / "o.tif"))
    got, _ = read_raster(out)
    assert np.isnan(got[0]).tolist() == [[False, True], [False, False]]
    assert np.isnan(got[1]).tolist() == [[True, False], [False, False]]
    assert np.isnan(got[2]).tolist() == [[True, True], [False, False]]


def _no_output(folder):
    return [name for name in os.listdir(folder) if name.startswith("o") or "partial" in name]


@pytest.mark.parametrize("expression, error, words", [
    ("b9", ExpressionError, "reads band 9 of input A ('worldview3_2016-09-30'), which has only 8"),
    ("B1", ExpressionError, "reads B1 but only 1 input(s) were given"),
    ("__import__('os')", ExpressionError, "'__import__' is not allowed"),
    ("__import__('os').system('true')", ExpressionError, "calling anything but a listed"),
    ("b1.real", ExpressionError, "attribute access"),
    ("lambda: 1", ExpressionError, "lambda is not allowed"),
])
def test_bad_expressions_leave_no_output(tmp_path, expression, error, words):
    with pytest.raises(error) as info:
        band_math([WORLDVIEW], expression, str(tmp_path / "o.tif"))
    assert words in str(info.value)
    assert _no_output(tmp_path) == []


def test_mismatched_grids(tmp_path):
    with pytest.raises(GridMismatchError) as info:
        band_math([WORLDVIEW, LANDSAT], "A1 + B1", str(tmp_path / "o.tif"))
    assert ("input 'landsat_2022-03-13' is not on the grid of 'worldview3_2016-09-30' "
            "(627 x 547 px instead of 451 x 452 px)") in str(info.value)
    assert _no_output(tmp_path) == []


def test_shifted_grid_is_a_mismatch(tmp_path):
    write_raster(tmp_path / "a.tif", np.ones((4, 4), np.uint8))
    write_raster(tmp_path / "b.tif", np.ones((4, 4), np.uint8), origin=(500001.0, 4200000.0))
    write_raster(tmp_path / "c.tif", np.ones((4, 4), np.uint8), crs="EPSG:4326")
    write_raster(tmp_path / "d.tif", np.ones((4, 4), np.uint8), res=3.0)
    for other, words in (("b", "origin (500001, 4.2e+06) instead of (500000, 4.2e+06)"),
                         ("c", "another CRS"), ("d", "pixel size 3 x 3 instead of 2 x 2")):
        with pytest.raises(GridMismatchError, match="align them first") as info:
            band_math([str(tmp_path / "a.tif"), str(tmp_path / f"{other}.tif")], "A1+B1",
                      str(tmp_path / "o.tif"))
        assert words in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(MissingInputError, match="'.*nothere.tif' does not exist"):
        band_math([str(tmp_path / "nothere.tif")], "b1", str(tmp_path / "o.tif"))


def test_not_a_raster(tmp_path):
    (tmp_path / "text.tif").write_text("hello")
    with pytest.raises(MissingInputError, match="cannot be opened as a raster"):
        band_math([str(tmp_path / "text.tif")], "b1", str(tmp_path / "o.tif"))


@pytest.mark.parametrize("dtype, nodata, words", [
    ("uint8", 300, "nodata 300 does not fit type uint8 (0 to 255): choose a whole number in "
                   "range or set the output type to uint16"),
    ("int16", -40000, "set the output type to int32"),
    ("uint16", 1.5, "does not fit type uint16"),
    ("complex64", None, "output type 'complex64' is not supported"),
])
def test_bad_output_type_or_nodata(tmp_path, dtype, nodata, words):
    with pytest.raises(InvalidInputError) as info:
        band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"), dtype=dtype, nodata=nodata)
    assert words in str(info.value)
    assert _no_output(tmp_path) == []


def test_output_may_not_overwrite_an_input(tmp_path):
    path = write_raster(tmp_path / "a.tif", np.ones((3, 3), np.uint8))
    before = open(path, "rb").read()
    with pytest.raises(InvalidInputError, match="is also an input"):
        band_math([str(path)], "b1 * 2", str(path))
    assert open(path, "rb").read() == before


def test_runs_with_worker_processes(tmp_path):
    serial = band_math([WORLDVIEW], "b1 * 2 - b8", str(tmp_path / "s.tif"), dtype="int32")
    parallel = band_math([WORLDVIEW], "b1 * 2 - b8", str(tmp_path / "p.tif"), dtype="int32",
                         execution=Execution("processes", 2, 100))
    np.testing.assert_array_equal(read_raster(serial)[0], read_raster(parallel)[0])
