"""Entropy and interaction: the worked vectors of F3 and F4, scipy/numpy references on a
real-looking map, one step == two steps, tiling and workers, and bad input."""

import math

import numpy as np
import pytest

from landscape_data import CODES, landcover, reference_entropy, reference_proportions
from support import read_raster, write_raster
from tessera.engine.categories import category_maps
from tessera.engine.diversity import (entropy, interaction, interaction_index, max_entropy,
                                      shannon_entropy)
from tessera.engine.errors import InvalidInputError
from tessera.engine.executors import Execution

F3_LAYERS = [np.array([[10, 5], [4, 1]], float), np.array([[1, 5], [2, 9]], float)]
F4_A = np.array([[.5, .25], [0, .05]])
F4_B = np.array([[.5, .25], [0, .3]])
F4_UINT8 = np.array([[[85, 100], [50, 60]], [[85, 50], [100, 80]], [[85, 105], [100, 10]]],
                    np.uint8)


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    """A 97 x 113 land-cover map with the image's nodata edge (nodata 0)."""
    return landcover(tmp_path_factory.mktemp("landscape") / "landcover.tif", (0, 0, 97, 113))


def _band(path):
    """Band 1 of ``path`` as float64 with NaN at nodata, and the raster's profile."""
    array, profile = read_raster(path)
    values = array[0].astype(np.float64)
    if profile["nodata"] is not None and not math.isnan(profile["nodata"]):
        values[array[0] == profile["nodata"]] = np.nan
    return values, profile


def _stored(path, layers, *, dtype, tags):
    """A category-maps raster of ``layers`` tagged ``category=<tag>`` (no GDAL scale)."""
    import rasterio

    write_raster(path, np.asarray(layers, dtype))
    with rasterio.open(path, "r+") as ds:
        for band, tag in enumerate(tags, start=1):
            ds.update_tags(band, category=str(tag))
    return str(path)


# --------------------------------------------------------------------------- worked vectors

def test_entropy_of_the_f3_example():
    np.testing.assert_allclose(shannon_entropy(F3_LAYERS), [[0.4395, 1.0], [0.9183, 0.4690]],
                               atol=5e-5)
    assert round(max_entropy(2), 4) == 0.6931 and round(max_entropy(10), 4) == 2.3026
    raw = shannon_entropy(F3_LAYERS, normed=False)
    np.testing.assert_allclose(raw, shannon_entropy(F3_LAYERS) * math.log(2))
    # normalising by ln(10) instead of ln(2) compresses the range: it never reaches 1
    np.testing.assert_allclose(shannon_entropy(F3_LAYERS, max_categories=10),
                               raw / math.log(10))


def test_interaction_of_the_f4_examples():
    np.testing.assert_allclose(interaction_index([F4_A, F4_B], standardize=True),
                               [[1, .5], [0, .1714]], atol=5e-5)
    np.testing.assert_allclose(interaction_index([F4_A, F4_B], standardize=True, normed=False),
                               [[.25, .125], [0, .04286]], atol=5e-6)
    np.testing.assert_allclose(interaction_index(F4_UINT8 / 255.0, standardize=True),
                               [[1, .8549], [.8304, .1329]], atol=5e-5)
    np.testing.assert_allclose(interaction_index([F4_A, F4_B], normed=False), F4_A * F4_B)


def test_f3_and_f4_through_files_and_integer_outputs(tmp_path):
    """convster's uint8 layers (no GDAL scale: a = v / 255); integer outputs ceil (F4)
    or round (F3) onto 0..254."""
    path = _stored(tmp_path / "f4.tif", F4_UINT8, dtype=np.uint8, tags=(1, 2, 3))
    out = interaction(path, str(tmp_path / "i.tif"), standardize=True)
    np.testing.assert_allclose(_band(out)[0], [[1, .8549], [.8304, .1329]], atol=5e-5)
    out = interaction(path, str(tmp_path / "i8.tif"), standardize=True, dtype="uint8")
    values, profile = read_raster(out)
    expected = np.ceil(np.minimum(interaction_index(F4_UINT8 / 255.0, standardize=True), 1)
                       * 254)
    np.testing.assert_array_equal(values[0], expected)
    assert values[0].tolist() == [[254, 218], [211, 34]] and profile["nodata"] == 255
    f3 = _stored(tmp_path / "f3.tif", F3_LAYERS, dtype=np.uint8, tags=(7, 9))
    values = read_raster(entropy(f3, str(tmp_path / "e8.tif"), dtype="uint8"))[0][0]
    np.testing.assert_array_equal(values, np.rint(shannon_entropy(F3_LAYERS) * 254))


