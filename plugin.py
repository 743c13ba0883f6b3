"""The QGIS plugin object: registers the Tessera Processing provider."""

from qgis.core import QgsApplication

from .provider.provider import TesseraProvider


class TesseraPlugin:
    """Adds the Tessera provider to Processing (Toolbox, modeler, qgis_process)."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Called by qgis_process and by initGui: register the provider once."""
        if self.provider is None:
            self.provider = TesseraProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
