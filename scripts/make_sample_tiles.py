"""Cut the flagship demo's sample tiles from the WorldView-3 sample image.

    /usr/bin/python3 scripts/make_sample_tiles.py

Writes ``examples/data/tiles/tile_{nw,ne,sw,se}.tif``: four tiles of 270 x 270
pixels in a 2 x 2 layout overlapping by about a third, with the blue, green,
red and near-infrared bands (WorldView-3 bands 2, 3, 5, 7). Each tile gets the
radiometric differences of separate acquisitions: a known gain and offset per
band and an illumination gradient of +-8% across the tile. The south-east
tile is also resampled (bilinear) to 2.5 m pixels on another lattice, as a
tile from another sensor would be, so the demo's alignment step has work to
do. int16, nodata -9999 as in the source. The files are committed; this
script documents how they were made and remakes them identically.
"""

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "examples", "data", "worldview3_2016-09-30.tif")
FOLDER = os.path.join(ROOT, "examples", "data", "tiles")
BANDS = (2, 3, 5, 7)
SIZE = 270
NODATA = -9999
#: name -> (row, col of the tile in the source, per-band gain, per-band offset, gradient
#: direction (rows, cols)).
TILES = {
    "tile_nw": (0, 0, (1.00, 1.00, 1.00, 1.00), (0, 0, 0, 0), (0.0, 1.0)),
    "tile_ne": (0, 181, (1.18, 1.12, 1.10, 0.92), (40, -25, 30, 80), (1.0, 0.0)),
    "tile_sw": (182, 0, (0.86, 0.90, 0.95, 1.10), (-30, 20, -40, -60), (-1.0, 0.0)),
    "tile_se": (182, 181, (1.08, 0.95, 1.20, 1.05), (60, 50, -20, 0), (0.0, -1.0)),
}
GRADIENT = 0.08
COARSE_RES = 2.5


def distorted(values, valid, gain, offset, direction):
    """``gain * values * illumination + offset`` per band, nodata kept."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    shade = 1 + GRADIENT * 2 * (direction[0] * rows + direction[1] * cols)
    out = np.empty(values.shape, np.int16)
    for band in range(values.shape[0]):
        scaled = np.rint(values[band] * gain[band] * shade + offset[band])
        out[band] = np.where(valid[band], np.clip(scaled, -9998, 32767), NODATA)
    return out


def write(path, array, transform, crs):
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=array.shape[2], height=array.shape[1],
                       count=array.shape[0], dtype="int16", crs=crs, transform=transform,
                       nodata=NODATA, tiled=True, compress="deflate", predictor=2) as ds:
        ds.write(array)
        for band, name in enumerate(("blue", "green", "red", "nir"), start=1):
            ds.set_band_description(band, name)


def coarser(array, transform, crs):
    """``array`` resampled to COARSE_RES pixels (bilinear; nodata stays nodata)."""
    from affine import Affine
    from rasterio.warp import Resampling, reproject

    width = int(SIZE * transform.a / COARSE_RES)
    target = Affine(COARSE_RES, 0, transform.c + 0.7, 0, -COARSE_RES, transform.f - 0.4)
    out = np.full((array.shape[0], width, width), NODATA, np.int16)
    reproject(array, out, src_transform=transform, src_crs=crs, src_nodata=NODATA,
              dst_transform=target, dst_crs=crs, dst_nodata=NODATA,
              resampling=Resampling.bilinear)
    return out, target


def main():
    import rasterio
    from rasterio.windows import Window

    os.makedirs(FOLDER, exist_ok=True)
    with rasterio.open(SOURCE) as ds:
        crs = ds.crs
        for name, (row, col, gain, offset, direction) in TILES.items():
            window = Window(col, row, SIZE, SIZE)
            values = ds.read(BANDS, window=window).astype(np.float64)
            valid = values != ds.nodata
            array = distorted(values, valid, gain, offset, direction)
            transform = ds.window_transform(window)
            if name == "tile_se":
                array, transform = coarser(array, transform, crs)
            write(os.path.join(FOLDER, f"{name}.tif"), array, transform, crs)
            print(f"wrote {name}.tif {array.shape}")


if __name__ == "__main__":
    main()
