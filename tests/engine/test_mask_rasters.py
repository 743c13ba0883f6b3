"""Mask rasters by polygons: pixel-centre and all-touched selections against shapely and
GDAL, buffers, name matching, nodata choice, reprojection, invariance and bad input."""

import os

import numpy as np
import pytest
from affine import Affine

from support import read_raster, write_raster
from tessera.engine.errors import Cancelled, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.mask_rasters import mask_rasters

#: 2 m pixels, 12 rows x 16 columns, upper left corner at (1000, 2000).
TRANSFORM = Affine(2, 0, 1000, 0, -2, 2000)
ROWS, COLS = 12, 16
CRS = "EPSG:32610"


def _image(folder, name="img", dtype=np.uint16, nodata=None, bands=2):
    """Values 1 + row * 100 + col (+ 10000 in band 2); a 2 x 3 hole of nodata at rows 5-6,
    cols 7-9 when ``nodata`` is given."""
    rows, cols = np.mgrid[:ROWS, :COLS]
    array = np.stack([1 + rows * 100 + cols + 10000 * band for band in range(bands)])
    array = array.astype(dtype)
    if nodata is not None:
        array[:, 5:7, 7:10] = nodata
    return write_raster(os.path.join(folder, f"{name}.tif"), array, nodata=nodata, crs=CRS,
                        transform=TRANSFORM)


def _layer(folder, geometries, crs=CRS, name="mask", **fields):
    import geopandas

    path = os.path.join(folder, f"{name}.gpkg")
    geopandas.GeoDataFrame(fields or None, geometry=list(geometries), crs=crs).to_file(path)
    return path


def _centres():
    """(rows, cols, 2) map coordinates of every pixel centre."""
    rows, cols = np.mgrid[:ROWS, :COLS]
    return np.stack([1000 + 2 * (cols + 0.5), 2000 - 2 * (rows + 0.5)], axis=-1)


def _pixel_boxes():
    from shapely.geometry import box

    return [[box(1000 + 2 * c, 2000 - 2 * (r + 1), 1000 + 2 * (c + 1), 2000 - 2 * r)
             for c in range(COLS)] for r in range(ROWS)]


#: A quadrilateral whose edges cut pixels at odd places (no centre lies on an edge).
QUAD = [(1003.3, 1997.1), (1027.9, 1991.2), (1024.2, 1979.3), (1005.1, 1983.7)]


def _run(tmp_path, inputs, mask, name="out", **options):
    return mask_rasters(inputs, mask, str(tmp_path / name), **options)


def test_include_keeps_exactly_the_pixels_whose_centres_are_inside(tmp_path):
    from shapely.geometry import Point, Polygon

    quad = Polygon(QUAD)
    image = _image(str(tmp_path), nodata=0)
    (out,) = _run(tmp_path, [image], _layer(str(tmp_path), [quad]))
    inside = np.array([[quad.contains(Point(*xy)) for xy in row] for row in _centres()])
    source = read_raster(image)[0]
    array, profile = read_raster(out)
    assert profile["nodata"] == 0 and profile["dtype"] == "uint16"
    assert 20 < inside.sum() < 100 and (inside & (source[0] == 0)).any()  # hole inside
    np.testing.assert_array_equal(array, np.where(inside, source, 0))


def test_all_touched_adds_exactly_the_pixels_the_polygon_touches(tmp_path):
    import rasterio.features
    from shapely.geometry import Polygon

    quad = Polygon(QUAD)
    image = _image(str(tmp_path), nodata=0)
    (out,) = _run(tmp_path, [image], _layer(str(tmp_path), [quad]), all_touched=True)
    touched = np.array([[pixel.intersection(quad).area > 0 for pixel in row]
                        for row in _pixel_boxes()])
    gdal = rasterio.features.geometry_mask([quad], (ROWS, COLS), TRANSFORM, invert=True,
                                           all_touched=True)
    np.testing.assert_array_equal(touched, gdal)
    source = read_raster(image)[0]
    np.testing.assert_array_equal(read_raster(out)[0], np.where(touched, source, 0))


