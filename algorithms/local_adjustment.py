"""Local block adjustment: smooth block-wise corrections towards the images' mean."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterExtent,
                       QgsProcessingParameterFile, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterNumber)

from ..engine.local_adjustment import (AUTOMATIC, CORRECTIONS, REFERENCES,
                                       local_block_adjustment)
from .compat import DOUBLE, INTEGER
from .normalization_base import NormalizationAlgorithm


class LocalBlockAdjustment(NormalizationAlgorithm):
    (BLOCK_METHOD, BLOCKS, ROWS, COLS, CORRECTION, REFERENCE, ALPHA, THRESHOLD, CANVAS,
     LOAD_MAPS, SAVE_MAPS) = ("BLOCK_METHOD", "BLOCKS", "ROWS", "COLS", "CORRECTION",
                              "REFERENCE", "ALPHA", "THRESHOLD", "CANVAS", "LOAD_MAPS",
                              "SAVE_MAPS")
    default_template = "{stem}_local.tif"

    def name(self):
        return "localblockadjustment"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Local block adjustment (relative radiometric normalization)")

    def tags(self):
        return self.tr("radiometric,normalization,local,block,gamma,illumination,seam,mosaic,"
                       "balance,spectralmatch").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Removes smooth brightness differences left after a global regression (illumination "
            "gradients, haze): a block grid covers all images; each image's block means are "
            "compared with the mean of all images over the same pixels, both interpolated "
            "bilinearly between block centres, and each pixel is corrected towards that mean "
            "(Yu et al. 2017, local phase). Where an image overlaps no other, nothing changes. "
            "(The spectralmatch variant compares with the mean of all images' block means, "
            "which mixes different areas in blocks at image edges.)\n\n"
            "Correction (offset measured best on our benchmark): gamma (P' = P^g with "
            "g = ln M_ref / ln M_local, shifted once per image when values are below 1), linear "
            "ratio (P' = P M_ref / M_local) or offset (P' = P + M_ref - M_local). Alpha blends "
            "the target between the local (0) and the reference mean (1).\n\n"
            "Blocks: a target number per image, an explicit rows x cols grid, or automatic from "
            "the images' coefficient of variation. A block needs the given fraction of valid "
            "pixels. Block maps can be saved as GeoTIFFs and loaded again; images without saved "
            "maps are measured on the loaded block grid. "
            "Results do not depend on tiling or worker count.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_inputs("Rasters (usually global regression outputs)")
        self.addParameter(QgsProcessingParameterEnum(
            self.BLOCK_METHOD, self.tr("Block grid"),
            options=[self.tr("target blocks per image"), self.tr("rows x columns"),
                     self.tr("automatic (coefficient of variation)")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.BLOCKS, self.tr("Blocks per image"), type=INTEGER, defaultValue=100,
            minValue=1))
        self.add_advanced(QgsProcessingParameterNumber(
            self.ROWS, self.tr("Block rows (rows x columns grid)"), type=INTEGER,
            defaultValue=10, minValue=1))
        self.add_advanced(QgsProcessingParameterNumber(
            self.COLS, self.tr("Block columns (rows x columns grid)"), type=INTEGER,
            defaultValue=10, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.CORRECTION, self.tr("Correction"),
            options=[self.tr("gamma"), self.tr("linear ratio"), self.tr("offset")],
            defaultValue=CORRECTIONS.index("offset")))
        self.add_advanced(QgsProcessingParameterEnum(
            self.REFERENCE, self.tr("Correct each block towards"),
            options=[self.tr("the mean of all images over the same pixels"),
                     self.tr("the mean of all images' block means (spectralmatch)")],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.ALPHA, self.tr("Alpha (0 = no change, 1 = full correction)"), type=DOUBLE,
            defaultValue=1.0, minValue=0.0, maxValue=1.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Minimum fraction of valid pixels per block"), type=DOUBLE,
            defaultValue=0.001, minValue=0.0, maxValue=1.0))
        self.add_mask_parameters()
        self.add_advanced(QgsProcessingParameterExtent(
            self.CANVAS, self.tr("Block grid extent (default: union of the inputs)"),
            optional=True))
        self.add_advanced(QgsProcessingParameterFile(
            self.LOAD_MAPS, self.tr("Load block maps from folder"),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.add_advanced(QgsProcessingParameterFolderDestination(
            self.SAVE_MAPS, self.tr("Save block maps to folder"), optional=True,
            createByDefault=False))
        self.add_outputs()

    def run_engine(self, parameters, context, feedback):
        paths = self.raster_paths(parameters, self.INPUTS, context)
        method = self.parameterAsEnum(parameters, self.BLOCK_METHOD, context)
        blocks = [self.parameterAsInt(parameters, self.BLOCKS, context),
                  (self.parameterAsInt(parameters, self.ROWS, context),
                   self.parameterAsInt(parameters, self.COLS, context)), AUTOMATIC][method]
        save = self.parameterAsFileOutput(parameters, self.SAVE_MAPS, context) \
            if parameters.get(self.SAVE_MAPS) else None
        outputs = local_block_adjustment(
            paths, blocks=blocks,
            correction=CORRECTIONS[self.parameterAsEnum(parameters, self.CORRECTION, context)],
            reference=REFERENCES[self.parameterAsEnum(parameters, self.REFERENCE, context)],
            alpha=self.parameterAsDouble(parameters, self.ALPHA, context),
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            masks=self.masks(parameters, context, paths),
            canvas=self.extent_bounds(parameters, self.CANVAS, context),
            load_maps=self.parameterAsFile(parameters, self.LOAD_MAPS, context) or None,
            save_maps=save, **self.output_options(parameters, context),
            **self.engine_options(feedback))
        return self.finish(context, outputs, **({self.SAVE_MAPS: save} if save else {}))
