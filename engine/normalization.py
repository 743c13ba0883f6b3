"""What every radiometric normalization shares.

Checking a set of images (one CRS, one band count, distinct names), naming
one output per input from a template, choosing the output type and nodata,
finding which images overlap, applying a per-band gain and offset, and
warning when an output type will clamp.
"""

import math
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import check_dtype, default_nodata, value_range
from .errors import GridMismatchError, InvalidInputError
from .executors import Execution
from .raster_io import (EDGE_NODATA, Block, OutputSpec, RasterInfo, Source, check_output,
                        describe)
from .runner import CancelCheck, Progress, run_map
from .windows import Grid, Window, same_crs

Warn = Optional[Callable[[str], None]]
STEM = "{stem}"
Bounds = Tuple[float, float, float, float]


def check_images(paths: Sequence[str], what: str = "input raster") -> List[RasterInfo]:
    """Describe ``paths``; refuse duplicates, mixed CRSs and mixed band counts."""
    if not paths:
        raise InvalidInputError(f"no {what} given: choose at least one")
    infos = [describe(path, what) for path in paths]
    seen = {}
    for info in infos:
        if info.stem in seen:
            raise InvalidInputError(
                f"two inputs are named '{info.stem}' ('{seen[info.stem]}' and '{info.path}'): "
                f"outputs and models are keyed by file name, rename one")
        seen[info.stem] = info.path
    first = infos[0]
    for info in infos[1:]:
        if not same_crs(first.grid.crs, info.grid.crs):
            raise GridMismatchError(
                f"'{info.stem}' is in another CRS than '{first.stem}': all inputs must share "
                f"one CRS; reproject it first")
        if info.count != first.count:
            raise InvalidInputError(
                f"'{info.stem}' has {info.count} band(s) but '{first.stem}' has {first.count}: "
                f"all inputs must have the same bands in the same order")
    return infos


def check_reference(inputs: Sequence[str], reference: str) -> Tuple[RasterInfo, List[RasterInfo]]:
    """Describe the reference and the inputs (one CRS, one band count, distinct names);
    refuse no inputs and a reference that is also an input."""
    if not inputs:
        raise InvalidInputError("no input raster given: choose at least one image to "
                                "normalize to the reference")
    for path in inputs:
        if os.path.abspath(path) == os.path.abspath(reference):
            raise InvalidInputError(
                f"'{path}' is both the reference and an input: the reference is left as it "
                f"is, remove it from the inputs")
    infos = check_images([reference] + list(inputs))
    return infos[0], infos[1:]


def mask_per_image(masks: Optional[Sequence], count: int) -> list:
    """``masks`` as a list of one mask (or None) per image; None gives no masks."""
    if masks is None:
        return [None] * count
    if len(masks) != count:
        raise InvalidInputError(f"{len(masks)} masks given for {count} inputs: give one mask "
                                f"per input, or none")
    return list(masks)


def output_paths(infos: Sequence[RasterInfo], folder: str, template: str,
                 inputs: Sequence[str] = ()) -> List[str]:
    """One GeoTIFF path per image in ``folder`` from ``template`` (``{stem}`` is the
    input's file name without extension); the folder is created if needed."""
    if STEM not in template:
        raise InvalidInputError(f"output name template '{template}' lacks {STEM}: every "
                                f"output would get the same name (e.g. use '{STEM}_norm.tif')")
    if not template.lower().endswith((".tif", ".tiff")):
        raise InvalidInputError(f"output name template '{template}' must end in .tif")
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, template.replace(STEM, info.stem)) for info in infos]
    for path in paths:
        check_output(path, list(inputs) + [info.path for info in infos])
    return paths


@contextmanager
def written_together(outputs: Sequence[str]) -> Iterator[List[str]]:
    """Yield hidden temporary paths beside ``outputs``; rename them all into place only
    when the block ends normally. A run that fails or is cancelled after writing some
    images leaves none of its outputs, not a partial set."""
    temps = [os.path.join(os.path.dirname(path), f".{os.path.basename(path)}."
                                                 f"{uuid.uuid4().hex[:8]}.pending.tif")
             for path in outputs]
    try:
        yield temps
        for temp, path in zip(temps, outputs):
            os.replace(temp, path)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)


