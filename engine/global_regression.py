"""Global regression: one gain and offset per image and band that make overlaps agree.

The global phase of Yu et al. (2017), as in spectralmatch's
``global_regression`` (reference F6), with its defects fixed:

* statistics are streamed (:class:`moments.Moments`, one pass per image that
  also pairs it with every later image it overlaps), never concatenated;
* overlap pixels of an image on another grid are read onto this image's grid
  *after* masking nodata (:mod:`resample`), so nodata never bleeds in;
* population standard deviations everywhere (the reference mixes ddof 0 and 1);
* pairs between two non-reference images are kept, so an image is also
  calibrated through a chain of overlaps, and an image that no reference can
  reach is an error instead of a silent identity;
* a robust fit (Huber weights on the overlap rows) besides least squares.

Per band the unknowns are ``(a_k, b_k)`` for every image ``k``; each
overlapping pair ``(i, j)`` adds the rows ``cmf * (a_i m_ij + b_i - a_j m_ji - b_j) = 0``
and ``csf * (a_i s_ij - a_j s_ji) = 0``, and each reference image the identity
anchors ``P (a_k M_k + b_k) = P M_k`` and ``P a_k S_k = P S_k`` with
``P = pairs / (2 N)``. The statistics are saved to a JSON model; loading it
reuses them and adds new images without recomputing old ones.
"""

import json
import os
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import InvalidInputError, check_choice
from .executors import Execution, reusing_workers
from .masks import usable
from .moments import Moments
from .image_sets import check_images, output_paths, overlap_bounds, written_together
from .normalization import apply_linear, mask_per_image
from .raster_io import Block, RasterInfo, Source, describe, replaced_atomically
from .runner import CancelCheck, Progress, Warn, run_reduce, scaled
from .windows import Grid, Window

FITS = ("least_squares", "huber")
MODEL_FORMAT = "tessera-global-regression"
HUBER_K = 1.345


@dataclass
class ImageStats:
    """What the model keeps of one image: where it is, its statistics, its overlaps."""

    stem: str
    path: str
    bounds: Tuple[float, float, float, float]
    whole: Optional[Moments] = None
    overlaps: Dict[str, Moments] = field(default_factory=dict)


class OverlapAccumulator:
    """Streams an image's statistics and its overlap statistics with partners.

    Block 0 is the image, block ``k`` its ``k``-th partner read onto the image's
    grid. A pair uses pixels valid (and unmasked) in both.
    """

    def __init__(self, bands: int, grid: Grid, masks: tuple, whole: bool):
        self.grid = grid
        self.masks = masks
        self.whole = Moments(bands) if whole else None
        self.pairs = [(Moments(bands), Moments(bands)) for _ in masks[1:]]

    def add(self, blocks: List[Block], window: Window) -> None:
        own = blocks[0]
        valid = own.valid & usable(self.masks[0], self.grid, window)
        if self.whole is not None:
            self.whole.add(own.data, valid)
        for (mine, theirs), other, mask in zip(self.pairs, blocks[1:], self.masks[1:]):
            both = valid & other.valid & usable(mask, self.grid, window)
            mine.add(own.data, both)
            theirs.add(other.data, both)

    def merge(self, other: "OverlapAccumulator") -> None:
        if self.whole is not None:
            self.whole.merge(other.whole)
        for (mine, theirs), (more_mine, more_theirs) in zip(self.pairs, other.pairs):
            mine.merge(more_mine)
            theirs.merge(more_theirs)

    def finalize(self):
        return self.whole, self.pairs


