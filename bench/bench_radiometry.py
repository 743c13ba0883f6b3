"""Radiometric-normalization benchmark: 4 distorted overlapping tiles brought back together.

Usage::

    /usr/bin/python3 bench/bench_radiometry.py [--size 3000] [--data /tmp/tessera-bench]
        [--keep] [--only tessera-global tessera-local spectralmatch-global ...]

On the tiles of ``make_radiometry_data.py`` (4 tiles cut from a seamless truth
mosaic, each with a known per-band gain and offset and a smooth illumination
field), runs side by side, each in its own measured process tree:

* ``input``: the distorted tiles as they are (baseline, nothing is run);
* ``tessera-global`` / ``tessera-local``: Tessera's ``global_regression``, then
  (``global+local``) ``local_block_adjustment`` on its outputs, processes x2,
  window 512, engine defaults, through ``tessera_radiometry_runner.py``;
  ``tessera-local-sm`` the same with spectralmatch's local settings (gamma
  correction, reference map = mean of the images' block maps);
* ``spectralmatch-global`` / ``spectralmatch-local``: spectralmatch 1.0.4's
  ``global_regression`` then ``local_block_adjustment`` (window 512, 100 blocks,
  its defaults otherwise, 2 image-level process workers) in its own venv,
  through ``spectralmatch_runner.py``;
* ``otb``: ``otbcli_Mosaic -harmo.method band`` (Debian's ``otb-bin``), which
  writes one harmonized mosaic instead of per-tile images.

and prints, per method: RMSE vs truth, affine RMSE, seam MAD (see
:func:`tile_metrics`), wall s, peak RSS MiB and CPU s, then the ratios of
Tessera's rows to spectralmatch's. Metrics are computed after the runs,
windowed, outside the measured commands.
"""

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import common
import make_radiometry_data

SPECTRALMATCH_VERSION = "1.0.4"
SPECTRALMATCH_VENV = os.environ.get(
    "TESSERA_SPECTRALMATCH_VENV",
    os.path.join(os.path.expanduser("~"), ".cache", "tessera", "venv-spectralmatch"))
SPECTRALMATCH_DEPS = ("numpy", "rasterio", "scipy", "fiona", "geopandas", "scikit-image",
                      "opencv-python-headless", "fire", "tqdm", "matplotlib")
STUBS = os.path.join(common.BENCH_DIR, "stubs")
WORKERS = 2
WINDOW = 512
STRIP_ROWS = 256

#: method key -> table label, in run order.
METHODS = {
    "input": "input (distorted tiles)",
    "undo-gain-offset": "ref: gain/offset undone",
    "undo-all": "ref: all distortions undone",
    "tessera-global": "tessera global",
    "tessera-local": "tessera global+local",
    "tessera-local-sm": "tessera g+l gamma, blocks ref",
    "spectralmatch-global": "spectralmatch global",
    "spectralmatch-local": "spectralmatch global+local",
    "otb": "OTB Mosaic -harmo.method band",
}
#: Rows compared: tessera method -> spectralmatch method.
PAIRS = {"tessera-global": "spectralmatch-global", "tessera-local": "spectralmatch-local",
         "tessera-local-sm": "spectralmatch-local"}


# --------------------------------------------------------------------------- peers

def ensure_spectralmatch(venv: str = SPECTRALMATCH_VENV) -> str:
    """The Python of a venv with spectralmatch (created with ``/usr/bin/python3 -m venv``
    and pip when missing); spectralmatch goes in with ``--no-deps`` (its pinned
    dependencies include omnicloudmask and torch), its real dependencies after it."""
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import spectralmatch, sys; "
             f"sys.exit(spectralmatch.__version__ != '{SPECTRALMATCH_VERSION}')"]
    if os.path.exists(python) and subprocess.run(
            check, env=spectralmatch_env(), capture_output=True).returncode == 0:
        return python
    print(f"installing spectralmatch {SPECTRALMATCH_VERSION} into {venv} ...", flush=True)
    if not os.path.exists(python):
        subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True)
    pip = [python, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", f"spectralmatch=={SPECTRALMATCH_VERSION}"], check=True)
    subprocess.run([*pip, *SPECTRALMATCH_DEPS], check=True)
    subprocess.run(check, env=spectralmatch_env(), check=True)
    return python


def spectralmatch_env() -> dict:
    """The environment of spectralmatch runs: the ``omnicloudmask`` stub importable."""
    return dict(os.environ, PYTHONPATH=STUBS)


def otb_version() -> str:
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "otb-bin"],
                              capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def otb_command(tiles: Sequence[str], output: str) -> List[str]:
    """``otbcli_Mosaic`` with band-wise harmonization, nodata -9999, the engine's
    creation options (as a GDAL extended filename) and int16 output like the tiles."""
    options = "".join(f"&gdal:co:{k}={v}" for k, v in common.gtiff_creation().items())
    return ["otbcli_Mosaic", "-il", *tiles, "-harmo.method", "band", "-nodata", "-9999",
            "-out", f"{output}?{options}", "int16"]


