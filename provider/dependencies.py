"""Which Python packages the engine needs, and how to install a missing one."""

import importlib.util
from typing import List, Tuple

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


def missing() -> List[Tuple[str, str, str]]:
    """The required packages that cannot be imported here."""
    return [entry for entry in REQUIRED if importlib.util.find_spec(entry[0]) is None]


def message() -> str:
    """Empty when all is installed; otherwise one sentence per missing package."""
    lacking = missing()
    if not lacking:
        return ""
    lines = [f"Tessera needs the Python package '{pip}', which is not installed: "
             f"install it with 'python3 -m pip install {pip}' in the QGIS Python "
             f"(OSGeo4W shell on Windows; the qpip plugin can do it), or "
             f"'apt-get install {deb}' on Debian/Ubuntu."
             for _, pip, deb in lacking]
    return "\n".join(lines)
