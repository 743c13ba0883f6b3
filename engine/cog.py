"""Cloud Optimized GeoTIFF output: a finished tiled GeoTIFF rewritten with overviews.

Windowed algorithms write a tiled GeoTIFF first (see :func:`raster_io.atomic_output`);
GDAL's COG driver then copies it into the COG layout (tiles, overviews made with
the chosen resampling, BigTIFF when needed) beside the target and the copy is
renamed into place, so a COG appears atomically like every other output.
"""

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

from .raster_io import BLOCK_SIZE, creation_options, replaced_atomically

OVERVIEW_RESAMPLINGS = ("average", "nearest", "mode", "bilinear", "cubic")


def cog_options(compression: str, overview_resampling: str) -> dict:
    """Creation options of GDAL's COG driver matching the engine's ``compression``."""
    gtiff = creation_options(compression)
    options = {"compress": gtiff["compress"], "blocksize": BLOCK_SIZE, "bigtiff": "if_safer",
               "overviews": "auto", "overview_resampling": overview_resampling,
               "num_threads": "all_cpus"}
    level = gtiff.get("zstd_level", gtiff.get("zlevel"))
    if level is not None:
        options["level"] = level
    return options


@contextmanager
def written_as_cog(output: str, compression: str, overview_resampling: str) -> Iterator[str]:
    """Yield a hidden path for a tiled GeoTIFF; when the block ends normally, copy it as a
    COG to ``output`` (atomically); the intermediate file is always removed."""
    import rasterio
    import rasterio.shutil

    folder = os.path.dirname(os.path.abspath(output))
    tiled = os.path.join(folder, f".{os.path.basename(output)}.{uuid.uuid4().hex[:8]}.tiled.tif")
    try:
        yield tiled
        with replaced_atomically(output, ".tif") as temp, rasterio.Env():
            rasterio.shutil.copy(tiled, temp, driver="COG",
                                 **cog_options(compression, overview_resampling))
    finally:
        for path in (tiled, tiled + ".aux.xml"):
            if os.path.exists(path):
                os.remove(path)
