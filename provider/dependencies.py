"""How to install a missing package the engine needs (the list lives in the engine)."""

from ..engine.requirements import missing


def message() -> str:
    """Empty when all is installed; otherwise one sentence per missing package."""
    lines = [f"Tessera needs the Python package '{pip}', which is not installed: "
             f"install it with 'python3 -m pip install {pip}' in the QGIS Python "
             f"(OSGeo4W shell on Windows; the qpip plugin can do it), or "
             f"'apt-get install {deb}' on Debian/Ubuntu."
             for _, pip, deb in missing()]
    return "\n".join(lines)
