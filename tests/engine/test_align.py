"""Align rasters: values equal gdalwarp's, the requested grid is the one written, nodata
never bleeds, tiling and workers are invisible, mode keeps classes, and bad input is
refused with a message that says what to do."""

import math
import os
import shutil
import subprocess

import numpy as np
import pytest
from affine import Affine
from scipy import ndimage

from support import WORLDVIEW, read_raster, write_raster
from tessera.engine.align import align_rasters, target_grids
from tessera.engine.errors import Cancelled, GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution, reusing_workers
from tessera.engine.raster_io import describe
from tessera.engine.warp import MAX_ERROR, apply, pixel_affine, pixel_map, warp_operator

NODATA = -9999
GDALWARP = shutil.which("gdalwarp")
needs_gdalwarp = pytest.mark.skipif(GDALWARP is None, reason="gdalwarp is not installed")


def _image(path, rows=(100, 220), cols=(100, 240), bands=3, holes=()):
    """Bands of a WorldView-3 crop (2.2256 m pixels, int16, no nodata inside) with
    (row, col, height, width) ``holes`` of nodata."""
    array, profile = read_raster(WORLDVIEW)
    part = array[:bands, rows[0]:rows[1], cols[0]:cols[1]].copy()
    for row, col, height, width in holes:
        part[:, row:row + height, col:col + width] = NODATA
    t = profile["transform"]
    transform = Affine(t.a, 0, t.c + t.a * cols[0], 0, t.e, t.f + t.e * rows[0])
    return write_raster(str(path), part, nodata=NODATA, crs=profile["crs"], transform=transform)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return _image(tmp_path_factory.mktemp("align") / "wv.tif")


def _gdalwarp(source, output, grid, method, zooms):
    """gdalwarp of ``source`` onto exactly ``grid``, float32, exact transforms (-et 0) and
    our kernel scale (GDAL otherwise estimates it per chunk from window sizes)."""
    t = grid.transform
    bounds = (t.c, t.f + t.e * grid.height, t.c + t.a * grid.width, t.f)
    subprocess.run([GDALWARP, "-q", "-overwrite", "-et", "0", "-r", method,
                    "-t_srs", grid.crs, "-te", *map(repr, bounds),
                    "-ts", str(grid.width), str(grid.height), "-ot", "Float32",
                    "-wo", f"XSCALE={zooms[0]!r}", "-wo", f"YSCALE={zooms[1]!r}",
                    source, output], check=True)
    return read_raster(output)[0]


#: name: (options, largest difference to gdalwarp in DN away from nodata and edges)
CASES = {"resample": (dict(resolution=3.0), 0.01), "upsample": (dict(resolution=1.5), 0.01),
         "reproject": (dict(resolution=2.0, target_crs="EPSG:32611"), 1.0),
         "web mercator": (dict(resolution=2.5, target_crs="EPSG:3857"), 1.0)}


@needs_gdalwarp
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["nearest", "bilinear", "cubic", "average"])
def test_values_equal_gdalwarp(image, tmp_path, case, method):
    """Same kernels, weights and footprints as GDAL's warper, so away from nodata and
    edges values agree to float32 rounding (0.01 DN), or for a reprojection to within the
    local gradient times our interpolated positions' error (< 0.125 px by design, ~1e-4
    px here): 1 DN on 16-bit reflectances. Nearest picks the same pixel except where a
    position lies within that error of a pixel edge."""
    options, tolerance = CASES[case]
    (out,) = align_rasters([image], str(tmp_path), resampling=method, dtype="float32",
                           **options)
    ours = read_raster(out)[0]
    info, source = describe(out), describe(image)
    operator = warp_operator(image, source.grid, 3, info.grid, method)
    theirs = _gdalwarp(image, str(tmp_path / "gdal.tif"), info.grid,
                       "near" if method == "nearest" else method, operator.zooms)
    both = (ours != NODATA) & (theirs != NODATA)
    assert both.sum() > 0.8 * (ours != NODATA).sum()
    interior = ndimage.binary_erosion(both, np.ones((1, 9, 9)), border_value=0)
    difference = np.abs(ours - theirs)[interior]
    if method != "nearest":
        assert difference.max() <= tolerance
        return
    rows, cols = np.nonzero((ours != theirs)[0] & both[0])
    assert rows.size <= 0.001 * both[0].sum()
    if rows.size:
        x, y = _exact_positions(source.grid, info.grid, rows + 0.5, cols + 0.5)
        edge = np.minimum(np.abs(x - np.round(x)), np.abs(y - np.round(y)))
        assert edge.max() < MAX_ERROR


