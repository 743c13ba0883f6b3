"""Dask benchmark: focal mean 15 x 15 on the 8192 x 8192 float32 raster, local vs Dask.

Usage::

    /usr/bin/python3 bench/bench_dask.py [--data /tmp/tessera-bench] [--window 512] [--keep]
                                         [--raster f32|f32big]

Runs Tessera's focal mean (radius 7, square, nodata -9999) through
``run_tessera.py``, each run in its own measured process tree, one after the
other: serial, processes x2, dask on a loopback cluster of 2 single-threaded
workers, and dask on a cluster of 1 worker (per-worker throughput, scaling).

Each dask run gets a fresh cluster from the tests' starter
(``tests/dask_cluster.py``: a scheduler and nanny workers started with
distributed's command-line programs on 127.0.0.1, with a clean ``PYTHONPATH``
so the engine must be shipped), started and ready before the timed run, so
fresh workers' peak RSS belongs to that run alone. The timed run includes
connecting to the scheduler, shipping the engine zip and checking every
worker's packages: what every run on a cluster pays. The cluster's processes
are not in the measured tree: their CPU (read from ``/proc``) is added to the
row's and taken out of "other processes", and their peak RSS (VmHWM) is in
the note, the row's peak RSS being the client's.

Prints the table (wall, ratio to processes x2, peak RSS, CPU), the dask x2 /
processes x2 ratio against the issue's target, the throughput per worker,
and whether every output has the serial output's bytes: the whole file, or
else every tile's stored bytes and GDAL's description of the file (the tiles'
order in the file follows the order windows finished in); exit status 1 if
not.
"""

import argparse
import dataclasses
import filecmp
import os
import shutil
import sys
import time
from typing import Dict, List, Optional

import common

# The tests' loopback cluster starter, reused rather than written twice (appended, so
# the folders of tests/ never shadow an installed package).
sys.path.append(os.path.join(common.REPO_ROOT, "tests"))
from dask_cluster import loopback_cluster  # noqa: E402

RADIUS = 7
TARGET = 1.15
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- cluster processes

def _stat(pid: int) -> Optional[List[str]]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _groups(leaders) -> Dict[int, List[int]]:
    """Process group leader -> pids of the processes in its group, for ``leaders``."""
    found: Dict[int, List[int]] = {leader: [] for leader in leaders}
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields and int(fields[2]) in found:
            found[int(fields[2])].append(int(entry))
    return found


def _leaders(cluster) -> List[int]:
    """Group leaders of the cluster's processes: the scheduler and each worker's nanny
    (each started in its own session; their command lines name the cluster's folder)."""
    return [int(entry) for entry in os.listdir("/proc")
            if entry.isdigit() and cluster.folder in common.process_command(int(entry))]


def cluster_cpu(cluster) -> float:
    """CPU seconds used so far by the cluster's processes (and children they reaped)."""
    total = 0
    for pids in _groups(_leaders(cluster)).values():
        for pid in pids:
            fields = _stat(pid)
            if fields:
                total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def worker_peaks(cluster) -> Dict[str, Dict[str, float]]:
    """Per worker name, the peak RSS in MiB of its worker process (the nanny's spawned
    child) and of its whole process group (nanny, worker, resource tracker)."""
    groups = _groups(process.pid for process in cluster.workers.values())
    peaks = {}
    for name, process in sorted(cluster.workers.items()):
        own = {pid: common.hwm_mib(pid) or 0.0 for pid in groups[process.pid]}
        worker = max((mib for pid, mib in own.items()
                      if "spawn_main" in common.process_command(pid)), default=0.0)
        peaks[name] = {"worker": worker, "group": sum(own.values())}
    return peaks


# --------------------------------------------------------------------------- runs

