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
if PROCESSING_PLUGINS not in sys.path:
    sys.path.append(PROCESSING_PLUGINS)

_ROOT_NAMES = ("ROOT", "DATA", "WORLDVIEW", "LANDSAT", "PLUGINS", "write_raster", "read_raster",
               "crop")


def pytest_configure(config):
    """Hand ``tests/conftest.py`` (already loaded by pytest) to ``qgis_support``.

    pytest imports every conftest under the module name ``conftest``, so this
    module shadows the shared one in ``sys.modules``; re-exporting the shared
    names keeps ``from conftest import write_raster`` working in other folders.
    (A late conftest's ``pytest_configure`` runs as soon as it is registered.)
    """
    target = os.path.join(qgis_support.ROOT, "tests", "conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and os.path.exists(path) and os.path.samefile(path, target):
            qgis_support.root_conftest = plugin
            globals().update({name: getattr(plugin, name) for name in _ROOT_NAMES})
            return
    raise RuntimeError(f"{target} was not loaded by pytest")


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


@pytest.fixture
def processing_run(qgis_app):
    """``run(alg_id, parameters, context=None) -> (results, context)`` via processing.run."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(algorithm: str, parameters: dict, context=None):
        context = context or QgsProcessingContext()
        results = processing.run(algorithm, parameters, context=context,
                                 feedback=QgsProcessingFeedback())
        return results, context

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
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=qgis_support.plugins_folder(),
               HOME=str(base))
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
