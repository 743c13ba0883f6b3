"""Shared helpers of the Tessera benchmarks.

* :func:`import_tessera` makes the repository importable as ``tessera``
  (a symlink in a temp folder put on ``sys.path``), so a fresh clone works.
* :func:`make_uint16_x4`, :func:`make_float32` write the synthetic test
  rasters strip by strip (never the whole raster in memory), deterministically.
* :func:`measure` runs one command in its own process tree, timing it with
  ``time.perf_counter`` and polling ``/proc`` for the peak resident memory of
  every process in the tree (no psutil needed).
* :func:`compare_rasters` compares two rasters on one pixel lattice, strip by strip.
* :func:`print_table`, :func:`max_abs_diff`, :func:`ensure_tools`,
  :func:`gdal_creation_args`: the rest.

Every benchmark uses Debian's ``/usr/bin/python3`` (rasterio, scipy, GDAL's
Python bindings); :data:`PYTHON` is the interpreter running this module.
"""

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
DEFAULT_DATA = os.path.join(tempfile.gettempdir(), "tessera-bench")
PYTHON = sys.executable
MIB = 2 ** 20



#: The test rasters: file name -> (width, height, bands, dtype, nodata).
RASTERS = {
    "u16x4": ("u16x4_8192.tif", 8192, 8192, 4, "uint16", 0),
    "f32": ("f32_8192.tif", 8192, 8192, 1, "float32", -9999.0),
    "f32big": ("f32_30000.tif", 30000, 30000, 1, "float32", -9999.0),
}
STRIP_ROWS = 256
SEED = 20240611
#: Before each run, wait up to this long for other processes to leave the CPUs idle.
IDLE_WAIT_S = float(os.environ.get("TESSERA_BENCH_IDLE_WAIT", "300"))


# --------------------------------------------------------------------------- import

def import_tessera():
    """Import and return the ``tessera`` package from this checkout.

    The repository root is the plugin folder; a symlink named ``tessera`` to it
    is created in a per-checkout temp folder which goes first on ``sys.path``
    (spawned engine workers inherit ``sys.path``).
    """
    tag = hashlib.sha1(REPO_ROOT.encode()).hexdigest()[:10]
    folder = os.path.join(tempfile.gettempdir(), f"tessera-bench-import-{os.getuid()}-{tag}")
    link = os.path.join(folder, "tessera")
    os.makedirs(folder, exist_ok=True)
    if os.path.realpath(link) != os.path.realpath(REPO_ROOT):
        temp = f"{link}.{os.getpid()}"
        os.symlink(REPO_ROOT, temp)
        os.replace(temp, link)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import tessera
    return tessera


def gtiff_profile() -> dict:
    """The engine's own output creation options (rasterio form): every tool pays the
    same encoding cost."""
    import_tessera()
    from tessera.engine.raster_io import creation_options

    return creation_options()


def gtiff_creation() -> Dict[str, str]:
    """:func:`gtiff_profile` as GDAL ``-co`` options."""
    return {key.upper(): ("YES" if value is True else str(value).upper())
            for key, value in gtiff_profile().items() if key != "driver"}


def gdal_creation_args() -> List[str]:
    """:func:`gtiff_creation` as gdalwarp / gdal_translate arguments (``-co K=V`` ...)."""
    return [arg for key, value in gtiff_creation().items() for arg in ("-co", f"{key}={value}")]