def measure_on_cluster(label: str, workers: int, command: List[str]):
    """Measure ``command`` + ``--scheduler ADDRESS`` against a fresh loopback cluster of
    ``workers`` single-threaded workers (started before, not timed); return the run
    with the cluster's CPU during it counted in it, and the workers' peak RSS.

    An idle cluster uses CPU too (about 0.2 CPUs: heartbeats, memory monitors), so
    the machine is first waited for with that allowance, the idle cluster's rate is
    sampled for a second, and what it used while ``measure`` waited for an idle
    machine before starting the run is left out.
    """
    with loopback_cluster(workers, python=common.PYTHON) as cluster:
        common.wait_for_idle(busy_cpus=0.2 + 0.1 * (workers + 1))
        before = cluster_cpu(cluster)
        time.sleep(1.0)
        idle = cluster_cpu(cluster) - before
        start, before = time.perf_counter(), cluster_cpu(cluster)
        run = common.measure(label, command + ["--scheduler", cluster.address])
        waited = time.perf_counter() - start - run.wall
        used = max(0.0, cluster_cpu(cluster) - before - idle * waited)
        peaks = worker_peaks(cluster)
    print(f"[{label}] the cluster's processes used {used:.1f} CPU s during the run", flush=True)
    if run.ok:
        shutil.rmtree(cluster.folder, ignore_errors=True)
    else:
        print(f"[{label}] cluster logs kept in {cluster.folder}", flush=True)
    run = dataclasses.replace(run, cpu=run.cpu + used, other_cpu=max(0.0, run.other_cpu - used))
    return run, peaks


def note(run: common.Run, peaks: Optional[Dict[str, Dict[str, float]]] = None) -> str:
    """The engine call's own seconds, and for dask runs the memory of client and workers."""
    if not run.ok:
        return ""
    text = f"engine call {run.json()['elapsed']:.1f} s"
    if peaks:
        workers = ", ".join(f"{name} {peak['worker']:.0f} (group {peak['group']:.0f})"
                            for name, peak in peaks.items())
        total = run.peak_mib + sum(peak["group"] for peak in peaks.values())
        text += (f"; peak MiB: client {run.peak_mib:.0f}, workers {workers}, "
                 f"sum {total:.0f}")
    return text


