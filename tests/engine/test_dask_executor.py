"""The dask executor on a real loopback cluster (a scheduler and worker processes that
cannot import Tessera until it is shipped to them): byte-identical outputs, tree
reductions, engine shipping, worker checks, lost workers, cancel, bad addresses."""

import functools
import os
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from dask_cluster import loopback_cluster  # noqa: E402
from runner_helpers import Sequence, Slow  # noqa: E402
from support import GAINS, OFFSETS, WORLDVIEW, distorted_tiles, read_raster  # noqa: E402
from tessera.engine import dask_executor  # noqa: E402
from tessera.engine.bandmath import band_math  # noqa: E402
from tessera.engine.errors import (Cancelled, InvalidInputError, MissingInputError,  # noqa: E402
                                   WorkerError)
from tessera.engine.executors import Execution, make_executor  # noqa: E402
from tessera.engine.focal import focal_statistics  # noqa: E402
from tessera.engine.global_regression import global_regression  # noqa: E402
from tessera.engine.local_adjustment import local_block_adjustment  # noqa: E402
from tessera.engine.moments import MomentsAccumulator  # noqa: E402
from tessera.engine.neighbourhoods import Neighbourhood  # noqa: E402
from tessera.engine.raster_io import OutputSpec, Source, describe  # noqa: E402
from tessera.engine.runner import run_map, run_reduce  # noqa: E402
from tessera.engine.shipping import zip_name  # noqa: E402

HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner_helpers.py")
GRID = describe(WORLDVIEW).grid


def share_helpers(address):
    """Ship the engine, then the test operators (which import it) to every worker."""
    make_executor(Execution("dask", scheduler=address)).close()
    with distributed.Client(address, set_as_default=False) as client:
        client.upload_file(HELPERS)


@pytest.fixture(scope="module")
def cluster():
    with loopback_cluster(2) as running:
        share_helpers(running.address)
        yield running


def dask(cluster, window=64):
    return Execution("dask", window_size=window, scheduler=cluster.address)


def serial(window=64):
    return Execution("serial", window_size=window)


def same_files(first, second):
    for a, b in zip(sorted(first), sorted(second), strict=True):
        with open(a, "rb") as one, open(b, "rb") as other:
            assert one.read() == other.read(), (a, b)


def test_band_math_is_byte_identical_to_serial(cluster, tmp_path):
    runs = [band_math([WORLDVIEW], "(b7 - b5) / (b7 + b5)", str(tmp_path / f"{name}.tif"),
                      execution=execution)
            for name, execution in (("serial", serial()), ("dask", dask(cluster, 48)))]
    same_files([runs[0]], [runs[1]])
    assert np.isfinite(read_raster(runs[1])[0]).sum() > 100_000  # a real image, not nodata


def test_focal_statistics_with_halos_is_byte_identical_to_serial(cluster, tmp_path):
    outputs = [focal_statistics(WORLDVIEW, str(tmp_path / f"{name}.tif"), statistic="mean",
                                neighbourhood=Neighbourhood("circle", 7), bands=[1, 4],
                                execution=execution)
               for name, execution in (("serial", serial(100)), ("dask", dask(cluster, 40)))]
    same_files(outputs[:1], outputs[1:])


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return distorted_tiles(str(tmp_path_factory.mktemp("tiles")), GAINS, OFFSETS)[0]


def test_global_regression_statistics_reduce_on_the_cluster_to_the_same_bytes(
        cluster, tiles, tmp_path):
    runs = {}
    for name, execution in (("serial", serial(32)), ("dask", dask(cluster, 32))):
        folder = tmp_path / name
        outputs = global_regression(tiles, str(folder), reference=("include", ["tile0"]),
                                    save_model_to=str(folder / "model.json"),
                                    execution=execution)
        runs[name] = outputs + [str(folder / "model.json")]
    same_files(runs["serial"], runs["dask"])


def test_local_block_adjustment_is_byte_identical_to_serial(cluster, tiles, tmp_path):
    runs = {}
    for name, execution in (("serial", serial(32)), ("dask", dask(cluster, 32))):
        folder = tmp_path / name
        outputs = local_block_adjustment(tiles, str(folder), blocks=(4, 4),
                                         save_maps=str(folder / "maps"), execution=execution)
        maps = sorted(str(folder / "maps" / name) for name in os.listdir(folder / "maps"))
        runs[name] = outputs + maps
    assert len(runs["dask"]) > 4
    same_files(runs["serial"], runs["dask"])


def test_tree_reduction_on_the_cluster_equals_every_local_executor(cluster):
    sources = [Source(WORLDVIEW)]
    moments_of_eight_bands = functools.partial(MomentsAccumulator, 8)
    results = {}
    for name, execution in (("serial", serial(40)), ("processes", Execution("processes", 2, 40)),
                            ("dask", dask(cluster, 40))):
        moments = run_reduce(moments_of_eight_bands, sources, GRID, execution=execution)
        order, _ = run_reduce(Sequence, sources, GRID, execution=execution)
        results[name] = (moments.mean.tobytes(), moments.m2.tobytes(), order)
    assert results["serial"] == results["processes"] == results["dask"]
    data = read_raster(WORLDVIEW)[0][0].astype(np.float64)
    mean = np.frombuffer(results["dask"][0])[0]
    assert mean == pytest.approx(data[data != -9999].mean(), rel=1e-12)


