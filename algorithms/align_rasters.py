"""Align rasters: warp every input onto one CRS, cell size and pixel grid."""

from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer)

from ..engine.align import RESOLUTIONS, align_rasters
from ..engine.warp import RESAMPLINGS
from .compat import DOUBLE
from .multi_raster import MultiRasterAlgorithm


class AlignRasters(MultiRasterAlgorithm):
    RESOLUTION, CELL_SIZE, TAP, RESAMPLING, TARGET_CRS, TARGET_GRID = (
        "RESOLUTION", "CELL_SIZE", "TAP", "RESAMPLING", "TARGET_CRS", "TARGET_GRID")
    group_id = "mosaic"
    default_template = "{stem}_aligned.tif"
    outputs_description = "Aligned rasters"

    def name(self):
        return "alignrasters"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Align rasters")

    def tags(self):
        return self.tr("align,grid,snap,warp,reproject,resample,resolution,cell size,tap,"
                       "gdalwarp,mosaic").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Warps every input raster onto one CRS, one cell size and one pixel grid, so the "
            "outputs line up pixel for pixel (a mosaic or a difference then needs no further "
            "resampling). Each output covers its own input's extent, grown outward to whole "
            "cells.\n\nResolution: the finest or coarsest input's cell size, their average, "
            "or a cell size you give; it is always the one written. Target-aligned pixels put "
            "cell edges on multiples of the cell size (as gdalwarp -tap); otherwise the grid "
            "starts at the top-left corner of all inputs together. A target grid raster "
            "imposes its CRS, cell size and alignment instead.\n\nResampling: nearest keeps "
            "input values (classes); bilinear, cubic and lanczos interpolate and, when the "
            "output is coarser, widen their kernel so detail is averaged rather than "
            "skipped; average takes the area-weighted mean of the input cells under each "
            "output cell; mode takes the class covering most of it. Nodata never leaks into "
            "valid pixels, and an output pixel is valid exactly where the input pixel under "
            "its centre is.\n\nInputs in different CRSs need a target CRS (or target grid).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs("Rasters to align")
        self.addParameter(QgsProcessingParameterEnum(
            self.RESOLUTION, self.tr("Resolution"),
            options=[self.tr("highest (finest input)"), self.tr("lowest (coarsest input)"),
                     self.tr("average of the inputs"), self.tr("cell size given below")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.CELL_SIZE, self.tr("Cell size (target CRS units; used with 'cell size given "
                                    "below')"),
            type=DOUBLE, defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.TAP, self.tr("Target-aligned pixels (cell edges on multiples of the cell "
                              "size)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterEnum(
            self.RESAMPLING, self.tr("Resampling"), options=list(RESAMPLINGS),
            defaultValue=RESAMPLINGS.index("bilinear")))
        self.addParameter(QgsProcessingParameterCrs(
            self.TARGET_CRS, self.tr("Target CRS (empty: the inputs' CRS)"), optional=True))
        self.add_advanced(QgsProcessingParameterRasterLayer(
            self.TARGET_GRID, self.tr("Target grid: raster whose CRS, cell size and alignment "
                                      "to use"), optional=True))
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        choice = self.parameterAsEnum(parameters, self.RESOLUTION, context)
        resolution = (RESOLUTIONS[choice] if choice < len(RESOLUTIONS)
                      else self.parameterAsDouble(parameters, self.CELL_SIZE, context))
        grid = (self.raster_paths(parameters, self.TARGET_GRID, context)
                if parameters.get(self.TARGET_GRID) else [])
        outputs = align_rasters(
            self.raster_paths(parameters, self.INPUTS, context), resolution=resolution,
            target_aligned_pixels=self.parameterAsBool(parameters, self.TAP, context),
            resampling=RESAMPLINGS[self.parameterAsEnum(parameters, self.RESAMPLING, context)],
            target_crs=self._crs(parameters, context), target_grid=grid[0] if grid else None,
            warn=feedback.pushWarning, **self.output_options(parameters, context),
            **self.engine_options(feedback))
        return self.finish(context, outputs)

    def _crs(self, parameters, context):
        """The target CRS as an EPSG code or WKT, None when none is chosen."""
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        if not crs.isValid():
            return None
        return crs.authid() if crs.authid().upper().startswith("EPSG:") else crs.toWkt()
