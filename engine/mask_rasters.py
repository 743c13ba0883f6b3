"""Mask rasters by polygons: pixels outside (or inside) the polygons become nodata.

Reference F11 (spectralmatch ``mask_rasters``), with the polygons reprojected
to each image, an optional buffer (the mosaic workflow masks each image by its
seamline polygon grown by half the feather distance, so the feathered merge has
pixels on both sides of the seam to blend), and a nodata value chosen (and
announced) when neither the user nor the image gives one. The polygons are
rasterized per window by :class:`masks.VectorMask`, the same masks the
radiometry statistics use.
"""

import math
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import check_nodata
from .executors import Execution, reusing_workers
from .image_sets import check_images, output_paths, output_spec, written_together
from .masks import VectorMask, vector_masks
from .raster_io import EDGE_NODATA, Block, OutputSpec, RasterInfo, Source
from .runner import CancelCheck, Progress, Warn, progress_steps, run_map
from .windows import Grid, Window

DEFAULT_TEMPLATE = "{stem}_masked.tif"


@dataclass(frozen=True)
class MaskOperator:
    """Every band of an image, invalid where ``mask`` does not allow the pixel."""

    mask: VectorMask
    grid: Grid
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window) -> Tuple[np.ndarray, np.ndarray]:
        block = blocks[0]
        return block.data, block.valid & self.mask.usable(self.grid, window)[None]


@reusing_workers
def mask_rasters(inputs: Sequence[str], mask: str, output_folder: str, *,
                 mode: str = "include", field: Optional[str] = None, all_touched: bool = False,
                 buffer: float = 0.0, nodata: Optional[float] = None,
                 template: str = DEFAULT_TEMPLATE, dtype: Optional[str] = None,
                 execution: Execution = Execution(), progress: Progress = None,
                 cancelled: CancelCheck = None, warn: Warn = None) -> List[str]:
    """Write each input with the pixels outside (``include``) or inside (``exclude``)
    the polygons of ``mask`` set to nodata.

    Parameters
    ----------
    inputs : sequence of str
        Rasters with distinct file names; CRSs and band counts may differ.
    mask : str
        Polygon layer (GeoPackage, Shapefile...), reprojected to each image's CRS.
    mode : {'include', 'exclude'}
        Keep the pixels inside the polygons, or the pixels outside them.
    field : str, optional
        An image gets only the features whose value of this field *contains*
        its file name without extension (e.g. 'tile3' matches 'tile3' and
        'tile3_seam'); without it, every feature applies to every image.
    all_touched : bool
        A pixel is inside when a polygon touches it at all, not only when the
        polygon covers its centre.
    buffer : float
        Grow (or, negative, shrink) the polygons by this distance in units of
        the image's CRS before masking; corners are rounded.
    nodata : float, optional
        Nodata of the outputs. Default: the input's, else the output type's
        (NaN for floats, the type's maximum or minimum for integers), announced
        through ``warn``.
    template : str
        Output file name, ``{stem}`` being the input's file name.
    dtype : str, optional
        Output type (default: the input's); values are rounded and clamped.
    warn : callable, optional
        Receives a message when a nodata value is chosen and when an image gets
        no polygon (include mode: its output is all nodata).

    Returns
    -------
    list of str
        One output path per input, in input order. All appear together, or
        none (on error or cancel).

    Raises
    ------
    InvalidInputError
        Unknown mode, ``field`` missing from the layer (the message lists the
        fields), a nodata that does not fit the output type, a bad template.
    MissingInputError
        An input or the mask layer cannot be read.

    Notes
    -----
    No halo: each window is masked on its own, with polygons rasterized in the
    whole grid's pixel coordinates, so outputs do not depend on window size or
    workers. A valid pixel is never turned into nodata: one whose value equals
    the output nodata is moved one step into the type's range.

    Examples
    --------
    A 10 x 10 image of 2 m pixels and a square polygon covering columns 2-5 of
    rows 3-6 (in include mode): those 16 pixels keep their values and the other
    84 become nodata; with ``buffer=4.0`` (two pixels) 60 pixels are kept: an
    8 x 8 square less its four corner pixels, whose centres lie 2.1 pixels from
    the square (the grown polygon has round corners).
    """
    infos = check_images(inputs, one_crs=False, one_band_count=False)
    masks = vector_masks(mask, mode, field or None, infos, all_touched=all_touched,
                         buffer=buffer)
    specs = [_output_spec(info, dtype, nodata, warn) for info in infos]
    outputs = output_paths(infos, output_folder, template, list(inputs))
    for info, image_mask in zip(infos, masks):
        _warn_if_uncovered(info, image_mask, field, warn)
    steps = progress_steps(progress, len(infos))
    with written_together(outputs) as temps:
        for info, image_mask, spec, temp in zip(infos, masks, specs, temps):
            run_map(MaskOperator(image_mask, info.grid), [Source(info.path)],
                    replace(spec, path=temp), execution=execution, progress=next(steps),
                    cancelled=cancelled)
    return outputs


def _output_spec(info: RasterInfo, dtype: Optional[str], nodata: Optional[float],
                 warn: Warn) -> OutputSpec:
    """The output of ``info``: its grid, bands and type, nodata as :func:`mask_rasters` says
    (path left to the caller)."""
    spec = output_spec(info, "", dtype)
    if nodata is not None:
        return replace(spec, nodata=check_nodata(nodata, spec.dtype, f"'{info.stem}' output"))
    if warn is not None and not _same_value(spec.nodata, info.nodata):
        why = ("has no nodata value" if info.nodata is None else
               f"has nodata {info.nodata:g}, which {spec.dtype} cannot hold")
        warn(f"'{info.stem}' {why}: masked pixels are set to {spec.nodata:g}, the {spec.dtype} "
             f"default (valid pixels of that value are moved one step into the range); set a "
             f"nodata value to choose another")
    return spec


def _same_value(a: Optional[float], b: Optional[float]) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _warn_if_uncovered(info: RasterInfo, mask: VectorMask, field: Optional[str],
                       warn: Warn) -> None:
    """Warn when no polygon reaches ``info``'s extent: the output is all nodata (include)
    or the input unchanged (exclude), most likely not what was meant."""
    if warn is None or _reaches(mask, info.grid):
        return
    reason = (f"no feature's '{field}' value contains '{info.stem}'" if field and not mask.shapes
              else f"no mask polygon overlaps '{info.stem}'")
    result = "all nodata" if mask.mode == "include" else "a copy of the input"
    warn(f"{reason}: the output of '{info.stem}' is {result}")


def _reaches(mask: VectorMask, grid: Grid) -> bool:
    import shapely.wkb
    from shapely.geometry import box

    extent = box(*grid.bounds)
    return any(shapely.wkb.loads(shape).intersects(extent) for shape in mask.shapes)