def describe_checkout() -> str:
    """The engine version benchmarked: commit, and whether engine/ has uncommitted edits."""
    def git(*args):
        try:
            return subprocess.run(["git", "-C", REPO_ROOT, *args], capture_output=True,
                                  text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = " + uncommitted engine edits" if git("status", "--porcelain", "--", "engine") else ""
    return f"tessera {commit}{dirty}, {os.cpu_count()} CPUs, {PYTHON}"


# --------------------------------------------------------------------------- data

def raster_path(data_dir: str, key: str) -> str:
    return os.path.join(data_dir, RASTERS[key][0])


def _waves(rng: np.random.Generator, count: int, size: int):
    """Random (row frequency, col frequency, row phase, col phase, amplitude) tuples."""
    periods = rng.uniform(size / 12, size / 1.5, (count, 2))
    return [(2 * np.pi / py, 2 * np.pi / px, *rng.uniform(0, 2 * np.pi, 2), amp)
            for (py, px), amp in zip(periods, rng.uniform(0.3, 1.0, count))]


def _smooth(rows: np.ndarray, cols: np.ndarray, waves) -> np.ndarray:
    """Sum of separable sine products over global pixel coordinates, roughly in [-1, 1]."""
    total = np.zeros((rows.size, cols.size))
    for ky, kx, py, px, amp in waves:
        total += amp * np.outer(np.sin(ky * rows + py), np.cos(kx * cols + px))
    return total / sum(w[-1] for w in waves)


def _holes(rng: np.random.Generator, width: int, height: int, count: int = 6):
    """A few nodata patches: discs (cy, cx, r) and one rectangle (r0, r1, c0, c1)."""
    size = min(width, height)
    discs = [(rng.uniform(0, height), rng.uniform(0, width), rng.uniform(size / 80, size / 25))
             for _ in range(count)]
    r0, c0 = int(height * 0.7), int(width * 0.1)
    return discs, (r0, r0 + height // 40, c0, c0 + width // 5)


def _hole_mask(rows: np.ndarray, cols: np.ndarray, holes) -> np.ndarray:
    discs, (r0, r1, c0, c1) = holes
    mask = np.zeros((rows.size, cols.size), dtype=bool)
    for cy, cx, r in discs:
        if rows[0] - r <= cy <= rows[-1] + r:
            mask |= (rows[:, None] - cy) ** 2 + (cols[None, :] - cx) ** 2 <= r * r
    mask[(rows >= r0) & (rows < r1)] |= (cols >= c0) & (cols < c1)
    return mask


def _write_strips(path: str, width: int, height: int, count: int, dtype: str,
                  nodata: float, make_strip) -> None:
    """Write ``make_strip(strip_index, rows, cols) -> (count, n, width)`` strip by strip.

    Written to a ``.partial`` file renamed into place at the end, so an
    interrupted run never leaves a file that a later run would skip.
    """
    import rasterio
    from rasterio.transform import from_origin

    profile = dict(gtiff_profile(), width=width, height=height, count=count, dtype=dtype,
                   nodata=nodata, crs="EPSG:32633",
                   transform=from_origin(500000.0, 5500000.0, 10.0, 10.0))
    temp = path + ".partial"
    cols = np.arange(width, dtype=np.float64)
    with rasterio.open(temp, "w", **profile) as ds:
        for index, top in enumerate(range(0, height, STRIP_ROWS)):
            rows = np.arange(top, min(top + STRIP_ROWS, height), dtype=np.float64)
            strip = make_strip(index, rows, cols)
            ds.write(strip, window=rasterio.windows.Window(0, top, width, rows.size))
    os.replace(temp, path)


def make_uint16_x4(path: str, width: int = 8192, height: int = 8192) -> None:
    """A 4-band uint16 'reflectance' raster (1..10000, nodata 0 in a few patches)."""
    _write_strips(path, width, height, 4, "uint16", 0, uint16_x4_strips(width, height))


def uint16_x4_strips(width: int, height: int):
    """The strip maker of :func:`make_uint16_x4`'s raster: ``strip(index, rows, cols)``
    returns the ``(4, rows, cols)`` uint16 pixels of strip ``index`` (rows
    ``index * STRIP_ROWS`` onwards; its noise is seeded by ``index``), so other
    benchmarks can cut pieces of the same synthetic raster strip by strip."""
    rng = np.random.default_rng(SEED)
    waves = [_waves(rng, 5, min(width, height)) for _ in range(4)]
    holes = _holes(rng, width, height)
    levels = (1500.0, 2500.0, 2000.0, 4500.0)

    def strip(index, rows, cols):
        noise = np.random.default_rng([SEED, 1, index])
        out = np.empty((4, rows.size, cols.size), dtype=np.uint16)
        hole = _hole_mask(rows, cols, holes)
        for band in range(4):
            values = levels[band] * (1 + 0.6 * _smooth(rows, cols, waves[band]))
            values += noise.normal(0, 120, values.shape)
            out[band] = np.clip(np.rint(values), 1, 10000)
            out[band][hole] = 0
        return out

    return strip


def make_float32(path: str, width: int = 8192, height: int = 8192) -> None:
    """A 1-band float32 'elevation' raster (hills plus noise, nodata -9999 in a few patches)."""
    rng = np.random.default_rng([SEED, width])
    waves = _waves(rng, 6, min(width, height))
    holes = _holes(rng, width, height)

    def strip(index, rows, cols):
        noise = np.random.default_rng([SEED, 2, index])
        values = 800.0 + 600.0 * _smooth(rows, cols, waves)
        values += noise.normal(0, 4, values.shape)
        values[_hole_mask(rows, cols, holes)] = -9999.0
        return values.astype(np.float32)[None]

    _write_strips(path, width, height, 1, "float32", -9999.0, strip)


def ensure_raster(data_dir: str, key: str) -> str:
    """Path of test raster ``key`` in ``data_dir``, generated first if it does not exist."""
    os.makedirs(data_dir, exist_ok=True)
    name, width, height, count, dtype, _ = RASTERS[key]
    path = os.path.join(data_dir, name)
    if os.path.exists(path):
        return path
    print(f"generating {path} ({width} x {height} x {count} {dtype}) ...", flush=True)
    start = time.perf_counter()
    (make_uint16_x4 if dtype == "uint16" else make_float32)(path, width, height)
    print(f"  done in {time.perf_counter() - start:.1f} s, "
          f"{os.path.getsize(path) / MIB:.0f} MiB on disk", flush=True)
    return path


# --------------------------------------------------------------------------- tools

def ensure_tools(commands: Dict[str, str]) -> None:
    """Install the Debian packages of each missing command (``{command: "pkg1 pkg2"}``)."""
    missing = sorted({pkg for cmd, pkgs in commands.items() if shutil.which(cmd) is None
                      for pkg in pkgs.split()})
    if missing:
        print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


# --------------------------------------------------------------------------- measuring

@dataclass
class Proc:
    """One process of a measured tree and its peak resident set (VmHWM)."""

    pid: int
    ppid: int
    command: str
    peak_mib: float = 0.0


@dataclass
class Run:
    """Outcome of :func:`measure`.

    ``peak_mib`` is the largest, over polls, sum of the peak RSS (VmHWM) of the
    processes alive at that poll: an upper bound of the tree's concurrent RSS
    that never misses a spike of a live process; ``procs`` has each process's
    own peak. ``cpu`` is the user + system CPU seconds of the whole tree;
    ``other_cpu`` the CPU seconds the rest of the machine used meanwhile (busy
    and stolen time less ``cpu`` and this script's polling): when it is not
    small, timings are disturbed.
    """

    label: str
    command: List[str]
    returncode: int
    wall: float
    peak_mib: float
    cpu: float = 0.0
    other_cpu: float = 0.0
    procs: List[Proc] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> dict:
        """The last stdout line parsed as JSON (how helper scripts report details)."""
        lines = self.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    def find(self, word: str) -> List[Proc]:
        return [p for p in self.procs if word in p.command]


def _ppids() -> Dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    found[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return found


def hwm_mib(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def process_command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class _TreeMonitor(threading.Thread):
    """Polls /proc every ``interval`` s for the process tree under ``root``."""

    def __init__(self, root: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.procs: Dict[int, Proc] = {}
        self.peak_mib = 0.0
        self.done = threading.Event()

    def sample(self) -> None:
        parents = _ppids()
        tree, frontier = {self.root}, [self.root]
        children: Dict[int, List[int]] = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        while frontier:
            for child in children.get(frontier.pop(), []):
                if child not in tree:
                    tree.add(child)
                    frontier.append(child)
        total = 0.0
        for pid in tree:
            hwm = hwm_mib(pid)
            if hwm is None:
                continue
            proc = self.procs.get(pid)
            if proc is None:
                proc = self.procs[pid] = Proc(pid, parents.get(pid, 0), process_command(pid))
            proc.peak_mib = max(proc.peak_mib, hwm)
            total += proc.peak_mib
        self.peak_mib = max(self.peak_mib, total)

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy or stolen since boot (from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_idle(limit: float = IDLE_WAIT_S, busy_cpus: float = 0.2) -> None:
    """Wait (up to ``limit`` s) until other processes use under ``busy_cpus`` CPUs."""
    deadline = time.monotonic() + limit
    told = False
    while True:
        before = _busy_seconds()
        time.sleep(1.0)
        load = _busy_seconds() - before
        if load < busy_cpus or time.monotonic() > deadline:
            break
        if not told:
            print(f"  machine busy ({load:.1f} CPUs used by others): waiting up to "
                  f"{limit:.0f} s for it to be idle ...", flush=True)
            told = True


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(label: str, command: Sequence[str], env: Optional[dict] = None,
            cwd: Optional[str] = None) -> Run:
    """Run ``command`` to completion; wall time, CPU and peak memory of its process tree.

    The tree's CPU comes from ``RUSAGE_CHILDREN`` (every descendant is reaped
    by its parent, so it is counted), which needs runs to be sequential.
    """
    wait_for_idle()
    print(f"[{label}] {' '.join(command)}", flush=True)
    busy, cpu, own = _busy_seconds(), _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=cwd)
    monitor = _TreeMonitor(proc.pid)
    monitor.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    own = _cpu(resource.RUSAGE_SELF) - own  # this script, polling /proc
    other = max(0.0, _busy_seconds() - busy - cpu - own)
    monitor.done.set()
    monitor.join()
    run = Run(label, list(command), proc.returncode, wall, monitor.peak_mib, cpu, other,
              sorted(monitor.procs.values(), key=lambda p: p.pid), stdout, stderr)
    status = "ok" if run.ok else f"FAILED (exit {run.returncode})"
    print(f"[{label}] {status}: {wall:.2f} s, CPU {cpu:.1f} s, peak RSS {run.peak_mib:.0f} MiB, "
          f"other processes' CPU {other:.1f} s", flush=True)
    if not run.ok:
        print(f"[{label}] stderr:\n{stderr.strip()[-4000:]}", flush=True)
    return run


def tessera_command(*args: str) -> List[str]:
    """The command running ``bench/run_tessera.py`` with ``args`` in a fresh interpreter."""
    return [PYTHON, os.path.join(BENCH_DIR, "run_tessera.py"), *args]


# --------------------------------------------------------------------------- reporting

@dataclass
class Row:
    """One line of a result table."""

    tool: str
    wall: Optional[float]
    peak_mib: Optional[float]
    cpu: Optional[float] = None
    note: str = ""


def row(run: Run, tool: Optional[str] = None, note: str = "") -> Row:
    """The table row of ``run``; notes a failure, and other processes' load when large."""
    if not run.ok:
        return Row(tool or run.label, None, None, None, f"FAILED (exit {run.returncode})")
    if run.other_cpu > 0.1 * run.wall:
        note = "; ".join(filter(None, [note, f"BUSY MACHINE: others used {run.other_cpu:.0f} "
                                             f"CPU s meanwhile"]))
    return Row(tool or run.label, run.wall, run.peak_mib, run.cpu, note)


def _cell(value: Optional[float], width: int, digits: int) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_table(title: str, rows: Sequence[Row], reference: Optional[float],
                ours_over_row: bool = False) -> None:
    """Print tool, wall s, ratio to ``reference`` (ours, processes x2), peak RSS and CPU s.

    The ratio is the row's wall time over ours (``x ours``), or with
    ``ours_over_row`` ours over the row's (``ours/row``: below 1, ours is faster).
    """
    print(f"\n{title}")
    label, width = ("ours/row", 8) if ours_over_row else ("x ours", 7)
    header = f"{'tool':<38} {'wall s':>8} {label:>{width}} {'peak RSS MiB':>13} {'CPU s':>7}  note"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = None
        if r.wall is not None and reference:
            ratio = reference / r.wall if ours_over_row else r.wall / reference
        print(f"{r.tool:<38} {_cell(r.wall, 8, 2)} {_cell(ratio, width, 2)} "
              f"{_cell(r.peak_mib, 13, 0)} {_cell(r.cpu, 7, 1)}  {r.note}".rstrip())
    print(flush=True)


def read_band(path: str, band: int = 1):
    """The whole band as float64 and its nodata mask (True = valid)."""
    import rasterio

    with rasterio.open(path) as ds:
        values = ds.read(band).astype(np.float64)
        nodata = ds.nodata
    valid = ~np.isnan(values)
    if nodata is not None and not np.isnan(nodata):
        valid &= values != nodata
    return values, valid


def max_abs_diff(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """Largest |a - b| over ``where`` (NaN when ``where`` is empty)."""
    return float(np.abs(a[where] - b[where]).max()) if where.any() else float("nan")


def valid_mask(ds, values: np.ndarray, nodata: Optional[float] = None) -> np.ndarray:
    """Valid pixels of ``values`` read from ``ds``: not NaN and not its nodata (``nodata``
    when the file has none, e.g. a tool that does not write the tag)."""
    valid = ~np.isnan(values)
    value = ds.nodata if ds.nodata is not None else nodata
    if value is not None and not np.isnan(value):
        valid &= values != value
    return valid


def compare_rasters(a: str, b: str, nodata: Optional[float] = None) -> dict:
    """Compare two rasters on one pixel lattice (same CRS and pixel size, whole-pixel
    offset; extents may differ), strip by strip over the common extent, all bands.

    Returns ``max_abs`` and ``mean_abs`` of ``|a - b|`` over pixels valid in both,
    ``both``, ``only_a``, ``only_b`` (pixel-band counts in the common extent), the
    ``offset`` (row, col) of ``b``'s origin in ``a``'s grid, both ``shapes`` and
    ``same_grid``; or ``{"error": ...}`` when the lattices differ.
    """
    import math
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(a) as da, rasterio.open(b) as db:
        ta, tb = da.transform, db.transform
        if da.crs != db.crs:
            return {"error": f"CRS {da.crs} vs {db.crs}"}
        if not (math.isclose(ta.a, tb.a, rel_tol=1e-9) and math.isclose(ta.e, tb.e, rel_tol=1e-9)
                and ta.b == tb.b == 0 and ta.d == tb.d == 0):
            return {"error": f"pixel size {da.res} vs {db.res}"}
        col, row = (tb.c - ta.c) / ta.a, (tb.f - ta.f) / ta.e
        if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
            return {"error": f"grids shifted by a fraction of a pixel ({row:.4f}, {col:.4f})"}
        row, col = int(round(row)), int(round(col))
        r0, c0 = max(0, row), max(0, col)
        r1, c1 = min(da.height, row + db.height), min(da.width, col + db.width)
        bands = min(da.count, db.count)
        result = {"offset": [row, col], "shapes": [[da.count, da.height, da.width],
                                                   [db.count, db.height, db.width]],
                  "same_grid": (row, col) == (0, 0) and (da.height, da.width, da.count) ==
                  (db.height, db.width, db.count),
                  "max_abs": 0.0, "mean_abs": float("nan"), "both": 0, "only_a": 0, "only_b": 0}
        total = 0.0
        for top in range(r0, r1, STRIP_ROWS):
            rows = min(STRIP_ROWS, r1 - top)
            va = da.read(list(range(1, bands + 1)),
                         window=Window(c0, top, c1 - c0, rows)).astype(np.float64)
            vb = db.read(list(range(1, bands + 1)),
                         window=Window(c0 - col, top - row, c1 - c0, rows)).astype(np.float64)
            ok_a, ok_b = valid_mask(da, va, nodata), valid_mask(db, vb, nodata)
            both = ok_a & ok_b
            if both.any():
                diff = np.abs(va[both] - vb[both])
                result["max_abs"] = max(result["max_abs"], float(diff.max()))
                total += float(diff.sum())
            result["both"] += int(both.sum())
            result["only_a"] += int((ok_a & ~ok_b).sum())
            result["only_b"] += int((ok_b & ~ok_a).sum())
        if result["both"]:
            result["mean_abs"] = total / result["both"]
    return result


def tile_set_command(description: str, default_size: int, size_help: str,
                     manifest_of: Callable[[str, int], str],
                     ensure: Callable[[str, int], dict]) -> None:
    """The command line of a tile-set maker (``--data``, ``--size``, ``--force``):
    ``--force`` deletes the set's manifest (``manifest_of(data, size)``) so ``ensure``
    regenerates it; prints the set's folder, tile size and overlap as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    data_dir_argument(parser)
    parser.add_argument("--size", type=int, default=default_size, help=size_help)
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args()
    manifest = manifest_of(args.data, args.size)
    if args.force and os.path.exists(manifest):
        os.remove(manifest)
    info = ensure(args.data, args.size)
    print(json.dumps({"folder": info["folder"], "tile_size": info["tile_size"],
                      "overlap": info["overlap"]}))


def data_dir_argument(parser) -> None:
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help=f"folder of test rasters and outputs (default {DEFAULT_DATA})")


def remove_outputs(paths) -> None:
    """Delete the benchmark outputs that exist (the inputs are kept for the next run)."""
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


def tile_paths(info: dict) -> List[str]:
    """The tile paths of a data set described by ``make_*_data`` (its ``tiles`` entries)."""
    return [t["path"] for t in info["tiles"]]
