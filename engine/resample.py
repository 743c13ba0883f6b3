"""Reading a raster onto another pixel grid of the same CRS, nodata-safe.

Radiometric pairing, masks and mosaics need a raster's pixels on another
raster's grid. When both grids share pixel size and alignment this is a plain
read at an offset (exact, no resampling). Otherwise each target pixel centre
is mapped into the source raster and:

* ``nearest`` takes the source pixel containing it;
* ``bilinear`` weights the four surrounding source pixels, using only the
  *valid* ones and renormalising their weights, so a nodata value never bleeds
  into a valid one (the defect of resizing first and masking after).

A target pixel is valid exactly where its nearest source pixel is valid, for
both methods, so footprints do not grow or shrink with the method. Each
target pixel depends only on its own position, never on the window it was
read in, so results do not depend on tiling.
"""

import math
from dataclasses import replace
from typing import Tuple

import numpy as np

from .errors import InvalidInputError, check_choice
from .raster_io import Block, Source, dataset_transform, read_block
from .windows import Window

RESAMPLINGS = ("nearest", "bilinear")


def read_onto(source: Source, window: Window, edge: str) -> Block:
    """Read ``window`` of ``source.grid`` from ``source.path`` (see the module notes)."""
    check_choice(source.resampling, RESAMPLINGS, "resampling")
    own = dataset_transform(source.path)
    target = source.grid.transform
    plain = replace(source, grid=None)
    if own.b or own.d or target.b or target.d:
        raise InvalidInputError(f"'{source.path}' or its target grid is rotated: only north-up "
                                f"rasters can be paired; warp them first")
    offset = _integer_offset(own, target)
    if offset is not None:
        return read_block(plain, Window(window.row + offset[0], window.col + offset[1],
                                        window.height, window.width), edge)
    rows = _source_coordinates(target.f, target.e, own.f, own.e, window.row, window.height)
    cols = _source_coordinates(target.c, target.a, own.c, own.a, window.col, window.width)
    top, left = math.floor(rows.min()) - 1, math.floor(cols.min()) - 1
    span = Window(top, left, math.floor(rows.max()) + 3 - top, math.floor(cols.max()) + 3 - left)
    block = read_block(plain, span, edge)
    if source.resampling == "nearest":
        near_r, near_c = np.floor(rows).astype(int) - top, np.floor(cols).astype(int) - left
        return Block(block.data[:, near_r][:, :, near_c], block.valid[:, near_r][:, :, near_c])
    return _bilinear(block, rows, cols, top, left)


def _integer_offset(own, target) -> Tuple[int, int]:
    """(row, col) of the target grid's origin in the source grid when both grids share
    pixel size and alignment, else None."""
    if not (math.isclose(own.a, target.a, rel_tol=1e-9)
            and math.isclose(own.e, target.e, rel_tol=1e-9)):
        return None
    col = (target.c - own.c) / own.a
    row = (target.f - own.f) / own.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return int(round(row)), int(round(col))


def _source_coordinates(origin: float, step: float, own_origin: float, own_step: float,
                        start: int, count: int) -> np.ndarray:
    """Fractional source pixel coordinates of the target pixel centres ``start..start+count``
    along one axis (a source pixel ``k`` spans ``[k, k + 1)``)."""
    centres = origin + step * (np.arange(start, start + count) + 0.5)
    return (centres - own_origin) / own_step


def _bilinear(block: Block, rows: np.ndarray, cols: np.ndarray, top: int, left: int) -> Block:
    """Bilinear weights over the valid ones of the four neighbours; valid where the
    nearest source pixel is. ``rows``/``cols`` are raster coordinates, ``block`` starts at
    (``top``, ``left``); weights come from raster coordinates, never window-relative ones,
    so every window computes bit-identical values."""
    near_r, near_c = np.floor(rows).astype(int) - top, np.floor(cols).astype(int) - left
    valid = block.valid[:, near_r][:, :, near_c]
    r0, c0 = np.floor(rows - 0.5), np.floor(cols - 0.5)
    wr, wc = (rows - 0.5) - r0, (cols - 0.5) - c0
    r0, c0 = r0.astype(int) - top, c0.astype(int) - left
    total = np.zeros(valid.shape)
    weight = np.zeros(valid.shape)
    data = block.data.astype(np.float64)
    for dr, fr in ((0, 1 - wr), (1, wr)):
        for dc, fc in ((0, 1 - wc), (1, wc)):
            w = fr[:, None] * fc[None, :]
            ok = block.valid[:, r0 + dr][:, :, c0 + dc]
            total += np.where(ok, data[:, r0 + dr][:, :, c0 + dc] * w, 0.0)
            weight += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(valid, total / np.where(weight > 0, weight, 1.0), 0.0)
    return Block(values, valid)
