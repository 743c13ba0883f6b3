"""Layer styles applied to outputs when QGIS loads them."""

from qgis.core import (QgsColorRampShader, QgsRasterShader, QgsSimpleFillSymbolLayer,
                       QgsSingleBandPseudoColorRenderer, QgsStyle)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor

from .compat import STAT_MAX, STAT_MIN


def pseudocolor(ramp_name: str = "Viridis"):
    """A styler: single-band rasters get a colour ramp stretched to min..max."""

    def apply(layer) -> None:
        if layer.bandCount() != 1:
            return
        stats = layer.dataProvider().bandStatistics(1, STAT_MIN | STAT_MAX)
        ramp = QgsStyle.defaultStyle().colorRamp(ramp_name)
        shader_function = QgsColorRampShader(stats.minimumValue, stats.maximumValue, ramp)
        shader_function.classifyColorRamp(5, -1)
        shader = QgsRasterShader()
        shader.setRasterShaderFunction(shader_function)
        layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))

    return apply


def outlines(color: str = "#e31a1c", width: float = 0.6):
    """A styler: polygons drawn as outlines only, so the rasters below stay visible."""

    def apply(layer) -> None:
        symbol = layer.renderer().symbol()
        fill = QgsSimpleFillSymbolLayer()
        fill.setBrushStyle(Qt.BrushStyle.NoBrush)
        fill.setStrokeColor(QColor(color))
        fill.setStrokeWidth(width)
        symbol.changeSymbolLayer(0, fill)

    return apply
