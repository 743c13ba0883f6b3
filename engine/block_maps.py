"""Block maps: per-block mean values of images on a coarse grid over a canvas.

The local block adjustment (reference F7) compares, block by block, each
image's mean with the mean of all images. A :class:`BlockGrid` divides the
canvas (a map-unit box) into ``rows x cols`` blocks; :class:`BlockAccumulator`
streams an image's per-block sums and counts (pixel centres decide the
block); :meth:`BlockGrid.interpolate` evaluates a map bilinearly between block
centres at any pixels, NaN-aware, as a function of pixel position only, so
any window gives the same values. Maps are saved as float64 GeoTIFFs (one
pixel per block, one band per image band, NaN nodata) and loaded back exactly.
"""

import json
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError
from .masks import usable
from .raster_io import Block, replaced_atomically
from .windows import Grid, Window

Bounds = Tuple[float, float, float, float]


@dataclass(frozen=True)
class BlockGrid:
    """``rows`` x ``cols`` blocks over ``bounds`` (left, bottom, right, top)."""

    bounds: Bounds
    rows: int
    cols: int

    @property
    def block_size(self) -> Tuple[float, float]:
        left, bottom, right, top = self.bounds
        return ((right - left) / self.cols, (top - bottom) / self.rows)

    def block_index(self, grid: Grid, window: Window) -> np.ndarray:
        """(rows, cols) flat block index of each pixel of ``window`` of ``grid``."""
        left, _, _, top = self.bounds
        width, height = self.block_size
        x, y = _centres(grid, window)
        col = np.clip(np.floor((x - left) / width), 0, self.cols - 1).astype(np.int64)
        row = np.clip(np.floor((top - y) / height), 0, self.rows - 1).astype(np.int64)
        return row[:, None] * self.cols + col[None, :]

    def interpolate(self, block_map: np.ndarray, grid: Grid, window: Window) -> np.ndarray:
        """``block_map`` (bands, rows, cols) bilinearly between block centres at the pixels of
        ``window``: (bands, h, w). Outside the outer centres values are held; NaN blocks are
        left out and the others reweighted; NaN where all four neighbours are NaN."""
        left, bottom, right, top = self.bounds
        x, y = _centres(grid, window)
        rows = _neighbours((top - y) / (top - bottom) * self.rows - 0.5, self.rows)
        cols = _neighbours((x - left) / (right - left) * self.cols - 0.5, self.cols)
        known = ~np.isnan(block_map)
        values = np.where(known, block_map, 0.0)
        total = _separable(values, rows, cols)
        weight = _separable(known.astype(np.float64), rows, cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weight > 1e-12, total / np.where(weight > 1e-12, weight, 1.0),
                            np.nan)

    def to_grid(self, crs: Optional[str]) -> Grid:
        """The block grid as a raster grid (one pixel per block)."""
        from affine import Affine

        left, _, _, top = self.bounds
        width, height = self.block_size
        return Grid(crs, Affine(width, 0, left, 0, -height, top), self.cols, self.rows)


def _centres(grid: Grid, window: Window) -> Tuple[np.ndarray, np.ndarray]:
    t = grid.transform
    x = t.c + t.a * (np.arange(window.col, window.col_stop) + 0.5)
    y = t.f + t.e * (np.arange(window.row, window.row_stop) + 0.5)
    return x, y


def _separable(values: np.ndarray, rows, cols) -> np.ndarray:
    """Linear interpolation of (bands, block rows, block cols) ``values`` along columns,
    then along rows: the bilinear value at every pixel, element-wise only."""
    (col_low, col_low_w), (col_high, col_high_w) = cols
    across = values[:, :, col_low] * col_low_w + values[:, :, col_high] * col_high_w
    (row_low, row_low_w), (row_high, row_high_w) = rows
    return (across[:, row_low] * row_low_w[:, None]
            + across[:, row_high] * row_high_w[:, None])


def _neighbours(position: np.ndarray, count: int):
    """The two block indices around each position along one axis and their linear weights,
    as ((low, 1 - frac), (high, frac)). Element-wise only (no BLAS), so every process and
    every window computes identical values."""
    position = np.clip(position, 0, count - 1)
    low = np.floor(position).astype(np.int64)
    frac = position - low
    return ((low, 1 - frac), (np.minimum(low + 1, count - 1), frac))


def block_grid(bounds: Bounds, blocks, image_count: int) -> BlockGrid:
    """The block grid for ``blocks``: a target number of blocks per image (int), or
    explicit (rows, cols). With a target, the total ``T = blocks x images`` is split to
    follow the canvas aspect, as the reference system does."""
    if isinstance(blocks, (tuple, list)):
        rows, cols = (int(v) for v in blocks)
        if rows < 1 or cols < 1:
            raise InvalidInputError(f"block grid {rows} x {cols} is empty: use 1 x 1 or more")
        return BlockGrid(tuple(bounds), rows, cols)
    if int(blocks) < 1:
        raise InvalidInputError(f"{blocks} blocks per image is too few: use 1 or more")
    left, bottom, right, top = bounds
    width, height = right - left, top - bottom
    total = int(blocks) * image_count
    cols = max(1, round(math.sqrt(total * width / height)))
    rows = max(1, round(total / cols))
    while rows * cols < total:
        if width > height:
            cols += 1
        else:
            rows += 1
    while rows * cols > total and max(rows, cols) > 1:
        if width > height and cols > 1:
            cols -= 1
        elif rows > 1:
            rows -= 1
        else:
            cols -= 1
    return BlockGrid(tuple(bounds), rows, cols)


