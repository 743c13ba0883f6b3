"""Vector layers in and out: reading a layer with a message a user can act on, and
writing a GeoPackage layer atomically (as :mod:`raster_io` does for rasters).

geopandas is imported where it is used, so the QGIS provider can list the
algorithms (and explain what to install) on a Python that lacks it.
"""

import os
from typing import Sequence

from .errors import InvalidInputError, MissingInputError
from .raster_io import check_output, replaced_atomically

#: What geopandas raises on an unreadable file: fiona's errors are ValueErrors,
#: pyogrio's RuntimeErrors, and an empty folder gives a LookupError.
_READ_ERRORS = (ValueError, RuntimeError, LookupError, OSError)


def read_layer(path: str, what: str = "vector layer"):
    """The features of ``path`` (its first layer) as a GeoDataFrame; a layer without CRS
    has ``crs`` None (GeoPackage's "Undefined geographic/cartesian SRS" included, which
    would otherwise be taken for a real CRS and reprojected from)."""
    import geopandas

    if not os.path.exists(path):
        raise MissingInputError(f"{what} '{path}' does not exist: check the path")
    try:
        table = geopandas.read_file(path)
    except _READ_ERRORS as exc:
        reason = str(exc).split(";")[0]
        raise MissingInputError(
            f"{what} '{path}' cannot be read as a vector layer ({reason}): check that it is "
            f"a GeoPackage, a Shapefile or another file GDAL/OGR reads") from exc
    crs = getattr(table, "crs", None)
    if crs is not None and crs.name.startswith("Undefined"):
        table.crs = None
    return table


def check_geopackage(output: str, inputs: Sequence[str], what: str = "output") -> None:
    """Refuse an ``output`` that is not a .gpkg file or that is one of ``inputs``."""
    if not output.lower().endswith(".gpkg"):
        raise InvalidInputError(f"the {what} is written as a GeoPackage: give '{output}' "
                                f"the extension .gpkg")
    check_output(output, inputs)


def write_geopackage(table, output: str, layer: str) -> None:
    """Write ``table`` as ``layer`` of a new GeoPackage that appears at ``output`` only
    when complete (an older file there is replaced; on error it is left as it was)."""
    with replaced_atomically(output, ".gpkg") as temp:
        table.to_file(temp, driver="GPKG", layer=layer)
