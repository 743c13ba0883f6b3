"""Mosaic: every merge method against a numpy truth, gdalwarp's overwrite order, feather
weights, seamlines, COG output, invariance and bad input."""

import os
import shutil
import subprocess

import numpy as np
import pytest
from affine import Affine

from support import distorted_tiles, read_raster, write_raster

from tessera.engine import feather
from tessera.engine.errors import GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.mosaic import METHODS, mosaic

NODATA = -1.0
#: (value, row offset, col offset) of three 10 x 10 rasters of 1 m pixels.
THREE = ((1, 0, 0), (3, 0, 5), (2, 5, 3))


def _three(folder, dtype=np.float32):
    paths = []
    for k, (value, row, col) in enumerate(THREE):
        transform = Affine(1, 0, 100 + col, 0, -1, 200 - row)
        paths.append(write_raster(os.path.join(folder, f"r{k}.tif"),
                                  np.full((2, 10, 10), value, dtype), nodata=NODATA,
                                  transform=transform))
    return paths


def _covering(order=(0, 1, 2)):
    """(15, 15) lists of the values covering each pixel of the union, in ``order``."""
    cover = [[[] for _ in range(15)] for _ in range(15)]
    for k in order:
        value, row, col = THREE[k]
        for r in range(row, row + 10):
            for c in range(col, col + 10):
                cover[r][c].append(value)
    return cover


TRUTH = {"first": lambda v: v[0], "last": lambda v: v[-1], "min": min, "max": max,
         "mean": np.mean, "median": np.median}


@pytest.mark.parametrize("method", sorted(TRUTH))
def test_every_method_gives_the_obvious_value_in_each_region(tmp_path, method):
    out = mosaic(_three(str(tmp_path)), str(tmp_path / "m.tif"), method=method)
    array, profile = read_raster(out)
    assert array.shape == (2, 15, 15)
    assert profile["transform"] == Affine(1, 0, 100, 0, -1, 200)
    expected = np.array([[TRUTH[method](v) if v else NODATA for v in row]
                         for row in _covering()])
    np.testing.assert_array_equal(array[0], expected)
    np.testing.assert_array_equal(array[1], expected)


def test_feather_weights_are_monotone_across_a_seam_and_meet_at_one_half():
    region = np.zeros((1, 60), dtype=bool)
    region[:, :30] = True
    footprint_a = np.ones((1, 60), dtype=bool)
    a = feather.weight(footprint_a, 10.0, region)[0]
    b = feather.weight(footprint_a, 10.0, ~region)[0]
    share = a / (a + b)
    np.testing.assert_allclose(share + b / (a + b), 1.0)
    assert np.all(np.diff(share) <= 0)
    assert share[:25].min() == pytest.approx(1.0, abs=1e-5)
    assert share[35:].max() == pytest.approx(0.0, abs=1e-5)
    # the seam lies between pixels 29 and 30: both sit 0.5 px from it
    assert share[29] == pytest.approx(0.55, abs=1e-5)
    assert share[30] == pytest.approx(0.45, abs=1e-5)


def test_feather_without_seamlines_ramps_from_each_footprint_edge():
    footprint = np.zeros((1, 30), dtype=bool)
    footprint[:, 5:] = True
    weight = feather.weight(footprint, 4.0)[0]
    np.testing.assert_allclose(weight[5:10], [0.125, 0.375, 0.625, 0.875, 1.0])
    assert not weight[:5].any()


def _seamlines(path, crs, split_x, images=("r0", "r1")):
    import geopandas
    from shapely.geometry import box

    geopandas.GeoDataFrame({"image": list(images)},
                           geometry=[box(0, 0, split_x, 1000), box(split_x, 0, 1000, 1000)],
                           crs=crs).to_file(path)
    return path


