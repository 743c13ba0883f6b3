"""Band math: per-pixel expressions over the bands of one or more rasters."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterString)

from ..engine import bandmath
from ..engine.dtypes import DTYPES
from ..engine.expression import FUNCTIONS
from .base import TesseraAlgorithm
from .compat import DOUBLE, RASTER
from .styles import pseudocolor


class BandMath(TesseraAlgorithm):
    INPUTS, EXPRESSION, DATA_TYPE, NODATA, OUTPUT = (
        "INPUTS", "EXPRESSION", "DATA_TYPE", "NODATA", "OUTPUT")

    def name(self):
        return "bandmath"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Band math")

    def tags(self):
        return self.tr("map algebra,calculator,expression,index,ndvi,ratio").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Computes per-pixel expressions over the bands of one or more rasters on the same "
            "grid.\n\nBands: b1..bN are the bands of the first input; A1, B3 ... are band 1 of "
            "input A (the first), band 3 of input B (the second), and so on.\n"
            "Several expressions separated by ';' give a multi-band output.\n"
            "Operators: + - * / // % **, comparisons, & | ~ (logical and, or, not).\n"
            "Functions: " + ", ".join(FUNCTIONS) + "; constants pi, e, nan, inf.\n\n"
            "All arithmetic is done in float64, then cast to the output type (integers are "
            "rounded and clamped, never wrapped). A pixel is nodata where any band its "
            "expression reads is nodata, or where the result is NaN (or not finite for "
            "integer output types).\n\nExample NDVI: (b4 - b3) / (b4 + b3)")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr("Input rasters (A, B, C ... in this order)"), RASTER))
        self.addParameter(QgsProcessingParameterString(
            self.EXPRESSION, self.tr("Expression(s), ';'-separated, one per output band"),
            defaultValue="(b2 - b1) / (b2 + b1)"))
        self.addParameter(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type"), options=list(DTYPES),
            defaultValue=DTYPES.index("float32")))
        self.add_advanced(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: NaN for floats, type extreme for "
                                 "integers)"), type=DOUBLE, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, self.tr("Band math result")))

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        nodata = parameters.get(self.NODATA)
        bandmath.band_math(
            self.raster_paths(parameters, self.INPUTS, context),
            self.parameterAsString(parameters, self.EXPRESSION, context),
            output,
            dtype=DTYPES[self.parameterAsEnum(parameters, self.DATA_TYPE, context)],
            nodata=None if nodata in (None, "") else self.parameterAsDouble(
                parameters, self.NODATA, context),
            **self.engine_options(feedback))
        self.style_on_load(context, output, pseudocolor("Spectral"))
        return {self.OUTPUT: output}