def test_exclude_is_the_complement_and_input_nodata_stays_nodata(tmp_path):
    from shapely.geometry import Polygon

    image = _image(str(tmp_path), nodata=0)
    layer = _layer(str(tmp_path), [Polygon(QUAD)])
    (kept,) = _run(tmp_path, [image], layer, name="in")
    (dropped,) = _run(tmp_path, [image], layer, name="out", mode="exclude")
    source, kept, dropped = read_raster(image)[0], read_raster(kept)[0], read_raster(dropped)[0]
    assert (kept > 0).any() and (dropped > 0).any()
    np.testing.assert_array_equal(kept + dropped, source)  # each pixel kept exactly once
    assert not dropped[:, 5:7, 7:10].any() and not kept[:, 5:7, 7:10].any()


def test_a_buffer_grows_the_kept_square_by_its_distance(tmp_path):
    from shapely.geometry import Point, box

    square = box(1010, 1980, 1020, 1990)  # pixel edges: cols 5-9, rows 5-9
    image = _image(str(tmp_path))
    layer = _layer(str(tmp_path), [square])
    (grown,) = _run(tmp_path, [image], layer, name="grown", buffer=4.1, nodata=0)
    (shrunk,) = _run(tmp_path, [image], layer, name="shrunk", buffer=-2.0, nodata=0)
    near = np.array([[square.distance(Point(*xy)) < 4.1 for xy in row] for row in _centres()])
    assert near.sum() == 9 * 9 - 4  # two pixels more on each side; corner pixels are 4.24 m
    # from the square's corners, beyond the rounded corners of the grown polygon
    np.testing.assert_array_equal(read_raster(grown)[0][0] > 0, near)
    expected = np.zeros((ROWS, COLS), bool)
    expected[6:9, 6:9] = True  # one pixel less on each side
    np.testing.assert_array_equal(read_raster(shrunk)[0][0] > 0, expected)


def test_images_get_only_the_features_whose_field_contains_their_name(tmp_path):
    from shapely.geometry import box

    folder = str(tmp_path)
    names = ("north", "south", "west", "east")
    images = [_image(folder, name, nodata=0) for name in names]
    left, right = box(1000, 1976, 1016, 2000), box(1016, 1976, 1032, 2000)
    layer = _layer(folder, [left, right, box(0, 0, 1, 1)],
                   image=["north_seam", "south", "west"])
    warnings = []
    outputs = _run(tmp_path, images, layer, field="image", warn=warnings.append)
    assert [os.path.basename(path) for path in outputs] == [f"{name}_masked.tif"
                                                            for name in names]
    source = read_raster(images[0])[0]
    for path, cols in zip(outputs[:2], (slice(0, 8), slice(8, 16))):
        expected = np.zeros_like(source)
        expected[:, :, cols] = source[:, :, cols]
        np.testing.assert_array_equal(read_raster(path)[0], expected)
    assert not read_raster(outputs[2])[0].any() and not read_raster(outputs[3])[0].any()
    assert warnings == [
        "no mask polygon overlaps 'west': the output of 'west' is all nodata",
        "no feature's 'image' value contains 'east': the output of 'east' is all nodata"]
    warnings.clear()
    _run(tmp_path, images[2:3], layer, field="image", mode="exclude", warn=warnings.append)
    assert warnings == ["no mask polygon overlaps 'west': the output of 'west' is a copy of "
                        "the input"]


def test_a_chosen_nodata_is_announced_and_valid_pixels_of_that_value_are_kept(tmp_path):
    from shapely.geometry import box

    array = np.full((1, ROWS, COLS), 7, np.uint8)
    array[0, 0, 0] = 255  # a valid pixel on the default uint8 nodata
    array[0, 0, 1] = 0  # and one on 0
    image = write_raster(str(tmp_path / "bright.tif"), array, crs=CRS, transform=TRANSFORM)
    layer = _layer(str(tmp_path), [box(1000, 1990, 1020, 2000)])  # rows 0-4, cols 0-9
    warnings = []
    (chosen,) = _run(tmp_path, [image], layer, name="chosen", warn=warnings.append)
    (given,) = _run(tmp_path, [image], layer, name="given", nodata=0)
    out, profile = read_raster(chosen)
    assert profile["nodata"] == 255
    assert out[0, 0, 0] == 254 and out[0, 0, 1] == 0 and out[0, 0, 12] == 255
    assert len(warnings) == 1 and "'bright' has no nodata value: masked pixels are set to " \
                                   "255, the uint8 default" in warnings[0]
    out, profile = read_raster(given)
    assert profile["nodata"] == 0
    assert out[0, 0, 0] == 255 and out[0, 0, 1] == 1 and out[0, 0, 12] == 0
    with pytest.raises(InvalidInputError, match="'bright' output nodata 300 does not fit"):
        _run(tmp_path, [image], layer, name="bad", nodata=300)


