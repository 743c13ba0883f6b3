"""Kernels, normalized convolution, edge policies and range mapping, against scipy and
float64 numpy references, known answers, and bad input."""

import re

import numpy as np
import pytest
from affine import Affine
from scipy import ndimage

from tessera.engine.errors import InvalidInputError
from tessera.engine.kernels import EDGES, Kernel, blur, edge_fill, make_kernel
from tessera.engine.raster_io import Block
from tessera.engine.value_ranges import check_mapping, map_range, output_range
from tessera.engine.windows import Grid, Window

KERNELS = [Kernel("gaussian", 1.5), Kernel("gaussian", 0.4), Kernel("gaussian", 3.0, 2.5),
           Kernel("box", 5), Kernel("box", 4), Kernel("disk", 7), Kernel("disk", 4.5)]


def kernel_id(kernel):
    return f"{kernel.kind}{kernel.size:g}"


def grid_of(height, width, res=10.0):
    return Grid("EPSG:32610", Affine(res, 0, 0, 0, -res, 0), width, height)


def whole_block(values, valid, grid, halo, edge):
    """The whole raster read as one window grown by ``halo``, edge policy applied."""
    window = Window(0, 0, grid.height, grid.width).expand(halo)
    data = np.zeros((1,) + window.shape, np.float32)
    mask = np.zeros(data.shape, bool)
    data[0, halo:halo + grid.height, halo:halo + grid.width] = values
    mask[0, halo:halo + grid.height, halo:halo + grid.width] = valid
    return edge_fill(Block(data, mask), window, grid, edge)


def reference(values, valid, kernel):
    """Float64 normalized convolution by explicit shifts; outside the array is invalid."""
    weights = kernel.array()
    r = kernel.radius
    rows, cols = values.shape
    padded = np.pad(np.where(valid, values, 0.0).astype(np.float64), r)
    mask = np.pad(valid.astype(np.float64), r)
    total, weight = np.zeros((rows, cols)), np.zeros((rows, cols))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            w = weights[r + dy, r + dx]
            if w:
                total += w * padded[r + dy:r + dy + rows, r + dx:r + dx + cols]
                weight += w * mask[r + dy:r + dy + rows, r + dx:r + dx + cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan), weight


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    values = rng.normal(500, 120, (41, 37)).astype(np.float32)
    valid = rng.random(values.shape) > 0.25
    valid[5:12, 20:30] = False          # a hole wider than the small kernels
    return values, valid


def test_gaussian_weights_are_scipys():
    for kernel in (Kernel("gaussian", 1.7), Kernel("gaussian", 2.0, 3.0), Kernel("gaussian", 0.3)):
        impulse = np.zeros((2 * kernel.radius + 1,) * 2)
        impulse[kernel.radius, kernel.radius] = 1
        expected = ndimage.gaussian_filter(impulse, kernel.size, truncate=kernel.truncate,
                                           mode="constant")
        np.testing.assert_allclose(kernel.array(), expected, rtol=1e-12, atol=1e-15)
    assert Kernel("gaussian", 2.0).radius == 8 and Kernel("gaussian", 0.3).radius == 1


def test_box_and_disk_shapes():
    assert [Kernel("box", side).radius for side in (1, 2, 3, 3.9, 4, 4.1, 5)] == \
        [0, 1, 1, 1, 2, 2, 2]
    disk = Kernel("disk", 5).footprint()
    assert disk.shape == (5, 5) and disk.sum() == 21     # 5 x 5 less the 4 corners
    np.testing.assert_allclose(Kernel("disk", 5).array().sum(), 1.0)


@pytest.mark.parametrize("edge", ["nearest", "reflect"])
@pytest.mark.parametrize("kernel", [Kernel("gaussian", 1.5), Kernel("gaussian", 4.0, 3.0),
                                    Kernel("box", 5), Kernel("box", 9)], ids=kernel_id)
def test_equals_scipy_on_data_without_nodata(data, kernel, edge):
    values = data[0]
    grid = grid_of(*values.shape)
    block = whole_block(values, np.ones(values.shape, bool), grid, kernel.radius, edge)
    mean, weight = blur(block.data[0], block.valid[0], kernel)
    if kernel.kind == "gaussian":
        expected = ndimage.gaussian_filter(values.astype(np.float64), kernel.size,
                                           truncate=kernel.truncate, mode=edge)
    else:
        expected = ndimage.uniform_filter(values.astype(np.float64), int(kernel.size),
                                          mode=edge)
    np.testing.assert_allclose(mean, expected, rtol=2e-6)
    np.testing.assert_allclose(weight, 1.0, rtol=1e-6)


def test_disk_equals_scipy_correlate(data):
    values = data[0]
    kernel = Kernel("disk", 7)
    block = whole_block(values, np.ones(values.shape, bool), grid_of(*values.shape),
                        kernel.radius, "reflect")
    expected = ndimage.correlate(values.astype(np.float64), kernel.array(), mode="reflect")
    np.testing.assert_allclose(blur(block.data[0], block.valid[0], kernel)[0], expected,
                               rtol=2e-6)


