"""Reading onto another grid: exact offsets, exact bilinear on planes, no nodata bleeding,
the same values in any window; and streamed moments equal numpy's."""

import numpy as np
import pytest
from affine import Affine

from support import write_raster
from tessera.engine.moments import Moments
from tessera.engine.raster_io import Source, read_block
from tessera.engine.windows import Grid, Window


def _plane(tmp_path, nodata_cols=()):
    rows, cols = np.mgrid[0:30, 0:40]
    plane = (3.0 * rows + 2.0 * cols + 100).astype(np.float32)[None]
    for col in nodata_cols:
        plane[:, :, col] = -9999
    return write_raster(tmp_path / "plane.tif", plane, nodata=-9999, res=1.0,
                        origin=(0.0, 30.0))


def test_aligned_grids_are_read_at_an_offset(tmp_path):
    path = _plane(tmp_path)
    grid = Grid(None, Affine(1, 0, 5, 0, -1, 20), 10, 10)
    block = read_block(Source(path, grid=grid), Window(0, 0, 10, 10))
    rows, cols = np.mgrid[10:20, 5:15]
    np.testing.assert_array_equal(block.data[0], 3.0 * rows + 2.0 * cols + 100)


def test_bilinear_reproduces_a_plane_and_nearest_picks_the_containing_pixel(tmp_path):
    path = _plane(tmp_path)
    grid = Grid(None, Affine(0.5, 0, 10.25, 0, -0.5, 25.25), 20, 20)
    block = read_block(Source(path, grid=grid), Window(0, 0, 20, 20))
    x = 10.25 + 0.5 * (np.arange(20) + 0.5)
    y = 25.25 - 0.5 * (np.arange(20) + 0.5)
    expected = 3.0 * (30 - y[:, None] - 0.5) + 2.0 * (x[None, :] - 0.5) + 100
    np.testing.assert_allclose(block.data[0], expected, atol=1e-9)
    near = read_block(Source(path, grid=grid, resampling="nearest"), Window(0, 0, 20, 20))
    expected = 3.0 * np.floor(30 - y)[:, None] + 2.0 * np.floor(x)[None, :] + 100
    np.testing.assert_array_equal(near.data[0], expected)


def test_nodata_never_bleeds_and_validity_follows_the_nearest_pixel(tmp_path):
    path = _plane(tmp_path, nodata_cols=(20,))
    grid = Grid(None, Affine(0.5, 0, 0, 0, -0.5, 30), 80, 60)
    block = read_block(Source(path, grid=grid), Window(0, 0, 60, 80))
    assert not block.valid[0][:, 40:42].any() and block.valid[0][:, [39, 42]].all()
    values = block.data[0][block.valid[0]]
    assert values.min() >= 100 and values.max() <= 3 * 29 + 2 * 39 + 100


def test_any_window_gives_the_same_values(tmp_path):
    path = _plane(tmp_path, nodata_cols=(7, 8))
    grid = Grid(None, Affine(0.7, 0, 1.1, 0, -0.7, 28.3), 50, 37)
    whole = read_block(Source(path, grid=grid), Window(0, 0, 37, 50))
    for window in (Window(3, 5, 7, 11), Window(30, 40, 7, 10), Window(-2, -3, 5, 6)):
        part = read_block(Source(path, grid=grid), window)
        inside = window.clip(37, 50)
        rows = slice(inside.row - window.row, inside.row_stop - window.row)
        cols = slice(inside.col - window.col, inside.col_stop - window.col)
        np.testing.assert_array_equal(part.data[:, rows, cols], whole.data[:, inside.to_slices()[0],
                                                                           inside.to_slices()[1]])
        np.testing.assert_array_equal(part.valid[:, rows, cols],
                                      whole.valid[:, inside.to_slices()[0], inside.to_slices()[1]])


def test_streamed_moments_equal_numpy_in_any_split():
    rng = np.random.default_rng(1)
    values = rng.normal(1e4, 3.0, (2, 1000))
    valid = rng.random(values.shape) > 0.2
    total = Moments(2)
    for part in np.array_split(np.arange(1000), 7):
        piece = Moments(2)
        piece.add(values[:, part], valid[:, part])
        total.merge(piece)
    for band in range(2):
        kept = values[band][valid[band]]
        assert total.count[band] == kept.size
        assert total.mean[band] == pytest.approx(kept.mean(), rel=1e-14)
        assert total.std[band] == pytest.approx(kept.std(), rel=1e-10)
        assert (total.min[band], total.max[band]) == (kept.min(), kept.max())
    restored = Moments.from_dict(total.to_dict())
    np.testing.assert_allclose(restored.std, total.std, rtol=1e-15)