def tessera_available() -> Tuple[bool, str]:
    """Whether the engine's radiometry modules exist and import (checked in a subprocess)."""
    code = ("import common; common.import_tessera(); "
            "import tessera.engine.global_regression, tessera.engine.local_adjustment")
    done = subprocess.run([common.PYTHON, "-c", code], cwd=common.BENCH_DIR,
                          capture_output=True, text=True)
    if done.returncode == 0:
        return True, ""
    lines = done.stderr.strip().splitlines()
    return False, lines[-1] if lines else f"exit {done.returncode}"


# --------------------------------------------------------------------------- metrics

@dataclass
class Moments:
    """Per-band running count, means and co-moments of (output x, truth y), merged
    chunk by chunk (Chan et al.), plus the sum of squared differences."""

    bands: int
    n: np.ndarray = None
    mx: np.ndarray = None
    my: np.ndarray = None
    cxx: np.ndarray = None
    cyy: np.ndarray = None
    cxy: np.ndarray = None
    sse: np.ndarray = None

    def __post_init__(self):
        for name in ("n", "mx", "my", "cxx", "cyy", "cxy", "sse"):
            setattr(self, name, np.zeros(self.bands))

    def add(self, band: int, x: np.ndarray, y: np.ndarray) -> None:
        nb = x.size
        if nb == 0:
            return
        mxb, myb = x.mean(), y.mean()
        dxb, dyb = x - mxb, y - myb
        na = self.n[band]
        n = na + nb
        dx, dy = mxb - self.mx[band], myb - self.my[band]
        w = na * nb / n
        self.cxx[band] += float(dxb @ dxb) + dx * dx * w
        self.cyy[band] += float(dyb @ dyb) + dy * dy * w
        self.cxy[band] += float(dxb @ dyb) + dx * dy * w
        self.mx[band] += dx * nb / n
        self.my[band] += dy * nb / n
        self.n[band] = n
        d = x - y
        self.sse[band] += float(d @ d)

    def rmse(self) -> np.ndarray:
        return np.sqrt(self.sse / self.n)

    def affine(self) -> Dict[str, np.ndarray]:
        """Least squares truth ~ g * out + o per band: g, o and the residual RMSE."""
        gain = self.cxy / self.cxx
        offset = self.my - gain * self.mx
        residual = np.maximum(self.cyy - self.cxy ** 2 / self.cxx, 0.0)
        return {"gain": gain, "offset": offset, "rmse": np.sqrt(residual / self.n)}


