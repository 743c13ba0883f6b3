"""What every radiometric normalization shares.

Checking a reference against its inputs, one mask per image, applying a
per-band gain and offset, and warning when an output type will clamp. (What
any set of images needs is in :mod:`image_sets`.)
"""

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import value_range
from .errors import InvalidInputError
from .executors import Execution
from .image_sets import check_images, output_spec
from .raster_io import EDGE_NODATA, Block, RasterInfo, Source
from .runner import CancelCheck, Progress, Warn, run_map
from .windows import Window



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