def test_pixels_whose_proportions_are_all_zero_are_nodata(tmp_path):
    layers = [[[0.0, 0.2]], [[0.0, 0.2]]]
    path = _stored(tmp_path / "layers.tif", layers, dtype=np.float32, tags=(1, 2))
    assert np.isnan(_band(entropy(path, str(tmp_path / "e.tif")))[0]).tolist() == [[True,
                                                                                     False]]
    values, profile = read_raster(entropy(path, str(tmp_path / "e8.tif"), dtype="uint8"))
    assert values[0].tolist() == [[255, 254]] and profile["nodata"] == 255
    # an interaction of nothing is 0, not nodata; (0.2 x 0.2) / 0.4 x 2^2 = 0.4
    np.testing.assert_allclose(_band(interaction(path, str(tmp_path / "i.tif"),
                                                 standardize=True))[0], [[0.0, 0.4]])


# --------------------------------------------------------------------------- references

@pytest.mark.parametrize("edge,mode", [("nodata", "constant"), ("reflect", "reflect")])
def test_entropy_equals_scipy_and_numpy_in_memory(tmp_path, landscape, edge, mode):
    path, codes, valid = landscape
    expected = reference_entropy(reference_proportions(codes, valid, CODES, 3, mode=mode))
    expected[~valid] = np.nan
    got = _band(entropy(path, str(tmp_path / "e.tif"), sigma=3, edge=edge))[0]
    np.testing.assert_allclose(got, expected, atol=1e-5, equal_nan=True)
    assert 0.1 < np.nanmean(got) < 0.9  # a real mix, not a trivial map
    stored = _band(entropy(path, str(tmp_path / "e8.tif"), sigma=3, edge=edge, dtype="uint8"))
    assert stored[1]["dtype"] == "uint8"
    # within the output quantization: half a step of 1/254
    assert np.nanmax(np.abs(stored[0] / 254 - expected)) <= 0.5 / 254 + 1e-5
    np.testing.assert_array_equal(np.isnan(stored[0]), ~valid)


def test_subset_of_categories_and_max_categories(tmp_path, landscape):
    path, codes, valid = landscape
    chosen = (12, 22, 31)
    layers = reference_proportions(codes, valid, chosen, 2)
    got = _band(entropy(path, str(tmp_path / "e.tif"), sigma=2, categories=chosen,
                        max_categories=10))[0]
    expected = reference_entropy(layers, math.log(10))
    expected[~valid] = np.nan
    np.testing.assert_allclose(got, expected, atol=1e-5, equal_nan=True)
    assert np.nanmax(got) <= math.log(3) / math.log(10) + 1e-6


@pytest.mark.parametrize("standardize", [False, True])
def test_interaction_equals_the_product_of_scipy_proportions(tmp_path, landscape, standardize):
    path, codes, valid = landscape
    chosen = (21, 31)
    a, b = reference_proportions(codes, valid, chosen, 4, mode="nearest")
    expected = a * b * 4
    if standardize:
        expected = np.where(a + b > 0, a * b / np.where(a + b > 0, a + b, 1), 0) * 4
    expected[~valid] = np.nan
    got = _band(interaction(path, str(tmp_path / "i.tif"), sigma=4, edge="nearest",
                            categories=chosen, standardize=standardize))[0]
    np.testing.assert_allclose(got, expected, atol=1e-5, equal_nan=True)
    ceiled = _band(interaction(path, str(tmp_path / "i8.tif"), sigma=4, edge="nearest",
                               categories=chosen, standardize=standardize, dtype="uint8"))[0]
    # ceil onto 0..254: never below the exact value, at most one step above
    error = ceiled[valid] / 254 - np.minimum(expected[valid], 1)
    assert error.min() >= -1e-5 and error.max() <= 1 / 254 + 1e-5


