"""Test data of the radiometric-normalization benchmark: 4 distorted overlapping tiles
cut from a seamless truth mosaic, and that truth.

Usage::

    /usr/bin/python3 bench/make_radiometry_data.py [--size 3000] [--data /tmp/tessera-bench]

Writes into ``<data>/radiometry/<size>/`` (skipped when ``distortions.json`` is
already there):

* ``truth.tif``: the truth mosaic, ``size x size x 4`` int16, nodata -9999. Its
  texture is the first 4 bands of the WorldView-3 sample
  (``shared/data/worldview3_2016-09-30.tif``, 451 x 452) mirrored like a
  reflect pad (``numpy.pad(mode="reflect")``: the edge pixel is not repeated)
  as far as needed, so the truth has no seam. The source's nodata border
  (a few pixels along its rotated footprint) is mirrored too: it becomes thin
  nodata lines and triangles in the truth and in every tile.
* ``tile_r{i}c{j}.tif``: 2 x 2 tiles of ``round(size / 1.8)`` pixels, so two
  neighbours overlap by ~20 % of a tile; the 4 share the truth's pixel grid
  (EPSG:32610, 2.25 m pixels: the source's 2.2256 m rounded to a value exact
  in binary so every tile origin is exact). Each tile is the truth with, per
  band ``b``::

      tile = rint(gain[b] * truth * illumination(row, col) + offset[b])

  clamped to int16 (a value landing on -9999 becomes -9998), nodata where the
  truth is nodata. ``gain`` is drawn in [0.75, 1.3], ``offset`` in [-300, 400]
  and ``illumination`` is one smooth multiplicative field per tile (same for
  all bands): a tilted plane plus a Gaussian bump, within +-15 %.
* ``distortions.json``: the grid, the tile windows and every parameter above.

Everything is written strip by strip (the truth strip is made once and cut
into the tiles it crosses), so ``--size 18000`` (4 tiles of 10000 x 10000)
runs in a few hundred MiB. Deterministic: seeded by :data:`SEED`.
Written with the engine's own creation options (``common.gtiff_profile()``).
"""

import json
import os
import time
from typing import Dict

import numpy as np

import common

SOURCE = os.path.join(os.path.dirname(common.REPO_ROOT), "shared", "data",
                      "worldview3_2016-09-30.tif")
if not os.path.exists(SOURCE):
    SOURCE = "/work/shared/data/worldview3_2016-09-30.tif"
BANDS = (1, 2, 3, 4)
NODATA = -9999
SEED = 20250930
CRS = "EPSG:32610"
RESOLUTION = 2.25
ORIGIN = (546428.375, 4183889.875)  # the source's upper-left corner, rounded to 1/8 m
#: Where the mirrored source starts in the truth (so tile edges and mirror lines differ).
SHIFT = (137, 211)
STRIP_ROWS = 256
OVERLAP_FRACTION = 0.2
GAIN_RANGE = (0.75, 1.3)
OFFSET_RANGE = (-300.0, 400.0)
ILLUMINATION_LIMIT = 0.15


def data_folder(data_dir: str, size: int) -> str:
    return os.path.join(data_dir, "radiometry", str(size))


def tile_size(size: int) -> int:
    """Side of each of the 2 x 2 tiles: two tiles overlapping by 20 % of a tile span ``size``."""
    return int(round(size / (2 - OVERLAP_FRACTION)))


