"""Entropy: how mixed the categories are around every pixel (Shannon entropy)."""

from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterNumber

from ..engine.diversity import entropy
from .category_maps import KERNEL_HELP, STORAGE_HELP, CategoryAlgorithm
from .compat import INTEGER
from .styles import pseudocolor


class Entropy(CategoryAlgorithm):
    NORMED, MAX_CATEGORIES = "NORMED", "MAX_CATEGORIES"

    def name(self):
        return "entropy"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Entropy (landscape diversity)")

    def tags(self):
        return self.tr("shannon,diversity,heterogeneity,mixing,land cover,landcover,"
                       "categorical,moving window,landscape,convster").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "The Shannon entropy of the local proportions of the categories around every "
            "pixel: H = -sum p ln p over the chosen categories (p: each category's share of "
            "their total). Normalised by ln(number of categories), it runs from 0 (one "
            "category only) to 1 (equal shares); with a maximum number of categories it is "
            "divided by ln(that number) instead, to compare maps with different numbers of "
            "categories. Not normalised, it is in nats (float32 only).\n\n"
            "The input is either a categorical map (integer codes), whose proportions are "
            "measured here with the kernel, or the output of Category maps (bands tagged "
            "category=<value>), used as it is. Categories default to all of them.\n\n"
            + KERNEL_HELP + "\n\nPixels where the map is nodata, or where every chosen "
            "proportion is 0, are nodata.\n\n" + STORAGE_HELP)

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_input("Categorical map, or category maps",
                       "Categories, comma-separated (default: all; at least 2)")
        self.add_kernel()
        self.addParameter(QgsProcessingParameterBoolean(
            self.NORMED, self.tr("Normalise to 0-1"), defaultValue=True))
        self.add_advanced(QgsProcessingParameterNumber(
            self.MAX_CATEGORIES, self.tr("Normalise by ln of this number of categories "
                                         "(default: the number chosen)"),
            type=INTEGER, optional=True))
        self.add_storage("Entropy")

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        options = self.input_options(parameters, context)
        maximum = self.optional_number(parameters, self.MAX_CATEGORIES, context)
        entropy(options.pop("raster"), output,
                normed=self.parameterAsBoolean(parameters, self.NORMED, context),
                max_categories=None if maximum is None else int(maximum),
                **options, **self.storage_options(parameters, context),
                **self.engine_options(feedback))
        self.style_on_load(context, output, pseudocolor("Viridis"))
        return {self.OUTPUT: output}
