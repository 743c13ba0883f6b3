"""Histogram matching against scikit-image's algorithm computed in memory, overlaps, masks,
other grids, tiling and bad input."""

import itertools

import numpy as np
import pytest

from support import WORLDVIEW, crop, read_raster, write_raster
from tessera.engine.dtypes import cast
from tessera.engine.errors import InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.histogram_matching import histogram_matching
from tessera.engine.masks import RasterMask


def skimage_knots(source, template):
    """scikit-image's ``_match_cumulative_cdf`` on 1-D samples: the distinct source values
    and the reference value each one is matched to."""
    values, counts = np.unique(source, return_counts=True)
    reference, reference_counts = np.unique(template, return_counts=True)
    return values, np.interp(np.cumsum(counts) / source.size,
                             np.cumsum(reference_counts) / template.size, reference)


def expected(image, valid, sources, templates, dtype, nodata):
    """Every pixel of ``image`` looked up through the knots of ``sources`` and ``templates``
    (per band), cast like an output; nodata where invalid."""
    out = np.stack([np.interp(band, *skimage_knots(source, template))
                    for band, source, template in zip(image, sources, templates)])
    out = cast(out, dtype)
    out[~valid] = nodata
    return out


def valid_values(array, nodata):
    return [band[band != nodata] for band in array]


def match(tmp_path, inputs, reference, **options):
    return [read_raster(path)[0] for path in histogram_matching(
        inputs, reference, str(tmp_path / "out"), **options)]


def sample(rng, dtype, shape):
    """Skewed, clumped values of ``dtype`` whose range suits the type."""
    scale = {"uint8": 40, "int16": 900, "uint16": 9000, "int32": 250000, "float32": 500}[dtype]
    values = rng.gamma(2.0, scale, shape) * rng.choice([0.5, 1.0, 1.7], shape)
    return np.clip(np.round(values), 0, 250 if dtype == "uint8" else 2 ** 15 - 2).astype(dtype)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "float32"])
