"""Category discovery and category maps: known answers, scipy references, tiling, bad input."""

import numpy as np
import pytest
from scipy import ndimage

from landscape_data import CODES, landcover, reference_proportions
from support import read_raster, write_raster
from tessera.engine.categories import (MAX_CATEGORIES, category_maps, find_categories,
                                       parse_categories, stored_categories)
from tessera.engine.errors import InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.fractions import fraction_output


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    """A 97 x 113 land-cover map with the image's nodata edge (nodata 0)."""
    return landcover(tmp_path_factory.mktemp("landscape") / "landcover.tif", (0, 0, 97, 113))


def _maps(path, out, **options):
    """The category maps of ``path`` as (array, profile, descriptions, tags per band)."""
    import rasterio

    category_maps(path, str(out), **options)
    with rasterio.open(str(out)) as ds:
        return (ds.read(), ds.profile, ds.descriptions,
                [ds.tags(band) for band in range(1, ds.count + 1)], ds.scales, ds.offsets)


# --------------------------------------------------------------------------- categories

def test_categories_are_the_distinct_valid_values(tmp_path, landscape):
    path, codes, valid = landscape
    assert find_categories(path) == CODES
    signed = write_raster(tmp_path / "signed.tif",
                          np.array([[-3, 7, 7], [-3, -9999, 40000 // 2]], np.int16),
                          nodata=-9999)
    assert find_categories(str(signed), execution=Execution(window_size=1)) == (-3, 7, 20000)


def test_given_categories_keep_their_order_and_must_occur(landscape):
    path, _, _ = landscape
    assert find_categories(path, categories=[31, 11, 31]) == (31, 11)
    with pytest.raises(InvalidInputError) as raised:
        find_categories(path, categories=[11, 0, 99])
    assert str(raised.value) == (
        "categories 0, 99 do not occur in 'landcover', which holds 11, 12, 21, 22, 31, 32: "
        "choose among those")


def test_categories_typed_by_a_user():
    assert parse_categories(" 11, 12 31,-4 ,11") == (11, 12, 31, -4)
    assert parse_categories("") is None and parse_categories(None) is None
    with pytest.raises(InvalidInputError, match="categories '11, forest': 'forest' is not a "
                                                "whole number; give the category values"):
        parse_categories("11, forest")


def test_a_float_raster_is_not_a_categorical_map(tmp_path):
    path = write_raster(tmp_path / "dem.tif", np.ones((4, 4), np.float32))
    with pytest.raises(InvalidInputError, match="'dem' holds float32 values, not category "
                                                "codes: a categorical map needs an integer"):
        category_maps(str(path), str(tmp_path / "out.tif"), sigma=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dem.tif"]


def test_too_many_values_are_refused_unless_categories_are_chosen(tmp_path):
    array = np.arange(20 * 20, dtype=np.uint16).reshape(20, 20)
    path = str(write_raster(tmp_path / "ids.tif", array))
    with pytest.raises(InvalidInputError, match=f"holds more than {MAX_CATEGORIES} distinct "
                                                f"values: it does not look like a categorical"):
        find_categories(path, execution=Execution(window_size=7))
    assert find_categories(path, categories=[399, 0]) == (399, 0)


def test_a_map_without_valid_pixels_has_no_category(tmp_path):
    path = write_raster(tmp_path / "empty.tif", np.zeros((3, 3), np.uint8), nodata=0)
    with pytest.raises(InvalidInputError, match="'empty' has no valid pixel"):
        find_categories(str(path))


# --------------------------------------------------------------------------- category maps

def test_presence_is_one_hot_with_names_tags_and_nodata(tmp_path, landscape):
    path, codes, valid = landscape
    array, profile, names, tags, scales, _ = _maps(path, tmp_path / "p.tif", values="presence",
                                                   categories=[31, 12])
    assert names == ("LC_31", "LC_12") and tags == [{"category": "31"}, {"category": "12"}]
    assert stored_categories(str(tmp_path / "p.tif")) == {31: 1, 12: 2}
    assert profile["dtype"] == "float32" and scales == (1.0, 1.0)
    for band, value in enumerate((31, 12)):
        np.testing.assert_array_equal(array[band][valid], (codes == value)[valid])
        assert np.isnan(array[band][~valid]).all()


@pytest.mark.parametrize("edge", ["nodata", "nearest", "reflect"])
def test_proportions_equal_scipy_gaussian_of_one_hot_layers(tmp_path, landscape, edge):
    path, codes, valid = landscape
    array = _maps(path, tmp_path / "p.tif", sigma=2.5, edge=edge)[0]
    mode = {"nodata": "constant"}.get(edge, edge)
    expected = reference_proportions(codes, valid, CODES, 2.5, mode=mode)
    expected[:, ~valid] = np.nan
    np.testing.assert_allclose(array, expected, rtol=0, atol=2e-6, equal_nan=True)
    # nodata is left out of the denominator: the shares sum to 1 wherever the map is valid
    np.testing.assert_allclose(array[:, valid].sum(axis=0), 1.0, atol=5e-6)


@pytest.mark.parametrize("kernel,size", [("box", 5), ("disk", 7)])
def test_box_and_disk_proportions_equal_scipy(tmp_path, landscape, kernel, size):
    path, codes, valid = landscape
    array = _maps(path, tmp_path / "p.tif", kernel=kernel, diameter=size,
                  categories=[21, 32])[0]
    footprint = (np.ones((size, size)) if kernel == "box" else
                 np.hypot(*np.mgrid[-3:4, -3:4]) <= size / 2)

    def total(mask):
        return ndimage.correlate(mask.astype(np.float64), footprint.astype(np.float64),
                                 mode="constant")

    for band, value in enumerate((21, 32)):
        expected = total((codes == value) & valid) / total(valid)
        np.testing.assert_allclose(array[band][valid], expected[valid], atol=2e-6)


def test_kernel_in_map_units_is_divided_by_the_pixel_size(tmp_path, landscape):
    path, _, _ = landscape
    res = read_raster(path)[1]["transform"].a
    pixels = _maps(path, tmp_path / "px.tif", sigma=1.5)[0]
    units = _maps(path, tmp_path / "mu.tif", sigma=1.5 * res, units="map units")[0]
    np.testing.assert_array_equal(pixels, units)


@pytest.mark.parametrize("dtype,top", [("uint8", 254), ("uint16", 65534)])
def test_integer_maps_round_within_half_a_step_and_carry_their_scale(tmp_path, landscape,
                                                                      dtype, top):
    path, codes, valid = landscape
    array, profile, _, _, scales, offsets = _maps(path, tmp_path / "p.tif", sigma=2,
                                                  dtype=dtype)
    assert profile["dtype"] == dtype and profile["nodata"] == top + 1
    assert scales == (1 / top,) * len(CODES) and offsets == (0.0,) * len(CODES)
    assert (array[:, ~valid] == top + 1).all() and array[:, valid].max() <= top
    expected = reference_proportions(codes, valid, CODES, 2)
    assert np.abs(array[:, valid] / top - expected[:, valid]).max() <= 0.5 / top + 1e-6
    # rounded, not truncated (convster's astype): truncation would miss about half of them
    assert (array[:, valid] == np.rint(expected[:, valid] * top)).mean() > 0.99


def test_windows_and_workers_do_not_change_a_bit(tmp_path, landscape):
    path, _, _ = landscape
    options = dict(sigma=3, edge="reflect", dtype="uint8")
    whole = _maps(path, tmp_path / "whole.tif", **options)[0]
    floats = _maps(path, tmp_path / "whole32.tif", sigma=3, edge="nearest")[0]
    for name, execution in [("w7", Execution(window_size=7)), ("w64", Execution(window_size=64)),
                            ("p2", Execution("processes", workers=2, window_size=32))]:
        # window 7 is smaller than the kernel radius (12 px)
        tiled = _maps(path, tmp_path / f"{name}.tif", execution=execution, **options)[0]
        assert tiled.tobytes() == whole.tobytes(), name
        tiled = _maps(path, tmp_path / f"{name}32.tif", execution=execution, sigma=3,
                      edge="nearest")[0]
        assert tiled.tobytes() == floats.tobytes(), name


@pytest.mark.parametrize("edge", ["nodata", "nearest", "reflect"])
def test_a_kernel_larger_than_the_raster_works(tmp_path, edge):
    rng = np.random.default_rng(5)
    codes = rng.integers(1, 4, (9, 12)).astype(np.uint8)
    path = str(write_raster(tmp_path / "small.tif", codes))
    array = _maps(path, tmp_path / "p.tif", sigma=8, edge=edge,
                  execution=Execution(window_size=4))[0]  # radius 32 px > 12 px
    mode = {"nodata": "constant"}.get(edge, edge)
    expected = reference_proportions(codes, np.ones(codes.shape, bool), (1, 2, 3), 8,
                                     mode=mode)
    np.testing.assert_allclose(array, expected, atol=2e-6)


def test_bad_kernel_and_output_options_are_refused_before_work(tmp_path, landscape):
    path, _, _ = landscape
    cases = [
        (dict(sigma=0), "Gaussian sigma 0 px must be greater than 0"),
        (dict(sigma=-2), "Gaussian sigma -2 px must be greater than 0"),
        (dict(), "the Gaussian kernel needs a sigma or a kernel diameter"),
        (dict(sigma=1, dtype="uint8", out_range=(0, 255)),
         "output nodata 255 lies inside the output range 0 to 255"),
        (dict(sigma=1, dtype="uint8", out_range=(0, 300)),
         "output range 0 to 300 does not fit output type uint8"),
        (dict(sigma=1, edge="wrap"), "edge policy 'wrap' is unknown"),
    ]
    for options, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            category_maps(path, str(tmp_path / "out.tif"), **options)
    assert list(tmp_path.iterdir()) == []


def test_fraction_output_defaults():
    assert fraction_output().out_range == (0.0, 1.0) and fraction_output().scale_offset is None
    stored = fraction_output("uint8")
    assert (stored.out_range, stored.nodata) == ((0.0, 254.0), 255)
    assert stored.encode(np.array([0.0, 0.5, 1.0, 1.5])).tolist() == [0, 127, 254, 254]
    signed = fraction_output("int16", out_range=(-100, 100))
    assert signed.nodata == -32768 and signed.scale_offset == (1 / 200, 0.5)
    assert signed.encode(np.array([0.0, 0.25, 1.0])).tolist() == [-100, -50, 100]