def _layout(path: str):
    """GDAL's description of ``path`` without what names the file (georeferencing, bands,
    nodata, block size, metadata of every domain) and every band's tiles, each tile's
    bytes as stored in the file, in block order (not in the order they lie in the file)."""
    from osgeo import gdal

    gdal.UseExceptions()
    info = gdal.Info(path, format="json", options=["-mdd", "all"])
    del info["description"], info["files"]
    info["metadata"].pop("DERIVED_SUBDATASETS", None)  # names the file
    ds = gdal.Open(path)
    tiles = []
    with open(path, "rb") as handle:
        for index in range(1, ds.RasterCount + 1):
            band = ds.GetRasterBand(index)
            width, height = band.GetBlockSize()
            for row in range((ds.RasterYSize + height - 1) // height):
                for col in range((ds.RasterXSize + width - 1) // width):
                    handle.seek(int(band.GetMetadataItem(f"BLOCK_OFFSET_{col}_{row}", "TIFF")))
                    size = int(band.GetMetadataItem(f"BLOCK_SIZE_{col}_{row}", "TIFF"))
                    tiles.append(handle.read(size))
    return info, tiles


def check_identical(out: Dict[str, str], runs: Dict[str, common.Run]) -> bool:
    """Print whether each output has the serial output's bytes; True when all do.

    Files are compared byte for byte, then, when they differ, tile by tile: the
    writer flushes tiles from its GDAL cache (smaller than this output) as windows
    arrive, so the tiles' order in the file follows the order windows finished in,
    which no parallel run reproduces. Same description and the same bytes in every
    tile is the same raster, encoded the same way, laid out in another order.
    """
    if not runs["serial"].ok:
        print("tessera serial failed: nothing to compare against")
        return False
    reference = _layout(out["serial"])
    identical = True
    for name in ("processes2", "dask2", "dask1"):
        if not runs[name].ok:
            print(f"{name}: run failed, no output to compare")
            identical = False
        elif filecmp.cmp(out["serial"], out[name], shallow=False):
            print(f"{name}: file byte-identical to serial")
        else:
            info, tiles = _layout(out[name])
            same = [a == b for a, b in zip(tiles, reference[1])]
            if info == reference[0] and len(tiles) == len(reference[1]) and all(same):
                print(f"{name}: file bytes differ from serial, only in the tiles' order: "
                      f"same description, all {len(tiles)} tiles byte-identical")
            else:
                print(f"{name}: DIFFERS from serial: description "
                      f"{'same' if info == reference[0] else 'differs'}, "
                      f"{same.count(False)} of {len(same)} tiles differ, "
                      f"{len(tiles)} vs {len(reference[1])} tiles; pixels: "
                      f"{common.compare_rasters(out['serial'], out[name])}")
                identical = False
    return identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--window", type=int, default=512,
                        help="Tessera's window size in pixels, every run (default 512)")
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    parser.add_argument("--raster", default="f32", choices=("f32", "f32big"),
                        help="f32: 8192 x 8192 (default); f32big: 30000 x 30000, where the "
                             "~1 s a dask run pays to connect is amortised (about 9 min)")
    args = parser.parse_args()
    print(common.describe_checkout(), flush=True)

    common.ensure_tools({"gdal_calc.py": "gdal-bin python3-gdal"})  # osgeo, to read tiles
    source = common.ensure_raster(args.data, args.raster)
    _, width, height, *_ = common.RASTERS[args.raster]
    pixels = width * height
    out = {name: os.path.join(args.data, f"out_dask_mean15_{name}.tif")
           for name in ("serial", "processes2", "dask2", "dask1")}

    def engine(name: str, *extra: str) -> List[str]:
        return common.tessera_command(
            "focal", source, out[name], "--statistic", "mean", "--radius", str(RADIUS),
            "--nodata", "-9999", "--window", str(args.window), *extra)

    runs, peaks = {}, {}
    runs["serial"] = common.measure("tessera serial", engine("serial", "--executor", "serial"))
    runs["processes2"] = common.measure("tessera processes x2", engine(
        "processes2", "--executor", "processes", "--workers", "2"))
    for name, workers in (("dask2", 2), ("dask1", 1)):
        runs[name], peaks[name] = measure_on_cluster(
            f"tessera dask x{workers}", workers, engine(name, "--executor", "dask"))

    rows = [common.row(runs["serial"], "tessera serial", note(runs["serial"])),
            common.row(runs["processes2"], "tessera processes x2", note(runs["processes2"])),
            common.row(runs["dask2"], "tessera dask x2 (loopback)",
                       note(runs["dask2"], peaks["dask2"])),
            common.row(runs["dask1"], "tessera dask x1 (loopback)",
                       note(runs["dask1"], peaks["dask1"]))]
    reference = runs["processes2"].wall if runs["processes2"].ok else None
    common.print_table(
        f"focal mean 15x15 on {os.path.basename(source)}, window {args.window} "
        f"(x ours: wall / processes x2; dask wall includes connect + engine shipping; "
        f"dask peak RSS: the client; CPU: client + cluster)", rows, reference)

    if reference and runs["dask2"].ok:
        ratio = runs["dask2"].wall / reference
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"dask x2 / processes x2 = {ratio:.2f} (target <= {TARGET}): {verdict}")
    for name, label, workers in (("serial", "serial", 1), ("processes2", "processes x2", 2),
                                 ("dask1", "dask x1", 1), ("dask2", "dask x2", 2)):
        if runs[name].ok:
            rate = pixels / runs[name].wall / workers / 1e6
            print(f"{label:>13}: {rate:.2f} Mpx/s per worker ({workers} worker(s), "
                  f"{pixels / 1e6:.1f} Mpx in {runs[name].wall:.2f} s)")
    if runs["dask1"].ok and runs["dask2"].ok:
        print(f"dask scaling 1 -> 2 workers: {runs['dask1'].wall / runs['dask2'].wall:.2f}x")
    print()

    identical = check_identical(out, runs)
    if not args.keep:
        common.remove_outputs(out.values())
    if not identical:
        sys.exit("FAILED: an output is missing or does not have the serial output's bytes"
                 + ("" if args.keep else " (rerun with --keep to inspect the outputs)"))
    print("every output has the serial output's bytes (tile by tile)")


if __name__ == "__main__":
    main()
