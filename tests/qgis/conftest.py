"""QGIS fixtures: an in-process QgsApplication with the Tessera provider, and an
isolated ``qgis_process`` environment with a helper to run algorithms and models.

Nothing here imports QGIS at module level. Each test module in this folder
starts with ``pytest.importorskip("qgis.core")``, so on a plain Python (the
engine tests also run in a PyPI venv) the folder's modules are reported as
skipped. The skip is in the modules and not here on purpose: with pytest 7.2
(Debian 12's) a ``pytest.importorskip`` at conftest level skips the *whole
session*, engine tests included (checked).

Recipes follow /work/shared/QGIS.md: ``QT_QPA_PLATFORM=offscreen``, temporary
``QGIS_CUSTOM_CONFIG_PATH`` and ``XDG_*`` folders so no real profile is read or
written, ``/usr/bin/qgis_process.bin`` called directly (the ``qgis_process``
wrapper adds ``--noversioncheck``, which 3.22 rejects), and ``QGIS_PLUGINPATH``
pointing at the folder with the ``tessera`` symlink made by ``tests/conftest.py``.
"""

import os
import subprocess
import sys
import tempfile

import pytest

import qgis_support
from qgis_support import QGIS_PROCESS, TESSERA_VARIABLES, QgisProcess

PROCESSING_PLUGINS = "/usr/share/qgis/python/plugins"

# The in-process QGIS must never see a real profile: set before any QgsApplication exists.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QGIS_CUSTOM_CONFIG_PATH"] = tempfile.mkdtemp(prefix="tessera-qgis-profile-")
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="tessera-runtime-"))  # 0700
if PROCESSING_PLUGINS not in sys.path:
    sys.path.append(PROCESSING_PLUGINS)

# --------------------------------------------------------------------------- in-process QGIS

@pytest.fixture(scope="session")
def qgis_app():
    """A headless QgsApplication with Processing initialised and the Tessera provider.

    Yields the registered provider; the reference is held for the whole session
    (a garbage-collected provider makes its algorithms "not available").
    """
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from tessera.provider.provider import TesseraProvider

    provider = TesseraProvider()
    assert QgsApplication.processingRegistry().addProvider(provider)
    yield provider
    QgsApplication.processingRegistry().removeProvider(provider)
    del app  # no exitQgis(): tearing QGIS down before interpreter exit tends to crash PyQGIS


@pytest.fixture(autouse=True)
def tessera_environment(monkeypatch):
    """Each test starts without TESSERA_* variables except the (fast) serial executor.

    Tests that want worker processes or other options set the variables themselves.
    """
    for name in TESSERA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TESSERA_EXECUTOR", "serial")
    monkeypatch.setenv("GDAL_PAM_ENABLED", "NO")  # see qgis_process_env


@pytest.fixture
def run_algorithm(qgis_app):
    """``run(alg_id, parameters, context=None) -> (results, context, feedback)``
    through ``processing.run``, which raises ``QgsProcessingException`` on failure."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(algorithm_id: str, parameters: dict, context=None):
        context = context or QgsProcessingContext()
        feedback = QgsProcessingFeedback()
        context.setFeedback(feedback)
        results = processing.run(algorithm_id, parameters, context=context, feedback=feedback)
        return results, context, feedback

    return run


# --------------------------------------------------------------------------- qgis_process

@pytest.fixture(scope="session")
def qgis_process_env(tmp_path_factory):
    """Environment of an isolated qgis_process with the tessera plugin enabled (once)."""
    if not os.access(QGIS_PROCESS, os.X_OK):
        pytest.skip(f"{QGIS_PROCESS} is not installed")
    base = tmp_path_factory.mktemp("qgis_process")
    env = {name: value for name, value in os.environ.items()
           if name not in TESSERA_VARIABLES and not name.startswith("QGIS_")}
    folders = {"XDG_RUNTIME_DIR": "runtime", "XDG_CONFIG_HOME": "config",
               "XDG_DATA_HOME": "data", "XDG_CACHE_HOME": "cache",
               "QGIS_CUSTOM_CONFIG_PATH": "profile"}
    for name, folder in folders.items():
        path = base / folder
        path.mkdir(mode=0o700)
        env[name] = str(path)
    # GDAL_PAM_ENABLED=NO: QGIS loads every input layer with its default style, and the
    # histogram that computes is saved by GDAL as <input>.aux.xml beside the input, here
    # the repository's examples/data (checked: examples/data/*.tif.aux.xml appeared)
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=qgis_support.plugins_folder(),
               HOME=str(base), GDAL_PAM_ENABLED="NO")
    enabled = subprocess.run([QGIS_PROCESS, "plugins", "enable", "tessera"], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert "* tessera" in enabled.stdout, enabled.stdout
    return env


@pytest.fixture(scope="session")
def qgis_process(qgis_process_env) -> QgisProcess:
    """``qgis_process(alg_or_model, params, env_extra=None, timeout=...) -> CompletedProcess``.

    ``params`` is a dict or a list of (name, value) pairs; a list value repeats
    the name (multiple layers). Plain text output (no ``--json``) unless asked;
    ``.popen(...)`` starts a run without waiting, ``.run_all([...])`` runs several
    at once.
    """
    return QgisProcess(qgis_process_env)
