"""Statistics masks: polygons and mask rasters select the same pixels; names match images."""

import numpy as np
import pytest
from affine import Affine

from support import write_raster
from tessera.engine.errors import InvalidInputError
from tessera.engine.masks import RasterMask, VectorMask, masks_for
from tessera.engine.windows import Grid, Window

GRID = Grid("EPSG:32610", Affine(2, 0, 1000, 0, -2, 2000), 20, 10)


def test_a_polygon_and_a_mask_raster_select_the_same_pixels(tmp_path):
    from shapely.geometry import box

    polygon = VectorMask("include", (box(1010, 1984, 1030, 2000).wkb,))  # cols 5-14, rows 0-7
    inside = polygon.usable(GRID, Window(0, 0, 10, 20))
    expected = np.zeros((10, 20), bool)
    expected[0:8, 5:15] = True
    np.testing.assert_array_equal(inside, expected)
    path = write_raster(tmp_path / "img_mask.tif", expected.astype(np.uint8)[None],
                        transform=GRID.transform)
    np.testing.assert_array_equal(RasterMask(str(path)).usable(GRID, Window(0, 0, 10, 20)),
                                  expected)
    window = Window(3, 4, 5, 6)
    np.testing.assert_array_equal(RasterMask(str(path), "exclude").usable(GRID, window),
                                  ~expected[3:8, 4:10])
    np.testing.assert_array_equal(VectorMask("exclude", ()).usable(GRID, window),
                                  np.ones((5, 6), bool))


def test_mask_rasters_are_matched_to_images_by_name(tmp_path):
    images = [write_raster(tmp_path / f"{name}.tif", np.ones((1, 4, 4), np.uint8))
              for name in ("a", "ab")]
    masks = [write_raster(tmp_path / f"{name}_mask.tif", np.ones((1, 4, 4), np.uint8))
             for name in ("ab", "a")]
    chosen = masks_for([str(p) for p in images], rasters=[str(p) for p in masks])
    assert [m.path for m in chosen] == [str(masks[1]), str(masks[0])]
    with pytest.raises(InvalidInputError, match="no mask raster for ab"):
        masks_for([str(p) for p in images], rasters=[str(masks[1])])
    with pytest.raises(InvalidInputError, match="not both"):
        masks_for([str(images[0])], vector="x.gpkg", rasters=[str(masks[0])])


def test_polygons_apply_to_the_images_their_field_names(tmp_path):
    import geopandas
    from shapely.geometry import box

    images = [str(write_raster(tmp_path / f"{name}.tif", np.ones((1, 4, 4), np.uint8)))
              for name in ("north", "south")]
    layer = str(tmp_path / "mask.gpkg")
    geopandas.GeoDataFrame({"images": ["north and east", "west"]},
                           geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)],
                           crs="EPSG:32610").to_file(layer)
    north, south = masks_for(images, vector=layer, field="images")
    assert len(north.shapes) == 1 and south.shapes == ()
    with pytest.raises(InvalidInputError, match="has no field 'image'.*images"):
        masks_for(images, vector=layer, field="image")
