"""Shared fixtures: import the checkout as the package ``tessera``, sample data, raster helpers.

The repository root is the plugin folder, whatever the clone is called, so
the tests put a temporary folder holding a ``tessera`` symlink to the root on
``sys.path`` (worker processes inherit it). Nothing here imports QGIS: the
engine tests run on a plain Python; QGIS fixtures live in ``tests/qgis``.
"""

import os
import sys
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "examples", "data")
WORLDVIEW = os.path.join(DATA, "worldview3_2016-09-30.tif")
LANDSAT = os.path.join(DATA, "landsat_2022-03-13.tif")

PLUGINS = tempfile.mkdtemp(prefix="tessera-plugins-")
os.symlink(ROOT, os.path.join(PLUGINS, "tessera"))
sys.path.insert(0, PLUGINS)


def write_raster(path, array, *, nodata=None, crs="EPSG:32610", transform=None,
                 res=2.0, origin=(500000.0, 4200000.0)):
    """Write (bands, rows, cols) ``array`` as a GeoTIFF; return ``path``."""
    import rasterio
    from affine import Affine

    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    transform = transform or Affine(res, 0, origin[0], 0, -res, origin[1])
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[2], height=array.shape[1],
                       count=array.shape[0], dtype=array.dtype, crs=crs, transform=transform,
                       nodata=nodata) as ds:
        ds.write(array)
    return path


def read_raster(path):
    """(array, profile) of a raster."""
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(), ds.profile


def crop(source, path, window):
    """Copy ``window`` (row, col, height, width) of ``source`` to ``path``."""
    import rasterio
    from rasterio.windows import Window

    row, col, height, width = window
    with rasterio.open(source) as ds:
        rio_window = Window(col, row, width, height)
        return write_raster(path, ds.read(window=rio_window), nodata=ds.nodata,
                            crs=ds.crs, transform=ds.window_transform(rio_window))


@pytest.fixture(scope="session")
def worldview_crop(tmp_path_factory):
    """A 97 x 113 corner of the WorldView-3 image (nodata along its slanted edge)
    with a few seeded nodata holes punched inside, all bands int16."""
    path = str(tmp_path_factory.mktemp("crop") / "worldview_crop.tif")
    crop(WORLDVIEW, path, (0, 0, 97, 113))
    array, profile = read_raster(path)
    rng = np.random.default_rng(7)
    for _ in range(12):
        row, col = rng.integers(10, 85), rng.integers(10, 100)
        array[:, row:row + rng.integers(1, 5), col:col + rng.integers(1, 5)] = profile["nodata"]
    return write_raster(path, array, nodata=profile["nodata"], crs=profile["crs"],
                        transform=profile["transform"])
