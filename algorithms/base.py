"""Shared plumbing of every Tessera algorithm.

One base class holds what each algorithm would otherwise repeat: group and
icon, the dependency check, the bridge from engine progress and cancel to
``QgsProcessingFeedback``, the translation of engine errors into
``QgsProcessingException`` (in one place), input path checks, and styling of
outputs that QGIS loads on completion.
"""

import os

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingUtils)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..engine.errors import EngineError
from ..provider import dependencies, settings
from .compat import ADVANCED, RASTER

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")
GROUPS = {"analysis": "Analysis", "landscape": "Landscape", "mosaic": "Mosaic",
          "radiometry": "Radiometry"}
HELP_URL = "https://github.com/tessera-gis/tessera#algorithms"


class TesseraAlgorithm(QgsProcessingAlgorithm):
    """Base of all Tessera algorithms: subclasses define parameters and :meth:`run_engine`."""

    group_id = "analysis"

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def group(self):
        return self.tr(GROUPS[self.group_id])

    def groupId(self):  # noqa: N802 (QGIS API)
        return self.group_id

    def icon(self):
        return QIcon(os.path.join(ICONS, f"{self.group_id}.svg"))

    def svgIconPath(self):  # noqa: N802 (QGIS API)
        return os.path.join(ICONS, f"{self.group_id}.svg")

    def helpUrl(self):  # noqa: N802 (QGIS API)
        return HELP_URL

    def canExecute(self):  # noqa: N802 (QGIS API)
        problem = dependencies.message()
        return (not problem, problem)

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS API)
        """Name a raster or vector input that cannot be found (QGIS alone only names the
        parameter)."""
        for definition in self.parameterDefinitions():
            if definition.type() not in ("raster", "multilayer"):
                continue
            kind = "raster" if definition.type() == "raster" or \
                definition.layerType() == RASTER else "vector"
            value = parameters.get(definition.name())
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if (isinstance(item, str) and item
                        and QgsProcessingUtils.mapLayerFromString(item, context) is None):
                    return False, (f"{definition.description()}: '{item}' is neither a "
                                   f"readable {kind} file nor a layer of the project: "
                                   f"check the path")
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        try:
            return self.run_engine(parameters, context, feedback)
        except EngineError as exc:
            raise QgsProcessingException(str(exc)) from exc

    def run_engine(self, parameters, context, feedback) -> dict:
        """Convert parameters, make one engine call, return the outputs.

        (Not ``run``: that name is QGIS's own entry point, which ``processing.run``
        and the batch dialog call.)
        """
        raise QgsProcessingException(f"{self.name()} defines no run_engine()")

    def add_advanced(self, parameter) -> None:
        """Add ``parameter`` under the dialog's collapsed "Advanced parameters"."""
        parameter.setFlags(parameter.flags() | ADVANCED)
        self.addParameter(parameter)

    def optional_number(self, parameters, name, context):
        """Optional number parameter ``name`` as a float, None when it is not set."""
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)

    def optional_range(self, parameters, name, context):
        """Optional range parameter ``name`` as (low, high), None when it is not set."""
        if parameters.get(name) in (None, ""):
            return None
        return tuple(self.parameterAsRange(parameters, name, context))

    def engine_options(self, feedback) -> dict:
        """Execution settings and the progress/cancel bridge for an engine call."""
        execution = settings.execution()
        where = {"serial": "", "processes": f", {execution.worker_count} workers",
                 "dask": f", scheduler {execution.scheduler}"}.get(execution.executor, "")
        feedback.pushInfo(f"Executor: {execution.executor}, "
                          f"window {execution.window_size} px{where}")
        return {"execution": execution, "progress": feedback.setProgress,
                "cancelled": feedback.isCanceled}

    def raster_paths(self, parameters, name, context) -> list:
        """File paths of the raster layers in parameter ``name``; non-file layers are refused."""
        layers = self.parameterAsLayerList(parameters, name, context)
        if not layers:
            layer = self.parameterAsRasterLayer(parameters, name, context)
            layers = [layer] if layer is not None else []
        paths = []
        for layer in layers:
            path = layer.source().split("|")[0]
            if layer.providerType() != "gdal" or not os.path.isfile(path):
                raise QgsProcessingException(
                    f"layer '{layer.name()}' is not a raster file ({layer.providerType()}: "
                    f"{layer.source()}): save it as a GeoTIFF first")
            paths.append(path)
        return paths

    def extent_bounds(self, parameters, name, context, inputs: str = "INPUTS"):
        """Extent parameter ``name`` as (left, bottom, right, top) in the CRS of the first
        layer of parameter ``inputs``; None when it is not set."""
        if not parameters.get(name):
            return None
        crs = self.parameterAsLayerList(parameters, inputs, context)[0].crs()
        box = self.parameterAsExtent(parameters, name, context, crs)
        return (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum())

    def style_on_load(self, context, output, styler) -> None:
        """Apply ``styler(layer)`` to ``output`` when QGIS loads it after the run."""
        if context.willLoadLayerOnCompletion(output):
            post = _Styler(styler)
            _PENDING.add(post)
            context.layerToLoadOnCompletionDetails(output).setPostProcessor(post)


#: Post-processors QGIS has not called yet: QGIS does not own them, so they
#: must stay referenced until they have styled their layer.
_PENDING = set()


class _Styler(QgsProcessingLayerPostProcessorInterface):
    """Runs a styling function on a layer loaded at the end of an algorithm."""

    def __init__(self, styler):
        super().__init__()
        self._styler = styler

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        self._styler(layer)
        layer.triggerRepaint()
        _PENDING.discard(self)
