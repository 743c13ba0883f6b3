"""What every algorithm that writes one raster per input raster shares.

It takes a list of rasters and writes one output per input into an output
folder, named from a template, with the input's type by default; every
output is loaded as a layer, and the list of outputs is an output of its own
so models can chain steps (radiometry, alignment, masking).
"""

import os

from qgis.core import (QgsProcessingContext, QgsProcessingOutputMultipleLayers,
                       QgsProcessingParameterEnum, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterString)

from ..engine.dtypes import DTYPES
from .base import TesseraAlgorithm
from .compat import RASTER

SAME_TYPE = "same as input"


class MultiRasterAlgorithm(TesseraAlgorithm):
    """Base of algorithms with one output raster per input; subclasses set
    ``default_template`` and ``outputs_description``."""

    default_template = "{stem}_out.tif"
    outputs_description = "Output rasters"
    INPUTS, OUTPUT_FOLDER, TEMPLATE, DATA_TYPE, OUTPUT_LAYERS = (
        "INPUTS", "OUTPUT_FOLDER", "TEMPLATE", "DATA_TYPE", "OUTPUT_LAYERS")

    def add_inputs(self, description: str = "Input rasters") -> None:
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr(description), RASTER))

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
            self.OUTPUT_LAYERS, self.tr(self.outputs_description)))

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
