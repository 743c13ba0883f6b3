"""Seamlines: one polygon per image, cut through the overlaps, tiling the images' union."""

from qgis.core import (QgsProcessingParameterDistance, QgsProcessingParameterEnum,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorDestination)

from ..engine import seamlines
from .base import TesseraAlgorithm
from .compat import DOUBLE, POLYGONS, RASTER
from .styles import outlines


class Seamlines(TesseraAlgorithm):
    INPUTS, POINT_SPACING, MIN_CUT_LENGTH, COST, DIFFERENCE_WEIGHT, OUTPUT = (
        "INPUTS", "POINT_SPACING", "MIN_CUT_LENGTH", "COST", "DIFFERENCE_WEIGHT", "OUTPUT")
    group_id = "mosaic"

    def name(self):
        return "seamlines"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Seamlines")

    def tags(self):
        return self.tr("seamline,cutline,seam,mosaic,voronoi,centerline,overlap,footprint,"
                       "spectralmatch").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Cuts overlapping rasters apart: writes one polygon per image (field image = file "
            "name without extension, as Mosaic and Mask rasters expect) to a GeoPackage layer "
            "'seamlines'. The polygons tile the union of the images' valid-data footprints: "
            "no gaps, no overlaps, each inside its image's valid pixels.\n\n"
            "Every overlap of two images is cut between the points where their edges cross. "
            "Geometry: the cut follows the centre line of the overlap (Voronoi diagram of "
            "points along its boundary). Radiometric difference: the cut is the cheapest "
            "path through the overlap, each step costing more where the two images differ "
            "(mean absolute difference over bands, relative to the overlap's typical "
            "difference, times the difference weight) and near an image's edge, so seams "
            "run where they are hardest to see. Each side of a cut goes to the image whose "
            "own area it borders; an image lying inside another keeps its area. Where three "
            "or more images overlap, the pairwise cuts are combined so every spot belongs "
            "to exactly one image.\n\n"
            "Inputs must share one CRS and their bands; grids may differ. Every image must "
            "overlap another. Point spacing 0 chooses 2 pixels (coarser on large overlaps); "
            "cuts shorter than the minimum cut length are not made.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr("Overlapping rasters (same CRS and bands)"), RASTER))
        self.addParameter(QgsProcessingParameterEnum(
            self.COST, self.tr("Place cuts along"),
            options=[self.tr("geometry: the centre line of each overlap"),
                     self.tr("radiometric difference: where the images agree")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.POINT_SPACING, self.tr("Point spacing along overlap edges (0 = automatic)"),
            defaultValue=0.0, minValue=0.0, parentParameterName=self.INPUTS))
        self.add_advanced(QgsProcessingParameterDistance(
            self.MIN_CUT_LENGTH, self.tr("Minimum cut length (shorter cuts are not made)"),
            defaultValue=0.0, minValue=0.0, parentParameterName=self.INPUTS))
        self.add_advanced(QgsProcessingParameterNumber(
            self.DIFFERENCE_WEIGHT,
            self.tr("Difference weight (radiometric difference only; 0 = ignore differences)"),
            type=DOUBLE, defaultValue=1.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT, self.tr("Seamlines"), type=POLYGONS))

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        seamlines.seamlines(
            self.raster_paths(parameters, self.INPUTS, context), output,
            point_spacing=self.parameterAsDouble(parameters, self.POINT_SPACING, context) or None,
            min_cut_length=self.parameterAsDouble(parameters, self.MIN_CUT_LENGTH, context),
            cost=seamlines.COSTS[self.parameterAsEnum(parameters, self.COST, context)],
            difference_weight=self.parameterAsDouble(parameters, self.DIFFERENCE_WEIGHT,
                                                     context),
            **self.engine_options(feedback))
        self.style_on_load(context, output, outlines())
        return {self.OUTPUT: output}