def _exact_positions(source, target, rows, cols):
    """Source pixel positions of output positions, through rasterio's own transform."""
    import rasterio.warp

    xs, ys = apply(target.transform, cols, rows)
    xs, ys = rasterio.warp.transform(target.crs, source.crs, xs, ys)
    return apply(~source.transform, np.asarray(xs), np.asarray(ys))


def test_interpolated_reprojection_positions_stay_within_the_error_bound(image):
    source = describe(image).grid
    (grid,) = target_grids([describe(image)], resolution=0.7, target_crs="EPSG:3857")
    pixels = pixel_map(source, grid)
    assert pixels.step > 1
    rng = np.random.default_rng(3)
    rows, cols = rng.uniform(0, grid.height, 500), rng.uniform(0, grid.width, 500)
    exact = _exact_positions(source, grid, rows, cols)
    for k in range(rows.size):
        x, y = pixels(rows[k:k + 1], cols[k:k + 1])
        assert abs(x.item() - exact[0][k]) < MAX_ERROR and abs(y.item() - exact[1][k]) < MAX_ERROR


def test_average_of_aligned_blocks_is_their_mean(tmp_path):
    """A 1 m raster whose edges are multiples of 2, aligned to 2 m with target-aligned
    pixels: each output pixel is the mean of the 2 x 2 input pixels under it."""
    values = np.arange(6 * 8, dtype=np.int16).reshape(1, 6, 8) * 4
    path = write_raster(tmp_path / "ones.tif", values, nodata=-1, res=1.0, origin=(100.0, 60.0))
    (out,) = align_rasters([path], str(tmp_path / "out"), resolution=2.0, resampling="average",
                           target_aligned_pixels=True, dtype="float32")
    array, profile = read_raster(out)
    assert profile["transform"] == Affine(2, 0, 100, 0, -2, 60)
    expected = values[0].reshape(3, 2, 4, 2).mean(axis=(1, 3))
    np.testing.assert_array_equal(array[0], expected)


@pytest.mark.parametrize("tap", [False, True])
def test_the_requested_resolution_is_always_written(image, tmp_path, tap):
    (out,) = align_rasters([image], str(tmp_path), resolution=(3.0, 2.5),
                           target_aligned_pixels=tap, resampling="nearest")
    grid, source = describe(out).grid, describe(image).grid
    assert grid.res == (3.0, 2.5)
    left, bottom, right, top = grid.bounds
    s_left, s_bottom, s_right, s_top = source.bounds
    assert left <= s_left < left + 3.0 and right - 3.0 < s_right <= right
    assert bottom <= s_bottom < bottom + 2.5 and top - 2.5 < s_top <= top
    if tap:
        assert grid.transform.c / 3.0 == round(grid.transform.c / 3.0)
        assert grid.transform.f / 2.5 == round(grid.transform.f / 2.5)


def _second_image(folder):
    """An overlapping crop shifted by a fraction of a pixel and with 3.1 m pixels."""
    values = read_raster(_image(os.path.join(folder, "wv2src.tif"), (150, 210), (160, 230)))[0]
    return write_raster(os.path.join(folder, "coarse.tif"), values, nodata=NODATA,
                        crs=describe(WORLDVIEW).grid.crs, res=3.1,
                        origin=(546700.3, 4183600.7))


def test_outputs_share_one_lattice_and_the_named_resolutions(image, tmp_path):
    coarse = _second_image(str(tmp_path))
    sizes = {"highest": 2.225596983661512, "lowest": 3.1,
             "average": (2.225596983661512 + 3.1) / 2}
    infos = [describe(image), describe(coarse)]
    for name, size in sizes.items():
        for tap in (False, True):
            grids = target_grids(infos, resolution=name, target_aligned_pixels=tap)
            for grid in grids:
                assert grid.res == pytest.approx((size, size), rel=1e-12)
            offset = ((grids[1].transform.c - grids[0].transform.c) / grids[0].res[0],
                      (grids[1].transform.f - grids[0].transform.f) / grids[0].res[1])
            assert offset == pytest.approx(tuple(np.round(offset)), abs=1e-6)
            if not tap:  # anchored at the union's top-left corner
                assert grids[0].transform.c == min(i.grid.bounds[0] for i in infos)
                assert grids[0].transform.f == max(i.grid.bounds[3] for i in infos)


