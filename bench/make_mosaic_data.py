"""Test data of the mosaic benchmark: 4 aligned, overlapping tiles cut from one synthetic raster.

Usage::

    /usr/bin/python3 bench/make_mosaic_data.py [--size 6000] [--data /tmp/tessera-bench]

Writes into ``<data>/mosaic/<size>/`` (skipped when ``tiles.json`` is already
there) 2 x 2 tiles ``tile_r{i}c{j}.tif`` of ``round(size / 1.8)`` pixels
(neighbours overlap by 20 % of a tile: 3333 px tiles overlapping by 666 px for
6000), cut from the ``size x size`` 4-band uint16 raster of
``common.make_uint16_x4`` (smooth sines plus noise, 1..10000, nodata 0 in a few
discs and a strip, some of which cross the overlaps), each tile brightened by its
own constant (:data:`TILE_OFFSETS`, clamped to 10000) so that overlaps differ and
the merge order shows in every overlap pixel. The source raster is
never written: each 256-row strip of it is made once and cut into the tiles it
crosses. The tiles share one pixel grid (EPSG:32633, 10 m, the raster's upper-left
corner at (500000, 5500000)), so every tile origin is exact, and are written
with the engine's own creation options (``common.gtiff_profile()``: tiled 256,
ZSTD level 1). ``tiles.json`` lists the tiles and their windows.
Deterministic (``common.SEED``).
"""

import json
import os
import time

import numpy as np

import common

CRS = "EPSG:32633"
ORIGIN = (500000.0, 5500000.0)
RESOLUTION = 10.0
NODATA = 0
OVERLAP_FRACTION = 0.2
#: Added to every valid pixel of tile 0, 1, 2, 3 (r0c0, r0c1, r1c0, r1c1).
TILE_OFFSETS = (0, 60, 120, 180)


def data_folder(data_dir: str, size: int) -> str:
    return os.path.join(data_dir, "mosaic", str(size))


def tile_size(size: int) -> int:
    """Side of each of the 2 x 2 tiles: two tiles overlapping by 20 % of a tile span ``size``."""
    return int(round(size / (2 - OVERLAP_FRACTION)))


def plan(size: int) -> dict:
    side = tile_size(size)
    step = size - side
    tiles = [{"name": f"tile_r{i}c{j}.tif", "row_off": i * step, "col_off": j * step,
              "height": side, "width": side, "offset": TILE_OFFSETS[2 * i + j]}
             for i in range(2) for j in range(2)]
    return {"size": size, "tile_size": side, "overlap": 2 * side - size, "crs": CRS,
            "resolution": RESOLUTION, "origin": list(ORIGIN), "nodata": NODATA,
            "dtype": "uint16", "bands": 4, "seed": common.SEED,
            "source": f"common.make_uint16_x4 pixels of a {size} x {size} raster",
            "tiles": tiles}


def make_mosaic_data(folder: str, size: int = 6000) -> dict:
    """Write the 4 tiles and ``tiles.json`` into ``folder``; return the plan."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    os.makedirs(folder, exist_ok=True)
    info = plan(size)
    strip = common.uint16_x4_strips(size, size)
    cols = np.arange(size, dtype=np.float64)
    outputs = {}
    try:
        for t in info["tiles"]:
            profile = dict(common.gtiff_profile(), width=t["width"], height=t["height"], count=4,
                           dtype="uint16", nodata=NODATA, crs=CRS,
                           transform=from_origin(ORIGIN[0] + t["col_off"] * RESOLUTION,
                                                 ORIGIN[1] - t["row_off"] * RESOLUTION,
                                                 RESOLUTION, RESOLUTION))
            outputs[t["name"]] = rasterio.open(os.path.join(folder, t["name"] + ".partial"), "w",
                                               **profile)
        for index, top in enumerate(range(0, size, common.STRIP_ROWS)):
            rows = np.arange(top, min(top + common.STRIP_ROWS, size), dtype=np.float64)
            pixels = strip(index, rows, cols)
            for t in info["tiles"]:
                r0 = max(top, t["row_off"])
                r1 = min(top + rows.size, t["row_off"] + t["height"])
                if r0 < r1:
                    part = pixels[:, r0 - top:r1 - top, t["col_off"]:t["col_off"] + t["width"]]
                    part = np.where(part == NODATA, part,
                                    np.minimum(part + t["offset"], 10000)).astype(np.uint16)
                    outputs[t["name"]].write(part, window=Window(0, r0 - t["row_off"],
                                                                 t["width"], r1 - r0))
    finally:
        for ds in outputs.values():
            ds.close()
    for t in info["tiles"]:
        os.replace(os.path.join(folder, t["name"] + ".partial"), os.path.join(folder, t["name"]))
    with open(os.path.join(folder, "tiles.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def ensure_mosaic_data(data_dir: str, size: int = 6000) -> dict:
    """The plan of the tile set of ``size`` in ``data_dir``, generated first if missing;
    returned with ``folder`` and absolute ``tiles[*]["path"]``."""
    folder = data_folder(data_dir, size)
    manifest = os.path.join(folder, "tiles.json")
    info = None
    if os.path.exists(manifest):
        with open(manifest) as f:
            info = json.load(f)
        if not all(os.path.exists(os.path.join(folder, t["name"])) for t in info["tiles"]):
            info = None
    if info is None:
        side = tile_size(size)
        print(f"generating {folder}: 4 tiles of {side} x {side} x 4 uint16 ...", flush=True)
        start = time.perf_counter()
        info = make_mosaic_data(folder, size)
        total = sum(os.path.getsize(os.path.join(folder, t["name"])) for t in info["tiles"])
        print(f"  done in {time.perf_counter() - start:.1f} s, {total / common.MIB:.0f} MiB "
              f"on disk", flush=True)
    info["folder"] = folder
    for t in info["tiles"]:
        t["path"] = os.path.join(folder, t["name"])
    return info


def main() -> None:
    common.tile_set_command(
        __doc__.splitlines()[0], 6000,
        "side of the mosaic in pixels (default 6000: 4 tiles of 3333)",
        lambda data, size: os.path.join(data_folder(data, size), "tiles.json"),
        ensure_mosaic_data)


if __name__ == "__main__":
    main()