def test_one_step_equals_two_steps_through_category_maps(tmp_path, landscape):
    """convster's tests: blur then entropy equals a one-step run bit for bit (float32)."""
    path, _, _ = landscape
    maps = category_maps(path, str(tmp_path / "maps.tif"), sigma=2.5, edge="reflect")
    for operation, options in ((entropy, {}), (interaction, {"categories": (12, 31)})):
        one = _band(operation(path, str(tmp_path / "one.tif"), sigma=2.5, edge="reflect",
                              **options))[0]
        two = _band(operation(maps, str(tmp_path / "two.tif"), **options))[0]
        np.testing.assert_array_equal(one, two)
    # stored as uint8, the layers are quantized: the entropy moves by a little only
    maps8 = category_maps(path, str(tmp_path / "maps8.tif"), sigma=2.5, edge="reflect",
                          dtype="uint8")
    one = _band(entropy(path, str(tmp_path / "one.tif"), sigma=2.5, edge="reflect"))[0]
    two = _band(entropy(maps8, str(tmp_path / "two8.tif")))[0]
    assert np.nanmax(np.abs(one - two)) < 0.05
    np.testing.assert_array_equal(np.isnan(one), np.isnan(two))


def test_windows_and_workers_do_not_change_a_bit(tmp_path, landscape):
    path, _, _ = landscape
    runs = {"entropy": (entropy, dict(sigma=3, dtype="uint8")),
            "entropy32": (entropy, dict(sigma=3, edge="nearest")),
            "interaction": (interaction, dict(sigma=3, categories=(11, 22, 31), dtype="uint8",
                                              standardize=True))}
    for name, (operation, options) in runs.items():
        whole = read_raster(operation(path, str(tmp_path / f"{name}.tif"), **options))[0]
        for tag, execution in [("w7", Execution(window_size=7)),
                               ("p2", Execution("processes", workers=2, window_size=48))]:
            tiled = read_raster(operation(path, str(tmp_path / f"{name}-{tag}.tif"),
                                          execution=execution, **options))[0]
            assert tiled.tobytes() == whole.tobytes(), (name, tag)


def test_outputs_are_named_and_tagged(tmp_path, landscape):
    import rasterio

    path, _, _ = landscape
    for operation, options, name in (
            (entropy, {}, "entropy"),
            (interaction, {"categories": (11, 32)}, "interaction of 11, 32")):
        out = operation(path, str(tmp_path / "o.tif"), sigma=1, dtype="uint16", **options)
        with rasterio.open(out) as ds:
            assert ds.descriptions == (name,)
            assert ds.tags(1) == {"category": name.split()[0]}
            assert ds.scales == (1 / 65534,) and ds.nodata == 65535


# --------------------------------------------------------------------------- bad input

def test_bad_input_is_refused_before_anything_is_written(tmp_path, landscape):
    path, _, _ = landscape
    dem = str(write_raster(tmp_path / "dem.tif", np.ones((5, 5), np.float32)))
    maps = category_maps(path, str(tmp_path / "maps.tif"), sigma=1, categories=(11, 12))
    before = sorted(p.name for p in tmp_path.iterdir())
    cases = [
        (entropy, dem, dict(sigma=2), "'dem' holds float32 values, not category codes"),
        (interaction, dem, dict(sigma=2, categories=(1, 2)), "'dem' holds float32 values"),
        (entropy, path, dict(sigma=2, categories=(11, 13)),
         "category 13 does not occur in 'landcover', which holds 11, 12, 21, 22, 31, 32"),
        (entropy, path, dict(sigma=0), "Gaussian sigma 0 px must be greater than 0"),
        (entropy, path, dict(), "the Gaussian kernel needs a sigma or a kernel diameter"),
        (entropy, path, dict(sigma=1, categories=(11,)), "entropy needs at least 2 categories"),
        (entropy, path, dict(sigma=1, max_categories=4),
         "maximum number of categories 4 is below the 6 categories used"),
        (entropy, path, dict(sigma=1, normed=False, dtype="uint8"),
         "entropy in nats (not normed) is stored as it is: choose a float output type"),
        (interaction, path, dict(sigma=1, categories=(11, 11)),
         "interaction needs at least 2 categories (1 chosen)"),
        (interaction, maps, dict(categories=(11, 31)),
         "'maps' has no band tagged category=31: its category bands are 11, 12"),
        (entropy, path, dict(sigma=1, out_range=(0, 255), dtype="uint8"),
         "output nodata 255 lies inside the output range 0 to 255"),
    ]
    for operation, raster, options, message in cases:
        with pytest.raises(InvalidInputError) as raised:
            operation(raster, str(tmp_path / "out.tif"), **options)
        assert message in str(raised.value), (message, str(raised.value))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
