"""LIRRN: location-independent relative radiometric normalization (Moghimi et al. 2024).

Reference F19. Per band, the subject and the reference are each split into
brightness classes by multi-Otsu; in every class the values nearest the
class minimum, mean and maximum are sampled, a random fraction of them kept,
the subject's and the reference's samples of the same class and statistic
paired by nearest value, and one line ``ref = gain * sub + offset`` fitted
through all pairs of the band. Only values are compared, never positions, so
the images need not overlap or be co-registered.

The reference system's defects are fixed: the sampling is seeded (same seed,
same bytes), nodata never enters any statistic, every band is normalized (it
skips the last), and nothing holds a whole image: each image takes three
streamed passes (extent; a histogram whose bins keep count, sum, minimum and
maximum; the nearest values), all mergeable in window order, so the result
does not depend on window size or worker count (see :mod:`histograms`).

Pairing is the method's greedy nearest-value matching, kept as published:
within a class and statistic the closest unpaired (subject, reference) values
are paired first, values rather than ranks. So an exact affine subject
(``ref = a * sub + b``) gives the exact line back only when the sampled groups
are narrow (each holding one value, or nearly); on continuous data, where the
groups spread, pairs cross inside a group and the gain comes back within
about 0.5 %. That is the reference method's behaviour, not an approximation
added here.

Non-finite values (NaN, ±inf) are nodata to every statistic (extent,
histogram, nearest values). A valid ±inf pixel is still written, as
``gain * value + offset`` (±inf in a float output, clamped in an integer one).
"""

from dataclasses import dataclass
from functools import partial
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError
from .executors import Execution, reusing_workers
from .histograms import Binning, Histogram, bins_between, measure, require_pixels
from .moments import Moments
from .image_sets import output_paths, written_together
from .normalization import apply_linear, check_reference
from .raster_io import RasterInfo, Source
from .runner import CancelCheck, Progress, Warn, progress_steps

#: Bins of the histogram multi-Otsu splits, over each band's range (scikit-image's default
#: for float images; for integer ones it takes one bin per value).
OTSU_BINS = 256
#: The class statistics samples are taken around, in order.
STATISTICS = ("min", "mean", "max")
#: Streamed passes over each image.
PASSES = 3


@dataclass(frozen=True)
class Sampling:
    """How samples are drawn: classes per band, values per class and statistic, the
    fraction of them kept, and the seed of that choice."""

    classes: int = 3
    samples: int = 1000
    fraction: float = 0.1
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.classes, (int, np.integer)) or not 2 <= self.classes <= OTSU_BINS:
            raise InvalidInputError(f"classes {self.classes!r} is not allowed: use a whole "
                                    f"number from 2 to {OTSU_BINS} (the method uses 3)")
        if not isinstance(self.samples, (int, np.integer)) or self.samples < 1:
            raise InvalidInputError(f"samples {self.samples!r} is not allowed: use a whole "
                                    f"number of 1 or more (the method uses 1000)")
        if not 0 < self.fraction <= 1:
            raise InvalidInputError(f"fraction {self.fraction!r} is outside (0, 1]: give the "
                                    f"share of samples to keep, e.g. 0.1 for 10 %")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InvalidInputError(f"seed {self.seed!r} is not allowed: use a whole number "
                                    f"of 0 or more")