def solve_band(means: np.ndarray, stds: np.ndarray, pairs: Sequence[tuple],
               reference: Sequence[bool], mean_weight: float = 1.0, std_weight: float = 1.0,
               fit: str = "least_squares") -> Tuple[np.ndarray, np.ndarray]:
    """Gains and offsets of one band.

    Parameters
    ----------
    means, stds : array (N,)
        Whole-image mean and standard deviation of each image.
    pairs : sequence of (i, j, m_ij, s_ij, m_ji, s_ji)
        Overlap statistics: image i's mean and std over the overlap, then j's.
    reference : sequence of bool (N,)
        Which images are anchored to their own values.
    fit : {'least_squares', 'huber'}
        Huber re-weights the overlap rows by their residuals (iteratively
        reweighted least squares, scale from the median absolute residual).

    Returns
    -------
    (gains, offsets) : arrays (N,)
    """
    check_choice(fit, FITS, "fit method")
    count = len(means)
    rows, targets = [], []
    for i, j, m_i, s_i, m_j, s_j in pairs:
        row = np.zeros(2 * count)
        row[[2 * i, 2 * i + 1, 2 * j, 2 * j + 1]] = [m_i, 1.0, -m_j, -1.0]
        rows.append(mean_weight * row)
        row = np.zeros(2 * count)
        row[[2 * i, 2 * j]] = [s_i, -s_j]
        rows.append(std_weight * row)
        targets += [0.0, 0.0]
    paired = len(rows)
    anchor = len(pairs) / (2.0 * count) if pairs else 1.0
    for k in range(count):
        if reference[k]:
            row = np.zeros(2 * count)
            row[[2 * k, 2 * k + 1]] = [means[k], 1.0]
            rows.append(anchor * row)
            targets.append(anchor * means[k])
            row = np.zeros(2 * count)
            row[2 * k] = stds[k]
            rows.append(anchor * row)
            targets.append(anchor * stds[k])
    matrix, target = np.array(rows), np.array(targets)
    weights = np.ones(len(rows))
    solution = _weighted_lstsq(matrix, target, weights)
    if fit == "huber" and paired:
        for _ in range(50):
            residual = np.abs(matrix[:paired] @ solution - target[:paired])
            scale = 1.4826 * np.median(residual)
            if scale <= 1e-12 * max(1.0, np.abs(target).max()):
                break
            weights[:paired] = np.minimum(1.0, HUBER_K * scale / np.maximum(residual, 1e-300))
            updated = _weighted_lstsq(matrix, target, weights)
            converged = np.allclose(updated, solution, rtol=1e-12, atol=1e-12)
            solution = updated
            if converged:
                break
    return solution[0::2], solution[1::2]


