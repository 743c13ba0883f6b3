"""Helpers of the QGIS tests: sample data, raster helpers, qgis_process runner, process scans.

Imported by ``tests/qgis/conftest.py`` and the test modules as ``qgis_support``
(a unique name: every ``conftest`` module is imported under the same name, so
``from conftest import ...`` gives whichever conftest pytest loaded last).
Nothing here imports QGIS.

The raster helpers delegate to the shared ``tests/conftest.py``; the conftest
of this folder hands that module over in ``pytest_configure`` (see there).
"""

import os
import signal
import subprocess
import time
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "data")
WORLDVIEW = os.path.join(DATA, "worldview3_2016-09-30.tif")
LANDSAT = os.path.join(DATA, "landsat_2022-03-13.tif")
MODEL = os.path.join(ROOT, "models", "bandmath_focal_footprints.model3")

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
TESSERA_VARIABLES = ("TESSERA_EXECUTOR", "TESSERA_WORKERS", "TESSERA_WINDOW", "TESSERA_PYTHON")

#: the module ``tests/conftest.py`` (set by this folder's conftest)
root_conftest = None

Params = Union[Mapping[str, object], Sequence[Tuple[str, object]]]


def write_raster(path, array, **options):
    """``tests/conftest.py``'s write_raster: (bands, rows, cols) array to a GeoTIFF."""
    return root_conftest.write_raster(path, array, **options)


def read_raster(path):
    """``tests/conftest.py``'s read_raster: (array, profile)."""
    return root_conftest.read_raster(path)


def crop(source, path, window):
    """``tests/conftest.py``'s crop: copy (row, col, height, width) of ``source``."""
    return root_conftest.crop(source, path, window)


def plugins_folder() -> str:
    """The folder holding the ``tessera`` symlink to the checkout (QGIS_PLUGINPATH)."""
    return root_conftest.PLUGINS


def listing(folder) -> List[str]:
    """Every entry of ``folder``, hidden ones included (partial outputs start with '.')."""
    return sorted(os.listdir(folder))


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
        env.update({name: str(value) for name, value in (env_extra or {}).items()})
        return env

    def __call__(self, alg_or_model: str, params: Params, env_extra=None, timeout: float = 120,
                 json: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(self.arguments(alg_or_model, params, json),
                              env=self.environment(env_extra), cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def popen(self, alg_or_model: str, params: Params, env_extra=None,
              json: bool = False) -> subprocess.Popen:
        """Start a run without waiting (parallel runs, the cancel test)."""
        return subprocess.Popen(self.arguments(alg_or_model, params, json),
                                env=self.environment(env_extra), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run_all(self, runs: Sequence[Tuple[str, Params, Optional[dict]]],
                timeout: float = 180) -> List[subprocess.CompletedProcess]:
        """Start every (alg, params, env_extra) at once; wait for all (saves ~2 s per run)."""
        started = [(self.arguments(alg, params), self.popen(alg, params, env))
                   for alg, params, env in runs]
        deadline = time.monotonic() + timeout
        finished = []
        for args, proc in started:
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            finished.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
        return finished


def output_of(proc) -> str:
    """Exit code, stdout and stderr of a finished run, for assertion messages."""
    return f"exit code {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def interrupt(proc: subprocess.Popen) -> None:
    """Ctrl+C for a running qgis_process."""
    proc.send_signal(signal.SIGINT)


# --------------------------------------------------------------------------- /proc scans

def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def process_state(pid: int) -> Optional[str]:
    """'R', 'S', 'Z' ... from /proc/<pid>/stat, None when the process is gone."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie has exited)."""
    return process_state(pid) not in (None, "Z")


def children(pid: int) -> Dict[int, str]:
    """Direct children of ``pid``: {child pid: command line}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if not stat:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found[int(entry)] = _read(f"/proc/{entry}/cmdline").replace("\0", " ").strip()
    return found


def multiprocessing_children(pid: int) -> Dict[int, str]:
    """Children of ``pid`` started by multiprocessing (spawned workers, resource tracker)."""
    return {child: cmd for child, cmd in children(pid).items() if "multiprocessing" in cmd}
