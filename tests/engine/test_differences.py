"""Overlap differences: exact MAD and RMSE, nodata, no unsigned wrap, tiling invariance."""

import numpy as np
import pytest

from support import UINT16_NODATA, write_raster
from support import uniform_raster as _image
from tessera.engine.differences import overlap_differences
from tessera.engine.executors import Execution


def test_aligned_overlap_counts_only_pixels_valid_in_both(tmp_path):
    # B starts 10 px right and 5 px down of A: overlap = A rows 5-19, cols 10-19 (150 px).
    a = _image(tmp_path / "a.tif", [10, 20], holes=[(6, 11, 2, 2), (0, 0, 3, 3)])
    b = _image(tmp_path / "b.tif", [14, 26], origin=(500020.0, 4199990.0), holes=[(4, 2, 3, 1)])
    [pair] = overlap_differences([a, b], execution=Execution(window_size=7))
    assert (pair.first, pair.second, pair.names) == (0, 1, ("a", "b"))
    assert pair.count.tolist() == [150 - 4 - 3] * 2
    assert pair.mad.tolist() == [4.0, 6.0] and pair.rmse.tolist() == [4.0, 6.0]
    assert pair.mean_mad == 5.0 and pair.mean_rmse == 5.0 and pair.common


def test_rmse_weighs_large_differences_more_than_mad(tmp_path):
    a = _image(tmp_path / "a.tif", [10], bands=1)
    array = np.full((1, 20, 20), 12, np.uint16)
    array[:, :10] = 4  # differences -6 on half the pixels, +2 on the other half
    b = write_raster(str(tmp_path / "b.tif"), array, nodata=UINT16_NODATA)
    [pair] = overlap_differences([a, b])
    assert pair.mad.tolist() == [4.0] and pair.rmse.tolist() == [np.sqrt(20.0)]


def test_unsigned_inputs_do_not_wrap(tmp_path):
    a = _image(tmp_path / "a.tif", [3], bands=1)
    b = _image(tmp_path / "b.tif", [65000], bands=1)
    [pair] = overlap_differences([a, b])
    assert pair.mad.tolist() == [64997.0]


def test_shifted_grid_is_read_onto_the_first_and_nodata_never_bleeds(tmp_path):
    # B is offset by half a pixel (bilinear reads); its nodata holes hold 65535.
    a = _image(tmp_path / "a.tif", [10, 10])
    b = _image(tmp_path / "b.tif", [14, 14], origin=(500011.0, 4199989.0),
               holes=[(2, 2, 3, 3), (10, 0, 1, 20)])
    [pair] = overlap_differences([a, b], execution=Execution(window_size=5))
    assert 0 < pair.count[0] < 15 * 15
    assert pair.mad == pytest.approx([4.0, 4.0], abs=1e-9)
    assert pair.rmse == pytest.approx([4.0, 4.0], abs=1e-9)


def test_pairs_without_common_pixels_and_without_overlap(tmp_path):
    a = _image(tmp_path / "a.tif", [10], bands=1, holes=[(0, 15, 20, 5)])
    touching = _image(tmp_path / "touching.tif", [12], bands=1, origin=(500040.0, 4200000.0))
    inside_hole = _image(tmp_path / "hole.tif", [12], bands=1, size=(20, 5),
                         origin=(500030.0, 4200000.0))
    # a/touching and touching/hole share an edge only: no pair; a/hole overlap where a
    # is nodata.
    [pair] = overlap_differences([a, touching, inside_hole])
    assert (pair.first, pair.second) == (0, 2)
    assert not pair.common and pair.count.tolist() == [0.0] and np.isnan(pair.mean_mad)


@pytest.fixture(scope="module")
def random_pair(tmp_path_factory):
    """Two 3-band int16 images with seeded values and nodata holes, on grids offset by a
    fraction of a pixel and of different pixel size."""
    folder = tmp_path_factory.mktemp("random")
    rng = np.random.default_rng(5)
    first = rng.integers(-500, 3000, (3, 41, 37)).astype(np.int16)
    second = rng.integers(-500, 3000, (3, 33, 45)).astype(np.int16)
    first[:, 5:9, 20:30] = -32768
    second[1, 10:20, 3:6] = -32768
    return [write_raster(str(folder / "first.tif"), first, nodata=-32768, res=2.0),
            write_raster(str(folder / "second.tif"), second, nodata=-32768, res=2.5,
                         origin=(500031.3, 4199979.1))]


@pytest.mark.parametrize("execution", [Execution(window_size=7),
                                       Execution("processes", workers=2, window_size=7)])
def test_window_size_and_workers_do_not_change_the_numbers(random_pair, execution):
    [whole] = overlap_differences(random_pair, execution=Execution(window_size=512))
    [tiled] = overlap_differences(random_pair, execution=execution)
    assert tiled.count.tolist() == whole.count.tolist() and whole.count.min() > 100
    assert whole.count[1] < whole.count[0]  # band 2's holes are excluded in band 2 only
    np.testing.assert_allclose(tiled.mad, whole.mad, rtol=1e-12)
    np.testing.assert_allclose(tiled.rmse, whole.rmse, rtol=1e-12)