def blocks_from_variation(bounds: Bounds, mean: float, std: float) -> BlockGrid:
    """A square block grid from the coefficient of variation of the images (band 1):
    ``round(10 * CV / (45 / 125))`` blocks per side, at least 1."""
    if not mean:
        raise InvalidInputError("the images' mean is 0: the coefficient of variation is "
                                "undefined; give the number of blocks instead")
    side = max(1, round(10 * abs(std / mean) / (45 / 125)))
    return BlockGrid(tuple(bounds), side, side)


class BlockAccumulator:
    """Streams per-block sums and counts of an image's bands, and the bands' minimum.

    With partner images (sources after the first, read onto the image's grid)
    it also sums, over the same pixels, the *pixel reference*: the mean of
    every image valid at the pixel, the image included. Block means of the
    image and of its pixel reference then cover exactly the same pixels, so
    texture never passes for a brightness difference at image edges.
    """

    def __init__(self, bands: int, blocks: BlockGrid, grid: Grid, masks: tuple = (None,)):
        self.blocks = blocks
        self.grid = grid
        self.masks = masks
        size = blocks.rows * blocks.cols
        self.sums = np.zeros((bands, size))
        self.counts = np.zeros((bands, size))
        self.reference_sums = np.zeros((bands, size))
        self.minimum = np.full(bands, np.inf)

    def add(self, sources: List[Block], window: Window) -> None:
        own = sources[0]
        index = self.blocks.block_index(self.grid, window)
        valid = own.valid & usable(self.masks[0], self.grid, window)
        reference = self._pixel_reference(own, valid, sources[1:], window)
        size = self.sums.shape[1]
        for band in range(self.sums.shape[0]):
            keep = valid[band]
            if not keep.any():
                continue
            where = index[keep]
            values = own.data[band][keep].astype(np.float64)
            self.sums[band] += np.bincount(where, values, minlength=size)
            self.counts[band] += np.bincount(where, minlength=size)
            self.reference_sums[band] += np.bincount(
                where, values if reference is None else reference[band][keep], minlength=size)
            self.minimum[band] = min(self.minimum[band], values.min())

    def _pixel_reference(self, own: Block, valid: np.ndarray, partners: List[Block],
                         window: Window):
        """Per pixel, the mean of every image valid there; None where no partner has a
        valid pixel in the window (the reference is then the image itself)."""
        present = [(block, mask) for block, mask in zip(partners, self.masks[1:])
                   if block.valid.any()]
        if not present:
            return None
        total = np.where(valid, own.data, 0).astype(np.float64)
        count = valid.astype(np.float64)
        for block, mask in present:
            ok = block.valid & usable(mask, self.grid, window)
            total += np.where(ok, block.data, 0)
            count += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count

    def merge(self, other: "BlockAccumulator") -> None:
        self.sums += other.sums
        self.counts += other.counts
        self.reference_sums += other.reference_sums
        self.minimum = np.minimum(self.minimum, other.minimum)

    def finalize(self):
        return self

    def means(self, threshold: float, sums: Optional[np.ndarray] = None) -> np.ndarray:
        """(bands, rows, cols) block means of ``sums`` (default: the image's own); NaN where
        fewer than ``threshold`` of a block's pixels were valid."""
        sums = self.sums if sums is None else sums
        width, height = self.blocks.block_size
        pixels = width * height / (self.grid.res[0] * self.grid.res[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where((self.counts >= threshold * pixels) & (self.counts > 0),
                             sums / np.maximum(self.counts, 1), np.nan)
        return means.reshape(-1, self.blocks.rows, self.blocks.cols)


def reference_map(maps: Sequence[np.ndarray]) -> np.ndarray:
    """Mean over images of their block maps, ignoring NaN; NaN where every map is NaN."""
    stack = np.stack(maps)
    known = ~np.isnan(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known.any(axis=0), np.where(known, stack, 0).sum(axis=0)
                        / np.maximum(known.sum(axis=0), 1), np.nan)


def save_map(path: str, block_map: np.ndarray, blocks: BlockGrid, crs: Optional[str],
             minimum: Optional[np.ndarray] = None) -> str:
    """Write a block map as a float64 GeoTIFF (NaN nodata), atomically; ``minimum`` (per
    band, the image's smallest value) is kept as a band tag, the exact canvas as a tag."""
    import rasterio

    grid = blocks.to_grid(crs)
    with replaced_atomically(path, ".tif") as temp:
        with rasterio.open(temp, "w", driver="GTiff", width=grid.width, height=grid.height,
                           count=block_map.shape[0], dtype="float64", crs=crs,
                           transform=grid.transform, nodata=float("nan")) as ds:
            ds.write(block_map.astype(np.float64))
            ds.update_tags(canvas=json.dumps(list(blocks.bounds)))
            for band in range(block_map.shape[0]):
                if minimum is not None:
                    ds.update_tags(band + 1, minimum=repr(float(minimum[band])))
    return path


def load_map(path: str) -> Tuple[np.ndarray, BlockGrid, Optional[np.ndarray]]:
    """(map, block grid, per-band minimum or None) of a saved block map."""
    import rasterio

    with rasterio.open(path) as ds:
        block_map = ds.read().astype(np.float64)
        canvas = ds.tags().get("canvas")
        bounds = tuple(json.loads(canvas)) if canvas else tuple(ds.bounds)
        blocks = BlockGrid(bounds, ds.height, ds.width)
        tags = [ds.tags(band + 1).get("minimum") for band in range(ds.count)]
    minimum = None if None in tags else np.array([float(tag) for tag in tags])
    return block_map, blocks, minimum
