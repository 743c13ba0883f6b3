"""QGIS enums that moved: 3.36 put them under ``Qgis.*`` (and QGIS 4 drops the old homes).

Each name resolves to the new home when it exists, else to the 3.22 one.
"""

from qgis.core import (Qgis, QgsProcessing, QgsProcessingParameterDefinition,
                       QgsProcessingParameterNumber, QgsRasterBandStats)


def _enum(new_scope: str, new_name: str, old_owner, old_name: str):
    scope = getattr(Qgis, new_scope, None)
    if scope is not None and hasattr(scope, new_name):
        return getattr(scope, new_name)
    return getattr(old_owner, old_name)


RASTER = _enum("ProcessingSourceType", "Raster", QgsProcessing, "TypeRaster")
POLYGONS = _enum("ProcessingSourceType", "VectorPolygon", QgsProcessing, "TypeVectorPolygon")
VECTORS = _enum("ProcessingSourceType", "VectorAnyGeometry", QgsProcessing,
                "TypeVectorAnyGeometry")
INTEGER = _enum("ProcessingNumberParameterType", "Integer", QgsProcessingParameterNumber,
                "Integer")
DOUBLE = _enum("ProcessingNumberParameterType", "Double", QgsProcessingParameterNumber, "Double")
ADVANCED = _enum("ProcessingParameterFlag", "Advanced", QgsProcessingParameterDefinition,
                 "FlagAdvanced")
STAT_MIN = _enum("RasterBandStatistic", "Min", QgsRasterBandStats, "Min")
STAT_MAX = _enum("RasterBandStatistic", "Max", QgsRasterBandStats, "Max")
