"""The dask executor end to end through ``qgis_process.bin``: focal statistics and global
regression run on a loopback cluster (whose workers cannot import Tessera until it is
shipped) give the same bytes as the serial executor; a wrong scheduler address fails
with a clear message and no output. All runs start together in one fixture."""

import os

import pytest

pytest.importorskip("qgis.core")
pytest.importorskip("distributed")

from dask_cluster import loopback_cluster  # noqa: E402
from qgis_support import output_of  # noqa: E402
from support import GAINS, OFFSETS, WORLDVIEW, distorted_tiles  # noqa: E402

SERIAL = {"TESSERA_EXECUTOR": "serial", "TESSERA_WINDOW": "64"}
UNREACHABLE = "tcp://127.0.0.1:9"


def _dask(address):
    return {"TESSERA_EXECUTOR": "dask", "TESSERA_DASK_SCHEDULER": address,
            "TESSERA_WINDOW": "64"}


@pytest.fixture(scope="module")
def runs(qgis_process, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("dask-process"))
    tiles = distorted_tiles(folder, GAINS, OFFSETS)[0]
    with loopback_cluster(2) as cluster:
        cases = {}
        for name, env in (("serial", SERIAL), ("dask", _dask(cluster.address)),
                          ("unreachable", _dask(UNREACHABLE))):
            cases[f"focal-{name}"] = ("tessera:focalstatistics", [
                ("INPUT", WORLDVIEW), ("BANDS", [2, 5]), ("STATISTIC", 2), ("SHAPE", 1),
                ("RADIUS", 3), ("OUTPUT", os.path.join(folder, f"focal-{name}.tif"))], env)
        for name, env in (("serial", SERIAL), ("dask", _dask(cluster.address))):
            cases[f"global-{name}"] = ("tessera:globalregression", {
                "INPUTS": tiles, "REFERENCE_MODE": 1, "REFERENCE_NAMES": "tile0",
                "SAVE_MODEL": os.path.join(folder, f"model-{name}.json"),
                "OUTPUT_FOLDER": os.path.join(folder, f"global-{name}")}, env)
        finished = qgis_process.run_all(list(cases.values()), max_parallel=3, timeout=240)
    return folder, dict(zip(cases, finished))


def _bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_focal_statistics_on_the_cluster_equals_serial(runs):
    folder, done = runs
    for name in ("focal-serial", "focal-dask"):
        assert done[name].returncode == 0, output_of(done[name])
    assert "Executor: dask, window 64 px, scheduler tcp://127.0.0.1:" in done["focal-dask"].stdout
    assert _bytes(os.path.join(folder, "focal-dask.tif")) == \
        _bytes(os.path.join(folder, "focal-serial.tif"))


def test_global_regression_on_the_cluster_equals_serial(runs):
    folder, done = runs
    for name in ("global-serial", "global-dask"):
        assert done[name].returncode == 0, output_of(done[name])
    assert _bytes(os.path.join(folder, "model-dask.json")) == \
        _bytes(os.path.join(folder, "model-serial.json"))
    for k in range(4):
        assert _bytes(os.path.join(folder, "global-dask", f"tile{k}_global.tif")) == \
            _bytes(os.path.join(folder, "global-serial", f"tile{k}_global.tif"))


def test_an_unreachable_scheduler_fails_with_a_clear_message_and_no_output(runs):
    folder, done = runs
    proc = done["focal-unreachable"]
    assert proc.returncode != 0, output_of(proc)
    assert (f"cannot reach the Dask scheduler at '{UNREACHABLE}' within 10 s"
            in proc.stdout + proc.stderr), output_of(proc)
    assert not os.path.exists(os.path.join(folder, "focal-unreachable.tif"))
