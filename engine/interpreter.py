"""Find a Python interpreter that can run engine workers.

Inside QGIS, ``sys.executable`` is not a usable Python: on Windows and macOS
it is the QGIS binary (spawned workers would start QGIS again), and on Linux
it is whatever ``python3`` comes first on PATH, possibly another installation
of the same version whose standard library does not match this process's
packages. So the process executor never trusts it blindly: it probes
candidates under ``sys.exec_prefix`` and accepts the first that runs and
reports this process's Python version *and* prefix (the same installation).
"""

import functools
import os
import subprocess
import sys
from typing import Iterator, Optional

from .errors import WorkerError

_PROBE = "import os, sys; print('%d.%d' % sys.version_info[:2], os.path.realpath(sys.prefix))"


def _identity(same_installation: bool) -> str:
    version = "%d.%d" % sys.version_info[:2]
    return f"{version} {os.path.realpath(sys.prefix)}" if same_installation else version


def _candidates() -> Iterator[str]:
    version = "%d.%d" % sys.version_info[:2]
    base = os.path.basename(sys.executable).lower()
    if base.startswith("python"):
        yield sys.executable
    for prefix in dict.fromkeys((sys.exec_prefix, sys.base_exec_prefix)):
        if os.name == "nt":
            yield os.path.join(prefix, "pythonw.exe")
            yield os.path.join(prefix, "python.exe")
            yield os.path.join(prefix, "python3.exe")
        else:
            yield os.path.join(prefix, "bin", f"python{version}")
            yield os.path.join(prefix, "bin", "python3")
            yield os.path.join(prefix, "Resources", "bin", f"python{version}")


@functools.lru_cache(maxsize=None)
def _probe(path: str, same_installation: bool = True) -> bool:
    """True when ``path`` runs as this process's Python version (and installation)."""
    if not os.path.isfile(path):
        return False
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    answer = out.stdout.strip() if same_installation else out.stdout.strip().split(" ")[0]
    return out.returncode == 0 and answer == _identity(same_installation)


def find_python(override: Optional[str] = None) -> str:
    """The interpreter for worker processes.

    Parameters
    ----------
    override : str, optional
        A path the user chose (setting or ``TESSERA_PYTHON``); it must run and
        be this Python version, so a wrong path fails with a clear message,
        not a hang. Found candidates must also be this very installation.

    Raises
    ------
    WorkerError
        When no candidate runs with this process's Python version.
    """
    version = "%d.%d" % sys.version_info[:2]
    if override:
        if _probe(override, same_installation=False):
            return override
        raise WorkerError(
            f"worker Python '{override}' does not run or is not Python {version}: "
            f"point the Python interpreter setting (or TESSERA_PYTHON) at a Python {version} "
            f"executable, or use the serial executor")
    for path in _candidates():
        if _probe(path):
            return path
    raise WorkerError(
        f"no Python {version} interpreter of this installation ({sys.prefix}) was found for worker "
        f"processes: set the Python interpreter setting (or TESSERA_PYTHON), or use the "
        f"serial executor")
