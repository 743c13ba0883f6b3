"""How overlapping images differ: MAD and RMSE over the pixels valid in both, per band.

For every pair of images whose extents overlap, :func:`overlap_differences`
streams the overlap on the first image's grid, the second read onto it
(:mod:`resample`: by offset when the grids are aligned, else bilinearly from
valid pixels only), and returns a :class:`PairDifference`: per band, the
number of pixels valid in both images, their mean absolute difference (MAD)
and their root mean square difference (RMSE).

These numbers are what says whether a radiometric normalization closed the
seams, so they live apart from any one presentation of them: the HTML
report (:mod:`report`) shows them before and after, and the end-to-end
tests of the QGIS model check them directly. The radiometry benchmark
(``bench/bench_radiometry.py``) deliberately keeps its own, independent
seam MAD (same definition) so it can also score outputs that are not
Tessera's.

Unlike spectralmatch's statistics (reference F18), no image is held whole in
memory, differences are computed in float64 (the reference subtracts in the
unsigned input type, which wraps), nodata is excluded in every band of both
images, and the sums are merged in window order, so the results do not
depend on window size or worker count.
"""

from dataclasses import dataclass
from functools import partial
from typing import List, Sequence, Tuple

import numpy as np

from .executors import Execution, reusing_workers
from .image_sets import check_images, overlap_bounds
from .raster_io import Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_reduce, scaled
from .windows import Window


@dataclass
class PairDifference:
    """How two overlapping images differ over the pixels valid in both, per band.

    ``first`` and ``second`` index the images as given; ``count`` is the
    number of pixels compared, ``mad`` and ``rmse`` the mean absolute and root
    mean square differences (NaN for a band with no pixel in common).
    """

    first: int
    second: int
    names: Tuple[str, str]
    count: np.ndarray
    mad: np.ndarray
    rmse: np.ndarray

    @property
    def common(self) -> bool:
        """True when the images share at least one valid pixel."""
        return bool(self.count.any())

    @property
    def mean_mad(self) -> float:
        """MAD averaged over the bands with pixels in common (NaN when none)."""
        return _band_average(self.mad, self.count)

    @property
    def mean_rmse(self) -> float:
        """RMSE averaged over the bands with pixels in common (NaN when none)."""
        return _band_average(self.rmse, self.count)


def _band_average(values: np.ndarray, count: np.ndarray) -> float:
    return float(values[count > 0].mean()) if count.any() else float("nan")


class PairAccumulator:
    """Runner accumulator: per band, the sums of ``|a - b|`` and ``(a - b)**2`` and the
    count of pixels valid in both. Block 0 is image ``a``, block 1 image ``b`` read onto
    its grid; sums are float64, so integer inputs never wrap."""

    def __init__(self, bands: int):
        self.count = np.zeros(bands)
        self.absolute = np.zeros(bands)
        self.squared = np.zeros(bands)

    def add(self, blocks: List[Block], window: Window) -> None:
        first, second = blocks
        both = first.valid & second.valid
        with np.errstate(invalid="ignore"):
            difference = np.where(both, first.data.astype(np.float64) - second.data, 0.0)
        self.count += both.sum(axis=(1, 2))
        self.absolute += np.abs(difference).sum(axis=(1, 2))
        self.squared += (difference * difference).sum(axis=(1, 2))

    def merge(self, other: "PairAccumulator") -> None:
        self.count += other.count
        self.absolute += other.absolute
        self.squared += other.squared

    def finalize(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count, MAD, RMSE) per band; NaN where no pixel was compared."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mad = np.where(self.count > 0, self.absolute / self.count, np.nan)
            rmse = np.where(self.count > 0, np.sqrt(self.squared / self.count), np.nan)
        return self.count, mad, rmse


@reusing_workers
def overlap_differences(paths: Sequence[str], *, execution: Execution = Execution(),
                        progress: Progress = None,
                        cancelled: CancelCheck = None) -> List[PairDifference]:
    """MAD and RMSE in the overlap of every pair of images whose extents overlap.

    Parameters
    ----------
    paths : sequence of str
        Rasters with one CRS and band count; grids may differ.

    Returns
    -------
    list of PairDifference
        One per pair ``(i, j)``, ``i < j``, whose extents overlap, in that
        order; a pair with no valid pixel in common has ``count`` 0 and NaN
        differences.

    Notes
    -----
    Each pair is one streamed pass over the overlap on image ``i``'s grid,
    image ``j`` read onto it (by offset when the grids are aligned, else
    bilinearly from valid pixels only). A pixel counts when it is valid in
    both images in that band. Sums are merged in window order, so results do
    not depend on window size or worker count.

    Examples
    --------
    Image A of 10s and image B of 14s overlapping it: one pair, MAD 4, RMSE 4.
    """
    return overlap_differences_of(check_images(paths), execution, progress, cancelled)


def overlap_differences_of(infos: Sequence[RasterInfo], execution: Execution,
                           progress: Progress, cancelled: CancelCheck) -> List[PairDifference]:
    """:func:`overlap_differences` of images already described and checked (see
    :func:`normalization.check_images`), so a caller that has them reads no header twice."""
    bands = infos[0].count
    jobs = [(i, j, overlap) for i in range(len(infos)) for j in range(i + 1, len(infos))
            for overlap in [overlap_bounds(infos[i].grid.bounds, infos[j].grid.bounds)]
            if overlap is not None]
    pairs = []
    for done, (i, j, overlap) in enumerate(jobs):
        grid = infos[i].grid
        window = grid.window_of(overlap)
        if window is None:
            count, mad, rmse = PairAccumulator(bands).finalize()
        else:
            grid = grid.subgrid(window)
            count, mad, rmse = run_reduce(
                partial(PairAccumulator, bands),
                [Source(infos[i].path, grid=grid), Source(infos[j].path, grid=grid)], grid,
                execution=execution, progress=scaled(progress, done, len(jobs)),
                cancelled=cancelled)
        pairs.append(PairDifference(i, j, (infos[i].stem, infos[j].stem), count, mad, rmse))
    return pairs
