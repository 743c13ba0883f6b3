"""Build the example models in models/ with PyQGIS.

    /usr/bin/python3 scripts/make_model.py [folder]

* ``bandmath_focal_footprints.model3`` chains band math (an index from an
  input raster), focal statistics (a circular mean of that index) and raster
  footprints; inputs ``input``, ``expression``, ``radius``; outputs
  ``bandmath:index``, ``focal:smoothed``, ``footprints:footprints``.
* ``radiometric_normalization.model3`` chains global regression, local block
  adjustment and the normalization report; inputs ``inputs`` and ``blocks``;
  outputs ``global:global`` and ``local:local`` (folders) and
  ``report:report`` (HTML).
* ``seamless_mosaic.model3`` chains global regression, local block
  adjustment, align rasters, seamlines, mask rasters and a feathered mosaic;
  inputs ``inputs``, ``feather`` and ``cog``; outputs ``seamlines:seamlines``
  (GeoPackage) and ``mosaic:mosaic`` (GeoTIFF).

Outputs are named ``childId:outputName`` as qgis_process expects them, e.g.

    qgis_process.bin run models/bandmath_focal_footprints.model3 -- \\
        input=examples/data/worldview3_2016-09-30.tif \\
        bandmath:index=index.tif focal:smoothed=smoothed.tif \\
        footprints:footprints=footprints.gpkg

Running this script needs QGIS (Debian: /usr/bin/python3); the Tessera
provider is registered from this checkout, whatever the checkout is called.
The tests import :data:`MODELS` to check the committed files are current.
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "models")

GROUP = "Tessera examples"
DEFAULT_EXPRESSION = "(b7 - b5) / (b7 + b5)"


class ModelBuilder:
    """Adds parameters and child algorithms to a QgsProcessingModelAlgorithm with positions
    laid out top to bottom; children's destinations become model outputs."""

    def __init__(self, name, description, help_texts):
        from qgis.core import QgsProcessingModelAlgorithm

        self.model = QgsProcessingModelAlgorithm(name, GROUP, "tesseraexamples")
        self.model.setHelpContent(dict(help_texts, ALG_DESC=description))

    def parameter(self, definition, x):
        from qgis.core import QgsProcessingModelParameter
        from qgis.PyQt.QtCore import QPointF

        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(x, 60))
        self.model.addModelParameter(definition, component)

    @staticmethod
    def static(value):
        from qgis.core import QgsProcessingModelChildParameterSource

        return [QgsProcessingModelChildParameterSource.fromStaticValue(value)]

    @staticmethod
    def from_parameter(name):
        from qgis.core import QgsProcessingModelChildParameterSource

        return [QgsProcessingModelChildParameterSource.fromModelParameter(name)]

    @staticmethod
    def from_child(child_id, output="OUTPUT"):
        from qgis.core import QgsProcessingModelChildParameterSource

        return [QgsProcessingModelChildParameterSource.fromChildOutput(child_id, output)]

    def child(self, child_id, algorithm_id, description, sources, outputs, y):
        """Add a step; parameters missing from ``sources`` get their defaults; ``outputs``
        maps the child's destination parameter to (model output name, description)."""
        from qgis.core import (QgsApplication, QgsProcessingModelChildAlgorithm,
                               QgsProcessingModelOutput)
        from qgis.PyQt.QtCore import QPointF

        step = QgsProcessingModelChildAlgorithm(algorithm_id)
        step.setChildId(child_id)
        step.setDescription(description)
        step.setPosition(QPointF(340, y))
        for definition in QgsApplication.processingRegistry().algorithmById(
                algorithm_id).parameterDefinitions():
            name = definition.name()
            if name in sources:
                step.addParameterSources(name, sources[name])
            elif not definition.isDestination():
                step.addParameterSources(name, self.static(definition.defaultValue()))
        model_outputs = {}
        for offset, (child_output, (output, output_description)) in enumerate(outputs.items()):
            model_output = QgsProcessingModelOutput(output, output_description)
            model_output.setChildId(child_id)
            model_output.setChildOutputName(child_output)
            model_output.setPosition(QPointF(600, y + 40 + 30 * offset))
            model_outputs[output] = model_output
        step.setModelOutputs(model_outputs)
        assert self.model.addChildAlgorithm(step) == child_id
        return step

    def done(self):
        self.model.updateDestinationParameters()
        return self.model