def _weighted_lstsq(matrix: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    root = np.sqrt(weights)[:, None]
    return np.linalg.lstsq(matrix * root, target * root[:, 0], rcond=None)[0]


def _reference_flags(stems: Sequence[str], reference) -> List[bool]:
    """Which images anchor the model: ``None`` (all), or ('include'|'exclude', names)."""
    if reference is None:
        return [True] * len(stems)
    mode, names = reference
    check_choice(mode, ("include", "exclude"), "reference mode")
    unknown = [name for name in names if name not in stems]
    if unknown:
        raise InvalidInputError(
            f"reference image(s) {', '.join(repr(n) for n in unknown)} match no input: "
            f"names are file names without extension: {', '.join(stems)}")
    flags = [(stem in names) == (mode == "include") for stem in stems]
    if not any(flags):
        raise InvalidInputError("no reference image is left: at least one image must anchor "
                                "the model")
    return flags


def _check_reachable(stems: Sequence[str], pairs: Sequence[Tuple[int, int]],
                     flags: Sequence[bool]) -> None:
    """Every image must overlap a reference image, directly or through other images."""
    if len(stems) > 1 and not pairs:
        raise InvalidInputError(
            f"no two images overlap ({', '.join(stems)}): relative normalization needs "
            f"overlapping images with valid pixels in common")
    reached = {k for k, flag in enumerate(flags) if flag}
    grown = True
    while grown:
        grown = False
        for i, j in pairs:
            if (i in reached) != (j in reached):
                reached |= {i, j}
                grown = True
    lonely = [stems[k] for k in range(len(stems)) if k not in reached]
    if lonely:
        raise InvalidInputError(
            f"{', '.join(lonely)} overlap(s) no reference image, directly or through other "
            f"images: make one of them a reference or add an image that bridges the gap")


def load_model(path: str) -> Dict[str, ImageStats]:
    """The image statistics of a saved model, by image name."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"model '{path}' cannot be read as JSON ({exc})") from exc
    if data.get("format") != MODEL_FORMAT:
        raise InvalidInputError(f"'{path}' is not a Tessera global regression model")
    images = {}
    for stem, item in data["images"].items():
        images[stem] = ImageStats(
            stem, item["path"], tuple(item["bounds"]), Moments.from_dict(item["whole"]),
            {other: Moments.from_dict(stats) for other, stats in item["overlaps"].items()})
    return images


def save_model(path: str, images: Sequence[ImageStats], gains: np.ndarray,
               offsets: np.ndarray, settings: dict) -> str:
    """Write the model (statistics, gains and offsets per image) as JSON, atomically."""
    data = {"format": MODEL_FORMAT, "version": 1, "settings": settings, "images": {
        image.stem: {"path": image.path, "bounds": list(image.bounds),
                     "gain": gains[k].tolist(), "offset": offsets[k].tolist(),
                     "whole": image.whole.to_dict(),
                     "overlaps": {other: stats.to_dict()
                                  for other, stats in sorted(image.overlaps.items())}}
        for k, image in enumerate(images)}}
    with replaced_atomically(path, ".json") as temp:
        with open(temp, "w") as handle:
            json.dump(data, handle, indent=1)
    return path


@reusing_workers
def global_regression(inputs: Sequence[str], output_folder: str, *,
                      template: str = "{stem}_global.tif", reference=None,
                      mean_weight: float = 1.0, std_weight: float = 1.0,
                      fit: str = "least_squares", dtype: Optional[str] = None,
                      masks: Optional[Sequence] = None, model: Optional[str] = None,
                      save_model_to: Optional[str] = None,
                      execution: Execution = Execution(), progress: Progress = None,
                      cancelled: CancelCheck = None, warn: Warn = None) -> List[str]:
    """Normalize overlapping images to each other with one gain and offset per band.

    Parameters
    ----------
    inputs : sequence of str
        Rasters with one CRS and band count; grids may differ.
    output_folder, template : str
        Where outputs go; ``{stem}`` in the template is the input's name.
    reference : None or ('include' | 'exclude', names)
        Reference (anchored) images: all (None), only the names, or all but them.
    mean_weight, std_weight : float
        Weight of the overlap mean and std rows against the identity anchors.
    fit : {'least_squares', 'huber'}
    dtype : str, optional
        Output type (default: the input's); integers are rounded and clamped.
    masks : sequence, optional
        One mask per input (:mod:`masks`) selecting the pixels statistics use.
    model : str, optional
        A saved model whose statistics are reused; its images not among the
        inputs still take part in the fit.
    save_model_to : str, optional
        Where to write the model JSON.
    warn : callable, optional
        Receives warnings (e.g. values clamped to the output type).

    Returns
    -------
    list of str
        The output paths, one per input.
    """
    if mean_weight < 0 or std_weight < 0:
        raise InvalidInputError("mean and std weights must be 0 or more")
    check_choice(fit, FITS, "fit method")
    infos = check_images(inputs)
    outputs = output_paths(infos, output_folder, template)
    masks = mask_per_image(masks, len(infos))
    loaded = load_model(model) if model else {}
    images = [loaded.get(info.stem) or ImageStats(info.stem, info.path, info.grid.bounds)
              for info in infos]
    images += [image for stem, image in loaded.items()
               if stem not in {info.stem for info in infos}]
    _check_bands(images, infos[0].count)
    flags = _reference_flags([image.stem for image in images], reference)
    _measure(images, infos, masks, execution, scaled(progress, 0, 2), cancelled, warn)
    pairs = [(i, j) for i in range(len(images)) for j in range(i + 1, len(images))
             if images[j].stem in images[i].overlaps
             and images[i].overlaps[images[j].stem].count.min() > 0]
    _check_reachable([image.stem for image in images], pairs, flags)
    gains, offsets = _solve(images, pairs, flags, mean_weight, std_weight, fit)
    if save_model_to:
        save_model(save_model_to, images, gains, offsets,
                   {"reference": reference, "mean_weight": mean_weight,
                    "std_weight": std_weight, "fit": fit})
    with written_together(outputs) as targets:
        for k, (info, target) in enumerate(zip(infos, targets)):
            apply_linear(info, target, gains[k], offsets[k], dtype, execution=execution,
                         progress=scaled(scaled(progress, 1, 2), k, len(infos)),
                         cancelled=cancelled, warn=warn, moments=images[k].whole)
    return outputs


def _check_bands(images: Sequence[ImageStats], bands: int) -> None:
    for image in images:
        if image.whole is not None and len(image.whole.count) != bands:
            raise InvalidInputError(
                f"the model's image '{image.stem}' has {len(image.whole.count)} band(s) but "
                f"the inputs have {bands}: use a model built from the same bands")


def _measure(images: List[ImageStats], infos: Sequence[RasterInfo], masks: Sequence,
             execution: Execution, progress: Progress, cancelled: CancelCheck,
             warn: Warn) -> None:
    """Compute the statistics the model lacks: one pass per image, pairing it with every
    later image it overlaps."""
    grids = {info.stem: info.grid for info in infos}
    mask_of = {info.stem: mask for info, mask in zip(infos, masks)}
    jobs = []
    for i, image in enumerate(images):
        partners = []
        for j in range(i + 1, len(images)):
            other = images[j]
            if other.stem in image.overlaps or not overlap_bounds(image.bounds, other.bounds):
                continue
            if os.path.exists(image.path) and os.path.exists(other.path):
                partners.append(j)
            elif warn:
                warn(f"overlap of '{image.stem}' and '{other.stem}' is skipped: a model "
                     f"image's file is no longer at its saved path")
        if image.whole is None or partners:
            jobs.append((i, partners))
    for done, (i, partners) in enumerate(jobs):
        image = images[i]
        grid = _grid(image, grids)
        if image.whole is not None:
            grid = grid.subgrid(_union_window(grid, [_grid(images[j], grids) for j in partners]))
        sources = [Source(image.path, grid=grid)] + [
            Source(images[j].path, grid=grid) for j in partners]
        make = partial(OverlapAccumulator, infos[0].count, grid,
                       tuple(mask_of.get(images[k].stem) for k in [i] + partners),
                       image.whole is None)
        whole, pair_stats = run_reduce(make, sources, grid, execution=execution,
                                       progress=scaled(progress, done, len(jobs)),
                                       cancelled=cancelled)
        if whole is not None:
            if whole.count.max() == 0:
                raise InvalidInputError(
                    f"'{image.stem}' has no valid pixel to measure (all nodata, or excluded "
                    f"by the mask): check the image and the mask")
            image.whole = whole
        for j, (mine, theirs) in zip(partners, pair_stats):
            image.overlaps[images[j].stem] = mine
            images[j].overlaps[image.stem] = theirs


def _grid(image: ImageStats, grids: Dict[str, Grid]) -> Grid:
    """The grid of an input, or of a model image read from its saved path."""
    if image.stem not in grids:
        grids[image.stem] = describe(image.path, f"model image '{image.stem}'").grid
    return grids[image.stem]


def _union_window(grid: Grid, others: Sequence[Grid]) -> Window:
    """The smallest window of ``grid`` covering its overlaps with ``others`` (one pixel when
    no pixel centre falls in any: the pass then finds no pair pixels)."""
    windows = [grid.window_of(overlap_bounds(grid.bounds, other.bounds)) for other in others]
    windows = [w for w in windows if w is not None] or [Window(0, 0, 1, 1)]
    row, col = min(w.row for w in windows), min(w.col for w in windows)
    return Window(row, col, max(w.row_stop for w in windows) - row,
                  max(w.col_stop for w in windows) - col)


def _solve(images: Sequence[ImageStats], pairs: Sequence[Tuple[int, int]],
           flags: Sequence[bool], mean_weight: float, std_weight: float,
           fit: str) -> Tuple[np.ndarray, np.ndarray]:
    """Gains and offsets, arrays (images, bands)."""
    bands = len(images[0].whole.count)
    gains, offsets = np.ones((len(images), bands)), np.zeros((len(images), bands))
    for band in range(bands):
        rows = []
        for i, j in pairs:
            mine, theirs = images[i].overlaps[images[j].stem], images[j].overlaps[images[i].stem]
            rows.append((i, j, mine.mean[band], mine.std[band], theirs.mean[band],
                         theirs.std[band]))
        gains[:, band], offsets[:, band] = solve_band(
            np.array([image.whole.mean[band] for image in images]),
            np.array([image.whole.std[band] for image in images]),
            rows, flags, mean_weight, std_weight, fit)
    return gains, offsets
