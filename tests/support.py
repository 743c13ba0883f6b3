"""What every test shares: the checkout as the package ``tessera``, sample data, raster helpers.

The repository root is the plugin folder, whatever the clone is called, so
importing this module puts a temporary folder holding a ``tessera`` symlink
to the root on ``sys.path`` (worker processes inherit it). A plain module,
not a conftest: every conftest is imported under the one name ``conftest``.
Nothing here imports QGIS.
"""

import os
import sys
import tempfile

import numpy as np

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
