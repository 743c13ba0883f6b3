"""Merge vector layers: union, intersection, or union keeping each feature's layer name."""

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterString, QgsProcessingParameterVectorDestination,
                       QgsProcessingUtils, QgsProviderRegistry)

from ..engine.vectors import DEFAULT_NAME_FIELD, METHODS, merge_vectors
from .base import TesseraAlgorithm
from .compat import VECTORS

METHOD_LABELS = {"union": "union (all features, no dissolve)",
                 "intersection": "intersection (areas common to every layer)",
                 "keep": "union keeping each feature's layer name"}
#: Formats the engine reads without conversion; other layers are exported first.
READABLE = ["gpkg", "shp"]


class MergeVectors(TesseraAlgorithm):
    INPUTS, METHOD, NAME_FIELD, SEPARATOR, OUTPUT = (
        "INPUTS", "METHOD", "NAME_FIELD", "SEPARATOR", "OUTPUT")
    group_id = "mosaic"

    def name(self):
        return "mergevectors"

    def displayName(self):  # noqa: N802 (QGIS API)
        return self.tr("Merge vector layers")

    def tags(self):
        return self.tr("merge,union,intersection,overlay,combine,append,concatenate,vector,"
                       "footprint,seamline").split(",")

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return self.tr(
            "Merges vector layers of one geometry type into one GeoPackage layer.\n\n"
            "Union: every feature of every layer, nothing dissolved; fields of the same name "
            "share one column. Intersection: only the areas covered by every layer, each "
            "piece carrying the fields of the features it came from; a field that several "
            "layers have is kept once per layer, renamed <field>_<layer name>. Union keeping "
            "layer names: the union plus a field (default 'source') holding each feature's "
            "layer name.\n\nWith a layer-name field, union and intersection also record "
            "the layer names each feature came from (joined by the separator). Layer names "
            "are file names without extension (other layers are exported under their layer "
            "name). Layers in another CRS than the first are reprojected to it.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, self.tr("Vector layers"), VECTORS))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Method"),
            options=[self.tr(METHOD_LABELS[method]) for method in METHODS], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.NAME_FIELD, self.tr(f"Field for the layer names (empty: none, or "
                                     f"'{DEFAULT_NAME_FIELD}' when keeping names)"),
            optional=True))
        self.add_advanced(QgsProcessingParameterString(
            self.SEPARATOR, self.tr("Separator between joined layer names"), defaultValue="_"))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT, self.tr("Merged")))

    def run_engine(self, parameters, context, feedback):
        paths = [self._readable_path(layer, context, feedback)
                 for layer in self.parameterAsLayerList(parameters, self.INPUTS, context)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        merge_vectors(
            paths, output,
            method=METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
            name_field=self.parameterAsString(parameters, self.NAME_FIELD, context) or None,
            separator=self.parameterAsString(parameters, self.SEPARATOR, context),
            progress=feedback.setProgress, cancelled=feedback.isCanceled)
        return {self.OUTPUT: output}

    @staticmethod
    def _readable_path(layer, context, feedback) -> str:
        """The layer's own file when the engine can read it as it is, else an export to a
        temporary GeoPackage named after the layer (so layer names stay meaningful)."""
        parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
        return QgsProcessingUtils.convertToCompatibleFormat(
            layer, False, parts.get("layerName") or layer.name(), READABLE, "gpkg", context,
            feedback)
