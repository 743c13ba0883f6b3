"""The engine stays pure Python: no module under engine/ imports QGIS or the plugin's QGIS side."""

import ast
import os

from support import ROOT

FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "processing", "sip")
PLUGIN_SIDE = ("algorithms", "provider", "plugin")


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level


def _engine_files():
    for folder, _, files in os.walk(os.path.join(ROOT, "engine")):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_engine_has_modules():
    assert len(list(_engine_files())) >= 10


def test_no_engine_module_imports_qgis_or_the_plugin_side():
    offenders = []
    for path in _engine_files():
        for module, level in _imports(path):
            top = module.split(".")[0]
            if level == 0 and top in FORBIDDEN:
                offenders.append((path, module))
            if level >= 2 and top in PLUGIN_SIDE:
                offenders.append((path, module))
    assert offenders == []


def test_the_checker_catches_a_qgis_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from qgis.core import QgsRasterLayer\nfrom ..provider import settings\n")
    found = list(_imports(str(bad)))
    assert ("qgis.core", 0) in found and ("provider", 2) in found
