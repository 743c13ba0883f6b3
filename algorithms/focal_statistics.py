"""Focal statistics: moving-window statistics that skip nodata."""

from qgis.core import (QgsProcessingParameterBand, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..engine import focal
from ..engine.dtypes import DTYPES
from ..engine.neighbourhoods import SHAPES, Neighbourhood
from .base import TesseraAlgorithm
from .compat import DOUBLE
from .styles import pseudocolor

TYPES = ("auto",) + DTYPES


class FocalStatistics(TesseraAlgorithm):
    (INPUT, BANDS, STATISTIC, SHAPE, RADIUS, INNER, START, END, UNIT, TARGET, DATA_TYPE,
     NODATA, OUTPUT) = ("INPUT", "BANDS", "STATISTIC", "SHAPE", "RADIUS", "INNER_RADIUS",
                        "START_ANGLE", "END_ANGLE", "UNITS", "TARGET", "DATA_TYPE", "NODATA",
                        "OUTPUT")

    def name(self):
        return "focalstatistics"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Focal statistics")

    def tags(self):
        return self.tr("neighbourhood,neighborhood,moving window,filter,mean,median,mode,"
                       "majority,variety,std,r.neighbors").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "For every pixel, a statistic of the valid (not nodata) cells of its "
            "neighbourhood: " + ", ".join(focal.STATISTICS) + ". std is the population "
            "standard deviation; median of an even count is the mean of the two middle "
            "values; mode ties go to the smallest value; variety counts distinct values.\n\n"
            "Neighbourhoods: square (radius 1 = 3 x 3), circle (cells within the radius), "
            "annulus (between inner radius and radius), wedge (circle cells between the start "
            "and end angles, degrees counter-clockwise from east), nesw (a cross). Sizes are "
            "in pixels or map units.\n\nCells beyond the raster edge count as nodata. Target "
            "'valid cells only' keeps nodata pixels as nodata; 'all cells' fills them from "
            "their valid neighbours.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterBand(
            self.BANDS, self.tr("Bands (default: all)"), parentLayerParameterName=self.INPUT,
            optional=True, allowMultiple=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.STATISTIC, self.tr("Statistic"), options=list(focal.STATISTICS),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.SHAPE, self.tr("Neighbourhood shape"), options=list(SHAPES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.RADIUS, self.tr("Radius (from the centre cell to the edge)"), type=DOUBLE,
            defaultValue=1.0, minValue=0.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.INNER, self.tr("Inner radius (annulus)"), type=DOUBLE, defaultValue=0.0,
            minValue=0.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.START, self.tr("Start angle, degrees counter-clockwise from east (wedge)"),
            type=DOUBLE, defaultValue=0.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.END, self.tr("End angle, degrees counter-clockwise from east (wedge)"),
            type=DOUBLE, defaultValue=90.0))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNIT, self.tr("Radius units"), options=list(focal.UNITS), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.TARGET, self.tr("Compute at"),
            options=[self.tr("valid cells only"), self.tr("all cells (fill nodata holes)")],
            defaultValue=0))
        self.add_advanced(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type"), options=list(TYPES), defaultValue=0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: the input's, or NaN / type extreme)"),
            type=DOUBLE, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, self.tr("Focal statistics")))

    def run_engine(self, parameters, context, feedback):
        raster = self.raster_paths(parameters, self.INPUT, context)[0]
        neighbourhood = Neighbourhood(
            SHAPES[self.parameterAsEnum(parameters, self.SHAPE, context)],
            self.parameterAsDouble(parameters, self.RADIUS, context),
            self.parameterAsDouble(parameters, self.INNER, context),
            self.parameterAsDouble(parameters, self.START, context),
            self.parameterAsDouble(parameters, self.END, context))
        data_type = TYPES[self.parameterAsEnum(parameters, self.DATA_TYPE, context)]
        nodata = parameters.get(self.NODATA)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        focal.focal_statistics(
            raster, output,
            statistic=list(focal.STATISTICS)[self.parameterAsEnum(parameters, self.STATISTIC,
                                                                  context)],
            neighbourhood=neighbourhood,
            units=focal.UNITS[self.parameterAsEnum(parameters, self.UNIT, context)],
            bands=self.parameterAsInts(parameters, self.BANDS, context) or None,
            target=focal.TARGETS[self.parameterAsEnum(parameters, self.TARGET, context)],
            dtype=None if data_type == "auto" else data_type,
            nodata=None if nodata in (None, "") else self.parameterAsDouble(
                parameters, self.NODATA, context),
            **self.engine_options(feedback))
        self.style_on_load(context, output, pseudocolor("Viridis"))
        return {self.OUTPUT: output}
