"""Mapping computed values onto an output type: explicit ranges, rounding, no wrap-around.

convster maps ranges with ``astype`` (truncation: 0.5 x 255 becomes 127) and
casts unscaled data to uint8 (wrap-around), warning only at the top of the
range (REFERENCE F1, F2 pitfalls). Here a value range is mapped linearly onto
an output range, clipped to it, then rounded (or ceiled, F4) to an integer
type; an output range that the type cannot hold is refused before any work.
"""

import math
from typing import Optional, Tuple

import numpy as np

from .dtypes import check_dtype, value_range
from .errors import InvalidInputError, check_choice

ROUNDINGS = ("round", "ceil")
Range = Tuple[float, float]


def _dtype(dtype) -> np.dtype:
    """``dtype`` (a name or numpy type) if it is an output type, else an error listing them."""
    return check_dtype(dtype if isinstance(dtype, str) else np.dtype(dtype).name)


def check_range(given: Optional[Range], what: str = "input range") -> Optional[Range]:
    """``given`` as a (low, high) float pair, or an error unless low < high, both finite."""
    if given is None:
        return None
    if len(given) != 2:
        raise InvalidInputError(f"{what} needs two numbers, low and high (got {len(given)})")
    low, high = float(given[0]), float(given[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidInputError(f"{what} {low:g} to {high:g} is not a range: give two finite "
                                f"numbers, the low end first")
    return (low, high)


def output_range(out_range: Optional[Range], dtype) -> Range:
    """The range values are mapped onto: ``out_range`` if ``dtype`` holds it, else an error;
    by default 0 to 1 for floats and the type's full range for integers."""
    dtype = _dtype(dtype)
    low, high = (float(end) for end in value_range(dtype))
    if out_range is None:
        return (0.0, 1.0) if dtype.kind == "f" else (low, high)
    given = check_range(out_range, "output range")
    integral = dtype.kind == "f" or all(value == int(value) for value in given)
    if not (integral and low <= given[0] and given[1] <= high):
        wider = "float32" if dtype.kind != "f" else "float64"
        raise InvalidInputError(
            f"output range {given[0]:g} to {given[1]:g} does not fit output type {dtype.name} "
            f"({low:g} to {high:g}"
            f"{', whole numbers' if dtype.kind != 'f' else ''}): "
            f"choose a range inside it or another output type (e.g. {wider})")
    return given


def check_mapping(in_range: Optional[Range], out_range: Optional[Range],
                  dtype) -> Tuple[Optional[Range], Optional[Range]]:
    """Validated (input range, output range) for :func:`map_range` onto ``dtype``: the
    output range is filled in with its default when an input range is given, and
    refused without one (there would be nothing to map from)."""
    in_range = check_range(in_range)
    if in_range is None:
        if out_range is not None:
            raise InvalidInputError("an output range needs an input range to map from: give "
                                    "the input range (the values that map to its ends) too")
        _dtype(dtype)
        return None, None
    return in_range, output_range(out_range, dtype)


def map_range(values: np.ndarray, in_range: Optional[Range], out_range: Optional[Range],
              dtype, *, rounding: str = "round") -> np.ndarray:
    """Map ``values`` from ``in_range`` linearly onto ``out_range`` and cast to ``dtype``.

    Parameters
    ----------
    values : array
        Computed values; NaN marks pixels without a value.
    in_range : (low, high), optional
        The values that map to the ends of ``out_range``; values outside are
        clipped to it. None: values are taken as they are (then
        ``out_range`` must be None too) and only clipped to the type's range.
    out_range : (low, high), optional
        Target range; default 0 to 1 for floats and the type's full range
        for integers (see :func:`output_range`).
    dtype : str or numpy dtype
        Output type.
    rounding : {'round', 'ceil'}
        How integer outputs are reached: to the nearest integer (halves to
        even), or up (convster's interaction, F4). Never truncated.

    Returns
    -------
    array of ``dtype``
        NaN stays NaN in float types and becomes 0 in integer types (the
        caller marks those pixels invalid).

    Raises
    ------
    InvalidInputError
        A reversed or empty range, an output range that ``dtype`` cannot
        hold, or an output range without an input range.

    Examples
    --------
    0.5 in (0, 1) mapped to uint8 is 127.5, rounded to 128 (convster: 127);
    0.25 in (0, 1) to (10, 20) float32 is 12.5.
    """
    check_choice(rounding, ROUNDINGS, "rounding")
    dtype = _dtype(dtype)
    in_range, out_range = check_mapping(in_range, out_range, dtype)
    values = np.asarray(values, dtype=np.float64)
    if in_range is None:
        low, high = value_range(dtype)
        mapped = values
    else:
        low, high = out_range
        scale = (high - low) / (in_range[1] - in_range[0])
        mapped = (values - in_range[0]) * scale + low
    with np.errstate(invalid="ignore"):
        mapped = np.clip(mapped, low, high)
    if dtype.kind == "f":
        return mapped.astype(dtype)
    mapped = np.ceil(mapped) if rounding == "ceil" else np.rint(mapped)
    mapped[np.isnan(mapped)] = 0
    return mapped.astype(dtype)
