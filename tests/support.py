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


#: Nodata of :func:`uniform_raster`: the extreme uint16 value, so a leak would show.
UINT16_NODATA = 65535


def uniform_raster(path, values, *, bands=2, size=(20, 20), origin=(500000.0, 4200000.0),
                   res=2.0, holes=(), crs="EPSG:32610"):
    """A uint16 raster of ``values`` (one per band) with UINT16_NODATA in the
    (row, col, height, width) ``holes``; missing folders are created. Returns ``path``."""
    array = np.empty((bands,) + size, np.uint16)
    array[:] = np.asarray(values, np.uint16)[:, None, None]
    for row, col, height, width in holes:
        array[:, row:row + height, col:col + width] = UINT16_NODATA
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    return write_raster(str(path), array, nodata=UINT16_NODATA, res=res, origin=origin, crs=crs)


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


#: Pixel offsets (row, col) of four 2 x 2 tiles overlapping by 40% in :func:`distorted_tiles`.
TILE_ORIGINS = ((0, 0), (0, 60), (60, 0), (60, 60))
TILE_SIZE = 100


#: Per-image, per-band gains and offsets that tests apply with :func:`distorted_tiles`
#: (image 0 is the undistorted reference).
GAINS = [[1.0] * 3, [1.2, 0.9, 1.1], [0.8, 1.15, 0.95], [1.1, 1.05, 0.85]]
OFFSETS = [[0.0] * 3, [50, -20, 10], [-30, 40, 0], [100, 0, -60]]


def distorted_tiles(folder, gains, offsets, *, gradient=0.0, dtype=np.int16, bands=3):
    """Four overlapping 100 x 100 tiles cut from the WorldView-3 image, with nodata holes, each
    distorted per band by ``gain * truth * (1 + gradient * ramp) + offset``, where ramp runs
    -0.5..0.5 across the tile (left to right for odd tiles, right to left for even ones).

    Returns (tile paths, truth array (bands, 160, 160) with NaN at nodata).
    """
    from affine import Affine

    truth, profile = read_raster(WORLDVIEW)
    truth = truth[:bands, 100:260, 100:260].astype(np.float64)
    truth[truth == profile["nodata"]] = np.nan
    truth[:, 20:30, 40:70] = np.nan  # nodata across an overlap
    rows, cols = np.ogrid[:160, :160]
    truth[:, (rows - 110) ** 2 + (cols - 120) ** 2 < 64] = np.nan
    transform = profile["transform"]
    paths = []
    ramp = np.linspace(-0.5, 0.5, TILE_SIZE)[None, None, :]
    for k, (row, col) in enumerate(TILE_ORIGINS):
        part = truth[:, row:row + TILE_SIZE, col:col + TILE_SIZE]
        shade = 1 + gradient * (ramp if k % 2 else ramp[..., ::-1])
        gain = np.asarray(gains[k], float).reshape(-1, 1, 1)
        offset = np.asarray(offsets[k], float).reshape(-1, 1, 1)
        values = np.where(np.isnan(part), -9999, np.round(part * gain * shade + offset)
                          if np.dtype(dtype).kind != "f" else part * gain * shade + offset)
        tile_transform = Affine(transform.a, 0, transform.c + transform.a * (100 + col),
                                0, transform.e, transform.f + transform.e * (100 + row))
        paths.append(write_raster(os.path.join(folder, f"tile{k}.tif"), values.astype(dtype),
                                  nodata=-9999, crs=profile["crs"], transform=tile_transform))
    return paths, truth


def truth_of_tile(truth, k):
    """The truth pixels under tile ``k`` of :func:`distorted_tiles`."""
    row, col = TILE_ORIGINS[k]
    return truth[:, row:row + TILE_SIZE, col:col + TILE_SIZE]
