"""Local block adjustment: smooth, spatially varying corrections towards the images' mean.

The local phase of Yu et al. (2017), as in spectralmatch's
``local_block_adjustment`` (reference F7), usually run after the global
regression. A block grid covers the canvas (the inputs' union, or a given
box); each image's per-block means form its *local map*, their NaN-aware mean
the *reference map*. Both are interpolated bilinearly between block centres
at every pixel (``M_loc``, ``M_ref``) and the pixel is corrected towards the
target ``M_t = alpha M_ref + (1 - alpha) M_loc``:

* ``gamma``: ``P' = (P + s)^g - s`` with ``g = ln(M_t + s) / ln(M_loc + s)``;
* ``linear``: ``P' = P M_t / M_loc``;
* ``offset``: ``P' = P + M_t - M_loc``.

Differences from the reference system, on purpose: the gamma shift ``s``
(which keeps logarithms above 0) is fixed once per image and band from the
image's minimum and its maps, never per window, so the result does not depend
on tiling; ``alpha`` blends the reference and local means as documented there
(the reference code multiplies the output by it instead); where no block
information reaches a pixel it is left unchanged rather than cast from NaN.
"""

import os
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence

import numpy as np

from .block_maps import (BlockAccumulator, BlockGrid, block_grid, blocks_from_variation,
                         load_map, reference_map, save_map)
from .errors import InvalidInputError, MissingInputError
from .executors import Execution
from .moments import MomentsAccumulator
from .normalization import Bounds, check_images, output_paths, output_spec, union_bounds
from .raster_io import EDGE_NODATA, Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_map, run_reduce, scaled
from .windows import Grid, Window

CORRECTIONS = ("gamma", "linear", "offset")
AUTOMATIC = "coefficient_of_variation"
REFERENCE_MAP = "reference_blocks.tif"
LOCAL_MAP = "{stem}_blocks.tif"


@dataclass(frozen=True, eq=False)
class LocalOperator:
    """Corrects one image window by window from its local map and the reference map."""

    blocks: BlockGrid
    grid: Grid
    reference: np.ndarray
    local: np.ndarray
    shift: np.ndarray
    correction: str
    alpha: float
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        data = blocks[0].data.astype(np.float64)
        local = self.blocks.interpolate(self.local, self.grid, window)
        target = self.alpha * self.blocks.interpolate(self.reference, self.grid, window) \
            + (1 - self.alpha) * local
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if self.correction == "linear":
                out = np.where(local > 0, data * target / local, np.nan)
            elif self.correction == "offset":
                out = data + target - local
            else:
                shift = self.shift[:, None, None]
                exponent = np.log(target + shift) / np.log(local + shift)
                out = (data + shift) ** exponent - shift
            out = np.where(np.isfinite(out), out, data)
        return out, blocks[0].valid


def local_block_adjustment(inputs: Sequence[str], output_folder: str, *,
                           template: str = "{stem}_local.tif", blocks=100,
                           correction: str = "gamma", alpha: float = 1.0,
                           threshold: float = 0.001, dtype: Optional[str] = None,
                           masks: Optional[Sequence] = None, canvas: Optional[Bounds] = None,
                           save_maps: Optional[str] = None, load_maps: Optional[str] = None,
                           execution: Execution = Execution(), progress: Progress = None,
                           cancelled: CancelCheck = None) -> List[str]:
    """Correct each image block-locally towards the mean of all images.

    Parameters
    ----------
    inputs : sequence of str
        Rasters with one CRS and band count (usually global regression outputs).
    output_folder, template : str
        Where outputs go; ``{stem}`` in the template is the input's name.
    blocks : int, (rows, cols) or 'coefficient_of_variation'
        Target blocks per image, an explicit block grid over the canvas, or a
        square grid sized from band 1's coefficient of variation.
    correction : {'gamma', 'linear', 'offset'}
    alpha : float
        0..1: how far towards the reference means (1: all the way).
    threshold : float
        A block mean needs at least this fraction of the block's pixels valid.
    masks : sequence, optional
        One mask per input selecting the pixels the block means use.
    canvas : (left, bottom, right, top), optional
        The box the block grid covers (default: the inputs' union).
    save_maps, load_maps : str, optional
        Folders to write block maps to (``reference_blocks.tif`` and
        ``<image>_blocks.tif``) or to reuse them from; a loaded reference map
        is reused as is, missing local maps are computed.

    Returns
    -------
    list of str
        The output paths, one per input.
    """
    if correction not in CORRECTIONS:
        raise InvalidInputError(f"correction '{correction}' is unknown: use one of "
                                f"{', '.join(CORRECTIONS)}")
    if not 0 <= alpha <= 1:
        raise InvalidInputError(f"alpha {alpha:g} is outside 0..1 (1: full correction)")
    if not 0 <= threshold <= 1:
        raise InvalidInputError(f"valid-pixel threshold {threshold:g} is outside 0..1")
    infos = check_images(inputs)
    outputs = output_paths(infos, output_folder, template)
    masks = list(masks) if masks is not None else [None] * len(infos)
    measure = scaled(progress, 0, 2)
    reference, grid_of_blocks = None, None
    if load_maps:
        reference, grid_of_blocks = _load_reference(load_maps, canvas, infos[0].count)
    else:
        bounds = tuple(canvas) if canvas else union_bounds([info.grid for info in infos])
        if blocks == AUTOMATIC:
            grid_of_blocks = _automatic_blocks(bounds, infos, masks, execution, cancelled)
        else:
            grid_of_blocks = block_grid(bounds, blocks, len(infos))
    maps, minimums = [], []
    for k, (info, mask) in enumerate(zip(infos, masks)):
        saved = os.path.join(load_maps, LOCAL_MAP.replace("{stem}", info.stem)) \
            if load_maps else None
        if saved and os.path.exists(saved):
            local, saved_blocks, minimum = load_map(saved)
            if saved_blocks != grid_of_blocks or minimum is None:
                raise InvalidInputError(f"block map '{saved}' was not made with the reference "
                                        f"map beside it: remove it to recompute it")
        else:
            local, minimum = _local_map(info, mask, grid_of_blocks, threshold, execution,
                                        scaled(measure, k, len(infos)), cancelled)
        maps.append(local)
        minimums.append(minimum)
    if reference is None:
        reference = reference_map(maps)
    if save_maps:
        _save_maps(save_maps, reference, maps, minimums, grid_of_blocks, infos)
    for k, (info, output) in enumerate(zip(infos, outputs)):
        _apply(info, output, grid_of_blocks, reference, maps[k], minimums[k], correction,
               alpha, dtype, execution, scaled(scaled(progress, 1, 2), k, len(infos)),
               cancelled)
    return outputs