def test_feathered_mosaic_blends_two_constant_images_across_the_seamline(tmp_path):
    a, b, _ = _three(str(tmp_path))
    seams = _seamlines(str(tmp_path / "seams.gpkg"), "EPSG:32610", 107.0)
    out = mosaic([a, b], str(tmp_path / "f.tif"), method="feather", feather_distance=2.0,
                 seamlines=seams)
    row = read_raster(out)[0][0, 5]
    assert np.all(np.diff(row) >= 0)
    np.testing.assert_allclose(row[:5], 1.0)
    np.testing.assert_allclose(row[10:], 3.0)
    # the overlap spans x 105..110; pixel centres 106.5 and 107.5 sit 0.5 m either side
    # of the seam at 107: weights 3/4 and 1/4 over a 2 m blend
    np.testing.assert_allclose(row[5:10], [1.0, 1.5, 2.5, 3.0, 3.0], atol=1e-5)


def test_feather_without_seamlines_keeps_single_coverage_values(tmp_path):
    paths = _three(str(tmp_path))
    out = mosaic(paths, str(tmp_path / "f.tif"), method="feather", feather_distance=3.0)
    array = read_raster(out)[0][0]
    cover = _covering()
    for r in range(15):
        for c in range(15):
            if len(cover[r][c]) == 1:
                assert array[r, c] == cover[r][c][0]
            elif cover[r][c]:
                assert min(cover[r][c]) <= array[r, c] <= max(cover[r][c])
            else:
                assert array[r, c] == NODATA


def _gdalwarp(paths, out):
    subprocess.run(["gdalwarp", "-q", "-overwrite", "-dstnodata", "-9999", *paths, out],
                   check=True)
    return read_raster(out)


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("tiles"))
    gains = [[1.0] * 3, [1.2, 0.9, 1.1], [0.8, 1.1, 0.9], [1.1, 1.0, 0.9]]
    offsets = [[0] * 3, [50, -20, 10], [-30, 40, 0], [100, 0, -60]]
    return distorted_tiles(folder, gains, offsets)[0]


@pytest.mark.skipif(shutil.which("gdalwarp") is None, reason="gdalwarp is not installed")
@pytest.mark.parametrize("method, order", [("last", slice(None)), ("first", slice(None, None, -1))])
def test_last_and_first_equal_gdalwarp_pixel_for_pixel(tmp_path, tiles, method, order):
    ours, profile = read_raster(mosaic(tiles, str(tmp_path / "ours.tif"), method=method))
    theirs, their_profile = _gdalwarp(tiles[order], str(tmp_path / "gdal.tif"))
    assert profile["transform"].almost_equals(their_profile["transform"])
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("method", ["median", "feather"])
def test_windows_and_workers_give_the_same_bytes(tmp_path, tiles, method):
    seams = None
    if method == "feather":
        import rasterio

        with rasterio.open(tiles[0]) as ds:
            split = (ds.bounds.left + ds.bounds.right) / 2 + 13
            crs = ds.crs
        seams = _seamlines(str(tmp_path / "s.gpkg"), crs, split, ("tile0", "tile1"))
        inputs = tiles[:2]
    else:
        inputs = tiles
    results = []
    for name, execution in [("whole", Execution(window_size=4096)),
                            ("7px", Execution(window_size=7)),
                            ("2w", Execution("processes", 2, 32))]:
        out = mosaic(inputs, str(tmp_path / f"{name}.tif"), method=method,
                     feather_distance=12.0, seamlines=seams, execution=execution)
        results.append(read_raster(out)[0])
    assert results[0].dtype == np.int16
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_cog_output_has_overviews_and_the_same_pixels(tmp_path, tiles):
    import rasterio

    with rasterio.open(tiles[0]) as ds:
        fine = (ds.res[0] / 2, ds.res[1] / 2)  # 320 x 320 px: more than one COG block
    plain = read_raster(mosaic(tiles, str(tmp_path / "plain.tif"), resolution=fine))[0]
    cog = mosaic(tiles, str(tmp_path / "cog.tif"), cog=True, resolution=fine)
    with rasterio.open(cog) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.overviews(1)
        assert ds.nodata == -9999
        np.testing.assert_array_equal(ds.read(), plain)
    assert sorted(os.listdir(tmp_path)) == ["cog.tif", "plain.tif"]


