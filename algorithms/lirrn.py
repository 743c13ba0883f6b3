"""LIRRN: location-independent relative radiometric normalization to a reference."""

from qgis.core import QgsProcessingParameterNumber

from ..engine.lirrn import lirrn
from .compat import DOUBLE, INTEGER
from .normalization_base import NormalizationAlgorithm


class Lirrn(NormalizationAlgorithm):
    CLASSES, SAMPLES, FRACTION, SEED = "CLASSES", "SAMPLES", "FRACTION", "SEED"
    default_template = "{stem}_lirrn.tif"

    def name(self):
        return "lirrn"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("LIRRN (location-independent normalization)")

    def tags(self):
        return self.tr("lirrn,radiometric,normalization,multi-otsu,regression,multi-date,"
                       "no overlap,Moghimi").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Brings each input raster to the reference's radiometry with one gain and offset "
            "per band, without needing the images to overlap (Moghimi et al. 2024): per band, "
            "each image is split into brightness classes (multi-Otsu); the values nearest "
            "each class's minimum, mean and maximum are sampled, a seeded random share is "
            "kept, subject and reference samples are paired by nearest value, and a line "
            "fitted through the pairs is applied to the band.\n\nUnlike the reference "
            "implementation, every band is normalized (the last too), nodata is excluded, "
            "the same seed always gives the same output, and images are streamed.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs("Rasters to normalize (subjects)")
        self.add_reference("Reference raster")
        self.addParameter(QgsProcessingParameterNumber(
            self.CLASSES, self.tr("Brightness classes (multi-Otsu)"), type=INTEGER,
            defaultValue=3, minValue=2, maxValue=16))
        self.add_advanced(QgsProcessingParameterNumber(
            self.SAMPLES, self.tr("Values sampled near each class minimum, mean and maximum"),
            type=INTEGER, defaultValue=1000, minValue=1))
        self.add_advanced(QgsProcessingParameterNumber(
            self.FRACTION, self.tr("Share of the samples kept (random)"), type=DOUBLE,
            defaultValue=0.1, minValue=0.001, maxValue=1.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), type=INTEGER, defaultValue=0, minValue=0))
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        outputs = lirrn(
            self.raster_paths(parameters, self.INPUTS, context),
            self.reference_path(parameters, context),
            classes=self.parameterAsInt(parameters, self.CLASSES, context),
            samples=self.parameterAsInt(parameters, self.SAMPLES, context),
            fraction=self.parameterAsDouble(parameters, self.FRACTION, context),
            seed=self.parameterAsInt(parameters, self.SEED, context), warn=feedback.pushWarning,
            **self.output_options(parameters, context), **self.engine_options(feedback))
        return self.finish(context, outputs)