def output_type(info: RasterInfo, dtype: Optional[str] = None) -> Tuple[str, Optional[float]]:
    """(type, nodata) of an output: the input's type unless ``dtype`` is given; the
    input's nodata when the type holds it, else the type's default nodata."""
    name = check_dtype(dtype or info.dtype).name
    nodata = info.nodata
    if nodata is None or not _fits(nodata, name):
        nodata = default_nodata(name)
    return name, nodata


def output_spec(info: RasterInfo, output: str, dtype: Optional[str] = None) -> OutputSpec:
    """The output of a corrected image: its grid and bands, :func:`output_type`, and valid
    pixels kept valid (``keep_valid``)."""
    out_type, nodata = output_type(info, dtype)
    return OutputSpec(output, info.grid, info.count, out_type, nodata, keep_valid=True)


def _fits(value: float, dtype: str) -> bool:
    if math.isnan(value):
        return np.dtype(dtype).kind == "f"
    low, high = value_range(dtype)
    return low <= value <= high and (np.dtype(dtype).kind == "f" or value == int(value))


def overlap_bounds(a: Bounds, b: Bounds) -> Optional[Bounds]:
    """The intersection of two (left, bottom, right, top) boxes, or None when they do
    not overlap (touching edges are no overlap)."""
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    if left >= right or bottom >= top:
        return None
    return (left, bottom, right, top)


def union_bounds(grids: Sequence[Grid]) -> Bounds:
    """The bounding box of every grid."""
    boxes = np.array([grid.bounds for grid in grids])
    return (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())


def warn_if_clamped(stem: str, low: np.ndarray, high: np.ndarray, dtype: str,
                    warn: Warn) -> None:
    """Warn when values predicted to span ``low..high`` per band do not fit ``dtype``."""
    if warn is None or np.dtype(dtype).kind == "f":
        return
    type_low, type_high = value_range(dtype)
    bands = [str(band + 1) for band in range(len(low))
             if low[band] < type_low - 0.5 or high[band] > type_high + 0.5]
    if bands:
        warn(f"'{stem}': band(s) {', '.join(bands)} reach {np.min(low):.6g} .. "
             f"{np.max(high):.6g}, beyond {dtype} ({type_low:g} .. {type_high:g}); values are "
             f"clamped to that range. Choose a wider output type (e.g. float32) to keep them.")


@dataclass(frozen=True)
class LinearOperator:
    """``gain * value + offset`` per band; nodata stays nodata."""

    gains: Tuple[float, ...]
    offsets: Tuple[float, ...]
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        block = blocks[0]
        gains = np.asarray(self.gains)[:, None, None]
        offsets = np.asarray(self.offsets)[:, None, None]
        return block.data * gains + offsets, block.valid


def apply_linear(info: RasterInfo, output: str, gains: Sequence[float],
                 offsets: Sequence[float], dtype: Optional[str], *,
                 execution: Execution, progress: Progress, cancelled: CancelCheck,
                 warn: Warn = None, moments=None) -> str:
    """Write ``gain * x + offset`` of every band of ``info`` to ``output``.

    ``moments`` (per-band minimum and maximum of the input) lets it warn
    before writing when the output type will clamp.
    """
    spec = output_spec(info, output, dtype)
    gains, offsets = np.asarray(gains, float), np.asarray(offsets, float)
    if moments is not None:
        ends = np.stack([gains * moments.min + offsets, gains * moments.max + offsets])
        warn_if_clamped(info.stem, ends.min(axis=0), ends.max(axis=0), spec.dtype, warn)
    return run_map(LinearOperator(tuple(gains.tolist()), tuple(offsets.tolist())),
                   [Source(info.path)], spec, execution=execution, progress=progress,
                   cancelled=cancelled)