def test_highest_resolution_of_a_reprojected_input_is_gdals_suggestion(image):
    import rasterio.warp

    info = describe(image)
    (grid,) = target_grids([info], target_crs="EPSG:3857")
    suggested, _, _ = rasterio.warp.calculate_default_transform(
        info.grid.crs, "EPSG:3857", info.grid.width, info.grid.height, *info.grid.bounds)
    assert grid.res == pytest.approx((suggested.a, -suggested.e), rel=1e-9)


def test_a_target_grid_gives_its_crs_size_and_alignment(image, tmp_path):
    reference = write_raster(tmp_path / "grid.tif", np.zeros((1, 4, 4), np.uint8),
                             crs="EPSG:32611", res=5.0, origin=(1.5, 4.25))
    (out,) = align_rasters([image], str(tmp_path / "out"), target_grid=str(reference))
    grid = describe(out).grid
    assert grid.res == (5.0, 5.0)
    assert describe(out).grid.crs == describe(str(reference)).grid.crs
    assert ((grid.transform.c - 1.5) / 5) == round((grid.transform.c - 1.5) / 5)
    assert ((grid.transform.f - 4.25) / 5) == round((grid.transform.f - 4.25) / 5)


@pytest.mark.parametrize("method", ["nearest", "bilinear", "cubic", "lanczos", "average",
                                    "mode"])
def test_nodata_never_bleeds(tmp_path, method):
    """The same image with its hole filled by two different nodata values aligns to the
    same valid pixels: nodata values never enter a valid pixel. Output pixels whose centre
    falls in the hole stay holes; all others are valid."""
    hole = (40, 50, 12, 15)
    outputs = []
    for nodata in (NODATA, 32000):
        path = _image(tmp_path / f"hole{nodata}.tif", holes=[hole])
        array, profile = read_raster(path)
        array[array == NODATA] = nodata
        write_raster(path, array, nodata=nodata, crs=profile["crs"],
                     transform=profile["transform"])
        (out,) = align_rasters([path], str(tmp_path / f"out{nodata}"), resolution=1.7,
                               resampling=method)
        outputs.append(read_raster(out)[0])
    first, second = outputs
    np.testing.assert_array_equal(first == NODATA, second == 32000)
    np.testing.assert_array_equal(first[first != NODATA], second[second != 32000])
    grid, source = describe(out).grid, describe(path).grid
    x, y = apply(pixel_affine(source.transform, grid.transform),
                 *np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5))
    in_hole = ((np.floor(y) >= hole[0]) & (np.floor(y) < hole[0] + hole[2])
               & (np.floor(x) >= hole[1]) & (np.floor(x) < hole[1] + hole[3]))
    in_image = (x >= 0) & (x < source.width) & (y >= 0) & (y < source.height)
    np.testing.assert_array_equal(first[0] == NODATA, in_hole | ~in_image)


@reusing_workers
def _align_each(folder, inputs, *, execution):
    """Every method and case of the invariance test, on one executor (one worker pool)."""
    arrays = []
    for case, options in (("resample", dict(resolution=1.9)),
                          ("reproject", dict(target_crs="EPSG:3857"))):
        for method in ("bilinear", "cubic", "average", "mode"):
            outputs = align_rasters(inputs, os.path.join(folder, case, method),
                                    resampling=method, execution=execution, **options)
            arrays.extend(read_raster(out)[0] for out in outputs)
    return arrays


def test_windows_and_workers_are_invisible(image, tmp_path):
    """Integer outputs are identical with 512 or 32 px windows, 1 or 2 worker processes,
    for a resample and a reprojection."""
    inputs = [image, _second_image(str(tmp_path))]
    whole = _align_each(str(tmp_path / "whole"), inputs,
                        execution=Execution("serial", window_size=512))
    for name, execution in (("tiled", Execution("serial", window_size=32)),
                            ("workers", Execution("processes", workers=2, window_size=64))):
        for one, two in zip(whole, _align_each(str(tmp_path / name), inputs,
                                               execution=execution)):
            assert one.tobytes() == two.tobytes()


