"""Local block adjustment: smooth, spatially varying corrections towards the images' mean.

The local phase of Yu et al. (2017), as in spectralmatch's
``local_block_adjustment`` (reference F7), usually run after the global
regression. A block grid covers the canvas (the inputs' union, or a given
box); each image's per-block means form its *local map*. Its *reference map*
says what those blocks should average:

* ``pixels`` (default): per block, the mean over the image's own valid pixels
  of the pixel-wise mean of every image valid there. Both maps cover exactly
  the same pixels, so a block only half covered by the image compares like
  with like; where the image has no overlap the reference equals the image and
  nothing changes.
* ``blocks`` (the reference system's): the NaN-aware mean over images of
  their local maps, cut to the image's block extent. Blocks at image edges
  then compare different areas, which shows up as false corrections along the
  seams (the reference system's edge-block issues, its PRs #33 and #65).

Both maps are interpolated bilinearly between block centres at every pixel
(``M_loc``, ``M_ref``) and the pixel is corrected towards
``M_t = alpha M_ref + (1 - alpha) M_loc``:

* ``gamma``: ``P' = (P + s)^g - s`` with ``g = ln(M_t + s) / ln(M_loc + s)``;
* ``linear``: ``P' = P M_t / M_loc``;
* ``offset``: ``P' = P + M_t - M_loc``.

Other differences from the reference system, on purpose: the gamma shift
``s`` (which keeps logarithms above 0) is fixed once per image and band from
the image's minimum and its maps, never per window, so the result does not
depend on tiling; ``alpha`` blends the reference and local means as
documented there (the reference code multiplies the output by it instead);
where no block information reaches a pixel it is left unchanged rather than
cast from NaN.
"""

import os
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence

import numpy as np

from .block_maps import (BlockAccumulator, BlockGrid, block_grid, blocks_from_variation,
                         load_map, reference_map, save_map)
from .errors import InvalidInputError, MissingInputError, check_choice
from .executors import Execution, reusing_workers
from .moments import MomentsAccumulator
from .image_sets import (Bounds, check_images, output_paths, output_spec, overlap_bounds,
                         union_bounds, written_together)
from .normalization import mask_per_image
from .raster_io import EDGE_NODATA, Block, RasterInfo, Source
from .runner import CancelCheck, Progress, run_map, run_reduce, scaled
from .windows import Grid, Window

CORRECTIONS = ("gamma", "linear", "offset")
PIXELS, BLOCKS = "pixels", "blocks"
REFERENCES = (PIXELS, BLOCKS)
AUTOMATIC = "coefficient_of_variation"
REFERENCE_MAP = "reference_blocks.tif"
LOCAL_MAP = "{stem}_blocks.tif"
PIXEL_REFERENCE_MAP = "{stem}_reference_blocks.tif"


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


