"""What every radiometric normalization algorithm shares: its inputs, masks and outputs.

Each algorithm takes a list of rasters and writes one corrected raster per
input into an output folder, named from a template, with the input's type by
default; every output is loaded as a layer, and the list of outputs is an
output of its own so models can chain normalizations.
"""

import os

from qgis.core import (QgsProcessingContext, QgsProcessingOutputMultipleLayers,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)

from ..engine.dtypes import DTYPES
from ..engine.masks import MODES, masks_for
from .base import TesseraAlgorithm
from .compat import POLYGONS, RASTER

SAME_TYPE = "same as input"


class NormalizationAlgorithm(TesseraAlgorithm):
    """Base of the Radiometry algorithms; subclasses set ``default_template``."""

    group_id = "radiometry"
    default_template = "{stem}_norm.tif"
    INPUTS, REFERENCE, OUTPUT_FOLDER, TEMPLATE, DATA_TYPE, OUTPUT_LAYERS = (
        "INPUTS", "REFERENCE", "OUTPUT_FOLDER", "TEMPLATE", "DATA_TYPE", "OUTPUT_LAYERS")
    MASK_LAYER, MASK_FIELD, MASK_RASTERS, MASK_MODE = (
        "MASK_LAYER", "MASK_FIELD", "MASK_RASTERS", "MASK_MODE")

    def add_inputs(self, description: str = "Input rasters") -> None:
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr(description), RASTER))

    def add_reference(self, description: str) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr(description)))

    def reference_path(self, parameters, context) -> str:
        return self.raster_paths(parameters, self.REFERENCE, context)[0]

    def add_mask_parameters(self) -> None:
        """Optional valid-pixel masks for statistics, under Advanced parameters."""
        self.add_advanced(QgsProcessingParameterFeatureSource(
            self.MASK_LAYER, self.tr("Statistics mask: polygon layer"),
            [POLYGONS], optional=True))
        self.add_advanced(QgsProcessingParameterField(
            self.MASK_FIELD, self.tr("Mask field whose value contains the image name (empty: "
                                     "every polygon applies to every image)"),
            parentLayerParameterName=self.MASK_LAYER, optional=True))
        self.add_advanced(QgsProcessingParameterMultipleLayers(
            self.MASK_RASTERS, self.tr("Statistics mask: one raster per image (file name "
                                       "contains the image name; nonzero = masked area)"),
            RASTER, optional=True))
        self.add_advanced(QgsProcessingParameterEnum(
            self.MASK_MODE, self.tr("Mask mode"),
            options=[self.tr("use only pixels inside the mask"),
                     self.tr("use only pixels outside the mask")], defaultValue=0))

    def add_outputs(self) -> None:
        self.add_advanced(QgsProcessingParameterString(
            self.TEMPLATE, self.tr("Output file name ({stem} = input file name)"),
            defaultValue=self.default_template))
        self.add_advanced(QgsProcessingParameterEnum(
            self.DATA_TYPE, self.tr("Output data type (integers are rounded and clamped)"),
            options=[SAME_TYPE] + list(DTYPES), defaultValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputMultipleLayers(
            self.OUTPUT_LAYERS, self.tr("Normalized rasters")))

    def masks(self, parameters, context, paths) -> list:
        """The engine masks chosen in the dialog (None when there are none)."""
        layer = self.parameterAsCompatibleSourceLayerPath(
            parameters, self.MASK_LAYER, context, ["gpkg", "shp"]) \
            if parameters.get(self.MASK_LAYER) else None
        fields = self.parameterAsFields(parameters, self.MASK_FIELD, context) \
            if parameters.get(self.MASK_FIELD) else []
        rasters = self.raster_paths(parameters, self.MASK_RASTERS, context) \
            if parameters.get(self.MASK_RASTERS) else []
        return masks_for(paths, vector=layer, field=fields[0] if fields else None,
                         rasters=rasters,
                         mode=MODES[self.parameterAsEnum(parameters, self.MASK_MODE, context)])

    def output_options(self, parameters, context) -> dict:
        """Output folder, name template and type as engine keyword arguments."""
        choice = self.parameterAsEnum(parameters, self.DATA_TYPE, context)
        return {"output_folder": self.parameterAsFileOutput(parameters, self.OUTPUT_FOLDER,
                                                            context),
                "template": self.parameterAsString(parameters, self.TEMPLATE, context),
                "dtype": None if choice == 0 else DTYPES[choice - 1]}

    def finish(self, context, outputs, **extra) -> dict:
        """Load every output as a layer named after its file; return the algorithm's outputs."""
        for path in outputs:
            name = os.path.splitext(os.path.basename(path))[0]
            context.addLayerToLoadOnCompletion(path, QgsProcessingContext.LayerDetails(
                name, context.project(), self.OUTPUT_LAYERS))
        folder = os.path.dirname(outputs[0]) if outputs else ""
        return dict({self.OUTPUT_FOLDER: folder, self.OUTPUT_LAYERS: list(outputs)}, **extra)