def build_analysis_model():
    """Band math -> focal statistics -> footprints (needs the tessera provider registered)."""
    from qgis.core import (QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                           QgsProcessingParameterString)

    build = ModelBuilder("bandmath_focal_footprints",
                         "Band math index of a raster, smoothed with a circular focal mean, "
                         "and the footprint of the smoothed result. Example of Tessera in "
                         "the modeler.", {
                             "input": "Raster to compute the index from.",
                             "expression": "Band math expression(s), ';'-separated (one output "
                                           "band each). The default is NDVI for WorldView-3 "
                                           "(b5 red, b7 near infrared).",
                             "radius": "Radius of the circular focal mean, in pixels."})
    build.parameter(QgsProcessingParameterRasterLayer("input", "Input raster"), 120)
    build.parameter(QgsProcessingParameterString("expression", "Expression",
                                                 defaultValue=DEFAULT_EXPRESSION), 340)
    build.parameter(QgsProcessingParameterNumber("radius", "Focal radius (pixels)",
                                                 QgsProcessingParameterNumber.Double,
                                                 defaultValue=2.0, minValue=1.0), 560)
    static, from_parameter, from_child = build.static, build.from_parameter, build.from_child
    build.child("bandmath", "tessera:bandmath", "Index (band math)", {
        "INPUTS": from_parameter("input"),
        "EXPRESSION": from_parameter("expression"),
        "DATA_TYPE": static(0),  # float32
        "NODATA": static(None),
    }, {"OUTPUT": ("index", "Index")}, 200)
    build.child("focal", "tessera:focalstatistics", "Smooth (circular focal mean)", {
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
    }, {"OUTPUT": ("smoothed", "Smoothed index")}, 340)
    build.child("footprints", "tessera:footprints", "Footprint of the smoothed index", {
        "INPUTS": from_child("focal"),
        "COMBINE": static(0),  # any band valid
        "SIMPLIFY": static(0.0),
        "MIN_HOLE_AREA": static(0.0),
    }, {"OUTPUT": ("footprints", "Footprint")}, 480)
    return build.done()


def build_normalization_model():
    """Global regression -> local block adjustment -> report."""
    from qgis.core import (QgsProcessing, QgsProcessingParameterMultipleLayers,
                           QgsProcessingParameterNumber)

    build = ModelBuilder("radiometric_normalization",
                         "Relative radiometric normalization of overlapping rasters: global "
                         "regression (one gain and offset per image and band), then local "
                         "block adjustment (smooth block-wise corrections), then an HTML "
                         "report comparing the inputs with the final rasters.", {
                             "inputs": "Overlapping rasters with the same CRS and bands.",
                             "blocks": "Target number of local blocks per image."})
    build.parameter(QgsProcessingParameterMultipleLayers(
        "inputs", "Overlapping rasters", QgsProcessing.TypeRaster), 120)
    build.parameter(QgsProcessingParameterNumber(
        "blocks", "Local blocks per image", QgsProcessingParameterNumber.Integer,
        defaultValue=100, minValue=1), 340)
    static, from_parameter, from_child = build.static, build.from_parameter, build.from_child
    build.child("global", "tessera:globalregression", "Global regression", {
        "INPUTS": from_parameter("inputs"),
        "REFERENCE_MODE": static(0),  # all images anchor the model
        "FIT": static(0),  # least squares
        "DATA_TYPE": static(0),  # same as input
    }, {"OUTPUT_FOLDER": ("global", "Global regression folder")}, 200)
    build.child("local", "tessera:localblockadjustment", "Local block adjustment", {
        "INPUTS": from_child("global", "OUTPUT_LAYERS"),
        "BLOCK_METHOD": static(0),  # blocks per image
        "BLOCKS": from_parameter("blocks"),
        "DATA_TYPE": static(0),  # same as input
    }, {"OUTPUT_FOLDER": ("local", "Normalized rasters folder")}, 360)
    build.child("report", "tessera:normalizationreport", "Report", {
        "BEFORE": from_parameter("inputs"),
        "AFTER": from_child("local", "OUTPUT_LAYERS"),
    }, {"OUTPUT": ("report", "Normalization report")}, 520)
    return build.done()