@pytest.mark.parametrize("kernel", KERNELS, ids=kernel_id)
def test_normalized_convolution_with_nodata_equals_float64_reference(data, kernel):
    values, valid = data
    block = whole_block(values, valid, grid_of(*values.shape), kernel.radius, "nodata")
    mean, weight = blur(block.data[0], block.valid[0], kernel)
    expected, expected_weight = reference(values, valid, kernel)
    reached = expected_weight > 0
    np.testing.assert_array_equal(weight > 0, reached)
    np.testing.assert_allclose(mean[reached], expected[reached], rtol=2e-6)
    np.testing.assert_allclose(weight, expected_weight, rtol=1e-5, atol=1e-12)
    assert (mean[~reached] == 0).all()


def test_nodata_is_left_out_not_counted_as_zero():
    """The docstring example: a box of side 3 over [2, nodata, 4] (a 3-row block
    around that row) gives (2 + 4) / 2 at the centre, with 2/3 of the kernel valid."""
    data = np.pad(np.array([[2, 0, 4]], np.float32), 1)
    valid = np.pad(np.array([[True, False, True]]), 1)
    mean, weight = blur(data, valid, Kernel("box", 3))
    assert mean[0, 1] == pytest.approx(3.0) and weight[0, 1] == pytest.approx(2 / 9)


@pytest.mark.parametrize("kernel", KERNELS, ids=kernel_id)
def test_any_sub_block_gives_the_same_bits(data, kernel):
    """Tiling is invisible: each output pixel is the same float32 operations wherever it sits."""
    values, valid = data
    r = kernel.radius
    block = whole_block(values, valid, grid_of(*values.shape), r, "nodata")
    whole = blur(block.data[0], block.valid[0], kernel)
    for row, col, height, width in [(0, 0, 7, 7), (3, 11, 1, 1), (17, 2, 20, 35),
                                    (30, 30, 11, 7)]:
        part = (slice(row, row + height + 2 * r), slice(col, col + width + 2 * r))
        got = blur(block.data[0][part], block.valid[0][part], kernel)
        for one, two in zip(got, whole):
            np.testing.assert_array_equal(one, two[row:row + height, col:col + width])


@pytest.mark.parametrize("kernel", KERNELS, ids=kernel_id)
def test_a_fully_valid_block_gives_the_bits_of_a_partly_valid_one(data, kernel):
    """The shortcut for blocks without nodata (kernel weight computed once) changes no bit
    of the pixels that an invalid pixel elsewhere in the block cannot reach."""
    values = data[0]
    r = kernel.radius
    valid = np.ones(values.shape, bool)
    partly = valid.copy()
    partly[0, 0] = False
    whole = blur(values, valid, kernel)
    holed = blur(values, partly, kernel)
    for one, two in zip(whole, holed):
        np.testing.assert_array_equal(one[r + 1:, r + 1:], two[r + 1:, r + 1:])


