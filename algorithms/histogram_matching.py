"""Histogram matching: each input takes the reference's per-band value distribution."""

from qgis.core import QgsProcessingParameterBoolean

from ..engine.histogram_matching import histogram_matching
from .normalization_base import NormalizationAlgorithm


class HistogramMatching(NormalizationAlgorithm):
    OVERLAP_ONLY = "OVERLAP_ONLY"
    default_template = "{stem}_histmatch.tif"

    def name(self):
        return "histogrammatching"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Histogram matching")

    def tags(self):
        return self.tr("histogram,matching,specification,cdf,radiometric,normalization,"
                       "multi-date,time series").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Gives each input raster the value distribution of the reference raster, band by "
            "band: every value is mapped to the reference value at the same quantile (exact "
            "cumulative histograms: one bin per value for 8 and 16-bit integers, fine bins "
            "for other types), as scikit-image's match_histograms does, but streamed so "
            "rasters of any size work.\n\nWith 'only the overlap', both distributions come "
            "from the pixels valid in both the input and the reference (a change-robust "
            "choice for multi-date stacks); the mapping is still applied to every pixel of "
            "the input, so no seam appears at the overlap's edge. Masks restrict the pixels "
            "the input's statistics use. Inputs and reference share CRS and bands; grids may "
            "differ.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs("Rasters to match")
        self.add_reference("Reference raster")
        self.addParameter(QgsProcessingParameterBoolean(
            self.OVERLAP_ONLY, self.tr("Take the distributions from the overlap only"),
            defaultValue=False))
        self.add_mask_parameters()
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        paths = self.raster_paths(parameters, self.INPUTS, context)
        outputs = histogram_matching(
            paths, self.reference_path(parameters, context),
            overlap_only=self.parameterAsBool(parameters, self.OVERLAP_ONLY, context),
            masks=self.masks(parameters, context, paths), warn=feedback.pushWarning,
            **self.output_options(parameters, context), **self.engine_options(feedback))
        return self.finish(context, outputs)