def multi_otsu(counts: np.ndarray, classes: int) -> np.ndarray:
    """Split a histogram into ``classes`` runs of bins of maximal between-class variance.

    Parameters
    ----------
    counts : array (bins,)
        Pixels per bin; at least ``classes`` bins must be occupied.
    classes : int

    Returns
    -------
    array (classes - 1,)
        The first bin of every class but the first, increasing.

    Notes
    -----
    Exact search by dynamic programming over runs of bins: the objective
    ``sum_k S_k**2 / W_k`` (``W_k`` the pixels of class ``k``, ``S_k`` their sum of
    bin positions) adds up over classes. Bin indices serve as positions: the optimum
    does not change under an affine change of positions, so it is the one of bin
    centres (scikit-image's) and an affinely transformed image splits the same way.
    No class is empty; ties are broken the same way every time. Classes are cut at
    bin edges, where scikit-image cuts at the centre of the last bin of a class.
    Example: counts [5, 0, 5, 0, 5] in three classes give [1, 3].
    """
    bins = len(counts)
    if np.count_nonzero(counts) < classes:
        raise InvalidInputError(f"a histogram with {np.count_nonzero(counts)} occupied bin(s) "
                                f"cannot be split into {classes} classes")
    weight = np.concatenate([[0.0], np.cumsum(counts, dtype=np.float64)])
    moment = np.concatenate([[0.0], np.cumsum(counts * np.arange(bins), dtype=np.float64)])
    pixels = weight[None, :] - weight[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(pixels > 0, (moment[None, :] - moment[:, None]) ** 2 / pixels, -np.inf)
    best, choices = score[0], []
    for _ in range(classes - 1):
        total = best[:, None] + score
        choices.append(np.argmax(total, axis=0))
        best = total[choices[-1], np.arange(bins + 1)]
    starts, end = [], bins
    for choice in reversed(choices):
        end = choice[end]
        starts.append(end)
    return np.array(starts[::-1], dtype=np.int64)


def _nearest(values: np.ndarray, target: float, size: int) -> np.ndarray:
    """The ``size`` of ``values`` nearest ``target`` (ties: the smaller value)."""
    distance = np.abs(values - target)
    if values.size > size:
        keep = distance <= np.partition(distance, size - 1)[size - 1]
        values, distance = values[keep], distance[keep]
    return values[np.lexsort((values, distance))[:size]]


class NearestValues:
    """Per band, class and statistic, the ``size`` values nearest the target.

    Band ``b``'s class of a value is its bin of ``binning`` placed among
    ``starts[b]``; ``targets[b][c]`` are the class's (min, mean, max). The kept
    values are a multiset fixed by the image alone, whatever order windows come in.
    """

    def __init__(self, binning: Binning, starts: tuple, targets: tuple, size: int):
        self.binning = binning
        self.starts = starts
        self.targets = targets
        self.size = size
        self.kept = [[[np.empty(0)] * len(STATISTICS) for _ in band] for band in targets]

    def add(self, values: np.ndarray, valid: np.ndarray) -> None:
        for band, kept in enumerate(self.kept):
            found = values[band][valid[band]].astype(np.float64)
            classes = np.searchsorted(self.starts[band], self.binning.index(band, found),
                                      side="right")
            for label, (near, targets) in enumerate(zip(kept, self.targets[band])):
                members = found[classes == label]
                for k, target in enumerate(targets):
                    near[k] = _nearest(np.concatenate([near[k], members]), target, self.size)

    def merge(self, other: "NearestValues") -> None:
        for mine, theirs, targets in zip(self.kept, other.kept, self.targets):
            for near, more, class_targets in zip(mine, theirs, targets):
                for k, target in enumerate(class_targets):
                    near[k] = _nearest(np.concatenate([near[k], more[k]]), target, self.size)


def _class_targets(histogram: Histogram, band: int, starts: np.ndarray) -> tuple:
    """(min, mean, max) of every class of ``band``, exact from the bins' statistics."""
    ids, counts, sums, mins, maxs = histogram.bins[band]
    edges = np.concatenate([[0], np.searchsorted(ids, starts)])
    count, total = np.add.reduceat(counts, edges), np.add.reduceat(sums, edges)
    return tuple(zip(np.minimum.reduceat(mins, edges).tolist(), (total / count).tolist(),
                     np.maximum.reduceat(maxs, edges).tolist()))


def _profile(info: RasterInfo, sampling: Sampling, steps: Iterator[Progress], *,
             execution: Execution, cancelled: CancelCheck) -> Tuple[Moments, list]:
    """An image's extent (:class:`moments.Moments`) and, per band, its samples: one sorted
    array per class and statistic, in class-major order."""
    sources, bands = [Source(info.path)], info.count
    run = dict(execution=execution, cancelled=cancelled)
    extent = measure(sources, info.grid, [partial(Moments, bands)], progress=next(steps),
                     **run)[0]
    require_pixels(extent.count, info)
    binning = Binning(tuple(bins_between(low, high, OTSU_BINS)
                            for low, high in zip(extent.min, extent.max)))
    histogram = measure(sources, info.grid, [partial(Histogram, binning)],
                        progress=next(steps), **run)[0]
    starts = []
    for band in range(bands):
        occupied = np.count_nonzero(histogram.dense(band))
        if occupied < sampling.classes:
            raise InvalidInputError(
                f"band {band + 1} of '{info.stem}' has {occupied} distinct level(s) in "
                f"{OTSU_BINS} bins: it cannot be split into {sampling.classes} classes; "
                f"lower the number of classes or leave the band out")
        starts.append(tuple(multi_otsu(histogram.dense(band), sampling.classes).tolist()))
    targets = tuple(_class_targets(histogram, band, np.array(starts[band], np.int64))
                    for band in range(bands))
    nearest = measure(sources, info.grid, [partial(NearestValues, binning, tuple(starts), targets,
                                                   sampling.samples)], progress=next(steps),
                      **run)[0]
    rng = np.random.default_rng(sampling.seed)
    return extent, [[_subsample(np.sort(values), sampling.fraction, rng)
                     for near in band for values in near] for band in nearest.kept]


def _subsample(values: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A random ``fraction`` (at least one) of sorted ``values``, still sorted."""
    keep = max(1, int(round(fraction * values.size)))
    return values[np.sort(rng.choice(values.size, keep, replace=False))]


def greedy_pairs(subject: np.ndarray, reference: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Pair samples one to one, nearest values first.

    Repeatedly takes the unpaired (subject, reference) pair with the smallest
    absolute difference (ties: the lower subject index, then the lower reference
    index) until one side runs out. Returns the paired values, in pairing order.
    """
    distance = np.abs(subject[:, None] - reference[None, :]).ravel()
    free_subject, free_reference = [True] * len(subject), [True] * len(reference)
    rows, cols = [], []
    for flat in np.argsort(distance, kind="stable").tolist():
        row, col = divmod(flat, len(reference))
        if free_subject[row] and free_reference[col]:
            free_subject[row] = free_reference[col] = False
            rows.append(row)
            cols.append(col)
            if len(rows) == min(len(subject), len(reference)):
                break
    return subject[rows], reference[cols]


def fit_line(x: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    """Least-squares ``(gain, offset)`` of ``y = gain * x + offset``."""
    dx = x - x.mean()
    gain = float(dx @ (y - y.mean()) / (dx @ dx))
    return gain, float(y.mean() - gain * x.mean())


def _fit(subject: list, reference: list) -> Tuple[np.ndarray, np.ndarray]:
    """Per band, the line through the pairs of every class and statistic.

    The samples of the lowest class's minimum and the highest class's maximum
    differ, so the subject's values always spread and the fit is defined.
    """
    lines = []
    for mine, theirs in zip(subject, reference):
        pairs = [greedy_pairs(a, b) for a, b in zip(mine, theirs)]
        lines.append(fit_line(np.concatenate([p[0] for p in pairs]),
                              np.concatenate([p[1] for p in pairs])))
    gains, offsets = zip(*lines)
    return np.array(gains), np.array(offsets)


def _coefficients(reference: RasterInfo, subjects: Sequence[RasterInfo], sampling: Sampling,
                  steps: Iterator[Progress], *, execution: Execution, cancelled: CancelCheck):
    """Yield (extent, gains, offsets) of every subject; the reference is measured once."""
    run = dict(execution=execution, cancelled=cancelled)
    _, reference_samples = _profile(reference, sampling, steps, **run)
    for info in subjects:
        extent, samples = _profile(info, sampling, steps, **run)
        yield (extent,) + _fit(samples, reference_samples)


@reusing_workers
def lirrn_coefficients(subject: str, reference: str, *, classes: int = 3, samples: int = 1000,
                       fraction: float = 0.1, seed: int = 0,
                       execution: Execution = Execution(), progress: Progress = None,
                       cancelled: CancelCheck = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-band gain and offset that bring ``subject`` to ``reference`` (see :func:`lirrn`).

    Returns
    -------
    (gains, offsets) : arrays (bands,)
        ``reference ~ gain * subject + offset``, band by band.
    """
    sampling = Sampling(classes, samples, fraction, seed)
    reference_info, (info,) = check_reference([subject], reference)
    steps = progress_steps(progress, 2 * PASSES)
    (_, gains, offsets), = _coefficients(reference_info, [info], sampling, steps,
                                         execution=execution, cancelled=cancelled)
    return gains, offsets


@reusing_workers
def lirrn(inputs: Sequence[str], reference: str, output_folder: str, *,
          template: str = "{stem}_lirrn.tif", classes: int = 3, samples: int = 1000,
          fraction: float = 0.1, seed: int = 0, dtype: Optional[str] = None,
          execution: Execution = Execution(), progress: Progress = None,
          cancelled: CancelCheck = None, warn: Warn = None) -> List[str]:
    """Normalize each input to the reference with LIRRN, one gain and offset per band.

    Parameters
    ----------
    inputs : sequence of str
        Subject images; one CRS and band count, shared with the reference. They need
        not overlap the reference: only value distributions are compared.
    reference : str
        The image the outputs are brought to; it is not rewritten.
    output_folder, template : str
        Where outputs go; ``{stem}`` in the template is the input's name.
    classes : int
        Brightness classes per band (multi-Otsu on a 256-bin histogram), 2 or more.
    samples : int
        Values taken nearest each class's minimum, mean and maximum.
    fraction : float in (0, 1]
        Share of those values kept, chosen at random with ``seed``.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same outputs.
    dtype : str, optional
        Output type (default: the input's); integers are rounded and clamped.
    warn : callable, optional
        Receives warnings (e.g. values clamped to the output type).

    Returns
    -------
    list of str
        The output paths, one per input.

    Raises
    ------
    InvalidInputError
        Bad ``classes``, ``samples``, ``fraction`` or ``seed``; another band count or
        CRS than the reference's; a band without valid pixels or with fewer distinct
        levels than classes.

    Notes
    -----
    Three streamed passes per image (the reference's once), then ``gain * x + offset``
    on every valid pixel. Pairs match nearest *values* (as the method does), so a
    subject that is an exact affine copy of the reference gives the exact line only
    when each sampled group holds one value; with spread groups the within-group
    pairing perturbs it slightly.
    """
    sampling = Sampling(classes, samples, fraction, seed)
    reference_info, infos = check_reference(inputs, reference)
    outputs = output_paths(infos, output_folder, template, [reference])
    steps = progress_steps(progress, PASSES * (len(infos) + 1) + len(infos))
    fits = _coefficients(reference_info, infos, sampling, steps, execution=execution,
                         cancelled=cancelled)
    with written_together(outputs) as targets:
        for info, target, (extent, gains, offsets) in zip(infos, targets, fits):
            apply_linear(info, target, gains, offsets, dtype, execution=execution,
                         progress=next(steps), cancelled=cancelled, warn=warn, moments=extent)
    return outputs
