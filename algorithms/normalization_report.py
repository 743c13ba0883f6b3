"""Normalization report: HTML with plots comparing images before and after."""

from qgis.core import (QgsProcessingParameterFileDestination, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber)

from ..engine.report import normalization_report
from .base import TesseraAlgorithm
from .compat import INTEGER, RASTER


class NormalizationReport(TesseraAlgorithm):
    BEFORE, AFTER, PREVIEW_SIZE, OUTPUT = "BEFORE", "AFTER", "PREVIEW_SIZE", "OUTPUT"
    group_id = "radiometry"

    def name(self):
        return "normalizationreport"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Normalization report")

    def tags(self):
        return self.tr("radiometric,normalization,report,html,quality,seam,difference,"
                       "spectral profile,statistics").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Writes an HTML report (with PNG plots) that shows what a normalization did: "
            "per-band mean spectral profiles of each image before (dashed) and after (solid), "
            "mean absolute difference and RMSE between overlapping images before and after, "
            "and previews of every image before and after with one shared stretch.\n\n"
            "Images before and after are paired by order (the outputs of a Tessera "
            "normalization come in the order of its inputs). Statistics are streamed, so "
            "images of any size can be compared.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.BEFORE, self.tr("Rasters before normalization"), RASTER))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.AFTER, self.tr("Rasters after normalization (same order)"), RASTER))
        self.add_advanced(QgsProcessingParameterNumber(
            self.PREVIEW_SIZE, self.tr("Preview size (pixels)"), type=INTEGER,
            defaultValue=256, minValue=16, maxValue=2048))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Report"), self.tr("HTML files (*.html)")))

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        normalization_report(
            self.raster_paths(parameters, self.BEFORE, context),
            self.raster_paths(parameters, self.AFTER, context), output,
            preview_size=self.parameterAsInt(parameters, self.PREVIEW_SIZE, context),
            **self.engine_options(feedback))
        return {self.OUTPUT: output}
