"""Tiling is invisible: any window size, worker count or executor gives the same result.

Integer-valued inputs give bit-identical outputs (every sum is exact in
float64); float inputs agree within 1e-6 relative.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from support import read_raster, write_raster
from tessera.engine.bandmath import band_math
from tessera.engine.executors import Execution
from tessera.engine.focal import STATISTICS, focal_statistics
from tessera.engine.footprints import footprint
from tessera.engine.neighbourhoods import Neighbourhood

WHOLE = Execution("serial", window_size=4096)
TILINGS = [Execution("serial", window_size=size) for size in (3, 5, 7, 16, 64)] + [
    Execution("processes", 1, 7), Execution("processes", 2, 16), Execution("processes", 2, 5)]


def tiling_id(execution):
    return f"{execution.executor}-{execution.workers or 1}w-{execution.window_size}px"


@pytest.fixture(scope="module")
def ndvi_whole(worldview_crop, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    return read_raster(band_math([worldview_crop], "(b7 - b5) / (b7 + b5); b1 - 2 * b8",
                                 str(folder / "o.tif"), execution=WHOLE))[0]


@pytest.mark.parametrize("execution", TILINGS, ids=tiling_id)
def test_band_math(worldview_crop, ndvi_whole, tmp_path, execution):
    got = read_raster(band_math([worldview_crop], "(b7 - b5) / (b7 + b5); b1 - 2 * b8",
                                str(tmp_path / "o.tif"), execution=execution))[0]
    np.testing.assert_array_equal(got, ndvi_whole)


FOCAL_CASES = [("mean", Neighbourhood("square", 3)), ("std", Neighbourhood("circle", 2.5)),
               ("median", Neighbourhood("square", 2)), ("mode", Neighbourhood("nesw", 2)),
               ("sum", Neighbourhood("annulus", 3, inner=1)), ("range", Neighbourhood("wedge", 3, 0, 120)),
               ("variety", Neighbourhood("circle", 2)), ("min", Neighbourhood("square", 1)),
               ("max", Neighbourhood("circle", 3))]


@pytest.fixture(scope="module")
def focal_whole(worldview_crop, tmp_path_factory):
    folder = tmp_path_factory.mktemp("focal-whole")
    return {statistic: read_raster(focal_statistics(
        worldview_crop, str(folder / f"{statistic}.tif"), statistic=statistic,
        neighbourhood=neighbourhood, bands=[1, 7], target="all", execution=WHOLE))[0]
        for statistic, neighbourhood in FOCAL_CASES}


@pytest.mark.parametrize("execution", TILINGS, ids=tiling_id)
def test_focal_statistics_on_integer_data_are_bit_identical(worldview_crop, focal_whole,
                                                            tmp_path, execution):
    if execution.executor == "processes":
        cases = FOCAL_CASES[:3]  # each process run starts a pool: keep the suite quick
    else:
        cases = FOCAL_CASES
    for statistic, neighbourhood in cases:
        got = read_raster(focal_statistics(
            worldview_crop, str(tmp_path / f"{statistic}.tif"), statistic=statistic,
            neighbourhood=neighbourhood, bands=[1, 7], target="all", execution=execution))[0]
        np.testing.assert_array_equal(got, focal_whole[statistic], err_msg=statistic)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), window=st.integers(3, 40),
       statistic=st.sampled_from(list(STATISTICS)), radius=st.floats(1, 4),
       shape=st.sampled_from(["square", "circle", "annulus", "wedge", "nesw"]))
def test_focal_on_float_data_within_1e6(tmp_path_factory, seed, window, statistic, radius,
                                        shape):
    rng = np.random.default_rng(seed)
    array = (rng.normal(100, 30, (37, 41)) * rng.random((37, 41))).astype(np.float32)
    array[rng.random(array.shape) < 0.1] = np.nan
    folder = tmp_path_factory.mktemp("prop")
    path = write_raster(folder / "a.tif", array, nodata=float("nan"))
    neighbourhood = Neighbourhood(shape, radius, inner=radius / 2, start=45, end=270)
    whole, tiled = (read_raster(focal_statistics(
        str(path), str(folder / f"{name}.tif"), statistic=statistic, neighbourhood=neighbourhood,
        execution=execution))[0] for name, execution in
        (("whole", WHOLE), ("tiled", Execution("serial", window_size=window))))
    np.testing.assert_allclose(tiled, whole, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(array)),
                               equal_nan=True)


@pytest.mark.parametrize("execution", TILINGS[:3] + TILINGS[-1:], ids=tiling_id)
def test_footprint(worldview_crop, execution):
    assert footprint(worldview_crop, execution=execution).equals(
        footprint(worldview_crop, execution=WHOLE))
