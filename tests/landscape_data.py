"""Test maps and scipy references of the landscape tests (categories and diversity).

The categorical map is real-looking: land-cover-like classes cut from the
WorldView-3 sample (NDVI terciles x two brightness levels), with the image's
own nodata edge. The references are what a plain in-memory scipy user would
write: ``scipy.ndimage.gaussian_filter`` of each one-hot layer (divided by the
filtered validity where there is nodata) and numpy's entropy.
"""

import numpy as np
from rasterio.windows import Window, transform as window_transform
from scipy import ndimage

from support import WORLDVIEW, read_raster, write_raster

#: Class codes: tens = NDVI tercile (1 low .. 3 high), units = brightness (1 dark, 2 bright).
CODES = (11, 12, 21, 22, 31, 32)


def landcover(path, window, *, nodata=True):
    """Write the classes of ``window`` (row, col, height, width) of the WorldView-3 sample
    as a uint8 map (nodata 0 where the image has none, unless ``nodata`` is False,
    then the window must have no nodata). Returns (path, codes, valid)."""
    image, profile = read_raster(WORLDVIEW)
    row, col, height, width = window
    bands = image[:, row:row + height, col:col + width].astype(np.float64)
    valid = (bands != profile["nodata"]).all(axis=0)
    red, nir = bands[4], bands[6]
    ndvi = (nir - red) / np.where(valid, nir + red, 1)
    brightness = bands[1:5].mean(axis=0)
    terciles = np.quantile(ndvi[valid], [1 / 3, 2 / 3])
    codes = (10 * (1 + np.digitize(ndvi, terciles))
             + 1 + (brightness > np.median(brightness[valid]))).astype(np.uint8)
    codes[~valid] = 0
    assert nodata or valid.all()
    transform = window_transform(Window(col, row, width, height), profile["transform"])
    write_raster(str(path), codes, nodata=0 if nodata else None, crs=profile["crs"],
                 transform=transform)
    return str(path), codes, valid


def reference_proportions(codes, valid, categories, sigma, *, mode="constant",
                          truncate=4.0):
    """(n, rows, cols) float64 kernel-weighted shares: gaussian_filter of each one-hot
    layer over gaussian_filter of the validity (``mode='constant'`` is the nodata edge
    policy; 'nearest' and 'reflect' fill beyond the edge). NaN where nothing is valid."""
    def blur(array):
        return ndimage.gaussian_filter(array.astype(np.float64), sigma, mode=mode, cval=0.0,
                                       truncate=truncate)

    weight = blur(valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([blur((codes == value) & valid) / weight for value in categories])


def reference_entropy(layers, normaliser=None):
    """numpy Shannon entropy across the first axis (p = v / sum v), over ``normaliser``
    (default ln(n)); NaN where every layer is 0."""
    total = layers.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = layers / total
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1)), 0.0)
    entropy = terms.sum(axis=0) / (normaliser or np.log(len(layers)))
    return np.where(total > 0, entropy, np.nan)
