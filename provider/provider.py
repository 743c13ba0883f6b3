"""The Tessera Processing provider."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import dependencies, settings
from ..algorithms import ALGORITHMS

ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "tessera.svg")


class TesseraProvider(QgsProcessingProvider):
    """Registers Tessera's algorithms and options; loads even when packages are missing."""

    def load(self):
        settings.register()
        self.refreshAlgorithms()
        return True

    def unload(self):
        settings.unregister()

    def id(self):
        return "tessera"

    def name(self):
        return "Tessera"

    def longName(self):
        return "Tessera windowed raster engine"

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):
        return ICON

    def loadAlgorithms(self):
        problem = dependencies.message()
        if problem:
            from qgis.core import Qgis, QgsMessageLog

            QgsMessageLog.logMessage(problem, "Tessera", Qgis.Warning)
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())

    def supportedOutputRasterLayerExtensions(self):
        return ["tif"]

    def supportedOutputVectorLayerExtensions(self):
        return ["gpkg"]
