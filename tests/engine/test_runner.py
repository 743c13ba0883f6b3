"""The runner: atomic outputs, cancel, worker failures, ordered reduce, progress."""

import multiprocessing
import os

import numpy as np
import pytest
import rasterio

from support import WORLDVIEW, read_raster
from runner_helpers import Dies, FailsAt, LateFirst, Pids, Sequence, Slow
from tessera.engine.errors import Cancelled, InvalidInputError, WorkerError
from tessera.engine.executors import Execution
from tessera.engine.raster_io import OutputSpec, Source, describe
from tessera.engine.runner import run_map, run_reduce
from tessera.engine.windows import plan_windows

GRID = describe(WORLDVIEW).grid


def spec(path):
    return OutputSpec(str(path), GRID, 1, "int16", -9999)


def leftovers(folder):
    return sorted(name for name in os.listdir(folder))


@pytest.mark.parametrize("execution", [Execution("serial", window_size=64),
                                       Execution("processes", 2, 64)], ids=["serial", "processes"])
def test_cancel_leaves_no_output_and_no_workers(tmp_path, execution):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 4

    with pytest.raises(Cancelled, match="no output was written"):
        run_map(Slow(0.05), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                execution=execution, cancelled=cancelled)
    assert leftovers(tmp_path) == []
    assert multiprocessing.active_children() == []


def test_failure_keeps_the_previous_output_untouched(tmp_path):
    target = tmp_path / "o.tif"
    target.write_bytes(b"previous result")
    with pytest.raises(ValueError, match="failed on purpose"):
        run_map(FailsAt(128, 64), [Source(WORLDVIEW)], spec(target),
                execution=Execution("processes", 2, 64))
    assert target.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == ["o.tif"]
    assert multiprocessing.active_children() == []


def test_a_dying_worker_is_reported_not_hung(tmp_path):
    with pytest.raises(WorkerError, match="a worker process died"):
        run_map(Dies(), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                execution=Execution("processes", 2, 256))
    assert leftovers(tmp_path) == []


def test_unknown_compression_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="compression 'jpeg2000' is unknown: choose one of"):
        run_map(Slow(0), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                execution=Execution(compression="jpeg2000"))
    assert leftovers(tmp_path) == []


def test_a_wrong_worker_python_is_reported(tmp_path):
    with pytest.raises(WorkerError, match="'/bin/false' does not run or is not Python"):
        run_map(Slow(0), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                execution=Execution("processes", 2, 256, python="/bin/false"))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("compression", ["zstd", "deflate", "lzw"])
def test_map_output_is_complete_tiled_and_compressed(tmp_path, compression):
    progress = []
    out = run_map(Slow(0), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                  execution=Execution("processes", 2, 100, compression=compression),
                  progress=progress.append)
    np.testing.assert_array_equal(read_raster(out)[0][0], read_raster(WORLDVIEW)[0][0])
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] and ds.compression.name.lower() == compression
        assert ds.nodata == -9999
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert len(progress) == len(list(plan_windows(GRID, 100)))


def test_reduce_merges_in_window_order_whatever_finishes_first():
    execution = Execution("processes", 2, 64)
    order, total = run_reduce(Sequence, [Source(WORLDVIEW)], GRID, execution=execution)
    expected = [(w.row, w.col) for w in plan_windows(GRID, 64)]
    assert order == expected
    data = read_raster(WORLDVIEW)[0][0]
    assert total == float(data[data != -9999].astype(np.float64).sum())


def test_two_serial_runs_in_threads_do_not_share_open_files(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from tessera.engine.bandmath import band_math

    def run(index):
        return band_math([WORLDVIEW], f"b{index} * 1", str(tmp_path / f"o{index}.tif"),
                         dtype="int16", nodata=-9999, execution=Execution("serial", window_size=16))

    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(run, (1, 2, 3, 4)))
    data = read_raster(WORLDVIEW)[0]
    for index, out in enumerate(outputs):
        np.testing.assert_array_equal(read_raster(out)[0][0], data[index])


def test_passes_of_a_multi_pass_job_share_one_pool_that_ends_with_it():
    from tessera.engine.executors import reusing_workers

    @reusing_workers
    def two_passes(*, execution):
        return [run_reduce(Pids, [Source(WORLDVIEW)], GRID, execution=execution)
                for _ in range(2)]

    first, second = two_passes(execution=Execution("processes", 2, 64))
    workers = (first | second) - {os.getpid()}
    assert 1 <= len(workers) <= 2 and second - {os.getpid()} <= first | second
    assert multiprocessing.active_children() == []
    separate = [run_reduce(Pids, [Source(WORLDVIEW)], GRID,
                           execution=Execution("processes", 2, 64)) for _ in range(2)]
    assert not (separate[0] & separate[1]) - {os.getpid()}  # without it: new workers per pass


def test_cancel_inside_a_multi_pass_job_stops_its_workers(tmp_path):
    from tessera.engine.executors import reusing_workers
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 4

    @reusing_workers
    def job(*, execution):
        run_reduce(Pids, [Source(WORLDVIEW)], GRID, execution=execution)
        run_map(Slow(0.05), [Source(WORLDVIEW)], spec(tmp_path / "o.tif"),
                execution=execution, cancelled=cancelled)

    with pytest.raises(Cancelled):
        job(execution=Execution("processes", 2, 64))
    assert multiprocessing.active_children() == [] and leftovers(tmp_path) == []


def test_files_are_byte_identical_even_when_windows_finish_out_of_order(tmp_path,
                                                                         monkeypatch):
    """GDAL flushes tiles as its cache fills: with a 1 MB writer cache and a 6.5 MB output,
    the file's tile order follows the order windows are written in, which must not
    follow the order they finish in (the first window here finishes last). Windows are
    whole tiles (256 px), so no tile is flushed half written."""
    from tessera.engine import raster_io

    monkeypatch.setattr(raster_io, "WRITER_GDAL_CACHE_MB", 1)
    for name, execution in (("serial", Execution("serial", window_size=256)),
                            ("processes", Execution("processes", 2, 256))):
        run_map(LateFirst(2.0 if name == "processes" else 0), [Source(WORLDVIEW)],
                OutputSpec(str(tmp_path / f"{name}.tif"), GRID, 8, "float32", -9999),
                execution=execution)
    with open(tmp_path / "serial.tif", "rb") as serial, \
            open(tmp_path / "processes.tif", "rb") as parallel:
        assert serial.read() == parallel.read()
