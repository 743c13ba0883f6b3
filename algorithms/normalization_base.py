"""What every radiometric normalization algorithm shares: its inputs, masks and outputs.

Each algorithm writes one corrected raster per input (see
:mod:`multi_raster`); most take a reference raster, and all accept masks
that choose which pixels the statistics use.
"""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterRasterLayer)

from ..engine.masks import MODES, masks_for
from .compat import POLYGONS, RASTER
from .multi_raster import MultiRasterAlgorithm


class NormalizationAlgorithm(MultiRasterAlgorithm):
    """Base of the Radiometry algorithms; subclasses set ``default_template``."""

    group_id = "radiometry"
    default_template = "{stem}_norm.tif"
    outputs_description = "Normalized rasters"
    REFERENCE = "REFERENCE"
    MASK_LAYER, MASK_FIELD, MASK_RASTERS, MASK_MODE = (
        "MASK_LAYER", "MASK_FIELD", "MASK_RASTERS", "MASK_MODE")

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
