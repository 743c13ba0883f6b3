"""Mosaic: merge overlapping rasters into one, with feathered seams and COG output."""

from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterDistance,
                       QgsProcessingParameterEnum, QgsProcessingParameterExtent,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination)

from ..engine.cog import OVERVIEW_RESAMPLINGS
from ..engine.dtypes import DTYPES
from ..engine.mosaic import AUTOMATIC_FEATHER_PIXELS, mosaic
from ..engine.resample import RESAMPLINGS
from .base import TesseraAlgorithm
from .compat import DOUBLE, POLYGONS, RASTER

#: Methods in the order the dialog lists them (the engine's names).
METHODS = ("last", "first", "min", "max", "mean", "median", "feather")


class Mosaic(TesseraAlgorithm):
    (INPUTS, METHOD, FEATHER_DISTANCE, SEAMLINES, SEAM_FIELD, RESOLUTION, EXTENT, RESAMPLING,
     DATA_TYPE, NODATA, COG, OVERVIEW_RESAMPLING, INTERNAL_MASK, OUTPUT) = (
        "INPUTS", "METHOD", "FEATHER_DISTANCE", "SEAMLINES", "SEAM_FIELD", "RESOLUTION",
        "EXTENT", "RESAMPLING", "DATA_TYPE", "NODATA", "COG", "OVERVIEW_RESAMPLING",
        "INTERNAL_MASK", "OUTPUT")
    group_id = "mosaic"

    def name(self):
        return "mosaic"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Mosaic (merge with feathered seams)")

    def tags(self):
        return self.tr("mosaic,merge,feather,blend,seamline,seamless,cog,overlap,"
                       "gdalwarp").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Merges overlapping rasters (one CRS, the same bands) into one raster covering their "
            "union (or the given extent) at the finest input's pixel size (or the given one), on "
            "that input's pixel lattice: inputs aligned to each other (see Align rasters) are "
            "copied without resampling.\n\n"
            "Where images overlap: last = the later input in the list wins (as gdalwarp), first "
            "= the earlier one wins, or the min, max, mean or median of the valid values. The "
            "priority is the list order, never the order in which work finishes.\n\n"
            "Feather blends images across a seam over the feather distance: with a seamline "
            "layer (see Seamlines; one polygon per image named by its file name), each image's "
            "weight ramps from 1 inside its polygon to 0 outside, crossing 0.5 on the seamline; "
            "without one, weights ramp up from each image's footprint edge. Weights also fall "
            "to 0 at each image's own edge, so dark edge pixels never show.\n\n"
            "Every method works band by band on valid pixels: a pixel is nodata only where no "
            "input has a value. Output: tiled, compressed GeoTIFF, or a Cloud Optimized GeoTIFF "
            "with overviews, optionally with an internal mask band; BigTIFF when needed. "
            "Results do not depend on tiling or worker count.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr("Input rasters (in priority order)"), RASTER))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Where images overlap"),
            options=[self.tr("last: later input wins (gdalwarp)"),
                     self.tr("first: earlier input wins"), self.tr("minimum"),
                     self.tr("maximum"), self.tr("mean"), self.tr("median"),
                     self.tr("feather: blend across seamlines")], defaultValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.FEATHER_DISTANCE,
            self.tr(f"Feather distance (0 = {AUTOMATIC_FEATHER_PIXELS} pixels)"),
            defaultValue=0.0, minValue=0.0, parentParameterName=self.INPUTS))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SEAMLINES, self.tr("Seamlines (one polygon per image; feather only)"),
            [POLYGONS], optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.SEAM_FIELD, self.tr("Seamline field holding the image's file name"),
            defaultValue="image", parentLayerParameterName=self.SEAMLINES, optional=True))
        self.add_advanced(QgsProcessingParameterNumber(
            self.RESOLUTION, self.tr("Pixel size (0 = the finest input's)"), type=DOUBLE,
            defaultValue=0.0, minValue=0.0))
        self.add_advanced(QgsProcessingParameterExtent(
            self.EXTENT, self.tr("Extent (default: union of the inputs)"), optional=True))
        self.add_advanced(QgsProcessingParameterEnum(
            self.RESAMPLING, self.tr("Resampling of inputs off the mosaic's pixel lattice"),
            options=list(RESAMPLINGS), defaultValue=RESAMPLINGS.index("nearest")))
        self.add_advanced(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type (integers are rounded and clamped)"),
            options=[self.tr("same as the first input")] + list(DTYPES), defaultValue=0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.NODATA, self.tr("Output nodata (default: the first input's)"), type=DOUBLE,
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.COG, self.tr("Write a Cloud Optimized GeoTIFF (with overviews)"),
            defaultValue=False))
        self.add_advanced(QgsProcessingParameterEnum(
            self.OVERVIEW_RESAMPLING, self.tr("COG overview resampling"),
            options=list(OVERVIEW_RESAMPLINGS), defaultValue=0))
        self.add_advanced(QgsProcessingParameterBoolean(
            self.INTERNAL_MASK, self.tr("Also write an internal mask band (valid where any "
                                        "band has a value)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, self.tr("Mosaic")))

    def run_engine(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        seamlines = self.parameterAsCompatibleSourceLayerPath(
            parameters, self.SEAMLINES, context, ["gpkg", "shp"]) \
            if parameters.get(self.SEAMLINES) else None
        fields = self.parameterAsFields(parameters, self.SEAM_FIELD, context)
        distance = self.parameterAsDouble(parameters, self.FEATHER_DISTANCE, context)
        size = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        choice = self.parameterAsEnum(parameters, self.DATA_TYPE, context)
        nodata = parameters.get(self.NODATA)
        mosaic(self.raster_paths(parameters, self.INPUTS, context), output,
               method=METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
               feather_distance=distance or None, seamlines=seamlines,
               seam_field=fields[0] if fields else "image",
               resolution=(size, size) if size else None,
               bounds=self.extent_bounds(parameters, self.EXTENT, context),
               resampling=RESAMPLINGS[self.parameterAsEnum(parameters, self.RESAMPLING,
                                                           context)],
               dtype=None if choice == 0 else DTYPES[choice - 1],
               nodata=None if nodata in (None, "") else self.parameterAsDouble(
                   parameters, self.NODATA, context),
               cog=self.parameterAsBoolean(parameters, self.COG, context),
               overview_resampling=OVERVIEW_RESAMPLINGS[self.parameterAsEnum(
                   parameters, self.OVERVIEW_RESAMPLING, context)],
               internal_mask=self.parameterAsBoolean(parameters, self.INTERNAL_MASK, context),
               **self.engine_options(feedback))
        return {self.OUTPUT: output}
