"""Pixel grids and windows as frozen values, and window planning.

A :class:`Grid` is the pixel grid of a raster (CRS, affine transform, size).
A :class:`Window` is a rectangle of pixels in that grid. Neighbourhood
operators read a window enlarged by a *halo* and crop the result back;
:meth:`Window.expand` returns both rectangles so the two never get mixed up.
"""

import math
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Tuple

import numpy as np

from .errors import InvalidInputError


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels: top row, left column, height and width.

    Offsets may be negative and the rectangle may reach past the grid when it
    describes a halo read; :meth:`clip` brings it back inside.
    """

    row: int
    col: int
    height: int
    width: int

    @property
    def row_stop(self) -> int:
        return self.row + self.height

    @property
    def col_stop(self) -> int:
        return self.col + self.width

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.height, self.width)

    def expand(self, halo: int) -> "Window":
        """This window grown by ``halo`` pixels on every side (may reach past the grid)."""
        return Window(self.row - halo, self.col - halo,
                      self.height + 2 * halo, self.width + 2 * halo)

    def clip(self, height: int, width: int) -> Optional["Window"]:
        """The part of this window inside a ``height`` x ``width`` grid, or None."""
        r0, c0 = max(self.row, 0), max(self.col, 0)
        r1, c1 = min(self.row_stop, height), min(self.col_stop, width)
        if r1 <= r0 or c1 <= c0:
            return None
        return Window(r0, c0, r1 - r0, c1 - c0)

    def to_slices(self) -> Tuple[slice, slice]:
        return (slice(self.row, self.row_stop), slice(self.col, self.col_stop))

    def to_rasterio(self):
        """The same rectangle as a ``rasterio.windows.Window``."""
        from rasterio.windows import Window as RioWindow

        return RioWindow(self.col, self.row, self.width, self.height)


@dataclass(frozen=True)
class Grid:
    """The pixel grid of a raster: CRS (WKT or EPSG string), transform, size."""

    crs: Optional[str]
    transform: Any  # affine.Affine
    width: int
    height: int

    @property
    def res(self) -> Tuple[float, float]:
        """Pixel size (x, y) in map units, both positive for north-up grids."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(left, bottom, right, top) in map units of a north-up grid."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    def window_of(self, bounds: Tuple[float, float, float, float]) -> Optional[Window]:
        """The pixels whose centres lie inside ``bounds`` (left, bottom, right, top),
        or None when there are none."""
        t = self.transform
        left, bottom, right, top = bounds
        col0 = max(0, math.ceil((left - t.c) / t.a - 0.5))
        col1 = min(self.width, math.ceil((right - t.c) / t.a - 0.5))
        row0 = max(0, math.ceil((top - t.f) / t.e - 0.5))
        row1 = min(self.height, math.ceil((bottom - t.f) / t.e - 0.5))
        if row1 <= row0 or col1 <= col0:
            return None
        return Window(row0, col0, row1 - row0, col1 - col0)

    def subgrid(self, window: Window) -> "Grid":
        """The grid of ``window`` of this grid (same pixels, shifted origin)."""
        from affine import Affine

        t = self.transform
        shifted = Affine(t.a, t.b, t.c + t.a * window.col + t.b * window.row,
                         t.d, t.e, t.f + t.d * window.col + t.e * window.row)
        return Grid(self.crs, shifted, window.width, window.height)

    def same_as(self, other: "Grid", tolerance: float = 1e-9) -> bool:
        """True when both grids put every pixel in the same place."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        if not same_crs(self.crs, other.crs):
            return False
        scale = max(self.res + other.res)
        return all(abs(a - b) <= tolerance * max(scale, 1.0)
                   for a, b in zip(self.transform[:6], other.transform[:6]))


def same_crs(a: Optional[str], b: Optional[str]) -> bool:
    """True when ``a`` and ``b`` (WKT, EPSG strings or None) name the same CRS."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)


def trim(array: np.ndarray, halo: int) -> np.ndarray:
    """``array`` (..., rows, cols) without ``halo`` pixels on every side."""
    if halo == 0:
        return array
    return array[..., halo:-halo, halo:-halo]


def plan_windows(grid: Grid, window_size: int, block_size: int = 256) -> Iterator[Window]:
    """Cover ``grid`` row by row with windows of at most ``window_size`` pixels.

    When the window is at least one output block, its size is rounded down to
    a whole number of blocks so each window writes whole compressed tiles and
    no tile is written twice.
    """
    if window_size < 1:
        raise InvalidInputError(
            f"window size {window_size} px is too small: use 1 px or more (512 is a good default)")
    size = window_size
    if size >= block_size:
        size -= size % block_size
    for row in range(0, grid.height, size):
        for col in range(0, grid.width, size):
            yield Window(row, col, min(size, grid.height - row), min(size, grid.width - col))