def _automatic_blocks(bounds: Bounds, infos: Sequence[RasterInfo], masks: Sequence,
                      execution: Execution, cancelled: CancelCheck) -> BlockGrid:
    """The block grid from band 1's coefficient of variation over all images (a quick
    pass over one band, without progress of its own)."""
    total = None
    for info, mask in zip(infos, masks):
        moments = run_reduce(partial(MomentsAccumulator, 1, info.grid, mask),
                             [Source(info.path, (1,))], info.grid, execution=execution,
                             cancelled=cancelled)
        if total is None:
            total = moments
        else:
            total.merge(moments)
    return blocks_from_variation(bounds, float(total.mean[0]), float(total.std[0]))


def _local_map(info: RasterInfo, mask, blocks: BlockGrid, threshold: float,
               execution: Execution, progress: Progress, cancelled: CancelCheck):
    accumulator = run_reduce(partial(BlockAccumulator, info.count, blocks, info.grid, mask),
                             [Source(info.path)], info.grid, execution=execution,
                             progress=progress, cancelled=cancelled)
    local = accumulator.means(threshold)
    if np.isnan(local).all():
        raise InvalidInputError(
            f"'{info.stem}' has no block with enough valid pixels (threshold "
            f"{threshold:g} of a block): lower the threshold or use fewer blocks")
    return local, accumulator.minimum


def _load_reference(folder: str, canvas: Optional[Bounds], bands: int):
    path = os.path.join(folder, REFERENCE_MAP)
    if not os.path.exists(path):
        raise MissingInputError(f"no reference block map '{REFERENCE_MAP}' in '{folder}': "
                                f"save block maps to that folder first")
    reference, blocks, _ = load_map(path)
    if reference.shape[0] != bands:
        raise InvalidInputError(f"the saved reference map has {reference.shape[0]} band(s) but "
                                f"the inputs have {bands}")
    if canvas and not np.allclose(canvas, blocks.bounds):
        raise InvalidInputError(f"canvas {tuple(canvas)} differs from the loaded maps' "
                                f"{blocks.bounds}: leave the canvas empty to use theirs")
    return reference, blocks


def _save_maps(folder: str, reference: np.ndarray, maps: Sequence[np.ndarray],
               minimums: Sequence[np.ndarray], blocks: BlockGrid,
               infos: Sequence[RasterInfo]) -> None:
    os.makedirs(folder, exist_ok=True)
    crs = infos[0].grid.crs
    save_map(os.path.join(folder, REFERENCE_MAP), reference, blocks, crs)
    for info, local, minimum in zip(infos, maps, minimums):
        save_map(os.path.join(folder, LOCAL_MAP.replace("{stem}", info.stem)), local, blocks,
                 crs, minimum)


def _image_reference(reference: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The reference map cut to the rows and columns where the image has valid blocks."""
    cut = np.full(reference.shape, np.nan)
    for band in range(reference.shape[0]):
        rows = np.flatnonzero(~np.isnan(local[band]).all(axis=1))
        cols = np.flatnonzero(~np.isnan(local[band]).all(axis=0))
        if rows.size:
            box = (band, slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            cut[box] = reference[box]
    return cut


def _gamma_shift(minimum: np.ndarray, reference: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Per band, the shift that puts the smallest of the image and its maps at 1 or above,
    so both logarithms of the gamma correction stay positive."""
    lowest = np.fmin(minimum, np.fmin(np.nanmin(reference, axis=(1, 2)),
                                      np.nanmin(local, axis=(1, 2))))
    return np.where(np.isfinite(lowest), np.maximum(0.0, 1.0 - lowest), 0.0)


def _apply(info: RasterInfo, output: str, blocks: BlockGrid, reference: np.ndarray,
           local: np.ndarray, minimum: np.ndarray, correction: str, alpha: float,
           dtype: Optional[str], execution: Execution, progress: Progress,
           cancelled: CancelCheck) -> str:
    cut = _image_reference(reference, local)
    with np.errstate(all="ignore"):
        operator = LocalOperator(blocks, info.grid, cut, local,
                                 _gamma_shift(minimum, cut, local), correction, alpha)
    return run_map(operator, [Source(info.path)], output_spec(info, output, dtype), execution=execution,
                   progress=progress, cancelled=cancelled)
