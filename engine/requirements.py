"""The Python packages the engine needs, checked here and on every Dask worker.

Only the standard library is imported, and packages are looked for, not imported:
a worker that lacks one must still be able to load this module and say which one
it lacks, and the check must cost a fresh worker nothing (importing them all
took 0.8 s).
"""

import importlib.util
import platform
import sys
from typing import Dict, List, Tuple

#: (import name, pip name, Debian package)
REQUIRED: Tuple[Tuple[str, str, str], ...] = (
    ("numpy", "numpy", "python3-numpy"),
    ("rasterio", "rasterio", "python3-rasterio"),
    ("scipy", "scipy", "python3-scipy"),
    ("cv2", "opencv-python-headless", "python3-opencv"),
    ("shapely", "shapely", "python3-shapely"),
    ("pyproj", "pyproj", "python3-pyproj"),
    ("geopandas", "geopandas", "python3-geopandas"),
)

#: What the optional ``dask`` executor needs (import name, pip name, Debian package).
DASK: Tuple[str, str, str] = ("distributed", "distributed", "python3-distributed")


def missing() -> List[Tuple[str, str, str]]:
    """The required packages that cannot be found here (found, not imported: cheap)."""
    return [entry for entry in REQUIRED if importlib.util.find_spec(entry[0]) is None]


def dask_installed() -> bool:
    """Whether the ``dask`` executor can be used in this Python."""
    return importlib.util.find_spec(DASK[0]) is not None


def environment() -> Dict[str, object]:
    """This interpreter as a Dask worker reports it: Python version, host, where the
    engine was loaded from, and the pip names of the required packages it lacks."""
    engine = sys.modules[__name__.rsplit(".", 1)[0]]
    return {"python": platform.python_version(), "host": platform.node(),
            "engine": engine.__file__, "missing": [pip for _, pip, _ in missing()]}