def test_every_worker_runs_the_shipped_engine_not_a_stale_copy(tmp_path):
    """A worker that already imported another version (here one whose map step writes
    zeros) is switched to the client's version when it connects."""
    import zipfile

    from distributed.diagnostics.plugin import UploadFile

    stale = tmp_path / "tessera-engine-0000stale.zip"
    with zipfile.ZipFile(stale, "w") as archive:
        archive.writestr("tessera/__init__.py", "")
        archive.writestr("tessera/engine/__init__.py", "")
        archive.writestr("tessera/engine/runner.py",
                         "def _map_window(task):\n    raise RuntimeError('stale engine')\n")
    with loopback_cluster(1) as cluster:
        with distributed.Client(cluster.address, set_as_default=False) as client:
            dask_executor.register_on_workers(client, UploadFile(str(stale)), "stale")
            client.run(exec, "import tessera.engine.runner")
            expected = band_math([WORLDVIEW], "b1 + 1", str(tmp_path / "serial.tif"),
                                 execution=serial())
            got = band_math([WORLDVIEW], "b1 + 1", str(tmp_path / "dask.tif"),
                            execution=dask(cluster))
            same_files([expected], [got])
            engines = client.run(lambda: sys.modules["tessera.engine.runner"].__file__)
        assert [zip_name() in path for path in engines.values()] == [True]


def test_a_worker_lacking_a_package_is_named_with_what_it_lacks(tmp_path):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "sitecustomize.py").write_text("import sys\nsys.modules['cv2'] = None  # hidden\n")
    with loopback_cluster(1) as cluster:
        cluster.add_worker("bare", extra_path=str(stubs))
        cluster.wait_for_workers(2)
        with pytest.raises(WorkerError) as error:
            band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"), execution=dask(cluster))
    message = str(error.value)
    assert message.count("lacks the Python package") == 1  # only the bare worker
    assert "lacks the Python package 'opencv-python-headless': install it" in message
    assert "(host " in message and "Python 3." in message
    assert not os.path.exists(tmp_path / "o.tif")


def test_a_lost_worker_is_replaced_and_a_cluster_with_none_left_fails(tmp_path, monkeypatch):
    """Kill one of two workers mid-run: Dask reruns its tasks and the output is exact.
    Kill the last one mid-run: a clear error within the grace period, never a hang."""
    monkeypatch.setattr(dask_executor, "NO_WORKER_GRACE", 3.0)
    monkeypatch.setattr(dask_executor, "POLL", 0.5)
    spec = OutputSpec(str(tmp_path / "expected.tif"), GRID, 1, "int16", -9999)
    expected = run_map(Slow(0), [Source(WORLDVIEW)], spec, execution=serial())
    with loopback_cluster(2) as cluster:
        share_helpers(cluster.address)

        def run_killing(worker, name):
            killer = threading.Timer(1.5, cluster.kill_worker, [worker])
            killer.start()
            started = time.monotonic()
            try:
                return run_map(Slow(0.1), [Source(WORLDVIEW)],
                               OutputSpec(str(tmp_path / name), GRID, 1, "int16", -9999),
                               execution=dask(cluster, 48)), time.monotonic() - started
            finally:
                killer.join()

        survived, _ = run_killing("w1", "survived.tif")
        same_files([expected], [survived])
        with pytest.raises(WorkerError, match="has had no workers for 3 s"):
            run_killing("w0", "orphaned.tif")
    assert not os.path.exists(tmp_path / "orphaned.tif")


def test_cancel_cancels_the_cluster_tasks_and_leaves_no_output(cluster, tmp_path):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled, match="no output was written"):
        run_map(Slow(0.2), [Source(WORLDVIEW)], OutputSpec(str(tmp_path / "o.tif"), GRID, 1,
                                                           "int16", -9999),
                execution=dask(cluster, 32), cancelled=cancelled)
    assert os.listdir(tmp_path) == []
    with distributed.Client(cluster.address, set_as_default=False) as client:
        deadline = time.monotonic() + 20
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "tasks still on the cluster after cancel"
            time.sleep(0.2)


def test_an_input_workers_cannot_open_is_reported_with_the_worker(cluster, tmp_path,
                                                                 monkeypatch):
    """A relative path opens here but not on workers, which run in another folder: the
    same as a local path on another host."""
    import shutil

    shutil.copy(WORLDVIEW, tmp_path / "local.tif")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingInputError) as error:
        band_math(["local.tif"], "b1", str(tmp_path / "o.tif"), execution=dask(cluster))
    message = str(error.value)
    assert message.startswith("Dask worker tcp://127.0.0.1:")
    assert "cannot open an input: local.tif" in message
    assert "a path all workers reach" in message
    assert not os.path.exists(tmp_path / "o.tif")


def test_a_wrong_scheduler_address_fails_within_the_connect_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 2.0)
    started = time.monotonic()
    with pytest.raises(InvalidInputError,
                       match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s"):
        band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"),
                  execution=Execution("dask", window_size=64, scheduler="tcp://127.0.0.1:9"))
    assert time.monotonic() - started < 10
    assert os.listdir(tmp_path) == []


def test_a_missing_scheduler_address_says_where_to_set_it(tmp_path):
    with pytest.raises(InvalidInputError, match="needs the address of a Dask scheduler.*"
                                                "TESSERA_DASK_SCHEDULER"):
        band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"),
                  execution=Execution("dask", window_size=64))


def test_without_distributed_the_dask_executor_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InvalidInputError, match="needs the Python packages 'dask' and "
                                                "'distributed', which are not installed.*"
                                                "apt-get install python3-distributed"):
        band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"),
                  execution=Execution("dask", window_size=64, scheduler="tcp://127.0.0.1:9"))
    serial_output = band_math([WORLDVIEW], "b1", str(tmp_path / "o.tif"),
                              execution=Execution("processes", 2, 128))
    assert read_raster(serial_output)[0].shape == (1, 452, 451)
