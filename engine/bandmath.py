"""Band math: per-pixel expressions over the bands of one or more rasters.

See :mod:`expression` for the grammar. Each ``;``-separated expression is one
output band. A pixel of an output band is nodata where any input band that
band's expression reads is nodata, and where the result is NaN (or not finite
for integer output types, which cannot hold it). Results are computed in
float64 and cast once, rounding and clamping for integer types.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .dtypes import check_dtype, check_nodata, default_nodata
from .errors import ExpressionError, InvalidInputError
from .executors import Execution
from .expression import Expression, band_name, compile_expressions
from .raster_io import (EDGE_NODATA, Block, OutputSpec, Source, check_output, describe,
                        same_grid)
from .runner import CancelCheck, Progress, run_map
from .windows import Window

MAX_INPUTS = 26


@dataclass(frozen=True)
class BandMathOperator:
    """Evaluates compiled expressions on one window; no neighbourhood (halo 0)."""

    expressions: Tuple[Expression, ...]
    layout: Tuple[Tuple[int, ...], ...]
    integer_output: bool
    halo: int = 0
    edge: str = EDGE_NODATA

    def __call__(self, blocks: List[Block], window: Window):
        positions: Dict[Tuple[int, int], Tuple[int, int]] = {
            (source, band): (source, pos)
            for source, bands in enumerate(self.layout) for pos, band in enumerate(bands)}

        def band(key):
            source, pos = positions[key]
            return blocks[source].data[pos].astype(np.float64)

        values = np.empty((len(self.expressions),) + window.shape)
        valid = np.ones(values.shape, dtype=bool)
        for index, expression in enumerate(self.expressions):
            values[index] = expression.evaluate(band)
            for key in expression.bands:
                source, pos = positions[key]
                valid[index] &= blocks[source].valid[pos]
        valid &= np.isfinite(values) if self.integer_output else ~np.isnan(values)
        return values, valid


def band_math(inputs: Sequence[str], expression: str, output: str, *,
              dtype: str = "float32", nodata: Optional[float] = None,
              execution: Execution = Execution(), progress: Progress = None,
              cancelled: CancelCheck = None) -> str:
    """Evaluate ``expression`` over ``inputs`` and write the result to ``output``.

    Parameters
    ----------
    inputs : sequence of str
        Raster paths on one grid; the first is ``b1..bN`` and ``A1..AN``,
        the second ``B1..BN`` and so on.
    expression : str
        One or more ``;``-separated expressions, one per output band,
        e.g. ``"(b4 - b3) / (b4 + b3)"``.
    output : str
        GeoTIFF path to create (written atomically).
    dtype : str
        Output type, one of :data:`dtypes.DTYPES`.
    nodata : float, optional
        Output nodata; default NaN for floats, the type's extreme for integers.

    Returns
    -------
    str
        ``output``.

    Raises
    ------
    ExpressionError
        Unsafe or malformed expression, or a band that does not exist.
    GridMismatchError
        Inputs not on one grid.

    Examples
    --------
    Two bands valued 3 and 1 with ``"(b1 - b2) / (b1 + b2)"`` give 0.5.
    """
    if not inputs:
        raise InvalidInputError("no input raster given: choose at least one")
    if len(inputs) > MAX_INPUTS:
        raise InvalidInputError(
            f"{len(inputs)} inputs given but expressions can name only {MAX_INPUTS} (A-Z): "
            f"stack bands into fewer files first")
    infos = [describe(path, f"input raster {band_name((i, 1))[0]}")
             for i, path in enumerate(inputs)]
    grid = same_grid(infos)
    expressions = compile_expressions(expression)
    _check_bands(expressions, infos)
    out_type = check_dtype(dtype)
    nodata = check_nodata(default_nodata(out_type) if nodata is None else nodata, out_type)
    check_output(output, inputs)
    used = sorted(set().union(*(e.bands for e in expressions)))
    layout = tuple(tuple(band for source, band in used if source == i) for i in range(len(infos)))
    sources = [Source(info.path, layout[i] or (1,)) for i, info in enumerate(infos)]
    operator = BandMathOperator(tuple(expressions), layout, out_type.kind != "f")
    spec = OutputSpec(output, grid, len(expressions), out_type.name, nodata,
                      tuple(e.text for e in expressions))
    return run_map(operator, sources, spec, execution=execution, progress=progress,
                   cancelled=cancelled)


def _check_bands(expressions: Sequence[Expression], infos) -> None:
    for expression in expressions:
        for key in sorted(expression.bands):
            source, band = key
            if source >= len(infos):
                raise ExpressionError(
                    f"expression '{expression.text}' reads {band_name(key)} but only "
                    f"{len(infos)} input(s) were given (A..{band_name((len(infos) - 1, 1))[0]})")
            if band > infos[source].count:
                raise ExpressionError(
                    f"expression '{expression.text}' reads band {band} of input "
                    f"{band_name(key)[0]} ('{infos[source].stem}'), which has only "
                    f"{infos[source].count} band(s)")