@pytest.mark.parametrize("kernel", [Kernel("gaussian", 3.0), Kernel("disk", 11)], ids=kernel_id)
def test_a_truncated_radius_changes_nothing_when_farther_pixels_are_invalid(kernel):
    rng = np.random.default_rng(2)
    values = rng.random((5, 4)).astype(np.float32)
    grid = grid_of(5, 4)
    full = whole_block(values, np.ones((5, 4), bool), grid, kernel.radius, "nodata")
    cut = max(grid.width, grid.height) - 1
    near = whole_block(values, np.ones((5, 4), bool), grid, cut, "nodata")
    for one, two in zip(blur(full.data[0], full.valid[0], kernel),
                        blur(near.data[0], near.valid[0], kernel, radius=cut)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("edge, mode", [("nearest", "edge"), ("reflect", "symmetric")])
@pytest.mark.parametrize("halo", [1, 3, 9])
def test_edge_fill_matches_numpy_pad(edge, mode, halo):
    """scipy's 'nearest' and 'reflect' are numpy's 'edge' and 'symmetric', also when the
    halo is wider than the raster (then mirrored back and forth)."""
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    valid = values != 5
    block = whole_block(values, valid, grid_of(3, 4), halo, edge)
    np.testing.assert_array_equal(block.data[0], np.pad(values, halo, mode=mode))
    np.testing.assert_array_equal(block.valid[0], np.pad(valid, halo, mode=mode))


def test_edge_fill_of_an_inner_window_leaves_it_as_read():
    values = np.arange(100, dtype=np.float32).reshape(1, 10, 10)
    block = Block(values.copy(), np.ones(values.shape, bool))
    filled = edge_fill(block, Window(2, 3, 10, 10), grid_of(20, 20), "reflect")
    np.testing.assert_array_equal(filled.data, values)
    assert edge_fill(block, Window(-2, -2, 10, 10), grid_of(20, 20), "nodata") is block


def test_make_kernel_sizes_and_units():
    grid = grid_of(10, 10, res=10.0)
    assert make_kernel("gaussian", diameter=24, truncate=3).size == pytest.approx(4.0)
    both = make_kernel("gaussian", sigma=2, diameter=12)
    assert (both.size, both.truncate, both.radius) == (2, 3.0, 6)
    assert make_kernel("gaussian", sigma=25, units="map units", grid=grid).size == 2.5
    assert make_kernel("disk", diameter=50, units="map units", grid=grid).size == 5.0
    assert make_kernel("box", diameter=3).radius == 1


@pytest.mark.parametrize("kwargs, fragment", [
    ({"kind": "gaussian", "sigma": 0}, "Gaussian sigma 0 px must be greater than 0"),
    ({"kind": "gaussian", "sigma": -2, "units": "map units"},
     "Gaussian sigma -2 map units must be greater than 0"),
    ({"kind": "gaussian"}, "needs a sigma or a kernel diameter"),
    ({"kind": "box", "diameter": 0.5}, "box kernel diameter 0.5 px is below one pixel"),
    ({"kind": "disk", "diameter": 5, "units": "map units"}, "below one pixel"),
    ({"kind": "disk"}, "the disk kernel needs a diameter"),
    ({"kind": "box", "sigma": 2}, "sigma applies to the Gaussian kernel only"),
    ({"kind": "median", "sigma": 2}, "kernel 'median' is unknown: choose one of gaussian"),
    ({"kind": "gaussian", "sigma": 1, "truncate": 0}, "truncate 0 must be greater than 0"),
])
def test_make_kernel_refuses_bad_sizes(kwargs, fragment):
    kind = kwargs.pop("kind")
    with pytest.raises(InvalidInputError, match=re.escape(fragment)):
        make_kernel(kind, grid=grid_of(4, 4, res=10.0), **kwargs)


def test_edges_registry():
    assert EDGES == ("nodata", "nearest", "reflect")
    with pytest.raises(InvalidInputError, match="edge policy 'wrap' is unknown"):
        edge_fill(Block(np.zeros((1, 1, 1)), np.ones((1, 1, 1), bool)), Window(0, 0, 1, 1),
                  grid_of(1, 1), "wrap")


# --------------------------------------------------------------------------- value ranges

def test_map_range_rounds_instead_of_truncating():
    got = map_range(np.array([0.5, 0.25, 1.0, 0.0, np.nan, 2.0, -1.0]), (0, 1), None, "uint8")
    # convster's astype gives 127 and 63; rounding gives 128 and 64; outside is clipped
    np.testing.assert_array_equal(got, [128, 64, 255, 0, 0, 255, 0])
    assert got.dtype == np.uint8


def test_map_range_ceil_and_float_outputs():
    np.testing.assert_array_equal(
        map_range(np.array([0.001, 0.5, 1.0]), (0, 1), None, "uint8", rounding="ceil"),
        [1, 128, 255])
    got = map_range(np.array([0.25, np.nan, 3.0]), (0, 1), (10, 20), "float32")
    np.testing.assert_array_equal(got, np.array([12.5, np.nan, 20.0], np.float32))
    np.testing.assert_array_equal(map_range(np.array([-3.7, 70000.4]), None, None, "uint16"),
                                  [0, 65535])
    np.testing.assert_array_equal(map_range(np.array([150.0]), (100, 200), (0, 10), "int16"),
                                  [5])


def test_default_output_ranges():
    assert output_range(None, "float32") == (0.0, 1.0)
    assert output_range(None, "uint16") == (0.0, 65535.0)
    assert output_range(None, "int16") == (-32768.0, 32767.0)
    assert check_mapping((0, 10), None, "uint8") == ((0.0, 10.0), (0.0, 255.0))
    assert check_mapping(None, None, "uint8") == (None, None)


@pytest.mark.parametrize("in_range, out_range, dtype, fragment", [
    ((0, 1), (0, 300), "uint8",
     "output range 0 to 300 does not fit output type uint8 (0 to 255, whole numbers)"),
    ((0, 1), (-1, 10), "uint16", "does not fit output type uint16"),
    ((0, 1), (0, 2.5), "uint8", "does not fit output type uint8"),
    ((0, 1), (0, 1e39), "float32", "does not fit output type float32"),
    ((5, 5), None, "uint8", "input range 5 to 5 is not a range"),
    ((0, 1), (10, 0), "uint8", "output range 10 to 0 is not a range"),
    (None, (0, 255), "uint8", "an output range needs an input range"),
    ((0, 1), None, "int8", "output type 'int8' is not supported"),
])
def test_bad_ranges_are_refused(in_range, out_range, dtype, fragment):
    with pytest.raises(InvalidInputError, match=re.escape(fragment)):
        map_range(np.zeros(2), in_range, out_range, dtype)
