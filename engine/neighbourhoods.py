"""Focal neighbourhood shapes as boolean footprints.

Every shape lives on a (2e+1) x (2e+1) grid centred on the focal cell, where
``e`` is the shape's extent in whole pixels; ``footprint[e + dy, e + dx]`` is
True when the cell ``dy`` rows below and ``dx`` columns right of the focal cell
belongs to the neighbourhood. The extent is also the halo an operator needs.
Shapes follow GeoTrellis (REFERENCE F25):

* ``square``: the full window, e = floor(radius);
* ``circle``: cells whose centre is within ``radius``;
* ``annulus``: cells with ``inner <= distance <= radius``;
* ``wedge``: circle cells between ``start`` and ``end`` degrees,
  counter-clockwise from east (north up), wrapping past 360; the centre is
  always included;
* ``nesw``: the centre row and column (a cross), e = floor(radius).
"""

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .errors import InvalidInputError, check_choice

SHAPES = ("square", "circle", "annulus", "wedge", "nesw")
_EPS = 1e-9


@dataclass(frozen=True)
class Neighbourhood:
    """A neighbourhood shape with its sizes in pixels."""

    shape: str = "square"
    radius: float = 1.0
    inner: float = 0.0
    start: float = 0.0
    end: float = 360.0

    @property
    def extent(self) -> int:
        return int(math.floor(self.radius + _EPS))

    def footprint(self) -> np.ndarray:
        """The boolean (2e+1, 2e+1) footprint; raises when it would be empty."""
        check_choice(self.shape, SHAPES, "neighbourhood shape")
        if self.radius < 1 - _EPS and self.shape != "circle":
            raise InvalidInputError(
                f"neighbourhood size {self.radius:g} px is below one pixel: use 1 px or more "
                f"(in map units: at least one pixel size)")
        e = self.extent
        dy, dx = np.mgrid[-e:e + 1, -e:e + 1]
        distance = np.hypot(dy, dx)
        if self.shape == "square":
            mask = np.ones(dy.shape, dtype=bool)
        elif self.shape == "nesw":
            mask = (dy == 0) | (dx == 0)
        elif self.shape == "circle":
            mask = distance <= self.radius + _EPS
        elif self.shape == "annulus":
            if self.inner > self.radius:
                raise InvalidInputError(
                    f"annulus inner radius {self.inner:g} is larger than its outer radius "
                    f"{self.radius:g}: swap them or make the outer one larger")
            mask = (distance >= self.inner - _EPS) & (distance <= self.radius + _EPS)
        else:
            mask = (distance <= self.radius + _EPS) & self._in_angle(dy, dx)
            mask[e, e] = True
        if not mask.any():
            raise InvalidInputError(
                f"the {self.shape} neighbourhood (radius {self.radius:g} px, inner "
                f"{self.inner:g} px) contains no cell: enlarge it")
        return mask

    def _in_angle(self, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
        span = (self.end - self.start) % 360.0
        if span == 0 and self.end != self.start:
            span = 360.0
        angle = np.degrees(np.arctan2(-dy, dx))
        return (angle - self.start) % 360.0 <= span + _EPS


def runs(footprint: np.ndarray) -> Tuple[Tuple[int, int, int], ...]:
    """The footprint as horizontal runs ``(dy, dx_first, dx_last)`` relative to the centre.

    Sums over any footprint are then a few differences of row prefix sums.
    """
    e = footprint.shape[0] // 2
    found = []
    for row, line in enumerate(footprint):
        padded = np.concatenate(([False], line, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for first, stop in zip(edges[::2], edges[1::2]):
            found.append((row - e, int(first) - e, int(stop) - 1 - e))
    return tuple(found)
