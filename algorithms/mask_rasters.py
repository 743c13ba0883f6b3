"""Mask rasters by polygons: pixels outside (or inside) the polygons become nodata."""

from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterDistance,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber)

from ..engine.mask_rasters import DEFAULT_TEMPLATE, mask_rasters
from ..engine.masks import MODES
from .compat import DOUBLE, POLYGONS
from .multi_raster import MultiRasterAlgorithm

MODE_LABELS = {"include": "keep the pixels inside the polygons",
               "exclude": "keep the pixels outside the polygons"}


class MaskRasters(MultiRasterAlgorithm):
    MASK, FIELD, MODE, ALL_TOUCHED, BUFFER, NODATA = (
        "MASK", "FIELD", "MODE", "ALL_TOUCHED", "BUFFER", "NODATA")
    group_id = "mosaic"
    default_template = DEFAULT_TEMPLATE
    outputs_description = "Masked rasters"

    def name(self):
        return "maskrasters"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Mask rasters by polygons")

    def tags(self):
        return self.tr("mask,clip,cutline,seamline,polygon,vector,nodata,extract,"
                       "mosaic").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Writes a copy of each input raster in which the pixels outside the polygons (or, "
            "in the other mode, inside them) are set to nodata; the grid, bands and values "
            "are kept.\n\nA pixel is inside when a polygon covers its centre, or with "
            "\"all touched\" when a polygon touches it at all. The polygons are reprojected to "
            "each raster's CRS and can first be grown (or, with a negative buffer, shrunk) "
            "by the buffer distance, in the rasters' map units.\n\nWith a field, each raster "
            "is masked only by the features whose field value contains the raster's file "
            "name (without extension): use the seamlines' 'image' field to cut each image "
            "along its seamline, grown by half the feather distance of the mosaic.\n\n"
            "Nodata: the value given, else the raster's own, else the output type's default "
            "(reported as a warning). A valid pixel never becomes nodata: one equal to the "
            "nodata value is moved one step into the type's range. One output per input goes "
            "into the output folder.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs()
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.MASK, self.tr("Mask polygons"), [POLYGONS]))
        self.addParameter(QgsProcessingParameterField(
            self.FIELD, self.tr("Field whose value contains the raster's file name (empty: "
                                "every polygon masks every raster)"),
            parentLayerParameterName=self.MASK, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODE, self.tr("Mode"), options=[self.tr(MODE_LABELS[mode]) for mode in MODES],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ALL_TOUCHED, self.tr("Pixels a polygon touches count as inside (all touched)"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterDistance(
            self.BUFFER, self.tr("Grow polygons by (negative shrinks)"), defaultValue=0.0,
            parentParameterName=self.INPUTS))
        self.addParameter(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: the raster's, else NaN for floats, "
                                 "the type's extreme for integers)"), type=DOUBLE,
            optional=True))
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        fields = self.parameterAsFields(parameters, self.FIELD, context) \
            if parameters.get(self.FIELD) else []
        nodata = parameters.get(self.NODATA)
        outputs = mask_rasters(
            self.raster_paths(parameters, self.INPUTS, context),
            self.parameterAsCompatibleSourceLayerPath(parameters, self.MASK, context,
                                                      ["gpkg", "shp"]),
            mode=MODES[self.parameterAsEnum(parameters, self.MODE, context)],
            field=fields[0] if fields else None,
            all_touched=self.parameterAsBoolean(parameters, self.ALL_TOUCHED, context),
            buffer=self.parameterAsDouble(parameters, self.BUFFER, context),
            nodata=None if nodata in (None, "") else self.parameterAsDouble(
                parameters, self.NODATA, context),
            warn=feedback.pushWarning,
            **self.output_options(parameters, context), **self.engine_options(feedback))
        return self.finish(context, outputs)
