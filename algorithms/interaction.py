"""Interaction: how much chosen categories occur together around every pixel."""

from qgis.core import QgsProcessingParameterBoolean

from ..engine.diversity import interaction
from .category_maps import KERNEL_HELP, STORAGE_HELP, CategoryAlgorithm
from .styles import pseudocolor


class Interaction(CategoryAlgorithm):
    STANDARDIZE, NORMED = "STANDARDIZE", "NORMED"

    def name(self):
        return "interaction"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Interaction (co-occurrence of categories)")

    def tags(self):
        return self.tr("co-occurrence,interface,edge,mixing,simpson,land cover,landcover,"
                       "categorical,moving window,landscape,convster").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "How much two or more categories occur together around every pixel: the product "
            "of their local proportions a (0 to 1). Standardised, the product is divided by "
            "the sum of the proportions (0 where they are all 0); normalised, it is divided by "
            "(1/n)^n for n categories, so n equal shares of 1/n give 1. Float32 outputs keep "
            "the value as it is (standardised values may exceed 1); integer outputs clip it "
            "to 1 and round up.\n\n"
            "The input is either a categorical map (integer codes), whose proportions are "
            "measured here with the kernel, or the output of Category maps (bands tagged "
            "category=<value>), used as it is; integer layers without a GDAL scale are "
            "divided by their type's maximum (255 for uint8).\n\n"
            + KERNEL_HELP + "\n\nPixels where the map is nodata are nodata.\n\n"
            + STORAGE_HELP)

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_input("Categorical map, or category maps",
                       "Categories, comma-separated (2 or more, e.g. 21, 31)", optional=False)
        self.add_kernel()
        self.addParameter(QgsProcessingParameterBoolean(
            self.STANDARDIZE, self.tr("Standardise (divide by the sum of the proportions)"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            self.NORMED, self.tr("Normalise by (1/n)^n"), defaultValue=True))
        self.add_storage("Interaction")

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        options = self.input_options(parameters, context)
        interaction(options.pop("raster"), output,
                    standardize=self.parameterAsBoolean(parameters, self.STANDARDIZE, context),
                    normed=self.parameterAsBoolean(parameters, self.NORMED, context),
                    **options, **self.storage_options(parameters, context),
                    **self.engine_options(feedback))
        self.style_on_load(context, output, pseudocolor("Viridis"))
        return {self.OUTPUT: output}
