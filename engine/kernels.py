"""Convolution kernels and the nodata-aware (normalized) convolution.

Three kernels, each with weights that sum to 1:

* ``gaussian``: ``size`` is sigma in pixels; the weights are scipy.ndimage's
  exactly (``x = -r..r``, ``exp(-x**2 / (2 sigma**2))``, normalised) with
  radius ``r = int(truncate * sigma + 0.5)``, applied along rows then columns
  (so the support is the full (2r+1) x (2r+1) square, as in scipy);
* ``box``: ``size`` is the side in pixels, rounded to the nearest odd number
  (``2 floor(size / 2) + 1``) so the box is centred on its pixel;
* ``disk``: ``size`` is the diameter in pixels; the cells whose centre lies
  within ``size / 2`` of the focal cell (:mod:`neighbourhoods`'s circle).

:func:`blur` is a *normalized convolution* (REFERENCE F2 ``bpgaussian``): the
kernel-weighted mean of the valid pixels only, ``K*(v x valid) / K*valid``, so
nodata neither darkens nor brightens its neighbours and a kernel cut by the
raster edge or by nodata is renormalised over what exists.

Why the sums are plain numpy and not opencv: opencv's filters give results
that differ in the last bit depending on where a pixel sits in the array (SIMD
versus scalar tails, small-kernel and DFT paths, and differently between
releases). Here every output pixel is the same fixed sequence of float32
operations (taps paired symmetrically, added from the centre outwards)
wherever it sits in whatever window, so tiled and untiled runs agree bit for
bit and integer outputs never flip at a rounding boundary.
"""

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .errors import InvalidInputError, check_choice
from .focal import UNITS, pixels_from_map_units
from .neighbourhoods import Neighbourhood
from .raster_io import Block
from .windows import Grid, Window

KINDS = ("gaussian", "box", "disk")
#: Edge policies: pixels beyond the raster are nodata (the kernel is renormalised
#: over the pixels that exist), or the edge pixels repeated (scipy 'nearest'),
#: or mirrored about the edge (scipy 'reflect': row -1 is row 0, -2 is row 1).
EDGES = ("nodata", "nearest", "reflect")
_EPS = 1e-9
#: Separable sums run over strips of about this many values, so the arrays of
#: one strip stay in the processor's cache (about 1.5x faster than whole blocks).
_STRIP_VALUES = 2 ** 16


@dataclass(frozen=True)
class Kernel:
    """A kernel with its size in pixels: sigma (gaussian), side (box) or diameter (disk)."""

    kind: str
    size: float
    truncate: float = 4.0

    def __post_init__(self):
        check_choice(self.kind, KINDS, "kernel")
        if not self.size > 0 or not math.isfinite(self.size):
            raise InvalidInputError(f"kernel size {self.size:g} px must be a positive number")
        if not self.truncate > 0 or not math.isfinite(self.truncate):
            raise InvalidInputError(
                f"truncate {self.truncate:g} must be a positive number of sigmas (e.g. 4)")

    @property
    def radius(self) -> int:
        """Pixels the kernel reaches from its centre: the halo an operator needs."""
        if self.kind == "gaussian":
            return int(self.truncate * self.size + 0.5)
        return int(math.floor(self.size / 2.0 + _EPS))

    def weights1d(self) -> np.ndarray:
        """The (2r+1,) float64 weights of a separable kernel (gaussian, box), summing to 1."""
        r = self.radius
        if self.kind == "gaussian":
            x = np.arange(-r, r + 1, dtype=np.float64)
            weights = np.exp(-0.5 / (self.size * self.size) * x * x)
        elif self.kind == "box":
            weights = np.ones(2 * r + 1)
        else:
            raise InvalidInputError("the disk kernel is not separable: use footprint()")
        return weights / weights.sum()

    def footprint(self) -> np.ndarray:
        """The boolean (2r+1, 2r+1) cells of a disk kernel."""
        return Neighbourhood("circle", radius=self.size / 2.0).footprint()

    def array(self) -> np.ndarray:
        """The full (2r+1, 2r+1) float64 weights, summing to 1 (for references and plots)."""
        if self.kind == "disk":
            cells = self.footprint().astype(np.float64)
            return cells / cells.sum()
        weights = self.weights1d()
        return np.outer(weights, weights)


