"""QGIS fixtures: an in-process QgsApplication with the Tessera provider, and an
isolated ``qgis_process`` environment with a helper to run algorithms and models.

Nothing here imports QGIS at module level. Each test module in this folder
starts with ``pytest.importorskip("qgis.core")`` so the folder is skipped
cleanly on a plain Python (the engine tests run in a PyPI venv too). The skip
lives in the modules and not here on purpose: with pytest 7.2 (Debian 12) a
``pytest.importorskip`` at conftest level skips the *whole session*, engine
tests included, instead of just this folder.

Recipes follow /work/shared/QGIS.md: ``QT_QPA_PLATFORM=offscreen``, a
temporary ``QGIS_CUSTOM_CONFIG_PATH`` and ``XDG_*`` folders so no real profile
is read or written, ``/usr/bin/qgis_process.bin`` called directly (the
``qgis_process`` wrapper adds ``--noversioncheck``, which 3.22 rejects), and
``QGIS_PLUGINPATH`` pointing at the folder holding the ``tessera`` symlink
made by ``tests/conftest.py``.
"""

import os
import signal
import subprocess
import sys
import tempfile
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import pytest

from tests.conftest import PLUGINS, ROOT

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROCESSING_PLUGINS = "/usr/share/qgis/python/plugins"
TESSERA_VARIABLES = ("TESSERA_EXECUTOR", "TESSERA_WORKERS", "TESSERA_WINDOW", "TESSERA_PYTHON")

# The in-process QGIS must never see the developer's profile: set before any QgsApplication.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QGIS_CUSTOM_CONFIG_PATH", tempfile.mkdtemp(prefix="tessera-qgis-profile-"))
if PROCESSING_PLUGINS not in sys.path:
    sys.path.append(PROCESSING_PLUGINS)

Params = Union[Mapping[str, object], Sequence[Tuple[str, object]]]


# --------------------------------------------------------------------------- in-process QGIS

@pytest.fixture(scope="session")
def qgis_app():
    """A headless QgsApplication with Processing initialised and the Tessera provider.

    Yields the registered provider (the reference is held for the whole session:
    a garbage-collected provider makes its algorithms "not available").
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
    # no app.exitQgis(): tearing QGIS down at interpreter exit is known to crash PyQGIS


@pytest.fixture(autouse=True)
def tessera_environment(monkeypatch):
    """Every test starts with no TESSERA_* variable but the serial executor (fast, in-process).

    Tests that want worker processes or other options set the variables themselves.
    """
    for name in TESSERA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TESSERA_EXECUTOR", "serial")


@pytest.fixture
def processing_run(qgis_app):
    """``processing.run`` with a fresh context and feedback; returns (results, context)."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(algorithm: str, parameters: dict, context=None):
        context = context or QgsProcessingContext()
        feedback = QgsProcessingFeedback()
        results = processing.run(algorithm, parameters, context=context, feedback=feedback)
        return results, context

    return run


# --------------------------------------------------------------------------- qgis_process

class QgisProcess:
    """Runs ``qgis_process.bin run`` in an isolated profile with the plugin enabled."""

    def __init__(self, env: Dict[str, str]):
        self.env = env

    @staticmethod
    def arguments(alg_or_model: str, params: Params, json: bool = False) -> list:
        pairs: Iterable[Tuple[str, object]] = (
            params.items() if isinstance(params, Mapping) else params)
        args = [QGIS_PROCESS, "run", alg_or_model]
        if json:
            args.append("--json")
        args.append("--")
        for name, value in pairs:
            values = value if isinstance(value, (list, tuple)) else [value]
            args.extend(f"{name}={item}" for item in values)  # a repeated name is a list
        return args

    def environment(self, env_extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        env = dict(self.env)
        env.update(env_extra or {})
        return env

    def __call__(self, alg_or_model: str, params: Params, env_extra=None, timeout: float = 120,
                 json: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(self.arguments(alg_or_model, params, json),
                              env=self.environment(env_extra), cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def popen(self, alg_or_model: str, params: Params, env_extra=None,
              json: bool = False) -> subprocess.Popen:
        """Start a run without waiting (parallel runs, cancel tests)."""
        return subprocess.Popen(self.arguments(alg_or_model, params, json),
                                env=self.environment(env_extra), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def qgis_process_env(tmp_path_factory) -> Dict[str, str]:
    """Environment for an isolated qgis_process with the tessera plugin enabled (once)."""
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
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=PLUGINS, HOME=str(base))
    enabled = subprocess.run([QGIS_PROCESS, "plugins", "enable", "tessera"], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert "* tessera" in enabled.stdout, enabled.stdout
    return env


@pytest.fixture(scope="session")
def qgis_process(qgis_process_env) -> QgisProcess:
    """``qgis_process(alg_or_model, params, env_extra=None, timeout=...) -> CompletedProcess``.

    ``params`` is a dict or a list of (name, value) pairs; a list value repeats
    the name (multiple layers). Output is text (no ``--json``) unless asked.
    """
    return QgisProcess(qgis_process_env)


def output_of(proc) -> str:
    """stdout and stderr of a finished run, for assertions and failure messages."""
    return f"exit code {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def interrupt(proc: subprocess.Popen) -> None:
    """Send SIGINT (Ctrl+C) to a running qgis_process."""
    proc.send_signal(signal.SIGINT)
