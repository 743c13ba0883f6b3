"""Focal statistics against scipy.ndimage.generic_filter, known answers, and bad input."""

import numpy as np
import pytest
from scipy import ndimage

from support import read_raster, write_raster
from tessera.engine.errors import InvalidInputError
from tessera.engine.focal import STATISTICS, focal_statistics, pixels_from_map_units
from tessera.engine.neighbourhoods import Neighbourhood, runs
from tessera.engine.raster_io import describe

NEIGHBOURHOODS = [
    Neighbourhood("square", 2),
    Neighbourhood("circle", 2.5),
    Neighbourhood("annulus", 3, inner=1.5),
    Neighbourhood("wedge", 3, start=30, end=200),
    Neighbourhood("wedge", 2, start=300, end=45),
    Neighbourhood("nesw", 2),
]


def _mode(values):
    found, counts = np.unique(values, return_counts=True)
    return found[np.argmax(counts)]


REFERENCE = {
    "mean": np.mean, "min": np.min, "max": np.max, "sum": np.sum, "std": np.std,
    "median": np.median, "mode": _mode, "range": np.ptp,
    "variety": lambda values: len(np.unique(values)),
}


def reference(array, valid, footprint, function, target):
    """scipy generic_filter over the valid cells; outside the raster is nodata."""
    e = footprint.shape[0] // 2
    padded = np.pad(np.where(valid, array, np.nan), e, constant_values=np.nan)

    def apply(values):
        values = values[~np.isnan(values)]
        return function(values) if values.size else np.nan

    out = ndimage.generic_filter(padded, apply, footprint=footprint, mode="constant",
                                 cval=np.nan)[e:-e, e:-e]
    if target == "valid":
        out[~valid] = np.nan
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Integer-valued float data with few distinct values (so mode ties happen) and holes."""
    rng = np.random.default_rng(3)
    array = rng.integers(0, 6, (17, 19)).astype(np.float32)
    array[rng.random(array.shape) < 0.2] = -1
    path = tmp_path_factory.mktemp("focal") / "small.tif"
    return write_raster(path, array, nodata=-1), array.astype(np.float64), array != -1


@pytest.mark.parametrize("neighbourhood", NEIGHBOURHOODS, ids=lambda n: f"{n.shape}{n.radius}")
@pytest.mark.parametrize("statistic", list(STATISTICS))
@pytest.mark.parametrize("target", ["valid", "all"])
def test_equals_scipy_generic_filter(tmp_path, small, neighbourhood, statistic, target):
    path, array, valid = small
    out = focal_statistics(str(path), str(tmp_path / "o.tif"), statistic=statistic,
                           neighbourhood=neighbourhood, target=target, dtype="float64",
                           nodata=-999)
    got = read_raster(out)[0][0]
    got[got == -999] = np.nan
    expected = reference(array, valid, neighbourhood.footprint(), REFERENCE[statistic], target)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("statistic", ["mean", "sum", "std"])
def test_float32_input_is_summed_in_float64(tmp_path, statistic):
    rng = np.random.default_rng(11)
    array = rng.normal(1000, 50, (30, 40)).astype(np.float32)
    path = write_raster(tmp_path / "a.tif", array)
    got = read_raster(focal_statistics(str(path), str(tmp_path / "o.tif"), statistic=statistic,
                                       neighbourhood=Neighbourhood("square", 3),
                                       dtype="float64"))[0][0]
    expected = reference(array.astype(np.float64), np.ones(array.shape, bool),
                         np.ones((7, 7), bool), REFERENCE[statistic], "valid")
    np.testing.assert_allclose(got, expected, rtol=1e-11)


def test_known_answer_mean_of_one_to_nine(tmp_path):
    path = write_raster(tmp_path / "a.tif", np.arange(1, 10, dtype=np.uint8).reshape(3, 3))
    got = read_raster(focal_statistics(str(path), str(tmp_path / "o.tif")))[0][0]
    assert got[1, 1] == 5.0 and got[0, 0] == 3.0 and got[2, 2] == 7.0


def test_float_median_and_mode_tie_goes_to_smallest(tmp_path):
    array = np.array([[0.5, 0.25, 0.75], [0.25, 0.75, 9.5], [1.5, 2.5, 3.5]], dtype=np.float32)
    path = write_raster(tmp_path / "a.tif", array)
    median = read_raster(focal_statistics(str(path), str(tmp_path / "m.tif"),
                                          statistic="median"))[0][0]
    mode = read_raster(focal_statistics(str(path), str(tmp_path / "o.tif"),
                                        statistic="mode"))[0][0]
    assert median[1, 1] == 0.75
    assert median[0, 0] == pytest.approx((0.25 + 0.5) / 2)
    assert mode[1, 1] == 0.25 and mode.dtype == np.float32


def test_integer_input_keeps_type_for_min_max_mode_and_nodata(tmp_path):
    array = np.array([[1, 2, 0], [3, 3, 4], [5, 0, 6]], dtype=np.uint16)
    path = write_raster(tmp_path / "a.tif", array, nodata=0)
    for statistic, centre in (("min", 1), ("max", 6), ("mode", 3), ("variety", 6)):
        got, profile = read_raster(focal_statistics(str(path), str(tmp_path / f"{statistic}.tif"),
                                                    statistic=statistic))
        assert got[0, 1, 1] == centre
        assert profile["dtype"] == "uint16"
        assert got[0, 0, 2] == profile["nodata"]


def test_selected_bands_and_descriptions(tmp_path):
    array = np.stack([np.full((4, 5), v, np.int16) for v in (1, 2, 3)])
    path = write_raster(tmp_path / "a.tif", array)
    out = focal_statistics(str(path), str(tmp_path / "o.tif"), bands=[3, 1], statistic="sum")
    got, _ = read_raster(out)
    import rasterio
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("sum of band 3", "sum of band 1")
    assert got[0, 1, 1] == 27 and got[1, 1, 1] == 9 and got[0, 0, 0] == 12


def test_map_units_radius(tmp_path):
    path = write_raster(tmp_path / "a.tif", np.arange(64, dtype=np.uint8).reshape(8, 8), res=2.0)
    assert pixels_from_map_units(6.0, describe(str(path)).grid) == 3.0
    in_map_units = focal_statistics(str(path), str(tmp_path / "m.tif"), units="map units",
                                    neighbourhood=Neighbourhood("circle", 4.0))
    in_pixels = focal_statistics(str(path), str(tmp_path / "p.tif"),
                                 neighbourhood=Neighbourhood("circle", 2.0))
    np.testing.assert_array_equal(read_raster(in_map_units)[0], read_raster(in_pixels)[0])


def test_wedge_orientation_counter_clockwise_from_east():
    footprint = Neighbourhood("wedge", 2, start=0, end=90).footprint()
    # rows above the centre (north) and columns to its right (east)
    assert footprint[0, 2] and footprint[2, 4] and footprint[1, 3] and footprint[2, 2]
    assert not footprint[4, 2] and not footprint[2, 0] and not footprint[3, 3]


def test_footprint_runs_cover_the_footprint():
    footprint = Neighbourhood("annulus", 3, inner=2).footprint()
    cells = {(dy, dx) for dy, first, last in runs(footprint) for dx in range(first, last + 1)}
    assert cells == {(dy - 3, dx - 3) for dy, dx in np.argwhere(footprint)}


@pytest.mark.parametrize("kwargs, words", [
    (dict(statistic="average"), "statistic 'average' is unknown: choose one of mean"),
    (dict(bands=[9]), "band 9 does not exist in 'a', which has 1 band(s)"),
    (dict(neighbourhood=Neighbourhood("hexagon", 1)), "shape 'hexagon' is unknown"),
    (dict(neighbourhood=Neighbourhood("square", 0.4)), "below one pixel"),
    (dict(neighbourhood=Neighbourhood("annulus", 1, inner=2)), "inner radius 2 is larger"),
    (dict(neighbourhood=Neighbourhood("circle", 0.3, inner=0.5)), None),
    (dict(target="some"), "target 'some' is unknown"),
    (dict(units="feet"), "units 'feet' are unknown"),
    (dict(dtype="uint8", nodata=-1), "nodata -1 does not fit type uint8"),
])
def test_bad_input(tmp_path, kwargs, words):
    path = write_raster(tmp_path / "a.tif", np.ones((5, 5), np.uint8))
    if words is None:  # a radius below one pixel is still the centre cell for a circle
        out = focal_statistics(str(path), str(tmp_path / "o.tif"), **kwargs)
        assert read_raster(out)[0][0, 2, 2] == 1
        return
    with pytest.raises(InvalidInputError) as info:
        focal_statistics(str(path), str(tmp_path / "o.tif"), **kwargs)
    assert words in str(info.value)
    assert not (tmp_path / "o.tif").exists()