def make_kernel(kind: str, *, sigma: Optional[float] = None, diameter: Optional[float] = None,
                truncate: float = 4.0, units: str = "pixels",
                grid: Optional[Grid] = None) -> Kernel:
    """A :class:`Kernel` from user sizes, in pixels or map units.

    Parameters
    ----------
    kind : {'gaussian', 'box', 'disk'}
    sigma : float, optional
        Gaussian standard deviation.
    diameter : float, optional
        Kernel diameter: the side of a box, the diameter of a disk, and for a
        Gaussian the extent ``2 * truncate * sigma`` (then sigma =
        ``diameter / (2 * truncate)``; given with sigma, truncate becomes
        ``diameter / (2 * sigma)``, as convster's ``get_blur_params``).
    truncate : float
        Gaussian radius in sigmas (scipy's default 4).
    units : {'pixels', 'map units'}
        Unit of ``sigma`` and ``diameter``; map units are divided by the mean
        pixel size of ``grid``.
    grid : Grid, optional
        Required with map units.

    Raises
    ------
    InvalidInputError
        Unknown kind or units, sigma <= 0, a diameter below one pixel, a
        missing size, or a sigma given for a box or disk.

    Examples
    --------
    >>> make_kernel("gaussian", diameter=24, truncate=3).size   # sigma in px
    4.0

    A disk of diameter 50 in map units on a grid of 10 m pixels has ``size`` 5.0
    (px) and radius 2.
    """
    check_choice(kind, KINDS, "kernel")
    check_choice(units, UNITS, "size units")
    if units == "map units" and grid is None:
        raise InvalidInputError("sizes in map units need the raster's grid to convert them")
    unit = "px" if units == "pixels" else "map units"
    if sigma is not None and not sigma > 0:
        raise InvalidInputError(f"Gaussian sigma {sigma:g} {unit} must be greater than 0: "
                                f"give the standard deviation of the blur (e.g. 2 pixels)")
    if diameter is not None and not diameter > 0:
        raise InvalidInputError(f"kernel diameter {diameter:g} {unit} must be greater than 0")
    if not truncate > 0:
        raise InvalidInputError(f"truncate {truncate:g} must be greater than 0 (e.g. 4 sigmas)")

    def pixels(value):
        return value if value is None or units == "pixels" else pixels_from_map_units(value,
                                                                                      grid)

    sigma, diameter = pixels(sigma), pixels(diameter)
    if kind == "gaussian":
        if sigma is None and diameter is None:
            raise InvalidInputError("the Gaussian kernel needs a sigma or a kernel diameter")
        if sigma is None:
            sigma = 0.5 * diameter / truncate
        elif diameter is not None:
            truncate = 0.5 * diameter / sigma
        return Kernel(kind, sigma, truncate)
    if sigma is not None:
        raise InvalidInputError(f"sigma applies to the Gaussian kernel only: give the {kind} "
                                f"kernel's {'side' if kind == 'box' else 'diameter'} instead")
    if diameter is None:
        raise InvalidInputError(f"the {kind} kernel needs a diameter")
    if diameter < 1 - _EPS:
        raise InvalidInputError(
            f"{kind} kernel diameter {diameter:g} px is below one pixel: use 1 px or more "
            f"(in map units: at least one pixel size)")
    return Kernel(kind, diameter, truncate)