def test_output_type_and_band_counts_may_differ(tmp_path):
    from shapely.geometry import box

    one = _image(str(tmp_path), "one", bands=1)
    two = _image(str(tmp_path), "two", nodata=65535, bands=2)
    layer = _layer(str(tmp_path), [box(1000, 1990, 1020, 2000)])
    warnings = []
    first, second = _run(tmp_path, [one, two], layer, dtype="float32", warn=warnings.append)
    a, profile = read_raster(first)
    assert profile["dtype"] == "float32" and np.isnan(profile["nodata"]) and a.shape[0] == 1
    assert np.isnan(a[0, 6, 0]) and a[0, 0, 0] == 1.0
    b, profile = read_raster(second)
    assert profile["nodata"] == 65535 and b.shape[0] == 2 and b[1, 0, 0] == 10001
    assert len(warnings) == 1 and "'one' has no nodata value" in warnings[0]


def test_a_mask_in_another_crs_is_reprojected(tmp_path):
    import geopandas
    from shapely.geometry import Polygon

    image = _image(str(tmp_path), nodata=0)
    here = _layer(str(tmp_path), [Polygon(QUAD)], name="utm")
    there = geopandas.read_file(here).to_crs("EPSG:4326")
    there.to_file(str(tmp_path / "wgs84.gpkg"))
    (expected,) = _run(tmp_path, [image], here, name="utm")
    (got,) = _run(tmp_path, [image], str(tmp_path / "wgs84.gpkg"), name="wgs84")
    np.testing.assert_array_equal(read_raster(got)[0], read_raster(expected)[0])


@pytest.mark.parametrize("all_touched", [False, True])
def test_windows_and_workers_do_not_change_a_byte(tmp_path, worldview_crop, all_touched):
    import rasterio
    from shapely.geometry import Polygon

    with rasterio.open(worldview_crop) as ds:
        t, crs = ds.transform, ds.crs
    # vertices on pixel corners and centres: edges run exactly along pixel edges and
    # through pixel centres, the ties a window's origin rounding would flip
    corners = [(3, 2), (60.5, 9.5), (100, 40), (48, 90.5), (10, 70)]
    layer = _layer(str(tmp_path), [Polygon([(t.c + t.a * col, t.f + t.e * row)
                                            for col, row in corners])], crs=crs)
    runs = [_run(tmp_path, [worldview_crop], layer, name=f"run{k}", all_touched=all_touched,
                 execution=execution)[0]
            for k, execution in enumerate([Execution(window_size=512), Execution(window_size=7),
                                           Execution(window_size=3),
                                           Execution("processes", 2, 16)])]
    whole = read_raster(runs[0])[0]
    assert 0 < (whole != -9999).sum() < whole.size
    for path in runs[1:]:
        assert read_raster(path)[0].tobytes() == whole.tobytes()


def test_bad_input_is_refused_before_any_output(tmp_path):
    from shapely.geometry import box

    image = _image(str(tmp_path))
    layer = _layer(str(tmp_path), [box(1000, 1990, 1020, 2000)], name="seams",
                   image=["img"], area=[1.0])
    with pytest.raises(InvalidInputError,
                       match="mask layer 'seams.gpkg' has no field 'name': fields are image, area"):
        _run(tmp_path, [image], layer, field="name")
    with pytest.raises(InvalidInputError, match="mask mode 'inside' is unknown"):
        _run(tmp_path, [image], layer, mode="inside")
    with pytest.raises(FileNotFoundError, match="mask layer '.*nowhere.gpkg' does not exist"):
        _run(tmp_path, [image], str(tmp_path / "nowhere.gpkg"))
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_text("not a layer")
    with pytest.raises(FileNotFoundError, match="cannot be read as a vector layer"):
        _run(tmp_path, [image], str(garbage))
    assert not os.path.exists(tmp_path / "out")


def test_cancel_leaves_no_output(tmp_path):
    from shapely.geometry import box

    images = [_image(str(tmp_path), name) for name in ("a", "b")]
    layer = _layer(str(tmp_path), [box(1000, 1990, 1020, 2000)])
    calls = []

    def cancel_mid_run():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        _run(tmp_path, images, layer, nodata=0, cancelled=cancel_mid_run,
             execution=Execution(window_size=4))
    assert os.listdir(tmp_path / "out") == []
