"""The kernel parameters every Landscape algorithm shares (filter, category maps, entropy,
interaction): kind, sigma or diameter, units, truncate and edge policy, named alike in
every dialog and turned into the same engine arguments."""

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber

from ..engine.focal import UNITS
from ..engine.kernels import EDGES, KINDS
from .base import TesseraAlgorithm
from .compat import DOUBLE


class KernelAlgorithm(TesseraAlgorithm):
    """Base of the Landscape algorithms: :meth:`add_kernel` and :meth:`kernel_options`."""

    KERNEL, SIGMA, DIAMETER, TRUNCATE, UNIT, EDGE = (
        "KERNEL", "SIGMA", "DIAMETER", "TRUNCATE", "UNITS", "EDGE")
    group_id = "landscape"

    def add_kernel(self) -> None:
        """Kernel kind, sizes, units, truncate and edge policy."""
        self.addParameter(QgsProcessingParameterEnum(
            self.KERNEL, self.tr("Kernel"), options=list(KINDS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SIGMA, self.tr("Gaussian sigma (standard deviation)"), type=DOUBLE,
            defaultValue=2.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.DIAMETER, self.tr("Kernel diameter: box side, disk diameter; for a Gaussian, "
                                   "replaces sigma when given"), type=DOUBLE, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNIT, self.tr("Size units"), options=list(UNITS), defaultValue=0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.TRUNCATE, self.tr("Gaussian truncate: kernel radius in sigmas"), type=DOUBLE,
            defaultValue=4.0))
        self.add_advanced(QgsProcessingParameterEnum(
            self.EDGE, self.tr("Beyond the raster edge"), options=list(EDGES), defaultValue=0))

    def kernel_options(self, parameters, context) -> dict:
        """The kernel parameters as engine keyword arguments (a Gaussian's diameter, when
        given, replaces its sigma)."""
        kernel = KINDS[self.parameterAsEnum(parameters, self.KERNEL, context)]
        diameter = self.optional_number(parameters, self.DIAMETER, context)
        sigma = self.parameterAsDouble(parameters, self.SIGMA, context)
        return dict(
            kernel=kernel, diameter=diameter,
            sigma=sigma if kernel == "gaussian" and diameter is None else None,
            truncate=self.parameterAsDouble(parameters, self.TRUNCATE, context),
            units=UNITS[self.parameterAsEnum(parameters, self.UNIT, context)],
            edge=EDGES[self.parameterAsEnum(parameters, self.EDGE, context)])
