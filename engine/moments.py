"""Streamed, mergeable per-band statistics: count, mean, variance, minimum, maximum.

Windows are added one at a time and partial results merged with the
pairwise update of Chan, Golub and LeVeque, all in float64, so the mean and
variance of billions of pixels are exact to rounding without ever holding
the pixels (the reference system concatenates every valid pixel in memory).
Standard deviations are population ones (ddof = 0) everywhere.
"""

from typing import Dict, List

import numpy as np


class Moments:
    """Per-band count, mean, sum of squared deviations (M2), minimum and maximum."""

    def __init__(self, bands: int):
        self.count = np.zeros(bands)
        self.mean = np.zeros(bands)
        self.m2 = np.zeros(bands)
        self.min = np.full(bands, np.inf)
        self.max = np.full(bands, -np.inf)

    @property
    def std(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, np.sqrt(self.m2 / np.maximum(self.count, 1)), np.nan)

    def add(self, values: np.ndarray, valid: np.ndarray) -> None:
        """Add the ``valid`` pixels of ``values`` (bands, ...) to the statistics."""
        values = values.reshape(values.shape[0], -1)
        valid = valid.reshape(values.shape)
        batch = Moments(values.shape[0])
        for band in range(values.shape[0]):
            kept = values[band][valid[band]].astype(np.float64)
            if kept.size:
                mean = kept.sum() / kept.size
                batch.count[band], batch.mean[band] = kept.size, mean
                deviation = kept - mean
                batch.m2[band] = (deviation * deviation).sum()  # no BLAS: same in every process
                batch.min[band], batch.max[band] = kept.min(), kept.max()
        if batch.count.any():
            self.merge(batch)

    def merge(self, other: "Moments") -> None:
        """Fold ``other`` into these statistics (Chan et al.)."""
        total = self.count + other.count
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, other.count / np.maximum(total, 1), 0.0)
            delta = other.mean - self.mean
            self.m2 = self.m2 + other.m2 + delta ** 2 * self.count * share
        self.mean = self.mean + delta * share
        self.count = total
        self.min = np.minimum(self.min, other.min)
        self.max = np.maximum(self.max, other.max)

    def to_dict(self) -> Dict[str, List[float]]:
        """JSON form: lists per band (count, mean, std, min, max)."""
        return {"count": self.count.tolist(), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "min": self.min.tolist(), "max": self.max.tolist()}

    @classmethod
    def from_dict(cls, data: Dict[str, List[float]]) -> "Moments":
        moments = cls(len(data["count"]))
        moments.count = np.asarray(data["count"], float)
        moments.mean = np.asarray(data["mean"], float)
        moments.m2 = np.asarray(data["std"], float) ** 2 * moments.count
        moments.min = np.asarray(data.get("min", [np.inf] * len(moments.count)), float)
        moments.max = np.asarray(data.get("max", [-np.inf] * len(moments.count)), float)
        return moments


class MomentsAccumulator:
    """Runner accumulator: the :class:`Moments` of the valid (and unmasked) pixels of the
    first source."""

    def __init__(self, bands: int, grid=None, mask=None):
        self.moments = Moments(bands)
        self.grid = grid
        self.mask = mask

    def add(self, blocks, window) -> None:
        valid = blocks[0].valid
        if self.mask is not None:
            valid = valid & self.mask.usable(self.grid, window)
        self.moments.add(blocks[0].data, valid)

    def merge(self, other: "MomentsAccumulator") -> None:
        self.moments.merge(other.moments)

    def finalize(self) -> Moments:
        return self.moments
