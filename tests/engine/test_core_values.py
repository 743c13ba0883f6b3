"""Windows, grids, planning, output types and the worker interpreter probe."""

import sys

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings, strategies as st

from tessera.engine.dtypes import cast, check_nodata, default_nodata
from tessera.engine.errors import InvalidInputError, WorkerError
from tessera.engine.interpreter import find_python
from tessera.engine.windows import Grid, Window, plan_windows, trim


@settings(deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), size=st.integers(1, 600))
def test_plan_covers_every_pixel_once(height, width, size):
    grid = Grid("EPSG:4326", Affine.identity(), width, height)
    cover = np.zeros((height, width), np.int32)
    for window in plan_windows(grid, size, block_size=64):
        cover[window.to_slices()] += 1
        if size >= 64:  # windows start on the output block grid
            assert window.row % 64 == 0 and window.col % 64 == 0
    assert (cover == 1).all()


def test_plan_rejects_empty_windows():
    with pytest.raises(InvalidInputError, match="window size 0 px is too small"):
        list(plan_windows(Grid(None, Affine.identity(), 3, 3), 0))


def test_expand_clip_and_trim():
    window = Window(0, 5, 4, 6)
    outer = window.expand(2)
    assert outer == Window(-2, 3, 8, 10)
    assert outer.clip(5, 10) == Window(0, 3, 5, 7)
    assert Window(20, 20, 3, 3).clip(5, 5) is None
    assert trim(np.zeros((1, 8, 10)), 2).shape == (1, 4, 6)


def test_grid_equality_tolerates_rounding_but_not_shifts():
    grid = Grid("EPSG:32610", Affine(2, 0, 100, 0, -2, 200), 10, 10)
    assert grid.same_as(Grid("EPSG:32610", Affine(2, 0, 100 + 1e-12, 0, -2, 200), 10, 10))
    assert not grid.same_as(Grid("EPSG:32610", Affine(2, 0, 101, 0, -2, 200), 10, 10))
    assert not grid.same_as(Grid("EPSG:32611", Affine(2, 0, 100, 0, -2, 200), 10, 10))


def test_cast_rounds_half_even_and_clamps_never_wraps():
    values = np.array([-3.5, 0.5, 1.5, 254.6, 300.0, np.nan])
    assert cast(values, "uint8").tolist() == [0, 0, 2, 255, 255, 0]
    assert cast(values, "int16").tolist()[:5] == [-4, 0, 2, 255, 300]


def test_nodata_defaults_and_checks():
    assert np.isnan(default_nodata("float32"))
    assert default_nodata("uint16") == 65535 and default_nodata("int16") == -32768
    with pytest.raises(InvalidInputError, match="nodata NaN does not fit type uint8"):
        check_nodata(float("nan"), "uint8")
    assert check_nodata(-9999, "int16") == -9999


def test_worker_python_is_this_installation():
    found = find_python()
    assert found
    with pytest.raises(WorkerError, match="does not run or is not Python"):
        find_python("/nonexistent/python")
    assert find_python(sys.executable) == sys.executable
