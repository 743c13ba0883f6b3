"""Output data types: the registry, nodata checks and safe casting.

Results are computed in float64 and cast once on the way out: integers are
rounded half to even and clamped to the type's range (never wrapped), so a
ratio written to ``uint8`` saturates at 255 instead of wrapping to 44.
"""

import math
from typing import Optional

import numpy as np

from .errors import InvalidInputError

#: Output types every algorithm offers, in the order shown to users.
DTYPES = ("float32", "float64", "uint8", "uint16", "int16", "uint32", "int32")

_NEXT_WIDER = {"uint8": "uint16", "uint16": "uint32", "int16": "int32",
               "uint32": "float64", "int32": "float64"}


def check_dtype(name: str) -> np.dtype:
    """The numpy dtype for ``name`` or an error listing the allowed names."""
    if name not in DTYPES:
        raise InvalidInputError(
            f"output type '{name}' is not supported: choose one of {', '.join(DTYPES)}")
    return np.dtype(name)


def value_range(dtype) -> tuple:
    """(lowest, highest) value ``dtype`` can hold."""
    dtype = np.dtype(dtype)
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return (info.min, info.max)


def default_nodata(dtype) -> float:
    """NaN for floats; the end of the range least likely to be data for integers."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return math.nan
    low, high = value_range(dtype)
    return high if dtype.kind == "u" else low


def check_nodata(nodata: Optional[float], dtype, what: str = "output") -> Optional[float]:
    """Return ``nodata`` if ``dtype`` can store it, else raise a message with a remedy."""
    if nodata is None:
        return None
    dtype = np.dtype(dtype)
    if math.isnan(nodata):
        if dtype.kind != "f":
            raise InvalidInputError(
                f"{what} nodata NaN does not fit type {dtype.name}: "
                f"give a number as nodata or choose float32")
        return nodata
    low, high = value_range(dtype)
    if dtype.kind != "f" and (nodata != int(nodata) or not low <= nodata <= high):
        wider = _NEXT_WIDER.get(dtype.name, "float64")
        raise InvalidInputError(
            f"{what} nodata {nodata:g} does not fit type {dtype.name} ({low:g} to {high:g}): "
            f"choose a whole number in range or set the output type to {wider}")
    return nodata


def cast(values: np.ndarray, dtype) -> np.ndarray:
    """Cast float results to ``dtype``: round and clamp integers, never wrap. Integers
    that ``dtype`` holds exactly are copied as they are (nothing to round or clamp)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return values.astype(dtype, copy=False)
    if values.dtype.kind in "iu" and np.can_cast(values.dtype, dtype):
        return values.astype(dtype)
    low, high = value_range(dtype)
    with np.errstate(invalid="ignore"):
        out = np.clip(np.rint(values), low, high)
    out[np.isnan(out)] = 0
    return out.astype(dtype)
