"""Filter: Gaussian, box or disk smoothing that skips nodata, optionally per class."""

import math

from qgis.core import (QgsProcessingException, QgsProcessingParameterBand,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..engine.dtypes import DTYPES
from ..engine.filters import filter_raster
from .compat import DOUBLE
from .kernel_parameters import KernelAlgorithm


class Filter(KernelAlgorithm):
    (INPUT, BANDS, SELECTOR, SELECTOR_BAND, INPUT_MIN, INPUT_MAX, OUTPUT_MIN, OUTPUT_MAX,
     DATA_TYPE, NODATA, FILL_NODATA, OUTPUT) = (
        "INPUT", "BANDS", "SELECTOR", "SELECTOR_BAND", "INPUT_MIN", "INPUT_MAX", "OUTPUT_MIN",
        "OUTPUT_MAX", "DATA_TYPE", "NODATA", "FILL_NODATA", "OUTPUT")

    def name(self):
        return "filter"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Filter (Gaussian, box, disk; nodata-aware)")

    def tags(self):
        return self.tr("gaussian,blur,smooth,box,uniform,mean,disk,convolution,kernel,"
                       "normalized convolution,selector,class,landscape").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Smooths each selected band with a kernel whose weights sum to 1: Gaussian (by "
            "sigma, or by a diameter when one is given: sigma = diameter / (2 x truncate)), "
            "box (side) or disk (diameter). Sizes are in pixels or map units.\n\n"
            "Nodata is skipped, not counted as 0: each pixel gets the kernel-weighted mean of "
            "the valid pixels within reach (normalized convolution). Nodata pixels stay "
            "nodata unless 'fill nodata' is on. Beyond the raster edge: nodata (the kernel "
            "is renormalised over the pixels that exist), nearest (edge pixels repeated) or "
            "reflect (mirrored), as in scipy.\n\n"
            "With a selector band (integer classes, on the same grid), the filter runs per "
            "class: each pixel averages only pixels of its own class, so values never blur "
            "across class boundaries. Pixels without a class are nodata.\n\n"
            "Output values: with an input range, input values are clipped to it and mapped "
            "linearly onto the output range (default 0 to 1 for float types, the full range "
            "of integer types), then rounded (never truncated). Without one, values are "
            "written as they are, rounded and clamped to the output type; an integer input "
            "that the integer output type cannot hold needs an input range.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterBand(
            self.BANDS, self.tr("Bands (default: all)"), parentLayerParameterName=self.INPUT,
            optional=True, allowMultiple=True))
        self.add_kernel()
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.SELECTOR, self.tr("Selector raster (classes; filter per class)"),
            optional=True))
        self.addParameter(QgsProcessingParameterBand(
            self.SELECTOR_BAND, self.tr("Selector band"), defaultValue=1,
            parentLayerParameterName=self.SELECTOR, optional=True))
        for name, text in ((self.INPUT_MIN, "Input range: low (maps to the output's low)"),
                           (self.INPUT_MAX, "Input range: high (maps to the output's high)"),
                           (self.OUTPUT_MIN, "Output range: low (default 0, or the integer "
                                             "type's lowest)"),
                           (self.OUTPUT_MAX, "Output range: high (default 1, or the integer "
                                             "type's highest)")):
            self.addParameter(QgsProcessingParameterNumber(name, self.tr(text), type=DOUBLE,
                                                           optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type"), options=list(DTYPES),
            defaultValue=DTYPES.index("float32")))
        self.add_advanced(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: NaN, or the integer type's extreme)"),
            type=DOUBLE, optional=True))
        self.add_advanced(QgsProcessingParameterBoolean(
            self.FILL_NODATA, self.tr("Fill nodata pixels from their valid neighbours"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, self.tr("Filtered")))

    def run_engine(self, parameters, context, feedback):
        selector = (self.raster_paths(parameters, self.SELECTOR, context)[0]
                    if parameters.get(self.SELECTOR) else None)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        filter_raster(
            self.raster_paths(parameters, self.INPUT, context)[0], output,
            bands=self.parameterAsInts(parameters, self.BANDS, context) or None,
            selector=selector,
            selector_band=self.parameterAsInt(parameters, self.SELECTOR_BAND, context) or 1,
            in_range=self._range(parameters, self.INPUT_MIN, self.INPUT_MAX, context),
            out_range=self._range(parameters, self.OUTPUT_MIN, self.OUTPUT_MAX, context),
            dtype=DTYPES[self.parameterAsEnum(parameters, self.DATA_TYPE, context)],
            nodata=self.optional_number(parameters, self.NODATA, context),
            fill_nodata=self.parameterAsBoolean(parameters, self.FILL_NODATA, context),
            **self.kernel_options(parameters, context), **self.engine_options(feedback))
        return {self.OUTPUT: output}

    def _range(self, parameters, low_name, high_name, context):
        """Two optional numbers as a (low, high) range, None when neither is set."""
        ends = [self.optional_number(parameters, name, context) for name in (low_name,
                                                                              high_name)]
        given = [end is not None and not math.isnan(end) for end in ends]
        if not any(given):
            return None
        if not all(given):
            definition = self.parameterDefinition(low_name if given[0] else high_name)
            raise QgsProcessingException(
                f"{definition.description()} is set but its other end is not: give both ends "
                f"of the range, or neither")
        return tuple(ends)
