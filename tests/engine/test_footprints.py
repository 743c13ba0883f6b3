"""Footprints: exact valid areas, holes, simplification, reprojection, GeoPackage output."""

import numpy as np
import pytest

from support import LANDSAT, WORLDVIEW, read_raster, write_raster
from tessera.engine.errors import InvalidInputError, MissingInputError
from tessera.engine.executors import Execution
from tessera.engine.footprints import LAYER, footprint, footprints


@pytest.fixture
def ring(tmp_path):
    """A 20 x 30 raster, 2 m pixels: valid 16 x 24 block with a 4 x 4 hole and an island."""
    array = np.zeros((2, 20, 30), np.uint8)
    array[:, 2:18, 3:27] = 1
    array[:, 8:12, 10:14] = 0
    array[0, 19, 29] = 1  # valid in band 1 only
    return write_raster(tmp_path / "ring.tif", array, nodata=0, res=2.0,
                        origin=(1000.0, 2000.0))


def test_area_equals_valid_pixels_times_pixel_area(ring):
    shape = footprint(ring, execution=Execution(window_size=7))
    assert shape.area == pytest.approx((16 * 24 - 16 + 1) * 4.0)
    assert len(shape.geoms) == 2
    main = max(shape.geoms, key=lambda p: p.area)
    assert main.bounds == (1006.0, 1964.0, 1054.0, 1996.0)
    assert len(main.interiors) == 1


def test_all_bands_combination_drops_the_band_one_island(ring):
    shape = footprint(ring, combine="all")
    assert shape.area == pytest.approx((16 * 24 - 16) * 4.0) and len(shape.geoms) == 1


def test_small_holes_are_filled_and_simplify_keeps_area(ring):
    filled = footprint(ring, min_hole_area=64.1)
    assert filled.area == pytest.approx((16 * 24 + 1) * 4.0)
    assert footprint(ring, min_hole_area=63.9).area == pytest.approx((16 * 24 - 16 + 1) * 4.0)
    assert footprint(ring, simplify=1.0).area == pytest.approx(footprint(ring).area, rel=0.05)


def test_real_images_to_one_geopackage(tmp_path):
    import geopandas

    out = footprints([WORLDVIEW, LANDSAT], str(tmp_path / "fp.gpkg"))
    table = geopandas.read_file(out, layer=LAYER)
    assert list(table["image"]) == ["worldview3_2016-09-30", "landsat_2022-03-13"]
    assert table.crs.to_epsg() == 32610
    data, profile = read_raster(WORLDVIEW)
    valid = (data != profile["nodata"]).any(axis=0).sum()
    pixel_area = abs(profile["transform"].a * profile["transform"].e)
    assert table["area"][0] == pytest.approx(valid * pixel_area)
    assert table.geometry[0].area == pytest.approx(valid * pixel_area)
    landsat = footprint(LANDSAT)
    # the Landsat footprint was reprojected from EPSG:32605 into the first raster's CRS
    assert table.geometry[1].bounds != landsat.bounds
    assert [name for name in tmp_path.iterdir() if "partial" in name.name] == []


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(rasters=[]), InvalidInputError, "no input raster given"),
    (dict(output="fp.shp"), InvalidInputError, "give 'fp.shp' the extension .gpkg"),
    (dict(rasters=["missing.tif"]), MissingInputError, "'missing.tif' does not exist"),
    (dict(combine="most"), InvalidInputError, "band combination 'most' is unknown"),
    (dict(simplify=-1), InvalidInputError, "must be 0 or more"),
])
def test_bad_input(tmp_path, monkeypatch, kwargs, error, words):
    monkeypatch.chdir(tmp_path)
    arguments = dict(rasters=[WORLDVIEW], output="fp.gpkg")
    arguments.update(kwargs)
    with pytest.raises(error) as info:
        footprints(arguments.pop("rasters"), arguments.pop("output"), **arguments)
    assert words in str(info.value)
    assert list(tmp_path.iterdir()) == []