def _reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Indices into a length-``n`` axis for a reflect pad repeated forever (no edge repeat)."""
    period = 2 * (n - 1)
    m = np.mod(index, period)
    return np.where(m < n, m, period - m)


def _illumination_params(rng: np.random.Generator) -> Dict[str, float]:
    """A tilted plane (+-5..9 %) plus a Gaussian bump (+-3..6 %) in tile coordinates [0, 1]."""
    angle = rng.uniform(0, 2 * np.pi)
    slope = rng.uniform(0.05, 0.09)
    return {
        "plane_x": float(slope * np.cos(angle)),  # change from the tile centre to its edge
        "plane_y": float(slope * np.sin(angle)),
        "bump": float(rng.choice([-1, 1]) * rng.uniform(0.03, 0.06)),
        "bump_x": float(rng.uniform(0.25, 0.75)),
        "bump_y": float(rng.uniform(0.25, 0.75)),
        "bump_sigma": float(rng.uniform(0.2, 0.35)),
    }


def illumination(params: Dict[str, float], rows: np.ndarray, cols: np.ndarray,
                 side: int) -> np.ndarray:
    """The multiplicative field at tile pixel ``rows x cols`` (tile of ``side`` pixels)."""
    y = (rows[:, None] + 0.5) / side
    x = (cols[None, :] + 0.5) / side
    field = (1.0 + params["plane_x"] * (2 * x - 1) + params["plane_y"] * (2 * y - 1)
             + params["bump"] * np.exp(-((x - params["bump_x"]) ** 2 + (y - params["bump_y"]) ** 2)
                                       / (2 * params["bump_sigma"] ** 2)))
    return np.clip(field, 1 - ILLUMINATION_LIMIT, 1 + ILLUMINATION_LIMIT)


def plan(size: int) -> dict:
    """The grid, the tiles and their distortions (no pixel is made here)."""
    side = tile_size(size)
    step = size - side
    rng = np.random.default_rng(SEED)
    tiles = []
    for i in range(2):
        for j in range(2):
            tiles.append({
                "name": f"tile_r{i}c{j}.tif",
                "row_off": i * step, "col_off": j * step, "height": side, "width": side,
                "gain": [float(g) for g in rng.uniform(*GAIN_RANGE, len(BANDS))],
                "offset": [float(o) for o in rng.uniform(*OFFSET_RANGE, len(BANDS))],
                "illumination": _illumination_params(rng),
            })
    return {
        "source": SOURCE, "source_bands": list(BANDS), "mirror_shift_rows_cols": list(SHIFT),
        "size": size, "tile_size": side, "overlap": 2 * side - size,
        "crs": CRS, "resolution": RESOLUTION, "origin": list(ORIGIN),
        "nodata": NODATA, "dtype": "int16", "seed": SEED,
        "model": "tile = rint(gain[b] * truth * illumination + offset[b]), clamped to int16",
        "truth": "truth.tif", "tiles": tiles,
    }


def _profile(width: int, height: int, row_off: int, col_off: int) -> dict:
    from rasterio.transform import from_origin

    return dict(common.gtiff_profile(), width=width, height=height, count=len(BANDS),
                dtype="int16", nodata=NODATA, crs=CRS,
                transform=from_origin(ORIGIN[0] + col_off * RESOLUTION,
                                      ORIGIN[1] - row_off * RESOLUTION, RESOLUTION, RESOLUTION))


def _distort(truth: np.ndarray, valid: np.ndarray, tile: dict, rows: np.ndarray,
             cols: np.ndarray) -> np.ndarray:
    field = illumination(tile["illumination"], rows, cols, tile["width"])
    out = np.empty(truth.shape, dtype=np.int16)
    for b in range(truth.shape[0]):
        values = np.rint(tile["gain"][b] * truth[b] * field + tile["offset"][b])
        values = np.clip(values, -32768, 32767).astype(np.int16)
        values[values == NODATA] = NODATA + 1
        values[~valid] = NODATA
        out[b] = values
    return out


def make_radiometry_data(folder: str, size: int = 3000) -> dict:
    """Write the truth, the 4 tiles and ``distortions.json`` into ``folder``; return the plan."""
    import rasterio
    from rasterio.windows import Window

    os.makedirs(folder, exist_ok=True)
    info = plan(size)
    with rasterio.open(SOURCE) as src:
        source = src.read(list(BANDS))
    s_rows, s_cols = source.shape[1:]
    cols = np.arange(size)
    src_cols = _reflect(cols + SHIFT[1], s_cols)

    temps = {name: os.path.join(folder, name + ".partial")
             for name in [info["truth"]] + [t["name"] for t in info["tiles"]]}
    outputs = {info["truth"]: rasterio.open(temps[info["truth"]], "w", **_profile(size, size, 0, 0))}
    for t in info["tiles"]:
        outputs[t["name"]] = rasterio.open(temps[t["name"]], "w", **_profile(
            t["width"], t["height"], t["row_off"], t["col_off"]))
    try:
        for top in range(0, size, STRIP_ROWS):
            rows = np.arange(top, min(top + STRIP_ROWS, size))
            src_rows = _reflect(rows + SHIFT[0], s_rows)
            truth = source[:, src_rows][:, :, src_cols]  # (bands, n, size) int16
            outputs[info["truth"]].write(truth, window=Window(0, top, size, rows.size))
            valid = (truth != NODATA).all(axis=0)
            for t in info["tiles"]:
                r0 = max(top, t["row_off"])
                r1 = min(top + rows.size, t["row_off"] + t["height"])
                if r0 >= r1:
                    continue
                c0, c1 = t["col_off"], t["col_off"] + t["width"]
                part = truth[:, r0 - top:r1 - top, c0:c1].astype(np.float64)
                tile_rows = np.arange(r0, r1) - t["row_off"]
                tile_cols = np.arange(t["width"])
                pixels = _distort(part, valid[r0 - top:r1 - top, c0:c1], t, tile_rows, tile_cols)
                outputs[t["name"]].write(pixels, window=Window(0, r0 - t["row_off"],
                                                               t["width"], r1 - r0))
    finally:
        for ds in outputs.values():
            ds.close()
    for name, temp in temps.items():
        os.replace(temp, os.path.join(folder, name))
    with open(os.path.join(folder, "distortions.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def ensure_radiometry_data(data_dir: str, size: int = 3000) -> dict:
    """The plan of the data set of ``size`` in ``data_dir``, generated first if missing.

    Returned with absolute ``truth`` and ``tiles[*]["path"]``.
    """
    folder = data_folder(data_dir, size)
    manifest = os.path.join(folder, "distortions.json")
    info = None
    if os.path.exists(manifest):
        with open(manifest) as f:
            info = json.load(f)
        names = [info["truth"]] + [t["name"] for t in info["tiles"]]
        if not all(os.path.exists(os.path.join(folder, n)) for n in names):
            info = None
    if info is None:
        side = tile_size(size)
        print(f"generating {folder}: truth {size} x {size} x {len(BANDS)} int16 and 4 tiles "
              f"of {side} x {side} ...", flush=True)
        start = time.perf_counter()
        info = make_radiometry_data(folder, size)
        total = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        print(f"  done in {time.perf_counter() - start:.1f} s, {total / common.MIB:.0f} MiB "
              f"on disk", flush=True)
    info["folder"] = folder
    info["truth_path"] = os.path.join(folder, info["truth"])
    for t in info["tiles"]:
        t["path"] = os.path.join(folder, t["name"])
    return info


def main() -> None:
    common.tile_set_command(
        __doc__.splitlines()[0], 3000,
        "side of the truth mosaic in pixels (default 3000; 18000 makes 4 tiles of 10000 x 10000)",
        lambda data, size: os.path.join(data_folder(data, size), "distortions.json"),
        ensure_radiometry_data)


if __name__ == "__main__":
    main()
