"""A real Dask cluster on 127.0.0.1 for tests: a scheduler and worker processes.

Started with distributed's own command-line programs in a separate folder and
a clean ``PYTHONPATH``, like workers on another host: they can import numpy,
rasterio and the rest, but not Tessera, so every test that passes on it proves
the engine was shipped to them. Nothing here imports QGIS.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Dict, List, Optional

#: Seconds to wait for the scheduler and workers to come up.
START_TIMEOUT = 60.0


class LoopbackCluster:
    """A scheduler and named worker processes; ``address`` is the scheduler's."""

    def __init__(self, folder: str, python: str):
        self.folder = folder
        self.python = python
        self.workers: Dict[str, subprocess.Popen] = {}
        self._scheduler_file = os.path.join(folder, "scheduler.json")
        self._scheduler = self._start("scheduler", [
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", ":0", "--scheduler-file", self._scheduler_file])
        self.address = self._wait_for_address()

    def _start(self, name: str, arguments: List[str],
               extra_path: Optional[str] = None) -> subprocess.Popen:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTHON", "TESSERA", "DASK_"))}
        if extra_path:
            env["PYTHONPATH"] = extra_path
        log = open(os.path.join(self.folder, f"{name}.log"), "wb")
        return subprocess.Popen([self.python, "-m"] + arguments, cwd=self.folder, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(self._scheduler_file):
                try:
                    with open(self._scheduler_file) as handle:
                        return json.load(handle)["address"]
                except (ValueError, KeyError):
                    pass  # written but not complete yet
            time.sleep(0.1)
        raise RuntimeError(f"the test scheduler did not start: see {self.folder}/scheduler.log")

    def add_worker(self, name: str, *, nanny: bool = True,
                   extra_path: Optional[str] = None) -> None:
        """Start a single-threaded worker ``name`` (with ``extra_path`` first on its path)."""
        arguments = ["distributed.cli.dask_worker", self.address, "--nthreads", "1",
                     "--name", name, "--no-dashboard", "--local-directory",
                     os.path.join(self.folder, name)]
        if not nanny:
            arguments.append("--no-nanny")
        self.workers[name] = self._start(name, arguments, extra_path)

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT)

    def kill_worker(self, name: str) -> None:
        """SIGKILL worker ``name`` and its nanny's child, as a crash would."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers.pop(name).wait()

    def stop(self) -> None:
        for process in list(self.workers.values()) + [self._scheduler]:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@contextmanager
def loopback_cluster(workers: int = 2, *, nanny: bool = True,
                     python: str = sys.executable):
    """A running cluster with ``workers`` single-threaded workers named w0, w1...;
    everything is killed on exit."""
    folder = tempfile.mkdtemp(prefix="tessera-dask-")
    cluster = LoopbackCluster(folder, python)
    try:
        for index in range(workers):
            cluster.add_worker(f"w{index}", nanny=nanny)
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        cluster.stop()