@reusing_workers
def local_block_adjustment(inputs: Sequence[str], output_folder: str, *,
                           template: str = "{stem}_local.tif", blocks=100,
                           correction: str = "offset", reference: str = PIXELS,
                           alpha: float = 1.0,
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
    reference : {'pixels', 'blocks'}
        What each block is corrected towards (see the module notes).
    alpha : float
        0..1: how far towards the reference means (1: all the way).
    threshold : float
        A block mean needs at least this fraction of the block's pixels valid.
    masks : sequence, optional
        One mask per input selecting the pixels the block means use.
    canvas : (left, bottom, right, top), optional
        The box the block grid covers (default: the inputs' union).
    save_maps, load_maps : str, optional
        Folders to write block maps to (``reference_blocks.tif``,
        ``<image>_blocks.tif`` and, with ``pixels``,
        ``<image>_reference_blocks.tif``) or to reuse them from: the block grid
        and the shared reference come from the folder, an image's maps are
        reused when present and computed otherwise.

    Returns
    -------
    list of str
        The output paths, one per input.
    """
    check_choice(correction, CORRECTIONS, "correction")
    check_choice(reference, REFERENCES, "reference")
    if not 0 <= alpha <= 1:
        raise InvalidInputError(f"alpha {alpha:g} is outside 0..1 (1: full correction)")
    if not 0 <= threshold <= 1:
        raise InvalidInputError(f"valid-pixel threshold {threshold:g} is outside 0..1")
    infos = check_images(inputs)
    outputs = output_paths(infos, output_folder, template)
    masks = mask_per_image(masks, len(infos))
    measure = scaled(progress, 0, 2)
    shared, grid_of_blocks = None, None
    if load_maps:
        shared, grid_of_blocks = _load_reference(load_maps, canvas, infos[0].count)
    else:
        bounds = tuple(canvas) if canvas else union_bounds([info.grid for info in infos])
        if blocks == AUTOMATIC:
            grid_of_blocks = _automatic_blocks(bounds, infos, masks, execution, cancelled)
        else:
            grid_of_blocks = block_grid(bounds, blocks, len(infos))
    images = []
    for k, info in enumerate(infos):
        saved = _saved_maps(load_maps, info.stem, reference, grid_of_blocks)
        if saved is None:
            partners = [j for j, other in enumerate(infos) if j != k and overlap_bounds(
                info.grid.bounds, other.grid.bounds)] if reference == PIXELS else []
            saved = _block_means(info, [infos[j] for j in partners],
                                 tuple(masks[j] for j in [k] + partners),
                                 reference == PIXELS, grid_of_blocks,
                                 threshold, execution, scaled(measure, k, len(infos)),
                                 cancelled)
        images.append(saved)
    shared = shared if shared is not None else reference_map([local for local, _, _ in images])
    if save_maps:
        _save_maps(save_maps, shared, images, grid_of_blocks, infos)
    with written_together(outputs) as targets:
        for k, (info, path) in enumerate(zip(infos, targets)):
            local, own, minimum = images[k]
            target = own if reference == PIXELS else _image_reference(shared, local)
            _apply(info, path, grid_of_blocks, target, local, minimum, correction, alpha,
                   dtype, execution, scaled(scaled(progress, 1, 2), k, len(infos)), cancelled)
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


def _saved_maps(folder: Optional[str], stem: str, reference: str, blocks: BlockGrid):
    """(local map, own reference map or None, minimum) saved for image ``stem``, or None
    when ``folder`` lacks them (then they are computed)."""
    if not folder:
        return None
    paths = [os.path.join(folder, LOCAL_MAP.replace("{stem}", stem))]
    if reference == PIXELS:
        paths.append(os.path.join(folder, PIXEL_REFERENCE_MAP.replace("{stem}", stem)))
    if not all(os.path.exists(path) for path in paths):
        return None
    maps = [load_map(path) for path in paths]
    if any(saved_blocks != blocks for _, saved_blocks, _ in maps) or maps[0][2] is None:
        raise InvalidInputError(f"block map '{paths[0]}' was not made with the reference map "
                                f"beside it: remove it to recompute it")
    return maps[0][0], maps[1][0] if len(maps) > 1 else None, maps[0][2]


def _block_means(info: RasterInfo, partners: Sequence[RasterInfo], masks: tuple,
                 pixel_reference: bool, blocks: BlockGrid, threshold: float,
                 execution: Execution, progress: Progress, cancelled: CancelCheck):
    """(local map, pixel reference map (None unless ``pixel_reference``), minimum) of one
    image, ``partners`` read onto its grid."""
    sources = [Source(info.path)] + [Source(other.path, grid=info.grid) for other in partners]
    accumulator = run_reduce(partial(BlockAccumulator, info.count, blocks, info.grid, masks),
                             sources, info.grid, execution=execution, progress=progress,
                             cancelled=cancelled)
    local = accumulator.means(threshold)
    if np.isnan(local).all():
        raise InvalidInputError(
            f"'{info.stem}' has no block with enough valid pixels (threshold "
            f"{threshold:g} of a block): lower the threshold or use fewer blocks")
    own = accumulator.means(threshold, accumulator.reference_sums) if pixel_reference else None
    return local, own, accumulator.minimum


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


def _save_maps(folder: str, shared: np.ndarray, images: Sequence[tuple], blocks: BlockGrid,
               infos: Sequence[RasterInfo]) -> None:
    os.makedirs(folder, exist_ok=True)
    crs = infos[0].grid.crs
    save_map(os.path.join(folder, REFERENCE_MAP), shared, blocks, crs)
    for info, (local, own, minimum) in zip(infos, images):
        save_map(os.path.join(folder, LOCAL_MAP.replace("{stem}", info.stem)), local, blocks,
                 crs, minimum)
        if own is not None:
            save_map(os.path.join(folder, PIXEL_REFERENCE_MAP.replace("{stem}", info.stem)),
                     own, blocks, crs)


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
    return run_map(operator, [Source(info.path)], output_spec(info, output, dtype),
                   execution=execution, progress=progress, cancelled=cancelled)