def test_mode_keeps_classes_and_takes_the_majority(tmp_path):
    rng = np.random.default_rng(5)
    classes = rng.choice(np.array([3, 7, 11, 200], np.uint8), size=(1, 40, 60))
    classes[0, :4, :4] = [[3, 3, 7, 7], [3, 7, 7, 7], [11, 11, 3, 3], [11, 3, 3, 200]]
    path = write_raster(tmp_path / "classes.tif", classes, nodata=0, res=1.0,
                        origin=(0.0, 40.0))
    (out,) = align_rasters([path], str(tmp_path / "out"), resolution=2.0, resampling="mode",
                           target_aligned_pixels=True)
    array = read_raster(out)[0]
    assert set(np.unique(array)) <= {3, 7, 11, 200}
    np.testing.assert_array_equal(array[0, :2, :2], [[3, 7], [11, 3]])
    (odd,) = align_rasters([path], str(tmp_path / "odd"), resolution=1.3, resampling="mode",
                           target_crs="EPSG:3857")
    values = read_raster(odd)[0]
    assert set(np.unique(values[values != 0])) <= {3, 7, 11, 200}


def test_a_grid_already_on_the_lattice_is_copied(image, tmp_path):
    for method in ("lanczos", "cubic", "average"):
        (out,) = align_rasters([image], str(tmp_path / method), resampling=method)
        np.testing.assert_array_equal(read_raster(out)[0], read_raster(image)[0])


def test_nearest_onto_much_coarser_pixels_warns(image, tmp_path):
    warnings = []
    align_rasters([image], str(tmp_path), resolution=10.0, resampling="nearest",
                  warn=warnings.append)
    assert len(warnings) == 1 and "choose average" in warnings[0]


def test_cancel_leaves_no_output(image, tmp_path):
    with pytest.raises(Cancelled):
        align_rasters([image], str(tmp_path), cancelled=lambda: True)
    assert os.listdir(tmp_path) == []


def test_inputs_in_two_crss_need_a_target(image, tmp_path):
    other = write_raster(tmp_path / "utm11.tif", np.ones((3, 5, 5), np.int16), crs="EPSG:32611")
    with pytest.raises(GridMismatchError) as error:
        align_rasters([image, str(other)], str(tmp_path / "out"))
    assert str(error.value) == ("'utm11' is in another CRS than 'wv': choose a target CRS (or "
                                "a target grid) to reproject them onto one grid")
    assert not os.path.exists(tmp_path / "out")
    outputs = align_rasters([image, str(other)], str(tmp_path / "out"), target_crs="EPSG:32611")
    assert all(describe(out).grid.crs == describe(str(other)).grid.crs for out in outputs)


@pytest.mark.parametrize("resolution, message", [
    (0, "resolution 0 is not a cell size: give a positive cell size in target CRS units, "
        "or choose highest, lowest, average"),
    (-2.5, "resolution -2.5 is not a cell size"),
    ((1.0, math.nan), "resolution nan is not a cell size"),
    ("finest", "resolution 'finest' is unknown: choose one of highest, lowest, average or "
               "give a cell size"),
])
def test_a_resolution_that_is_not_a_size_is_refused(image, tmp_path, resolution, message):
    with pytest.raises(InvalidInputError) as error:
        align_rasters([image], str(tmp_path / "out"), resolution=resolution)
    assert str(error.value).startswith(message)
    assert not os.path.exists(tmp_path / "out")


def test_bad_resampling_and_crs_are_refused(image, tmp_path):
    with pytest.raises(InvalidInputError) as error:
        align_rasters([image], str(tmp_path), resampling="spline")
    assert str(error.value) == ("resampling 'spline' is unknown: choose one of nearest, "
                                "bilinear, cubic, average, lanczos, mode")
    with pytest.raises(InvalidInputError) as error:
        align_rasters([image], str(tmp_path), target_crs="EPSG:999999")
    assert str(error.value).startswith("target CRS 'EPSG:999999' cannot be read")
    assert os.listdir(tmp_path) == []
