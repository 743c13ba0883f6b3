"""Global regression: one gain and offset per image and band so overlaps agree."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..engine.global_regression import FITS, global_regression
from .compat import DOUBLE
from .normalization_base import NormalizationAlgorithm

REFERENCE_MODES = (None, "include", "exclude")


class GlobalRegression(NormalizationAlgorithm):
    (REFERENCE_MODE, REFERENCE_NAMES, FIT, MEAN_WEIGHT, STD_WEIGHT, MODEL, SAVE_MODEL) = (
        "REFERENCE_MODE", "REFERENCE_NAMES", "FIT", "MEAN_WEIGHT", "STD_WEIGHT", "MODEL",
        "SAVE_MODEL")
    default_template = "{stem}_global.tif"

    def name(self):
        return "globalregression"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Global regression (relative radiometric normalization)")

    def tags(self):
        return self.tr("radiometric,normalization,rrn,harmonization,gain,offset,mosaic,"
                       "balance,color,histogram,overlap,spectralmatch").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Makes overlapping images radiometrically consistent: per band, finds one gain and "
            "offset per image so that means and standard deviations agree in every overlap, "
            "while reference images stay close to their own values (Yu et al. 2017, global "
            "phase).\n\nInputs must share CRS and bands; grids may differ (overlap pixels are "
            "paired by bilinear resampling after masking nodata). Images that are not "
            "references are calibrated through any chain of overlaps reaching a reference.\n\n"
            "Fit: least squares, or robust (Huber weights on the overlap constraints, for "
            "overlaps spoiled by clouds or changes).\n\nThe model (statistics, gains, offsets) "
            "can be saved as JSON and loaded later: its statistics are reused and only new "
            "images are measured. Masks restrict the pixels statistics use; every valid pixel "
            "is corrected. One output per input goes into the output folder.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs("Overlapping rasters (same CRS and bands)")
        self.addParameter(QgsProcessingParameterEnum(
            self.REFERENCE_MODE, self.tr("Reference images"),
            options=[self.tr("all images"), self.tr("only the images named below"),
                     self.tr("all but the images named below")], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.REFERENCE_NAMES, self.tr("Image names (file names without extension, "
                                          "comma-separated)"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.FIT, self.tr("Fit"), options=[self.tr("least squares"),
                                               self.tr("robust (Huber)")], defaultValue=0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.MEAN_WEIGHT, self.tr("Weight of overlap means"), type=DOUBLE,
            defaultValue=1.0, minValue=0.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.STD_WEIGHT, self.tr("Weight of overlap standard deviations"), type=DOUBLE,
            defaultValue=1.0, minValue=0.0))
        self.add_mask_parameters()
        self.add_advanced(QgsProcessingParameterFile(
            self.MODEL, self.tr("Load a saved model (JSON)"), extension="json", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.SAVE_MODEL, self.tr("Save the model (JSON)"), "JSON files (*.json)",
            optional=True, createByDefault=False))
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        paths = self.raster_paths(parameters, self.INPUTS, context)
        mode = REFERENCE_MODES[self.parameterAsEnum(parameters, self.REFERENCE_MODE, context)]
        names = [name.strip() for name in self.parameterAsString(
            parameters, self.REFERENCE_NAMES, context).split(",") if name.strip()]
        save = self.parameterAsFileOutput(parameters, self.SAVE_MODEL, context) \
            if parameters.get(self.SAVE_MODEL) else None
        outputs = global_regression(
            paths, reference=(mode, names) if mode else None,
            mean_weight=self.parameterAsDouble(parameters, self.MEAN_WEIGHT, context),
            std_weight=self.parameterAsDouble(parameters, self.STD_WEIGHT, context),
            fit=FITS[self.parameterAsEnum(parameters, self.FIT, context)],
            masks=self.masks(parameters, context, paths),
            model=self.parameterAsFile(parameters, self.MODEL, context) or None,
            save_model_to=save, warn=feedback.pushWarning,
            **self.output_options(parameters, context), **self.engine_options(feedback))
        return self.finish(context, outputs, **({self.SAVE_MODEL: save} if save else {}))