def _valid(ds, values: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(values)
    if ds.nodata is not None and not math.isnan(ds.nodata):
        valid &= values != ds.nodata
    return valid


def _placement(ds, truth) -> Tuple[int, int]:
    """(row, col) of ``ds``'s upper-left pixel in the truth's grid (same CRS and pixel size,
    whole-pixel shift), or ValueError."""
    a, t = ds.transform, truth.transform
    if ds.crs != truth.crs:
        raise ValueError(f"{ds.name}: CRS {ds.crs} is not the truth's {truth.crs}")
    if not (math.isclose(a.a, t.a, rel_tol=1e-9) and math.isclose(a.e, t.e, rel_tol=1e-9)
            and a.b == 0 and a.d == 0):
        raise ValueError(f"{ds.name}: pixel size {ds.res} is not the truth's {truth.res}")
    col, row = (a.c - t.c) / t.a, (a.f - t.f) / t.e
    if abs(col - round(col)) > 1e-3 or abs(row - round(row)) > 1e-3:
        raise ValueError(f"{ds.name}: not on the truth's pixel grid ({row}, {col})")
    return int(round(row)), int(round(col))


def _overlap(a: Tuple[int, int, int, int], b: Tuple[int, int, int, int]):
    """Intersection of two (row0, col0, row1, col1) rectangles, or None."""
    r0, c0 = max(a[0], b[0]), max(a[1], b[1])
    r1, c1 = min(a[2], b[2]), min(a[3], b[3])
    return (r0, c0, r1, c1) if r0 < r1 and c0 < c1 else None


def _read(ds, rect, origin) -> Tuple[np.ndarray, np.ndarray]:
    """Pixels of truth-grid rectangle ``rect`` from ``ds`` placed at ``origin``: float64
    values and validity (bands, rows, cols)."""
    from rasterio.windows import Window

    r0, c0, r1, c1 = rect
    window = Window(c0 - origin[1], r0 - origin[0], c1 - c0, r1 - r0)
    values = ds.read(window=window).astype(np.float64)
    return values, _valid(ds, values)


def _strips(rect):
    r0, c0, r1, c1 = rect
    for top in range(r0, r1, STRIP_ROWS):
        yield top, c0, min(top + STRIP_ROWS, r1), c1


def tile_metrics(paths: Sequence[str], truth_path: str, seams: bool = True) -> dict:
    """Metrics of output rasters ``paths`` (tiles or one mosaic) against the truth.

    Over pixels valid in both an output and the truth, every output's pixels
    pooled (a pixel of an overlap counts once per tile covering it):

    * ``rmse``: per band, sqrt(mean((out - truth)^2)); ``rmse_mean`` averages
      the bands' RMSEs;
    * ``affine_rmse``: per band, fit truth ~ g * out + o by least squares (one
      g, o per band for all outputs together), RMSE of the residual; averaged
      over bands likewise (relative normalization is only defined up to that
      one common gain/offset);
    * ``seam_mad``: for each pair of outputs that overlap, per band, the mean
      of |a - b| over their overlap's pixels valid in both; averaged over bands,
      then over pairs (None for a single output).
    """
    import rasterio

    with rasterio.open(truth_path) as truth:
        datasets = [rasterio.open(p) for p in paths]
        try:
            bands = truth.count
            moments = Moments(bands)
            places, rects = [], []
            for ds in datasets:
                if ds.count < bands:
                    raise ValueError(f"{ds.name}: {ds.count} bands, the truth has {bands}")
                origin = _placement(ds, truth)
                places.append(origin)
                rects.append((*origin, origin[0] + ds.height, origin[1] + ds.width))
            whole = (0, 0, truth.height, truth.width)
            for ds, origin, rect in zip(datasets, places, rects):
                inside = _overlap(rect, whole)
                if inside is None:
                    continue
                for strip in _strips(inside):
                    out, out_valid = _read(ds, strip, origin)
                    ref, ref_valid = _read(truth, strip, (0, 0))
                    out, out_valid = out[:bands], out_valid[:bands]
                    both = out_valid & ref_valid
                    for b in range(bands):
                        moments.add(b, out[b][both[b]], ref[b][both[b]])
            pairs = []
            if seams and len(datasets) > 1:
                for i, j in itertools.combinations(range(len(datasets)), 2):
                    rect = _overlap(rects[i], rects[j])
                    if rect is None:
                        continue
                    total, count = np.zeros(bands), np.zeros(bands)
                    for strip in _strips(rect):
                        a, a_valid = _read(datasets[i], strip, places[i])
                        b_, b_valid = _read(datasets[j], strip, places[j])
                        both = (a_valid & b_valid)[:bands]
                        diff = np.abs(a[:bands] - b_[:bands])
                        total += np.where(both, diff, 0).sum(axis=(1, 2))
                        count += both.sum(axis=(1, 2))
                    if count.all():
                        pairs.append({"pair": [os.path.basename(paths[i]),
                                               os.path.basename(paths[j])],
                                      "pixels": int(count[0]), "mad": (total / count).tolist()})
        finally:
            for ds in datasets:
                ds.close()
    affine = moments.affine()
    rmse = moments.rmse()
    return {
        "pixels": moments.n.astype(int).tolist(),
        "rmse": rmse.tolist(), "rmse_mean": float(rmse.mean()),
        "rmse_pooled": float(np.sqrt(moments.sse.sum() / moments.n.sum())),
        "affine_gain": affine["gain"].tolist(), "affine_offset": affine["offset"].tolist(),
        "affine_rmse": affine["rmse"].tolist(), "affine_rmse_mean": float(affine["rmse"].mean()),
        "seam_pairs": pairs,
        "seam_mad": float(np.mean([np.mean(p["mad"]) for p in pairs])) if pairs else None,
    }


# --------------------------------------------------------------------------- running

@dataclass
class Result:
    key: str
    run: Optional[common.Run] = None
    outputs: List[str] = field(default_factory=list)
    metrics: Optional[dict] = None
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return METHODS[self.key]


def write_references(info: dict, folder: str, illumination: bool) -> List[str]:
    """The tiles with their known distortions undone (float32, windowed, bench side):
    ``(tile - offset) / gain``, and with ``illumination`` also divided by the
    illumination field. The first is the best any method with one gain and offset
    per tile and band can do; the second checks the metrics (RMSE ~ rounding)."""
    import rasterio
    from rasterio.windows import Window

    outputs = []
    for t in info["tiles"]:
        output = os.path.join(folder, t["name"])
        with rasterio.open(t["path"]) as src:
            profile = dict(common.gtiff_profile(), width=src.width, height=src.height,
                           count=src.count, dtype="float32", nodata=src.nodata, crs=src.crs,
                           transform=src.transform)
            with rasterio.open(output, "w", **profile) as dst:
                for top in range(0, src.height, STRIP_ROWS):
                    rows = min(STRIP_ROWS, src.height - top)
                    window = Window(0, top, src.width, rows)
                    values = src.read(window=window).astype(np.float64)
                    valid = values != src.nodata
                    field_ = (make_radiometry_data.illumination(
                        t["illumination"], np.arange(top, top + rows), np.arange(src.width),
                        t["width"]) if illumination else 1.0)
                    for b in range(src.count):
                        values[b] = (values[b] - t["offset"][b]) / t["gain"][b] / field_
                    dst.write(np.where(valid, values, src.nodata).astype(np.float32),
                              window=window)
        outputs.append(output)
    return outputs


def _fresh(folder: str) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def run_method(key: str, info: dict, out_dir: str, sm_python: Optional[str],
               tessera_ok: Tuple[bool, str], blocks: str = "100",
               timeout: Optional[float] = None) -> Result:
    result = Result(key)
    tiles = common.tile_paths(info)
    if key == "input":
        result.outputs = list(tiles)
        return result
    folder = _fresh(os.path.join(out_dir, key))
    if key.startswith("undo"):
        result.outputs = write_references(info, folder, illumination=key == "undo-all")
        return result
    local = "-local" in key
    mode = ["--mode", "global+local" if local else "global",
            "--global-dir", os.path.join(folder, "global"),
            "--local-dir", os.path.join(folder, "local"), "--window", str(WINDOW),
            "--workers", str(WORKERS), "--blocks", blocks]
    if key.startswith("tessera"):
        if not tessera_ok[0]:
            result.note = f"engine not available: {tessera_ok[1]}"
            return result
        command = [common.PYTHON, os.path.join(common.BENCH_DIR, "tessera_radiometry_runner.py"),
                   *tiles, *mode, "--executor", "processes"]
        if key == "tessera-local-sm":  # spectralmatch's local correction and reference map
            command += ["--correction", "gamma", "--reference", "blocks"]
        result.run = common.measure(result.label, _limited(command, timeout))
    elif key.startswith("spectralmatch"):
        if sm_python is None:
            result.note = "spectralmatch venv not available"
            return result
        command = [sm_python, os.path.join(common.BENCH_DIR, "spectralmatch_runner.py"),
                   *tiles, *mode]
        result.run = common.measure(result.label, _limited(command, timeout),
                                    env=spectralmatch_env(),
                                    cwd=folder)
    elif key == "otb":
        if shutil.which("otbcli_Mosaic") is None:
            result.note = "otbcli_Mosaic not found (apt-get install otb-bin failed?)"
            return result
        mosaic = os.path.join(folder, "otb_mosaic.tif")
        result.run = common.measure(result.label, _limited(otb_command(tiles, mosaic), timeout))
        if result.run.ok:
            result.outputs = [mosaic]
            gains = [line.strip() for line in result.run.stdout.splitlines()
                     + result.run.stderr.splitlines() if "Gains" in line]
            result.details["otb_gains_per_band"] = gains
        else:
            result.note = _failure(result.run, timeout)
        return result
    if result.run.ok:
        report = result.run.json()
        result.details = {k: v for k, v in report.items() if k not in ("global", "local")}
        result.details["process_peaks_mib"] = [round(p.peak_mib) for p in result.run.procs
                                               if p.peak_mib >= 20]
        result.outputs = report["local" if local else "global"]
    else:
        result.note = _failure(result.run, timeout)
    return result


def _limited(command: List[str], timeout: Optional[float]) -> List[str]:
    """``command`` under coreutils ``timeout`` (SIGTERM, then SIGKILL 10 s later)."""
    return ["timeout", "-k", "10", f"{timeout:g}", *command] if timeout else command


def _failure(run: common.Run, timeout: Optional[float]) -> str:
    if timeout and run.returncode in (124, 137, -9):
        return f"TIMED OUT after {timeout:g} s (killed)"
    return f"FAILED (exit {run.returncode})"


# --------------------------------------------------------------------------- reporting

def _cell(value: Optional[float], width: int, digits: int) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def _text(value: Optional[float], width: int, digits: int, missing: str = "-") -> str:
    return f"{value:{width}.{digits}f}" if value is not None else f"{missing:>{width}}"


def print_results(title: str, results: Sequence[Result]) -> None:
    print(f"\n{title}")
    header = (f"{'method':<31} {'RMSE vs truth':>13} {'affine RMSE':>11} {'seam MAD':>9} "
              f"{'wall s':>8} {'peak MiB':>9} {'CPU s':>7}  note")
    print(header)
    print("-" * len(header))
    for r in results:
        m = r.metrics or {}
        run_row = common.row(r.run) if r.run is not None else None
        mosaic = r.key == "otb"
        note = "; ".join(filter(None, [r.note, run_row.note if run_row else "",
                                       "one mosaic: seam MAD n/a" if mosaic and m else ""]))
        print(f"{r.label:<31} {_text(m.get('rmse_mean'), 13, 1)} "
              f"{_text(m.get('affine_rmse_mean'), 11, 1)} "
              f"{_text(m.get('seam_mad'), 9, 1, 'n/a' if mosaic and m else '-')} "
              f"{_cell(run_row.wall if run_row else None, 8, 2)} "
              f"{_cell(run_row.peak_mib if run_row else None, 9, 0)} "
              f"{_cell(run_row.cpu if run_row else None, 7, 1)}  {note}".rstrip())
    print(flush=True)


def print_ratios(results: Dict[str, Result]) -> None:
    lines = []
    for ours, theirs in PAIRS.items():
        a, b = results.get(ours), results.get(theirs)
        if not (a and b and a.metrics and b.metrics and a.run and b.run):
            continue

        def ratio(x, y):
            return x / y if x is not None and y else None

        seam = ratio(a.metrics["seam_mad"], b.metrics["seam_mad"])
        lines.append(f"{a.label + ' / ' + b.label:<58} "
                     f"{_cell(ratio(a.metrics['rmse_mean'], b.metrics['rmse_mean']), 6, 2)} "
                     f"{_cell(ratio(a.metrics['affine_rmse_mean'], b.metrics['affine_rmse_mean']), 8, 2)} "
                     f"{_cell(seam, 6, 2)} {_cell(ratio(a.run.wall, b.run.wall), 6, 2)} "
                     f"{_cell(ratio(a.run.peak_mib, b.run.peak_mib), 6, 2)}")
    if lines:
        header = f"{'ratio (< 1: tessera lower)':<58} {'RMSE':>6} {'affine':>8} {'seam':>6} {'wall':>6} {'peak':>6}"
        print(header)
        print("-" * len(header))
        print("\n".join(lines), flush=True)


def print_details(results: Sequence[Result], truth_info: dict) -> None:
    print("\nper band (b1..b4): RMSE vs truth | affine RMSE | fitted truth = g * out + o")
    for r in results:
        m = r.metrics
        if not m:
            continue
        rmse = " ".join(f"{v:7.1f}" for v in m["rmse"])
        aff = " ".join(f"{v:6.1f}" for v in m["affine_rmse"])
        fit = " ".join(f"{g:.3f}x{o:+.0f}" for g, o in zip(m["affine_gain"], m["affine_offset"]))
        print(f"  {r.label:<31} {rmse} | {aff} | {fit}")
        if m["seam_pairs"]:
            print("  " + " " * 31 + " seam MAD per pair: " + ", ".join(
                f"{p['pair'][0].split('.')[0][5:9]}-{p['pair'][1].split('.')[0][5:9]} "
                f"{np.mean(p['mad']):.1f}" for p in m["seam_pairs"]))
        if r.details:
            print("  " + " " * 31 + " " + json.dumps(r.details))


# --------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--size", type=int, default=3000,
                        help="side of the truth mosaic (default 3000; 18000: 4 tiles of 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    parser.add_argument("--only", nargs="+", choices=list(METHODS), metavar="METHOD",
                        help=f"methods to run, among: {' '.join(METHODS)}")
    parser.add_argument("--blocks", default="100",
                        help="local block adjustment's blocks: a target count per image "
                             "(default 100, both tools' default) or ROWS,COLS over the canvas")
    parser.add_argument("--timeout", type=float,
                        help="stop a method's run after this many seconds (coreutils timeout)")
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args()
    keys = [k for k in METHODS if not args.only or k in args.only]

    print(common.describe_checkout(), flush=True)
    info = make_radiometry_data.ensure_radiometry_data(args.data, args.size)
    print(f"tiles: 4 x {info['tile_size']} x {info['tile_size']} x 4 int16, overlap "
          f"{info['overlap']} px, in {info['folder']}", flush=True)
    # One output folder per run: two runs on the same data never delete each other's outputs.
    out_dir = os.path.join(info["folder"], f"out-{os.getpid()}")
    print(f"outputs in {out_dir}" + ("" if args.keep else " (removed at the end)"), flush=True)

    sm_python = None
    if any(k.startswith("spectralmatch") for k in keys):
        try:
            sm_python = ensure_spectralmatch()
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"spectralmatch venv: {error}", flush=True)
    if "otb" in keys:
        try:
            common.ensure_tools({"otbcli_Mosaic": "otb-bin"})
            print(f"OTB (otb-bin) {otb_version()}", flush=True)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"OTB: {error}", flush=True)
    tessera_ok = tessera_available() if any(k.startswith("tessera") for k in keys) else (True, "")
    if not tessera_ok[0]:
        print(f"tessera radiometry engine not available: {tessera_ok[1]}", flush=True)

    results = {}
    for key in keys:
        results[key] = run_method(key, info, out_dir, sm_python, tessera_ok, args.blocks,
                                  args.timeout)
    for r in results.values():
        if r.outputs:
            try:
                r.metrics = tile_metrics(r.outputs, info["truth_path"], seams=r.key != "otb")
            except Exception as error:  # noqa: BLE001 - report and go on with the others
                r.note = "; ".join(filter(None, [r.note, f"metrics failed: {error!r}"]))

    print_results(f"radiometric normalization of 4 tiles {info['tile_size']} x "
                  f"{info['tile_size']} x 4 (truth {args.size} x {args.size}); metrics are "
                  f"means over the 4 bands", list(results.values()))
    print_ratios(results)
    print_details(list(results.values()), info)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {"metrics": r.metrics, "note": r.note, "details": r.details,
                           "wall": r.run.wall if r.run else None,
                           "peak_mib": r.run.peak_mib if r.run else None,
                           "cpu": r.run.cpu if r.run else None}
                       for k, r in results.items()}, f, indent=1)
    if not args.keep:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
