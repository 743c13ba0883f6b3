"""Raster footprints: the polygons of each raster's valid-data area."""

from qgis.core import (QgsProcessingParameterDistance, QgsProcessingParameterEnum,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorDestination)

from ..engine import footprints
from .base import TesseraAlgorithm
from .compat import DOUBLE, RASTER
from .styles import outlines


class Footprints(TesseraAlgorithm):
    INPUTS, COMBINE, SIMPLIFY, MIN_HOLE_AREA, OUTPUT = (
        "INPUTS", "COMBINE", "SIMPLIFY", "MIN_HOLE_AREA", "OUTPUT")
    group_id = "mosaic"

    def name(self):
        return "footprints"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Raster footprints")

    def tags(self):
        return self.tr("footprint,valid data,extent,outline,nodata,polygon,coverage").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Writes, for each input raster, the polygon(s) of its valid-data area (pixels that "
            "are not nodata) to one GeoPackage layer, one feature per raster with the fields "
            "image (file name without extension), path and area. Polygons follow pixel edges, "
            "optionally simplified; holes smaller than the minimum area are filled. Rasters in "
            "another CRS than the first are reprojected to it.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr("Input rasters"), RASTER))
        self.addParameter(QgsProcessingParameterEnum(
            self.COMBINE, self.tr("A pixel is valid where"),
            options=[self.tr("any band is valid"), self.tr("every band is valid")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.SIMPLIFY, self.tr("Simplify tolerance (0 = follow pixel edges)"),
            defaultValue=0.0, minValue=0.0, parentParameterName=self.INPUTS))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_HOLE_AREA, self.tr("Fill holes smaller than (map units squared)"),
            type=DOUBLE, defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT, self.tr("Footprints")))

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        footprints.footprints(
            self.raster_paths(parameters, self.INPUTS, context), output,
            combine=footprints.COMBINE[self.parameterAsEnum(parameters, self.COMBINE, context)],
            simplify=self.parameterAsDouble(parameters, self.SIMPLIFY, context),
            min_hole_area=self.parameterAsDouble(parameters, self.MIN_HOLE_AREA, context),
            **self.engine_options(feedback))
        self.style_on_load(context, output, outlines())
        return {self.OUTPUT: output}