def _correlate(array: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """Symmetric 1-D correlation along ``axis``; the result is 2r shorter along it.

    Each output is ``w0 x + sum_k wk (x[-k] + x[+k])`` added for k = 1..r in order:
    the same operations for every pixel, wherever it sits.
    """
    r = len(weights) // 2
    n = array.shape[axis]

    def shifted(offset):
        index = [slice(None)] * array.ndim
        index[axis] = slice(r + offset, n - r + offset)
        return array[tuple(index)]

    out = shifted(0) * weights[r]
    pair = np.empty_like(out)
    for k in range(1, r + 1):
        np.add(shifted(-k), shifted(k), out=pair)
        pair *= weights[r + k]
        out += pair
    return out


def _disk_sum(array: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Sum of ``array`` over a symmetric disk footprint (result 2r smaller per axis).

    Horizontal sums of growing half-width ``a`` are built one from the other
    (``H_a = H_(a-1) + x[-a] + x[+a]``) and each footprint row adds the one of
    its half-width: a fixed order of additions for every pixel.
    """
    r = footprint.shape[0] // 2
    rows, cols = array.shape
    half_widths = footprint.sum(axis=1) // 2
    total = np.zeros((rows - 2 * r, cols - 2 * r), array.dtype)
    across = array[:, r:cols - r].copy()
    for a in range(r + 1):
        if a:
            across += array[:, r - a:cols - r - a]
            across += array[:, r + a:cols - r + a]
        for dy in np.flatnonzero(half_widths == a):
            total += across[dy:rows - 2 * r + dy]
    return total


def halo(kernel: Kernel, grid: Grid, edge: str) -> int:
    """Pixels of context a window needs: the kernel's radius, cut to the raster's size
    under the ``nodata`` edge policy (every pixel farther away is beyond the edge and
    invalid, so the result is the same and blocks stay small)."""
    if edge == "nodata":
        return min(kernel.radius, max(grid.width, grid.height) - 1)
    return kernel.radius


def kernel_sum(array: np.ndarray, kernel: Kernel, radius: Optional[int] = None) -> np.ndarray:
    """The kernel-weighted sum of 2-D float32 ``array`` for the pixels at least ``radius``
    from its edges (the result is ``2 radius`` smaller along both axes).

    ``radius`` (default: the kernel's) truncates the kernel, for callers that know
    every pixel farther away is zero: the weights kept are unchanged, so the
    result is the same.
    """
    full = kernel.radius
    radius = full if radius is None else min(radius, full)
    cut = slice(full - radius, full + radius + 1)
    if kernel.kind == "disk":
        cells = kernel.footprint()[cut, cut]
        return _disk_sum(array, cells) * np.float32(1.0 / kernel.footprint().sum())
    weights = kernel.weights1d()[cut].astype(np.float32)
    out = np.empty((array.shape[0] - 2 * radius, array.shape[1] - 2 * radius), np.float32)
    step = max(16, _STRIP_VALUES // array.shape[1])
    for row in range(0, out.shape[0], step):
        strip = _correlate(array[row:row + step + 2 * radius], weights, 0)
        out[row:row + step] = _correlate(strip, weights, 1)
    return out


def blur(values: np.ndarray, valid: np.ndarray, kernel: Kernel, *,
         radius: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Normalized convolution of one block: the kernel-weighted mean of the valid values.

    Parameters
    ----------
    values : (rows, cols) array
        One band of a block read with a halo of at least ``radius`` pixels
        (any numeric type; computed in float32).
    valid : (rows, cols) bool array
        Which pixels take part (nodata, other classes and pixels beyond the
        raster are False).
    kernel : Kernel
    radius : int, optional
        Truncate the kernel to this many pixels (default: ``kernel.radius``);
        only for callers that know all pixels farther away are invalid (e.g. a
        kernel wider than the raster with the nodata edge policy).

    Returns
    -------
    mean, weight : (rows - 2 radius, cols - 2 radius) float32 arrays
        For the pixels of the block less ``radius`` on every side (the window
        the block was read for): ``K*(values x valid) / K*valid`` and the
        kernel weight on valid pixels ``K*valid`` (1 when the whole kernel is
        valid, up to float32 rounding). Where no valid pixel is within reach,
        mean and weight are 0: the mean is undefined there.

    Examples
    --------
    A 1 x 3 box over [2, nodata, 4] gives (2 + 4) / 2 = 3 with weight 2/3 at the
    centre: the missing pixel is left out, not counted as 0.
    """
    valid = valid.astype(bool, copy=False)
    weighted = np.where(valid, values, 0).astype(np.float32, copy=False)
    total = kernel_sum(weighted, kernel, radius)
    if valid.all():
        # the same sums over ones as below, pixel for pixel, computed once
        r = kernel.radius if radius is None else min(radius, kernel.radius)
        whole = kernel_sum(np.ones((2 * r + 1, 2 * r + 1), np.float32), kernel, r)
        weight = np.full(total.shape, whole[0, 0], np.float32)
    else:
        weight = kernel_sum(valid.astype(np.float32), kernel, radius)
    mean = np.zeros_like(total)
    np.divide(total, weight, out=mean, where=weight > 0)
    return mean, weight


def edge_fill(block: Block, window: Window, grid: Grid, edge: str) -> Block:
    """``block`` (read for ``window`` of ``grid``, nodata beyond the raster) with the part
    beyond the raster edge filled by the ``edge`` policy.

    ``nearest`` repeats the edge pixels, ``reflect`` mirrors them (scipy's
    meanings; a raster narrower than the halo is mirrored back and forth);
    filled pixels are valid exactly when the pixel they copy is. ``nodata``
    returns the block as it is. Every copied pixel lies inside the block
    because the block reaches at least as far into the raster as past it.
    """
    check_choice(edge, EDGES, "edge policy")
    if edge == "nodata":
        return block
    rows = _edge_index(window.row, window.height, grid.height, edge)
    cols = _edge_index(window.col, window.width, grid.width, edge)
    return Block(block.data[:, rows][:, :, cols], block.valid[:, rows][:, :, cols])


def _edge_index(start: int, length: int, size: int, edge: str) -> np.ndarray:
    """Block-local indices that fill positions ``start .. start+length`` of an axis of
    ``size`` pixels with the ``edge`` policy."""
    position = np.arange(start, start + length)
    if edge == "nearest":
        source = np.clip(position, 0, size - 1)
    else:
        source = position % (2 * size)
        source = np.where(source >= size, 2 * size - 1 - source, source)
    return source - start