def test_equals_scikit_image_exactly(tmp_path, dtype):
    """One bin per value for integers; float32 holding whole numbers puts at most one
    distinct value in each of its fine bins, so it is exact too."""
    rng = np.random.default_rng(11)
    nodata = 255 if dtype == "uint8" else 32767
    image = sample(rng, dtype, (2, 40, 50))
    image[:, 5:9, 10:30] = nodata
    image[1, 30:, :7] = nodata
    template = (sample(rng, dtype, (2, 30, 35)) * 0.6 + 3).astype(dtype)
    template[:, :4, :4] = nodata
    write_raster(tmp_path / "a.tif", image, nodata=nodata)
    write_raster(tmp_path / "ref.tif", template, nodata=nodata)
    (got,) = match(tmp_path, [str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"))
    want = expected(image, image != nodata, valid_values(image, nodata),
                    valid_values(template, nodata), dtype, nodata)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def worldview_reference(tmp_path_factory):
    """Another, overlapping part of the WorldView-3 image, darkened: a reference whose
    distributions differ from ``worldview_crop``'s."""
    path = str(tmp_path_factory.mktemp("ref") / "reference.tif")
    crop(WORLDVIEW, path, (40, 60, 120, 110))
    array, profile = read_raster(path)
    valid = array != profile["nodata"]
    array[valid] = (array[valid] * 0.7 + 35).astype(np.int16)
    return write_raster(path, array, nodata=profile["nodata"], crs=profile["crs"],
                        transform=profile["transform"])


def test_worldview_takes_the_reference_quantiles(worldview_crop, worldview_reference, tmp_path):
    (got,) = match(tmp_path, [worldview_crop], worldview_reference)
    image, template = read_raster(worldview_crop)[0], read_raster(worldview_reference)[0]
    want = expected(image, image != -9999, valid_values(image, -9999),
                    valid_values(template, -9999), "int16", -9999)
    np.testing.assert_array_equal(got, want)
    # One input value moves as a whole, so the output's q-quantile lies between the
    # reference's quantiles at q -/+ the largest share of one input value (+/- 1 for
    # rounding to int16); the identity mapping would miss this by hundreds.
    for band, source, reference in zip(valid_values(got, -9999), valid_values(image, -9999),
                                       valid_values(template, -9999)):
        step = np.unique(source, return_counts=True)[1].max() / source.size
        for q in np.linspace(0.05, 0.95, 19):
            low, high = (np.quantile(reference, np.clip(q + d, 0, 1), method="inverted_cdf")
                         for d in (-step, step))
            assert low - 1 <= np.quantile(band, q, method="inverted_cdf") <= high + 1


def test_float_data_within_a_bin(tmp_path):
    """Continuous floats: only bins holding three or more values interpolate, by less than
    one pixel's quantile, which in the sparse tails of the reference is up to ~2e-4 of its
    range (measured 1.6e-4); typical errors are far smaller."""
    rng = np.random.default_rng(5)
    image = rng.normal(0.3, 0.1, (1, 120, 130)).astype(np.float32)
    image[0, :10, :10] = np.nan
    template = rng.gamma(3.0, 0.05, (1, 90, 80)).astype(np.float32)
    write_raster(tmp_path / "a.tif", image, nodata=np.nan)
    write_raster(tmp_path / "ref.tif", template, nodata=np.nan)
    (got,) = match(tmp_path, [str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"))
    valid = ~np.isnan(image)
    want = expected(image, valid, [image[valid]], [template.ravel()], "float32", np.nan)
    assert np.isnan(got[~valid]).all()
    assert np.abs(got[valid] - want[valid]).max() < 1e-3 * np.ptp(template)
    assert np.abs(got[valid] - want[valid]).mean() < 1e-5 * np.ptp(template)


@pytest.fixture
def halves(tmp_path):
    """An input whose right half overlaps the reference's left half (same grid spacing).

    Inside the overlap the input holds even values 0..100, outside any value 0..200; the
    reference is dark inside the overlap and bright outside it, so overlap-only
    statistics give another mapping than whole-image ones, and outside pixels carry odd
    and large values the overlap never saw.
    """
    rng = np.random.default_rng(8)
    image = rng.integers(0, 201, (1, 30, 40)).astype(np.int16)
    image[:, :, 20:] = 2 * rng.integers(0, 51, (1, 30, 20))
    image[:, 0, :] = -1
    template = np.concatenate([rng.integers(10, 60, (1, 30, 20)),
                               rng.integers(150, 250, (1, 30, 20))], axis=2).astype(np.int16)
    write_raster(tmp_path / "a.tif", image, nodata=-1)
    write_raster(tmp_path / "ref.tif", template, nodata=-1, origin=(500040.0, 4200000.0))
    return image, template


def test_overlap_only_uses_overlap_pixels_and_maps_every_pixel(tmp_path, halves):
    image, template = halves
    inputs, reference = [str(tmp_path / "a.tif")], str(tmp_path / "ref.tif")
    (got,) = match(tmp_path, inputs, reference, overlap_only=True)
    inside = image[:, 1:, 20:]
    want = expected(image, image != -1, [inside.ravel()], [template[:, 1:, :20].ravel()],
                    "int16", -1)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[:, 0], -1)
    outside = got[0, 1:, :20]
    assert outside.max() == template[0, 1:, :20].max()  # values above the overlap's: held
    odd = (image[0, 1:, :20] % 2 == 1) & (image[0, 1:, :20] < 100)
    assert odd.any() and not np.isin(outside[odd], got[0, 1:, 20:]).all()  # interpolated
    (whole,) = match(tmp_path, inputs, reference, overlap_only=False)
    assert not np.array_equal(whole, got)
    assert whole.max() > 150  # whole-image statistics reach the reference's bright half


def test_masks_restrict_the_input_statistics(tmp_path, halves):
    image, template = halves
    mask = np.zeros((1, 30, 40), np.uint8)
    mask[:, 10:, 25:] = 1
    write_raster(tmp_path / "mask.tif", mask)
    (got,) = match(tmp_path, [str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"),
                   masks=[RasterMask(str(tmp_path / "mask.tif"))])
    want = expected(image, image != -1, [image[:, 10:, 25:].ravel()], [template.ravel()],
                    "int16", -1)
    np.testing.assert_array_equal(got, want)


def test_input_on_a_coarser_shifted_grid(tmp_path):
    """Overlap pairs read the reference onto the input's grid by nearest neighbour: input
    pixels of 4 m whose origin sits 1.3 reference pixels (2 m) off."""
    rng = np.random.default_rng(21)
    template = rng.integers(0, 3000, (2, 60, 60)).astype(np.int16)
    template[:, 20:25, 20:40] = -9999
    image = rng.integers(100, 900, (2, 25, 40)).astype(np.int16)
    image[:, 3, 3:9] = -9999
    write_raster(tmp_path / "ref.tif", template, nodata=-9999)
    origin = (500000.0 + 1.3 * 2, 4200000.0 - 0.7 * 2)
    write_raster(tmp_path / "a.tif", image, nodata=-9999, res=4.0, origin=origin)
    (got,) = match(tmp_path, [str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"),
                   overlap_only=True)
    centre_x = origin[0] + 4.0 * (np.arange(40) + 0.5)
    centre_y = origin[1] - 4.0 * (np.arange(25) + 0.5)
    cols = np.floor((centre_x - 500000.0) / 2.0).astype(int)
    rows = np.floor((4200000.0 - centre_y) / 2.0).astype(int)
    inside_c, inside_r = cols < 60, rows < 60
    paired = template[:, rows[inside_r]][:, :, cols[inside_c]]
    own = image[:, inside_r][:, :, inside_c]
    both = (paired != -9999) & (own != -9999)
    want = expected(image, image != -9999, [b[v] for b, v in zip(own, both)],
                    [b[v] for b, v in zip(paired, both)], "int16", -9999)
    np.testing.assert_array_equal(got, want)
    assert (~inside_c).any()  # part of the input lies beyond the reference, still mapped


@pytest.mark.parametrize("execution", [Execution("serial", window_size=7),
                                       Execution("processes", workers=2, window_size=16)],
                         ids=["serial-7px", "processes-2w-16px"])
def test_tiling_is_invisible(worldview_crop, worldview_reference, tmp_path, execution):
    mask = RasterMask(worldview_crop)  # nonzero valid pixels: every valid pixel but zeros
    options = dict(overlap_only=True, masks=[mask])
    (whole,) = match(tmp_path / "whole", [worldview_crop], worldview_reference,
                     execution=Execution("serial", window_size=512), **options)
    (tiled,) = match(tmp_path / "tiled", [worldview_crop], worldview_reference,
                     execution=execution, **options)
    np.testing.assert_array_equal(tiled, whole)


def test_reference_with_another_band_count(worldview_crop, tmp_path):
    write_raster(tmp_path / "ref.tif", np.ones((3, 10, 10), np.int16))
    with pytest.raises(InvalidInputError, match="has 8 band.* but 'ref' has 3"):
        histogram_matching([worldview_crop], str(tmp_path / "ref.tif"), str(tmp_path))


def test_no_overlap_with_overlap_only(worldview_crop, tmp_path):
    write_raster(tmp_path / "far.tif", np.ones((8, 10, 10), np.int16))
    with pytest.raises(InvalidInputError,
                       match="'worldview_crop' does not overlap the reference 'far'.*turn it off"):
        histogram_matching([worldview_crop], str(tmp_path / "far.tif"), str(tmp_path),
                           overlap_only=True)
    assert not list(tmp_path.glob("*histmatch*"))


def test_no_valid_pixel_in_the_overlap(tmp_path, halves):
    image, _ = halves
    image[:, :, 20:] = -1
    write_raster(tmp_path / "a.tif", image, nodata=-1)
    with pytest.raises(InvalidInputError, match="'a' has no valid pixel where it overlaps the "
                                                "reference 'ref' in band.* 1"):
        histogram_matching([str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"),
                           str(tmp_path / "out"), overlap_only=True)


def test_reference_among_the_inputs(worldview_crop, tmp_path):
    with pytest.raises(InvalidInputError, match="both the reference and an input"):
        histogram_matching([worldview_crop], worldview_crop, str(tmp_path))


def with_infinities(tmp_path, name, array, spots, fill=None):
    """Write ``array`` (nodata -1) with ``spots`` (band, rows, cols) set to +inf or -inf, or
    to ``fill`` (the nodata value) when given."""
    array = array.copy()
    for (band, rows, cols), sign in zip(spots, itertools.cycle((1, -1))):
        array[band, rows, cols] = sign * np.inf if fill is None else fill
    return write_raster(tmp_path / f"{name}.tif", array, nodata=-1)


def test_infinite_values_are_nodata_to_the_statistics(tmp_path):
    """Valid ±inf pixels (the nodata value is -1, not NaN) leave the statistics as they are
    with those pixels as nodata; the pixels themselves are held at the reference's ends."""
    rng = np.random.default_rng(17)
    image = rng.gamma(2.0, 3.0, (2, 30, 40)).astype(np.float32)
    template = rng.normal(50, 8, (2, 25, 30)).astype(np.float32)
    spots = [(0, 3, 4), (1, 7, 8), (0, 9, slice(0, 5)), (1, slice(20, 22), 30)]
    reference_spots = [(1, 2, 2), (0, 5, slice(6, 9))]
    run = {}
    for kind, fill in (("inf", None), ("nodata", -1)):
        run[kind] = match(tmp_path / kind, [with_infinities(tmp_path, f"a_{kind}", image, spots,
                                                            fill)],
                          with_infinities(tmp_path, f"ref_{kind}", template, reference_spots,
                                          fill))[0]
    infinite = np.zeros(image.shape, bool)
    for spot in spots:
        infinite[spot] = True
    np.testing.assert_array_equal(run["inf"][~infinite], run["nodata"][~infinite])
    assert np.isfinite(run["inf"]).all() and (run["nodata"][infinite] == -1).all()
    reference = read_raster(tmp_path / "ref_inf.tif")[0]
    for (band, rows, cols), sign in zip(spots, itertools.cycle((1, -1))):
        finite = reference[band][np.isfinite(reference[band])]
        end = finite.max() if sign > 0 else finite.min()
        assert (run["inf"][band, rows, cols] == end).all()


def test_a_band_of_infinities_has_nothing_to_measure(tmp_path):
    image = np.ones((2, 10, 10), np.float32)
    image[1] = np.inf
    write_raster(tmp_path / "a.tif", image, nodata=-1)
    write_raster(tmp_path / "ref.tif", np.arange(200, dtype=np.float32).reshape(2, 10, 10))
    with pytest.raises(InvalidInputError, match=r"'a' has no valid pixel in band\(s\) 2.*"
                                                r"NaN and infinite values count as nodata"):
        histogram_matching([str(tmp_path / "a.tif")], str(tmp_path / "ref.tif"),
                           str(tmp_path / "out"))
