"""The filter operation on files: scipy and float64 references, per-class filtering with a
selector band, range mapping, tiling and workers invisible, and bad input."""

import os
import re

import numpy as np
import pytest
from scipy import ndimage

from support import read_raster, write_raster
from tessera.engine.errors import GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.filters import filter_raster
from tessera.engine.kernels import Kernel

WHOLE = Execution("serial", window_size=4096)
TILINGS = [Execution("serial", window_size=7), Execution("serial", window_size=64),
           Execution("serial", window_size=512), Execution("processes", 2, 7),
           Execution("processes", 2, 64)]
NODATA = -9999.0


def reference(values, valid, weights):
    """Float64 normalized convolution with ``weights`` by explicit shifts (outside: invalid)."""
    r = weights.shape[0] // 2
    rows, cols = values.shape
    padded = np.pad(np.where(valid, values, 0.0).astype(np.float64), r)
    mask = np.pad(valid.astype(np.float64), r)
    total, weight = np.zeros((rows, cols)), np.zeros((rows, cols))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            w = weights[r + dy, r + dx]
            total += w * padded[r + dy:r + dy + rows, r + dx:r + dx + cols]
            weight += w * mask[r + dy:r + dy + rows, r + dx:r + dx + cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def read(path, nodata=NODATA):
    array = read_raster(path)[0].astype(np.float64)
    array[array == nodata] = np.nan
    return array


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("filters")


@pytest.fixture(scope="module")
def smooth(folder):
    """Two float32 bands without nodata (a gradient plus noise), 45 x 52 px of 10 m."""
    rng = np.random.default_rng(8)
    rows, cols = np.mgrid[0:45, 0:52]
    array = np.stack([rows * 7.0 + cols * 3.0 + rng.normal(0, 20, rows.shape),
                      rng.gamma(2.0, 50.0, rows.shape)]).astype(np.float32)
    return write_raster(folder / "smooth.tif", array, res=10.0), array


@pytest.fixture(scope="module")
def holes(folder):
    """One float32 band with 30% scattered nodata and a 9 x 12 hole."""
    rng = np.random.default_rng(9)
    array = rng.normal(300, 80, (40, 47)).astype(np.float32)
    array[rng.random(array.shape) < 0.3] = NODATA
    array[10:19, 25:37] = NODATA
    return write_raster(folder / "holes.tif", array, nodata=NODATA), array


@pytest.fixture(scope="module")
def classes(folder):
    """A uint8 selector of three irregular classes (0 = nodata) on the grid of ``holes``."""
    rows, cols = np.mgrid[0:40, 0:47]
    array = np.where(rows + cols // 2 < 25, 1, np.where(cols < 30, 2, 3)).astype(np.uint8)
    array[(rows - 30) ** 2 + (cols - 10) ** 2 < 20] = 3       # an island of class 3
    array[0:3, 0:3] = 0
    return write_raster(folder / "classes.tif", array, nodata=0), array


@pytest.mark.parametrize("edge", ["nearest", "reflect"])
@pytest.mark.parametrize("kernel, sizes, scipy_filter", [
    ("gaussian", {"sigma": 2.5}, lambda a, mode: ndimage.gaussian_filter(a, 2.5, mode=mode)),
    ("gaussian", {"diameter": 40.0, "truncate": 2.0, "units": "map units"},
     lambda a, mode: ndimage.gaussian_filter(a, 1.0, mode=mode, truncate=2.0)),
    ("box", {"diameter": 7}, lambda a, mode: ndimage.uniform_filter(a, 7, mode=mode)),
    ("box", {"diameter": 30.0, "units": "map units"},
     lambda a, mode: ndimage.uniform_filter(a, 3, mode=mode)),
])
def test_equals_scipy_without_nodata(smooth, tmp_path, edge, kernel, sizes, scipy_filter):
    """A 40 m diameter with truncate 2 on 10 m pixels is sigma 1 px; a 30 m box is 3 px."""
    path, array = smooth
    got = read(filter_raster(str(path), str(tmp_path / "o.tif"), kernel=kernel, edge=edge,
                             execution=Execution("serial", window_size=16), **sizes))
    for band in range(2):
        expected = scipy_filter(array[band].astype(np.float64), edge)
        np.testing.assert_allclose(got[band], expected, rtol=2e-6, atol=1e-4)


def test_disk_equals_scipy_correlate(smooth, tmp_path):
    path, array = smooth
    got = read(filter_raster(str(path), str(tmp_path / "o.tif"), kernel="disk", diameter=9,
                             bands=[2], edge="nearest"))
    expected = ndimage.correlate(array[1].astype(np.float64), Kernel("disk", 9).array(),
                                 mode="nearest")
    np.testing.assert_allclose(got[0], expected, rtol=2e-6)


@pytest.mark.parametrize("kernel, size", [("gaussian", 1.8), ("box", 5), ("disk", 6)])
@pytest.mark.parametrize("fill", [False, True])
def test_normalized_convolution_with_nodata(holes, tmp_path, kernel, size, fill):
    path, array = holes
    valid = array != NODATA
    got = read(filter_raster(str(path), str(tmp_path / "o.tif"), kernel=kernel,
                             sigma=size if kernel == "gaussian" else None,
                             diameter=None if kernel == "gaussian" else size,
                             dtype="float64", nodata=NODATA, fill_nodata=fill))[0]
    expected = reference(array, valid, Kernel(kernel, size).array())
    if not fill:
        expected[~valid] = np.nan
    np.testing.assert_allclose(got, expected, rtol=2e-6, equal_nan=True)
    # the centre of the wide hole: filled from its rim only by a kernel that reaches it
    assert np.isnan(got[14, 31]) == (not fill or kernel != "gaussian")


def test_selector_pixels_use_only_their_own_class(holes, classes, tmp_path, folder):
    path, array = holes
    selector_path, selector = classes
    valid = array != NODATA
    got = read(filter_raster(str(path), str(tmp_path / "o.tif"), sigma=2.0,
                             selector=str(selector_path), nodata=NODATA))[0]
    expected = np.full(array.shape, np.nan)
    weights = Kernel("gaussian", 2.0).array()
    for value in (1, 2, 3):
        member = selector == value
        expected[member] = reference(array, valid & member, weights)[member]
    expected[~valid] = np.nan
    np.testing.assert_allclose(got, expected, rtol=2e-6, equal_nan=True)
    assert np.isnan(got[:3, :3]).all()                  # no class: nodata

    # invariant: changing every pixel of classes 2 and 3 leaves class 1 exactly as it was
    changed = np.where((selector != 1) & valid, array + 1000, array).astype(np.float32)
    other = write_raster(folder / "changed.tif", changed, nodata=NODATA)
    again = read(filter_raster(str(other), str(tmp_path / "o2.tif"), sigma=2.0,
                               selector=str(selector_path), nodata=NODATA))[0]
    np.testing.assert_array_equal(again[selector == 1], got[selector == 1])
    assert not np.allclose(again[selector == 2], got[selector == 2], equal_nan=True)


def test_selector_band_of_the_raster_itself(folder, tmp_path):
    """Band 2 holds the classes of band 1; a constant per class stays that constant."""
    rows, cols = np.mgrid[0:20, 0:30]
    labels = (cols >= 13).astype(np.int16) + 1
    two = write_raster(folder / "two.tif", np.stack([labels * 100, labels]).astype(np.int16))
    got = read_raster(filter_raster(str(two), str(tmp_path / "o.tif"), kernel="box",
                                    diameter=9, bands=[1], selector=str(two), selector_band=2,
                                    dtype="int16"))[0][0]
    np.testing.assert_array_equal(got, labels * 100)     # a plain box would mix at column 13


def _integer_run(path, output, execution):
    return filter_raster(str(path), str(output), kernel="gaussian", sigma=3.0,
                         in_range=(0, 600), out_range=(0, 250), dtype="uint8",
                         execution=execution)


@pytest.fixture(scope="module")
def whole_runs(holes, classes, folder):
    path, _ = holes
    return {
        "float": read_raster(filter_raster(str(path), str(folder / "w-float.tif"), kernel="disk",
                                           diameter=11, execution=WHOLE))[0],
        "uint8": read_raster(_integer_run(path, folder / "w-uint8.tif", WHOLE))[0],
        "selector": read_raster(filter_raster(
            str(path), str(folder / "w-sel.tif"), sigma=4.0, edge="reflect",
            selector=str(classes[0]), execution=WHOLE))[0],
    }


@pytest.mark.parametrize("execution", TILINGS,
                         ids=lambda e: f"{e.executor}-{e.workers or 1}w-{e.window_size}px")
def test_windows_and_workers_give_identical_bytes(holes, classes, whole_runs, tmp_path,
                                                  execution):
    path, _ = holes
    runs = {
        "float": filter_raster(str(path), str(tmp_path / "f.tif"), kernel="disk", diameter=11,
                               execution=execution),
        "uint8": _integer_run(path, tmp_path / "u.tif", execution),
        "selector": filter_raster(str(path), str(tmp_path / "s.tif"), sigma=4.0,
                                  edge="reflect", selector=str(classes[0]),
                                  execution=execution),
    }
    for name, output in runs.items():
        np.testing.assert_array_equal(read_raster(output)[0], whole_runs[name], err_msg=name)


def test_integer_output_is_rounded_from_the_ranges(holes, whole_runs):
    path, array = holes
    valid = array != NODATA
    filtered = reference(np.clip(array, 0, 600), valid, Kernel("gaussian", 3.0).array())
    expected = np.rint(filtered / 600 * 250)
    got = whole_runs["uint8"][0].astype(np.float64)
    assert read_raster(str(path))[0].dtype == np.float32
    assert (got[~valid] == 255).all()                   # nodata: the uint8 default
    # float32 sums may flip a value sitting on .5: allow one step, and nothing truncated
    assert np.abs(got[valid] - expected[valid]).max() <= 1
    assert (got[valid] == expected[valid]).mean() > 0.999


def test_a_kernel_wider_than_the_raster_works(folder, tmp_path):
    """7 x 5 px and sigma 50 px: every pixel is (nearly) the plain mean with the nodata
    edge; with 'nearest' scipy pads the same way."""
    rng = np.random.default_rng(4)
    array = rng.random((7, 5)).astype(np.float32)
    path = write_raster(folder / "tiny.tif", array)
    inside = read(filter_raster(str(path), str(tmp_path / "a.tif"), sigma=50.0))[0]
    expected = reference(array, np.ones(array.shape, bool), Kernel("gaussian", 50.0).array())
    np.testing.assert_allclose(inside, expected, rtol=2e-6)
    np.testing.assert_allclose(inside, array.mean(), rtol=1e-3)
    nearest = read(filter_raster(str(path), str(tmp_path / "b.tif"), sigma=50.0,
                                 edge="nearest", execution=Execution("serial", window_size=3)))
    np.testing.assert_allclose(nearest[0], ndimage.gaussian_filter(
        array.astype(np.float64), 50.0, mode="nearest"), rtol=2e-6)


def test_outputs_name_their_bands_and_inputs_stay_untouched(smooth, tmp_path):
    import rasterio

    path, array = smooth
    before = os.path.getmtime(path)
    output = filter_raster(str(path), str(tmp_path / "o.tif"), kernel="box", diameter=3,
                           bands=[2, 1])
    with rasterio.open(output) as ds:
        assert ds.descriptions == ("box filter of band 2", "box filter of band 1")
        assert ds.dtypes == ("float32", "float32")
    assert os.path.getmtime(path) == before
    np.testing.assert_array_equal(read_raster(path)[0], array)


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"sigma": 0}, InvalidInputError, "Gaussian sigma 0 px must be greater than 0"),
    ({"sigma": 1, "bands": [3]}, InvalidInputError,
     "band 3 does not exist in 'holes', which has 1 band(s)"),
    ({"sigma": 1, "in_range": (0, 1), "out_range": (0, 256), "dtype": "uint8"},
     InvalidInputError, "output range 0 to 256 does not fit output type uint8"),
    ({"sigma": 1, "out_range": (0, 255), "dtype": "uint8"}, InvalidInputError,
     "an output range needs an input range"),
    ({"sigma": 1, "edge": "wrap"}, InvalidInputError, "edge policy 'wrap' is unknown"),
    ({"sigma": 1, "dtype": "uint8", "nodata": 300}, InvalidInputError,
     "nodata 300 does not fit type uint8"),
    ({"sigma": 1, "selector": "float"}, InvalidInputError,
     "selector band 1 of 'floatclasses' is float32: classes must be whole numbers"),
    ({"sigma": 1, "selector": "elsewhere"}, GridMismatchError,
     "selector band: input 'elsewhere' is not on the grid of 'holes' (origin"),
    ({"sigma": 1, "selector": "classes", "selector_band": 2}, InvalidInputError,
     "selector band 2 does not exist in 'classes', which has 1 band(s)"),
])
def test_bad_input_is_refused_before_any_output(holes, classes, folder, tmp_path, kwargs,
                                                error, fragment):
    path, array = holes
    others = {
        "float": write_raster(folder / "floatclasses.tif", array * 0 + 1),
        "elsewhere": write_raster(folder / "elsewhere.tif", classes[1],
                                  origin=(500010.0, 4200000.0)),
        "classes": classes[0],
    }
    if "selector" in kwargs:
        kwargs = dict(kwargs, selector=str(others[kwargs["selector"]]))
    with pytest.raises(error, match=re.escape(fragment)):
        filter_raster(str(path), str(tmp_path / "o.tif"), **kwargs)
    assert os.listdir(tmp_path) == []


def test_integer_input_an_integer_output_cannot_hold_needs_an_input_range(folder, tmp_path):
    path = write_raster(folder / "counts.tif", np.full((6, 6), 1000, np.uint16))
    with pytest.raises(InvalidInputError, match=re.escape(
            "'counts' is uint16 (0 to 65535), which output type uint8 (0 to 255) cannot hold: "
            "give an input range")):
        filter_raster(str(path), str(tmp_path / "o.tif"), sigma=1, dtype="uint8")
    rescaled = filter_raster(str(path), str(tmp_path / "o.tif"), sigma=1, dtype="uint8",
                             in_range=(0, 4000))
    assert (read_raster(rescaled)[0] == 64).all()       # 1000 of 0..4000 -> 63.75 -> 64
