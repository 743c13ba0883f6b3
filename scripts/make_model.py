"""Build the example model models/bandmath_focal_footprints.model3 with PyQGIS.

    /usr/bin/python3 scripts/make_model.py [output.model3]

The model chains Tessera's band math (an index from an input raster), focal
statistics (a circular mean of every band of that index) and raster footprints
(the valid-data outline of the smoothed result). Its inputs are the raster, the
expression and the radius; its outputs are named ``childId:outputName`` as
qgis_process expects them: ``bandmath:index``, ``focal:smoothed`` and
``footprints:footprints``. Run it with

    qgis_process.bin run models/bandmath_focal_footprints.model3 -- \\
        input=examples/data/worldview3_2016-09-30.tif \\
        bandmath:index=index.tif focal:smoothed=smoothed.tif \\
        footprints:footprints=footprints.gpkg

Running this script needs QGIS (Debian: /usr/bin/python3); the Tessera
provider is registered from this checkout, whatever the checkout is called.
The tests import :func:`build_model` to check the committed file is current.
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "bandmath_focal_footprints.model3")

NAME, GROUP = "bandmath_focal_footprints", "Tessera examples"
DEFAULT_EXPRESSION = "(b7 - b5) / (b7 + b5)"


def build_model():
    """The model as a QgsProcessingModelAlgorithm (needs the tessera provider registered)."""
    from qgis.core import (QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                           QgsProcessingModelChildParameterSource, QgsProcessingModelOutput,
                           QgsProcessingModelParameter, QgsProcessingParameterNumber,
                           QgsProcessingParameterRasterLayer, QgsProcessingParameterString)
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm(NAME, GROUP, "tesseraexamples")
    model.setHelpContent({
        "ALG_DESC": "Band math index of a raster, smoothed with a circular focal mean, and "
                    "the footprint of the smoothed result. Example of Tessera in the modeler.",
        "input": "Raster to compute the index from.",
        "expression": "Band math expression(s), ';'-separated (one output band each). The "
                      "default is NDVI for WorldView-3 (b5 red, b7 near infrared).",
        "radius": "Radius of the circular focal mean, in pixels.",
    })

    def parameter(definition, x):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(x, 60))
        model.addModelParameter(definition, component)

    parameter(QgsProcessingParameterRasterLayer("input", "Input raster"), 120)
    parameter(QgsProcessingParameterString("expression", "Expression",
                                           defaultValue=DEFAULT_EXPRESSION), 340)
    parameter(QgsProcessingParameterNumber("radius", "Focal radius (pixels)",
                                           QgsProcessingParameterNumber.Double,
                                           defaultValue=2.0, minValue=1.0), 560)

    def static(value):
        return [QgsProcessingModelChildParameterSource.fromStaticValue(value)]

    def from_parameter(name):
        return [QgsProcessingModelChildParameterSource.fromModelParameter(name)]

    def from_child(child_id, output="OUTPUT"):
        return [QgsProcessingModelChildParameterSource.fromChildOutput(child_id, output)]

    def child(child_id, algorithm_id, description, sources, output, output_description, y):
        step = QgsProcessingModelChildAlgorithm(algorithm_id)
        step.setChildId(child_id)
        step.setDescription(description)
        step.setPosition(QPointF(340, y))
        for name, source in sources.items():
            step.addParameterSources(name, source)
        model_output = QgsProcessingModelOutput(output, output_description)
        model_output.setChildId(child_id)
        model_output.setChildOutputName("OUTPUT")
        model_output.setPosition(QPointF(600, y + 40))
        step.setModelOutputs({output: model_output})
        assert model.addChildAlgorithm(step) == child_id
        return step

    child("bandmath", "tessera:bandmath", "Index (band math)", {
        "INPUTS": from_parameter("input"),
        "EXPRESSION": from_parameter("expression"),
        "DATA_TYPE": static(0),  # float32
        "NODATA": static(None),
    }, "index", "Index", 200)
    child("focal", "tessera:focalstatistics", "Smooth (circular focal mean)", {
        "INPUT": from_child("bandmath"),
        "BANDS": static(None),  # all bands
        "STATISTIC": static(0),  # mean
        "SHAPE": static(1),  # circle
        "RADIUS": from_parameter("radius"),
        "INNER_RADIUS": static(0.0),
        "START_ANGLE": static(0.0),
        "END_ANGLE": static(90.0),
        "UNITS": static(0),  # pixels
        "TARGET": static(0),  # valid cells only
        "DATA_TYPE": static(0),  # auto
        "NODATA": static(None),
    }, "smoothed", "Smoothed index", 340)
    child("footprints", "tessera:footprints", "Footprint of the smoothed index", {
        "INPUTS": from_child("focal"),
        "COMBINE": static(0),  # any band valid
        "SIMPLIFY": static(0.0),
        "MIN_HOLE_AREA": static(0.0),
    }, "footprints", "Footprint", 480)
    model.updateDestinationParameters()
    return model


def main(argv):
    target = argv[1] if len(argv) > 1 else MODEL
    os.environ.setdefault("QT_HASH_SEED", "0")  # stable XML attribute order: small diffs
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", tempfile.mkdtemp(prefix="tessera-model-"))
    plugins = tempfile.mkdtemp(prefix="tessera-plugins-")
    os.symlink(ROOT, os.path.join(plugins, "tessera"))
    sys.path.insert(0, plugins)
    sys.path.append("/usr/share/qgis/python/plugins")

    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from tessera.provider.provider import TesseraProvider

    provider = TesseraProvider()
    QgsApplication.processingRegistry().addProvider(provider)

    model = build_model()
    ok, issues = model.validate()
    if not ok:
        print("the model is not valid:\n" + "\n".join(issues), file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    if not model.toFile(target):
        print(f"could not write {target}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