def test_resolution_and_extent_are_honoured(tmp_path):
    out = mosaic(_three(str(tmp_path)), str(tmp_path / "m.tif"), method="max",
                 resolution=(2.0, 2.0), bounds=(101.2, 186.0, 111.0, 199.5))
    array, profile = read_raster(out)
    assert profile["transform"] == Affine(2, 0, 100, 0, -2, 200)
    assert array.shape == (2, 7, 6)
    assert array[0, 0, 5] == 3 and array[0, 6, 2] == 2


@pytest.mark.parametrize("kwargs, fragment", [
    ({"method": "blend"}, "mosaic method 'blend' is unknown"),
    ({"method": "feather", "feather_distance": -2.0}, "feather distance -2.0 must be more"),
    ({"method": "last", "seamlines": "x.gpkg"}, "seamlines are used by the feather method"),
    ({"resolution": (0.0, 1.0)}, "mosaic resolution 0.0 x 1.0 must be positive"),
])
def test_bad_parameters_are_refused_with_a_message(tmp_path, kwargs, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        mosaic(_three(str(tmp_path)), str(tmp_path / "m.tif"), **kwargs)
    assert not os.path.exists(tmp_path / "m.tif")


def test_different_band_counts_are_refused(tmp_path):
    a, b, _ = _three(str(tmp_path))
    one_band = write_raster(str(tmp_path / "one.tif"), np.ones((1, 10, 10), np.float32),
                            transform=Affine(1, 0, 100, 0, -1, 200))
    with pytest.raises(InvalidInputError, match="'one' has 1 band"):
        mosaic([a, one_band], str(tmp_path / "m.tif"))


def test_different_crs_is_refused(tmp_path):
    a, _, _ = _three(str(tmp_path))
    other = write_raster(str(tmp_path / "utm11.tif"), np.ones((2, 10, 10), np.float32),
                         crs="EPSG:32611")
    with pytest.raises(GridMismatchError, match="'utm11' is in another CRS"):
        mosaic([a, other], str(tmp_path / "m.tif"))


def test_seamlines_must_name_every_image(tmp_path):
    a, b, c = _three(str(tmp_path))
    seams = _seamlines(str(tmp_path / "s.gpkg"), "EPSG:32610", 107.5)
    with pytest.raises(InvalidInputError, match="no polygon whose 'image' is 'r2'"):
        mosaic([a, b, c], str(tmp_path / "m.tif"), method="feather", feather_distance=2,
               seamlines=seams)
    with pytest.raises(InvalidInputError, match="has no field 'name': its fields are image"):
        mosaic([a, b], str(tmp_path / "m.tif"), method="feather", feather_distance=2,
               seamlines=seams, seam_field="name")


def test_every_method_is_tested():
    assert set(TRUTH) | {"feather"} == set(METHODS)


def test_an_image_with_an_empty_seamline_polygon_fills_only_where_it_is_alone(tmp_path):
    import geopandas
    from shapely.geometry import Polygon, box

    a, b, _ = _three(str(tmp_path))
    seams = str(tmp_path / "s.gpkg")
    geopandas.GeoDataFrame({"image": ["r0", "r1"]}, geometry=[box(0, 0, 1000, 1000), Polygon()],
                           crs="EPSG:32610").to_file(seams)
    out = mosaic([a, b], str(tmp_path / "f.tif"), method="feather", feather_distance=2.0,
                 seamlines=seams)
    row = read_raster(out)[0][0, 5]
    np.testing.assert_allclose(row[:10], 1.0, atol=1e-5)
    np.testing.assert_array_equal(row[10:], 3.0)


@pytest.mark.parametrize("cog", [False, True])
def test_internal_mask_marks_pixels_any_band_covers(tmp_path, tiles, cog):
    import rasterio
    from rasterio.enums import MaskFlags

    plain, profile = read_raster(mosaic(tiles, str(tmp_path / "plain.tif")))
    out = mosaic(tiles, str(tmp_path / "masked.tif"), cog=cog, internal_mask=True,
                 execution=Execution(window_size=64))
    with rasterio.open(out) as ds:
        assert all(flags == [MaskFlags.per_dataset] for flags in ds.mask_flag_enums)
        expected = np.where((plain != profile["nodata"]).any(axis=0), 255, 0)
        np.testing.assert_array_equal(ds.read_masks(1), expected)
        np.testing.assert_array_equal(ds.read(), plain)
