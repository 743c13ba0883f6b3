"""Helpers of the QGIS tests: sample data, raster helpers, qgis_process runner, process scans.

Imported by ``tests/qgis/conftest.py`` and the test modules as ``qgis_support``;
the data paths and raster helpers come from ``tests/support.py``.
Nothing here imports QGIS.
"""

import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from support import PLUGINS, ROOT

MODEL = os.path.join(ROOT, "models", "bandmath_focal_footprints.model3")

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
TESSERA_VARIABLES = ("TESSERA_EXECUTOR", "TESSERA_WORKERS", "TESSERA_WINDOW", "TESSERA_PYTHON",
                     "TESSERA_COMPRESSION", "TESSERA_DASK_SCHEDULER")

Params = Union[Mapping[str, object], Sequence[Tuple[str, object]]]


def plugins_folder() -> str:
    """The folder holding the ``tessera`` symlink to the checkout (QGIS_PLUGINPATH)."""
    return PLUGINS


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
                max_parallel: int = 2, timeout: float = 180) -> List[subprocess.CompletedProcess]:
        """Run every (alg, params, env_extra), a few at once; results in the same order.

        Most of a qgis_process run is its ~2 s start, so overlapping runs saves time.
        """
        with ThreadPoolExecutor(max_parallel) as pool:
            futures = [pool.submit(self, alg, params, env, timeout) for alg, params, env in runs]
            return [future.result() for future in futures]


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
