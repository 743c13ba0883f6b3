"""Tessera: a QGIS Processing plugin with a windowed, parallel raster engine.

This module must not import qgis at module level: worker processes import
the package (to reach ``engine``) with no QGIS around.
"""


def classFactory(iface):  # noqa: N802 (QGIS entry point name)
    """QGIS entry point: the plugin object."""
    from .plugin import TesseraPlugin

    return TesseraPlugin(iface)
