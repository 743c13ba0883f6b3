"""Category maps: one band per category of a land-cover map, presence or local proportion.

Also the base of the other landscape algorithms that read category layers
(entropy, interaction): the categorical input, the categories, the kernel
(named as in ``tessera:filter``) and how fractions are stored.
"""

from qgis.core import (QgsProcessingParameterBand, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber, QgsProcessingParameterRange,
                       QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)

from ..engine.categories import VALUES, category_maps, parse_categories
from ..engine.fractions import FRACTION_TYPES
from .compat import DOUBLE
from .kernel_parameters import KernelAlgorithm

KERNEL_HELP = (
    "Proportions are the kernel-weighted share of each category among the valid (not "
    "nodata) map pixels around each pixel, so the shares of all categories sum to 1. "
    "Kernels: Gaussian (by sigma, or by a diameter when one is given: sigma = diameter / "
    "(2 x truncate)), box (side) or disk (diameter), in pixels or map units. Beyond the "
    "raster edge: nodata (the kernel is renormalised over the pixels that exist), nearest "
    "(edge pixels repeated) or reflect (mirrored), as in scipy.")
STORAGE_HELP = (
    "float32 outputs hold 0 to 1. Integer outputs hold 0 to the type's maximum less one "
    "(uint8: 0-254, 255 is nodata), rounded, with a GDAL scale so QGIS shows 0 to 1; an "
    "output range changes what 0 and 1 are stored as.")


class CategoryAlgorithm(KernelAlgorithm):
    """Shared parameters of the algorithms that read category layers."""

    INPUT, BAND, CATEGORIES, DATA_TYPE, OUTPUT_RANGE, NODATA, OUTPUT = (
        "INPUT", "BAND", "CATEGORIES", "DATA_TYPE", "OUTPUT_RANGE", "NODATA", "OUTPUT")

    def add_input(self, description: str, categories: str, optional: bool = True) -> None:
        """The categorical map (or category maps), its band and the categories."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr(description)))
        self.addParameter(QgsProcessingParameterBand(
            self.BAND, self.tr("Band of the categorical map"), defaultValue=1,
            parentLayerParameterName=self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.CATEGORIES, self.tr(categories), optional=optional))

    def add_storage(self, output: str) -> None:
        """Output type, range, nodata and the destination."""
        self.addParameter(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type"), options=list(FRACTION_TYPES),
            defaultValue=0))
        self.add_advanced(QgsProcessingParameterRange(
            self.OUTPUT_RANGE, self.tr("Output range: what 0 and 1 are stored as (default: 0-1 "
                                       "for float32, 0 to the type's maximum less one)"),
            type=DOUBLE, optional=True))
        self.add_advanced(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: NaN, or the integer type's maximum)"),
            type=DOUBLE, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr(output)))

    def input_options(self, parameters, context) -> dict:
        """Engine arguments of the input, categories and kernel."""
        return dict(
            raster=self.raster_paths(parameters, self.INPUT, context)[0],
            band=self.parameterAsInt(parameters, self.BAND, context) or 1,
            categories=parse_categories(
                self.parameterAsString(parameters, self.CATEGORIES, context)),
            **self.kernel_options(parameters, context))

    def storage_options(self, parameters, context) -> dict:
        """Engine arguments of the output type, range and nodata."""
        return dict(
            dtype=FRACTION_TYPES[self.parameterAsEnum(parameters, self.DATA_TYPE, context)],
            out_range=self.optional_range(parameters, self.OUTPUT_RANGE, context),
            nodata=self.optional_number(parameters, self.NODATA, context))


class CategoryMaps(CategoryAlgorithm):
    MEASURE = "VALUES"

    def name(self):
        return "categorymaps"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Category maps (presence or local proportion)")

    def tags(self):
        return self.tr("land cover,landcover,categorical,class,one-hot,indicator,presence,"
                       "proportion,share,gaussian,blur,landscape,convster").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Turns a categorical map (integer codes, e.g. land cover) into one band per "
            "category, named LC_<value> and tagged category=<value>: presence (1 where the map "
            "is that category, else 0) or the local proportion of that category. The "
            "categories are the values listed (e.g. 11, 12, 31), by default every value found "
            "in the map (at most 256); a listed value that never occurs is an error.\n\n"
            + KERNEL_HELP + " Nodata map pixels are nodata in every band.\n\n"
            + STORAGE_HELP + "\n\nThe output feeds Entropy and Interaction directly (their "
            "kernel settings then do not apply).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_input("Categorical map (integer codes)",
                       "Categories, comma-separated (default: every value found)")
        self.addParameter(QgsProcessingParameterEnum(
            self.MEASURE, self.tr("Values"), options=list(VALUES), defaultValue=0))
        self.add_kernel()
        self.add_storage("Category maps")

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        options = self.input_options(parameters, context)
        category_maps(
            options.pop("raster"), output,
            values=VALUES[self.parameterAsEnum(parameters, self.MEASURE, context)],
            **options, **self.storage_options(parameters, context),
            **self.engine_options(feedback))
        return {self.OUTPUT: output}