def build_seamless_mosaic_model():
    """Global regression -> local block adjustment -> align -> seamlines -> mask ->
    feathered mosaic: the flagship workflow."""
    from qgis.core import (QgsProcessing, QgsProcessingModelChildParameterSource,
                           QgsProcessingParameterBoolean, QgsProcessingParameterMultipleLayers,
                           QgsProcessingParameterNumber)

    build = ModelBuilder("seamless_mosaic",
                         "A seamless mosaic from overlapping images: global regression and "
                         "local block adjustment even out their radiometry, alignment puts "
                         "them on one pixel grid, seamlines split their overlaps where the "
                         "images agree best, each image is cut to its seamline polygon grown by "
                         "half the feather distance, and the mosaic blends them across the "
                         "seamlines.", {
                             "inputs": "Overlapping rasters with the same CRS and bands "
                                       "(pixel grids may differ).",
                             "feather": "Width of the blend across each seamline, in map "
                                        "units.",
                             "cog": "Write the mosaic as a Cloud Optimized GeoTIFF."})
    build.parameter(QgsProcessingParameterMultipleLayers(
        "inputs", "Overlapping rasters", QgsProcessing.TypeRaster), 120)
    build.parameter(QgsProcessingParameterNumber(
        "feather", "Feather distance (map units)", QgsProcessingParameterNumber.Double,
        defaultValue=20.0, minValue=0.0), 340)
    build.parameter(QgsProcessingParameterBoolean(
        "cog", "Cloud Optimized GeoTIFF", defaultValue=False), 560)
    static, from_parameter, from_child = build.static, build.from_parameter, build.from_child
    same_name = static("{stem}.tif")  # each step writes to its own folder: names stay short
    build.child("global", "tessera:globalregression", "Global regression", {
        "INPUTS": from_parameter("inputs"),
        "TEMPLATE": same_name,
    }, {}, 200)
    build.child("local", "tessera:localblockadjustment", "Local block adjustment", {
        "INPUTS": from_child("global", "OUTPUT_LAYERS"),
        "TEMPLATE": same_name,
    }, {}, 320)
    build.child("align", "tessera:alignrasters", "Align to the finest grid", {
        "INPUTS": from_child("local", "OUTPUT_LAYERS"),
        "TEMPLATE": same_name,
    }, {}, 440)
    build.child("seamlines", "tessera:seamlines", "Seamlines where the images agree", {
        "INPUTS": from_child("align", "OUTPUT_LAYERS"),
        "COST": static(1),  # radiometric difference
    }, {"OUTPUT": ("seamlines", "Seamlines")}, 560)
    build.child("mask", "tessera:maskrasters", "Cut each image to its seamline polygon", {
        "INPUTS": from_child("align", "OUTPUT_LAYERS"),
        "MASK": from_child("seamlines"),
        "FIELD": static("image"),
        "BUFFER": [QgsProcessingModelChildParameterSource.fromExpression("@feather / 2")],
        "TEMPLATE": same_name,
    }, {}, 680)
    build.child("mosaic", "tessera:mosaic", "Feathered mosaic", {
        "INPUTS": from_child("mask", "OUTPUT_LAYERS"),
        "METHOD": static(6),  # feather
        "FEATHER_DISTANCE": from_parameter("feather"),
        "SEAMLINES": from_child("seamlines"),
        "SEAM_FIELD": static("image"),
        "COG": from_parameter("cog"),
    }, {"OUTPUT": ("mosaic", "Seamless mosaic")}, 800)
    return build.done()


#: Every shipped model: file name -> builder.
MODELS = {"bandmath_focal_footprints.model3": build_analysis_model,
          "radiometric_normalization.model3": build_normalization_model,
          "seamless_mosaic.model3": build_seamless_mosaic_model}


def main(argv):
    folder = argv[1] if len(argv) > 1 else MODELS_DIR
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

    for file_name, build in MODELS.items():
        model = build()
        ok, issues = model.validate()
        if not ok:
            print(f"{file_name} is not valid:\n" + "\n".join(issues), file=sys.stderr)
            return 1
        target = os.path.join(folder, file_name)
        if not model.toFile(target):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(f"wrote {target}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
