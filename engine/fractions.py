"""How fractions (0..1) are stored in output rasters: type, range, nodata, rounding.

Category proportions, normed entropy and interaction are fractions. float32
stores them as they are. Integer types store them mapped onto a range of
whole numbers (:mod:`value_ranges`: clipped, then rounded, or ceiled for
interaction, never truncated) that leaves the nodata value out: by default
0 to max-1 with max as nodata (uint8: 0..254, nodata 255, so a share of 0.5 is
exactly 127). The writer records GDAL's scale and offset, so ``pixel * scale +
offset`` is the fraction again: QGIS and GDAL show 0..1, and the landscape
operations read such rasters back as fractions.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .dtypes import check_dtype, check_nodata, default_nodata, value_range
from .errors import InvalidInputError, check_choice
from .value_ranges import ROUNDINGS, Range, check_range, map_range, output_range

#: Output types offered for fractions; the engine takes any of :data:`dtypes.DTYPES`.
FRACTION_TYPES = ("float32", "uint8", "uint16")


@dataclass(frozen=True)
class FractionOutput:
    """How a fraction (0..1) is stored: type, stored range, nodata and rounding.

    Floats with the default range are stored as they are (never clipped: an
    interaction may exceed 1); otherwise fractions are clipped to 0..1 and mapped
    linearly onto ``out_range``, rounded or ceiled for integer types.
    """

    dtype: str
    out_range: Range
    nodata: float
    rounding: str = "round"

    @property
    def as_is(self) -> bool:
        return np.dtype(self.dtype).kind == "f" and self.out_range == (0.0, 1.0)

    def encode(self, fractions: np.ndarray) -> np.ndarray:
        """``fractions`` (float array) as stored values of :attr:`dtype`."""
        if self.as_is:
            return fractions.astype(self.dtype)
        return map_range(fractions, (0.0, 1.0), self.out_range, self.dtype,
                         rounding=self.rounding)

    @property
    def scale_offset(self) -> Optional[Tuple[float, float]]:
        """GDAL (scale, offset) turning stored values back into fractions; None for 0..1."""
        low, high = self.out_range
        if (low, high) == (0.0, 1.0):
            return None
        return (1.0 / (high - low), -low / (high - low))


def fraction_output(dtype: str = "float32", out_range: Optional[Range] = None,
                    nodata: Optional[float] = None, rounding: str = "round") -> FractionOutput:
    """A checked :class:`FractionOutput`.

    Defaults: floats store 0..1 with NaN as nodata; integer types store 0 to
    max-1 with max as nodata (signed types: 0 to max, nodata min). An integer
    nodata inside the output range is refused (a value could not be told from
    nodata), as is a range the type cannot hold.

    Examples
    --------
    ``fraction_output("uint8").encode(np.array([0, 0.5, 1]))`` is [0, 127, 254].
    """
    check_choice(rounding, ROUNDINGS, "rounding")
    out_type = check_dtype(dtype)
    nodata = check_nodata(default_nodata(out_type) if nodata is None else nodata, out_type)
    if out_range is None and out_type.kind != "f":
        high = value_range(out_type)[1]
        out_range = (0.0, float(high - 1 if nodata == high else high))
    stored = output_range(check_range(out_range, "output range"), out_type)
    if out_type.kind != "f" and stored[0] <= nodata <= stored[1]:
        raise InvalidInputError(
            f"output nodata {nodata:g} lies inside the output range {stored[0]:g} to "
            f"{stored[1]:g}: choose a nodata outside it or a range that leaves it out")
    return FractionOutput(out_type.name, stored, nodata, rounding)
