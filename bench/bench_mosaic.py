"""Mosaic benchmark: merge, align and seam visibility, Tessera vs gdalwarp, spectralmatch and OTB.

Usage::

    /usr/bin/python3 bench/bench_mosaic.py [--only merge align seams] [--size 6000]
        [--seam-size 3000] [--data /tmp/tessera-bench] [--keep] [--timeout S] [--json FILE]

Three sections, each tool in its own measured process tree (``common.measure``:
wall, peak RSS of the tree, CPU), side by side on the same data:

* **merge**: the 4 aligned, overlapping 4-band uint16 tiles of
  ``make_mosaic_data.py`` (a ``size x size`` mosaic) merged into one GeoTIFF by
  Tessera's ``mosaic`` (``last``; ``feather`` at footprint edges; ``feather``
  along seamlines made beforehand by ``seamlines``, timed on its own row), 2
  process workers, window 512; ``gdalwarp`` (single-threaded, and ``-multi -wo
  NUM_THREADS=2``) onto the same grid (``-te`` the union, ``-tr`` the tiles'
  pixel size) with the engine's creation options; spectralmatch 1.0.4's
  ``merge_rasters`` (2 image-level process workers, window 512). Then each
  output against gdalwarp's, pixel for pixel.
* **align**: the same tiles reprojected to ``EPSG:32634`` (the neighbouring UTM
  zone), 10 m, target-aligned pixels, bilinear: Tessera's ``align_rasters`` (2
  workers) vs ``gdalwarp -t_srs -tr -tap -r bilinear`` per tile (single, and
  ``-multi -wo NUM_THREADS=2``), same creation options; then, per tile, the
  largest and mean absolute difference to gdalwarp over pixels valid in both.
* **seams**: on the truth-known tiles of the radiometry benchmark
  (``make_radiometry_data.py``), whole pipelines to a final mosaic: Tessera
  (global regression -> local block adjustment -> seamlines, cost
  ``difference`` -> feathered mosaic along them), spectralmatch 1.0.4
  (``global_regression`` -> ``local_block_adjustment`` ->
  ``voronoi_center_seamline`` -> ``mask_rasters`` -> ``merge_rasters``), OTB
  (``otbcli_Mosaic -harmo.method band -comp.feather large``, and ``slim``), plus
  reference rows (the raw tiles cut hard; Tessera's normalized tiles cut hard
  along the same seamlines; feathered at footprint edges). The metric is the
  mean absolute gradient of the mosaic's error image near each tool's seams,
  against the same away from any overlap (see :func:`seam_metrics`).

Metrics are computed after the runs, strip by strip, outside the measured
commands.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import bench_radiometry
import common
import make_mosaic_data
import make_radiometry_data

WORKERS = 2
WINDOW = 512
TARGET_CRS = "EPSG:32634"
ALIGN_RESOLUTION = 10.0
#: Output pixels per tile checked against a textbook bilinear evaluation.
ALIGN_SAMPLES = 2000
#: Seam zone: pixels within this many pixels (Chebyshev) of a seam.
SEAM_PIXELS = 2
#: Floor zone: pixels covered by one tile only, farther than this from any other tile.
FLOOR_MARGIN = 32
#: The engine's automatic feather distance, in pixels (OTB slim gets the same length).
FEATHER_PIXELS = 10
STRIP_ROWS = 256
SECTIONS = ("merge", "align", "seams")
RUNNER = os.path.join(common.BENCH_DIR, "tessera_mosaic_runner.py")
SM_RUNNER = os.path.join(common.BENCH_DIR, "spectralmatch_runner.py")


@dataclass
class Result:
    """One row: a measured run, its outputs and figures."""

    key: str
    label: str
    run: Optional[common.Run] = None
    outputs: List[str] = field(default_factory=list)
    note: str = ""
    details: dict = field(default_factory=dict)
    metrics: Optional[dict] = None

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run.ok

    def table_row(self) -> common.Row:
        if self.run is None:
            return common.Row(self.label, None, None, None, self.note or "not run")
        row = common.row(self.run, self.label)
        row.note = "; ".join(filter(None, [self.note, row.note if self.run.ok else ""]))
        return row


# --------------------------------------------------------------------------- running

def _fresh(folder: str) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def _measure(result: Result, command: List[str], timeout: Optional[float], **kwargs) -> Result:
    result.run = common.measure(result.label, bench_radiometry._limited(command, timeout),
                                **kwargs)
    if not result.run.ok:
        result.note = "; ".join(filter(None, [result.note,
                                              bench_radiometry._failure(result.run, timeout)]))
    return result


def _report(result: Result) -> dict:
    """The runner's JSON line (empty when the run failed or printed none)."""
    if not result.ok:
        return {}
    try:
        return result.run.json()
    except ValueError:
        return {}


def tessera(key: str, label: str, args: Sequence[str], timeout: Optional[float]) -> Result:
    result = _measure(Result(key, label), [common.PYTHON, RUNNER, *args,
                                           "--workers", str(WORKERS), "--window", str(WINDOW)],
                      timeout)
    result.details = _report(result)
    return result


def spectralmatch(key: str, label: str, sm_python: Optional[str], args: Sequence[str],
                  folder: str, timeout: Optional[float]) -> Result:
    if sm_python is None:
        return Result(key, label, note="spectralmatch venv not available")
    result = _measure(Result(key, label), [sm_python, SM_RUNNER, *args, "--window", str(WINDOW),
                                           "--workers", str(WORKERS)], timeout,
                      env=bench_radiometry.spectralmatch_env(), cwd=folder)
    result.details = _report(result)
    return result


def shell(key: str, label: str, commands: Sequence[Sequence[str]],
          timeout: Optional[float]) -> Result:
    """Several commands run one after the other in one measured process tree."""
    if len(commands) == 1:
        return _measure(Result(key, label), list(commands[0]), timeout)
    script = " && ".join(shlex.join(c) for c in commands)
    return _measure(Result(key, label), ["sh", "-c", script], timeout)


def engine_modules() -> Dict[str, str]:
    """``{module: ""}`` when it imports, else the error's last line (checked in a subprocess)."""
    status = {}
    for module in ("mosaic", "align", "seamlines", "global_regression", "local_adjustment",
                   "mask_rasters"):
        code = f"import common; common.import_tessera(); import tessera.engine.{module}"
        done = subprocess.run([common.PYTHON, "-c", code], cwd=common.BENCH_DIR,
                              capture_output=True, text=True)
        lines = done.stderr.strip().splitlines()
        status[module] = "" if done.returncode == 0 else (lines[-1] if lines else "failed")
    return status


def _missing(modules: Dict[str, str], *names: str) -> str:
    return "; ".join(f"engine.{n} not available: {modules[n]}" for n in names if modules[n])


# --------------------------------------------------------------------------- merge

def bench_merge(info: dict, out: str, sm_python: Optional[str], modules: Dict[str, str],
                timeout: Optional[float]) -> List[Result]:
    tiles = common.tile_paths(info)
    folder = _fresh(os.path.join(out, "merge"))
    res = info["resolution"]
    left, top = info["origin"]
    bounds = [left, top - info["size"] * res, left + info["size"] * res, top]
    warp = ["gdalwarp", "-q", "-te", *[f"{v:.10g}" for v in bounds], "-tr", f"{res:g}",
            f"{res:g}", *common.gdal_creation_args()]
    results = []

    def ours(key, label, *args, needs=("mosaic",)):
        missing = _missing(modules, *needs)
        if missing:
            return Result(key, label, note=missing)
        return tessera(key, label, args, timeout)

    path = os.path.join(folder, "tessera_last.tif")
    r = ours("tessera-last", "tessera mosaic last (x2)", "merge", *tiles, "--output", path,
             "--method", "last")
    r.outputs = [path] if r.ok else []
    results.append(r)
    path = os.path.join(folder, "tessera_feather.tif")
    r = ours("tessera-feather", "tessera mosaic feather (x2)", "merge", *tiles,
             "--output", path, "--method", "feather")
    r.outputs = [path] if r.ok else []
    results.append(r)
    gpkg = os.path.join(folder, "seamlines.gpkg")
    r = ours("tessera-seamlines", "  tessera seamlines (geometry), prep", "seamlines", *tiles,
             "--output", gpkg, "--cost", "geometry", needs=("seamlines",))
    results.append(r)
    path = os.path.join(folder, "tessera_feather_seamlines.tif")
    if r.ok:
        r = ours("tessera-feather-seams", "tessera mosaic feather+seamlines (x2)", "merge",
                 *tiles, "--output", path, "--method", "feather", "--seamlines", gpkg)
        r.outputs = [path] if r.ok else []
    else:
        r = Result("tessera-feather-seams", "tessera mosaic feather+seamlines (x2)",
                   note="no seamlines (see the row above)")
    results.append(r)
    path = os.path.join(folder, "gdalwarp.tif")
    r = shell("gdalwarp", "gdalwarp", [[*warp, *tiles, path]], timeout)
    r.outputs = [path] if r.ok else []
    results.append(r)
    path = os.path.join(folder, "gdalwarp_multi.tif")
    r = shell("gdalwarp-multi", "gdalwarp -multi NUM_THREADS=2",
              [[*warp, "-multi", "-wo", f"NUM_THREADS={WORKERS}", *tiles, path]], timeout)
    r.outputs = [path] if r.ok else []
    results.append(r)
    path = os.path.join(folder, "spectralmatch_merge.tif")
    r = spectralmatch("spectralmatch-merge", "spectralmatch merge_rasters (x2)", sm_python,
                      ["--mode", "merge", "--output", path, *tiles], folder, timeout)
    r.outputs = [path] if r.ok else []
    results.append(r)
    return results


def check_merge(results: Sequence[Result]) -> List[str]:
    """Every hard-priority output against gdalwarp's, pixel for pixel."""
    by_key = {r.key: r for r in results}
    reference = by_key.get("gdalwarp")
    if not (reference and reference.outputs):
        return ["no gdalwarp output to compare with"]
    lines = []
    for r in results:
        if r.key == "gdalwarp" or not r.outputs:
            continue
        c = common.compare_rasters(reference.outputs[0], r.outputs[0])
        r.details["vs_gdalwarp"] = c
        kind = ("blend: differs by design" if "feather" in r.key else
                "expected identical" if r.key in ("tessera-last", "gdalwarp-multi") else
                "priority in completion order" if r.key == "spectralmatch-merge" else "")
        lines.append(_compare_line(r.label, c, kind))
    return lines


def _compare_line(label: str, c: dict, kind: str = "") -> str:
    if "error" in c:
        return f"  {label:<38} cannot compare: {c['error']}"
    grid = "same grid" if c["same_grid"] else f"grid offset {c['offset']}, shapes {c['shapes']}"
    return (f"  {label:<38} max |diff| {c['max_abs']:9.3f}  mean {c['mean_abs']:8.4f}  "
            f"valid in one only: {c['only_a'] + c['only_b']:>9} of {c['both']:>10} px-bands; "
            f"{grid}" + (f"  ({kind})" if kind else ""))


# --------------------------------------------------------------------------- align

def bench_align(info: dict, out: str, modules: Dict[str, str],
                timeout: Optional[float]) -> List[Result]:
    tiles = common.tile_paths(info)
    folder = _fresh(os.path.join(out, "align"))
    res = f"{ALIGN_RESOLUTION:g}"
    results = []
    label = "tessera align_rasters (x2)"
    missing = _missing(modules, "align")
    ours = os.path.join(folder, "tessera")
    if missing:
        results.append(Result("tessera-align", label, note=missing))
    else:
        r = tessera("tessera-align", label,
                    ["align", *tiles, "--output-dir", ours, "--target-crs", TARGET_CRS,
                     "--resolution", res, "--tap", "--resampling", "bilinear"], timeout)
        if r.ok:
            r.outputs = r.details.get("outputs") or [
                os.path.join(ours, f"{_stem(t)}_aligned.tif") for t in tiles]
        results.append(r)
    for key, label, extra in (("gdalwarp", "gdalwarp per tile", []),
                              ("gdalwarp-multi", "gdalwarp -multi NUM_THREADS=2 per tile",
                               ["-multi", "-wo", f"NUM_THREADS={WORKERS}"]),
                              ("gdalwarp-exact", "ref: gdalwarp -et 0 per tile", ["-et", "0"])):
        sub = _fresh(os.path.join(folder, key))
        outputs = [os.path.join(sub, f"{_stem(t)}_aligned.tif") for t in tiles]
        commands = [["gdalwarp", "-q", "-t_srs", TARGET_CRS, "-tr", res, res, "-tap",
                     "-r", "bilinear", *extra, *common.gdal_creation_args(), t, o]
                    for t, o in zip(tiles, outputs)]
        r = shell(key, label, commands, timeout)
        r.outputs = outputs if r.ok else []
        results.append(r)
    return results


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def check_align(results: Sequence[Result], tiles: Sequence[str]) -> List[str]:
    by_key = {r.key: r for r in results}
    reference = by_key.get("gdalwarp")
    if not (reference and reference.outputs):
        return ["no gdalwarp output to compare with"]
    lines = []
    for r in results:
        if r.key == "gdalwarp" or not r.outputs:
            continue
        lines.extend(_compare_tiles(r, reference, "vs_gdalwarp", "gdalwarp"))
    exact = by_key.get("gdalwarp-exact")
    ours = by_key.get("tessera-align")
    if exact and exact.outputs and ours and ours.outputs:
        lines.append("tessera vs gdalwarp -et 0 (exact coordinate transforms, no 0.125 px "
                     "approximation):")
        lines.extend(_compare_tiles(ours, exact, "vs_gdalwarp_exact", "gdalwarp -et 0"))
    lines.append(f"vs textbook bilinear at {ALIGN_SAMPLES} random output pixels per tile (band 1; "
                 f"pyproj's exact transform of the pixel centre, the 4 source pixels around it, "
                 f"all valid):")
    for r in results:
        if r.outputs and len(r.outputs) == len(tiles):
            errors = np.concatenate([bilinear_errors(t, o) for t, o in zip(tiles, r.outputs)])
            r.details["vs_textbook_bilinear"] = {
                "pixels": int(errors.size), "mean_abs": float(errors.mean()),
                "max_abs": float(errors.max())}
            lines.append(f"  {r.label:<38} |out - bilinear| mean {errors.mean():7.3f}  "
                         f"max {errors.max():8.3f}  over {errors.size} px")
    return lines


def bilinear_errors(tile: str, output: str, samples: int = None) -> np.ndarray:
    """|output - textbook bilinear| (band 1) at random output pixels (seeded) whose
    centre, mapped into ``tile`` by pyproj (exact), has 4 valid source pixels around it."""
    import rasterio
    from pyproj import Transformer

    samples = samples or ALIGN_SAMPLES
    with rasterio.open(tile) as src, rasterio.open(output) as out:
        source = src.read(1)
        values = out.read(1)
        transformer = Transformer.from_crs(out.crs, src.crs, always_xy=True)
        rng = np.random.default_rng([common.SEED, out.width, out.height])
        rows = rng.integers(0, out.height, samples * 4)
        cols = rng.integers(0, out.width, samples * 4)
        x, y = out.transform * (cols + 0.5, rows + 0.5)
        sx, sy = transformer.transform(np.asarray(x), np.asarray(y))
        col, row = ~src.transform * (np.asarray(sx), np.asarray(sy))
        col, row = np.asarray(col) - 0.5, np.asarray(row) - 0.5
        c0, r0 = np.floor(col).astype(int), np.floor(row).astype(int)
        inside = (r0 >= 0) & (c0 >= 0) & (r0 < src.height - 1) & (c0 < src.width - 1)
        rows, cols, row, col, r0, c0 = (v[inside] for v in (rows, cols, row, col, r0, c0))
        corners = np.stack([source[r0, c0], source[r0, c0 + 1], source[r0 + 1, c0],
                            source[r0 + 1, c0 + 1]]).astype(np.float64)
        got = values[rows, cols].astype(np.float64)
        keep = (common.valid_mask(src, corners).all(axis=0)
                & common.valid_mask(out, got))
        fr, fc = row - r0, col - c0
        expected = (corners[0] * (1 - fc) * (1 - fr) + corners[1] * fc * (1 - fr)
                    + corners[2] * (1 - fc) * fr + corners[3] * fc * fr)
        return np.abs(got - expected)[keep][:samples]


def _compare_tiles(r: Result, reference: Result, key: str, name: str) -> List[str]:
    """Each output of ``r`` against the same tile's output of ``reference``, and all pooled."""
    lines = []
    if len(r.outputs) != len(reference.outputs):
        return [f"  {r.label}: {len(r.outputs)} outputs, {name} {len(reference.outputs)}"]
    total = {"max_abs": 0.0, "sum": 0.0, "both": 0, "only": 0}
    per_tile = []
    for a, b in zip(reference.outputs, r.outputs):
        c = common.compare_rasters(a, b)
        per_tile.append(c)
        lines.append(_compare_line(f"{r.label}: {_stem(a)}", c))
        if "error" not in c and c["both"]:
            total["max_abs"] = max(total["max_abs"], c["max_abs"])
            total["sum"] += c["mean_abs"] * c["both"]
            total["both"] += c["both"]
            total["only"] += c["only_a"] + c["only_b"]
    r.details[key] = per_tile
    if total["both"]:
        r.details[key + "_total"] = {
            "max_abs": total["max_abs"], "mean_abs": total["sum"] / total["both"],
            "both": total["both"], "valid_in_one_only": total["only"]}
        lines.append(f"  {r.label + ': all tiles':<38} max |diff| {total['max_abs']:9.3f}  "
                     f"mean {total['sum'] / total['both']:8.4f}  valid in one only: "
                     f"{total['only']} of {total['both']} px-bands")
    return lines


# --------------------------------------------------------------------------- seams

def otb_mosaic(tiles: Sequence[str], output: str, feather: str, length: float) -> List[str]:
    """``otbcli_Mosaic`` with band-wise harmonization and ``feather`` compositing, nodata
    -9999, int16, the engine's creation options (GDAL extended filename)."""
    command = bench_radiometry.otb_command(tiles, output)
    extra = ["-comp.feather", feather]
    if feather == "slim":
        extra += ["-comp.feather.slim.length", f"{length:g}"]
    return command[:-3] + extra + command[-3:]  # before "-out", "PATH?...", "int16"


def bench_seams(info: dict, out: str, sm_python: Optional[str], modules: Dict[str, str],
                timeout: Optional[float], blocks: str) -> List[Result]:
    tiles = common.tile_paths(info)
    folder = _fresh(os.path.join(out, "seams"))
    results = []
    pipeline = ("pipeline", "global_regression", "local_adjustment", "seamlines", "mosaic")

    # Reference: the distorted tiles, hard cut in input order (what gdalwarp would give).
    path = os.path.join(folder, "input_last.tif")
    missing = _missing(modules, "mosaic")
    r = (Result("input-last", "ref: input tiles, last (hard cut)", note=missing) if missing else
         tessera("input-last", "ref: input tiles, last (hard cut)",
                 ["merge", *tiles, "--output", path, "--method", "last"], timeout))
    if r.ok:
        r.outputs, r.details["seams"] = [path], ["last"]
    results.append(r)

    # Ours: the whole pipeline.
    work = os.path.join(folder, "tessera")
    path = os.path.join(folder, "tessera_feather_seamlines.tif")
    label = "tessera g+l, seamlines (diff), feather"
    missing = _missing(modules, *pipeline[1:])
    r = (Result("tessera", label, note=missing) if missing else
         tessera("tessera", label, ["pipeline", *tiles, "--work-dir", work, "--output", path,
                                    "--cost", "difference", "--composite", "feather",
                                    "--blocks", blocks], timeout))
    if r.ok:
        r.outputs, r.details["seams"] = [path], ["polygons", r.details["seamlines"]]
    results.append(r)
    normalized = r.details.get("normalized") if r.ok else None

    # References on the same normalized tiles: hard cut along the same seamlines; feather
    # at footprint edges without seamlines.
    for key, label, composite, extra in (
            ("tessera-cut", "  same tiles+seamlines, mask, last", "cut",
             ["--seamlines", os.path.join(work, "seamlines.gpkg")]),
            ("tessera-edges", "  same tiles, feather w/o seamlines", "edges", [])):
        path = os.path.join(folder, f"{key}.tif")
        if not normalized:
            results.append(Result(key, label, note="needs the tessera pipeline's outputs"))
            continue
        if composite == "cut" and modules["mask_rasters"]:
            results.append(Result(key, label, note=_missing(modules, "mask_rasters")))
            continue
        r = tessera(key, label, ["pipeline", *normalized, "--from-local", "--work-dir",
                                 os.path.join(folder, key), "--output", path,
                                 "--composite", composite, *extra], timeout)
        if r.ok:
            r.outputs = [path]
            r.details["seams"] = (["polygons", os.path.join(work, "seamlines.gpkg")]
                                  if composite == "cut" else ["edges"])
            r.note = "steps after global+local only"
        results.append(r)

    # spectralmatch 1.0.4: global -> local -> voronoi seamlines -> mask -> merge.
    work = os.path.join(folder, "spectralmatch")
    path = os.path.join(folder, "spectralmatch.tif")
    r = spectralmatch("spectralmatch", "spectralmatch g+l, voronoi, mask, merge", sm_python,
                      ["--mode", "pipeline", "--global-dir", os.path.join(work, "global"),
                       "--local-dir", os.path.join(work, "local"), "--seam-dir",
                       os.path.join(work, "seams"), "--output", path, "--blocks", blocks,
                       *tiles], _fresh(work), timeout)
    if r.ok:
        r.outputs, r.details["seams"] = [path], ["polygons", r.details["seamlines"]]
        if r.details.get("seamlines_error"):
            r.note = ("voronoi_center_seamline failed on the real footprints "
                      f"({r.details['seamlines_error'].split(':')[0]}): seamlines from solid "
                      "rectangles")
    results.append(r)

    # OTB: one call, harmonization (gain per image and band) and feathering.
    if shutil.which("otbcli_Mosaic") is None:
        results.append(Result("otb-large", "OTB Mosaic band, feather large",
                              note="otbcli_Mosaic not found"))
    else:
        length = FEATHER_PIXELS * info["resolution"]
        for feather, seams in (("large", ["edges"]), ("slim", ["last"])):
            key = f"otb-{feather}"
            path = os.path.join(folder, f"{key}.tif")
            label = f"OTB Mosaic band, feather {feather}"
            r = _measure(Result(key, label), otb_mosaic(tiles, path, feather, length), timeout)
            if r.ok:
                r.outputs, r.details["seams"] = [path], seams
                if feather == "slim":
                    r.note = f"transition {length:g} m ({FEATHER_PIXELS} px)"
            results.append(r)
    return results


def _rects(info: dict) -> List[Tuple[int, int, int, int]]:
    """Each tile's (row0, col0, row1, col1) in the truth's grid."""
    return [(t["row_off"], t["col_off"], t["row_off"] + t["height"], t["col_off"] + t["width"])
            for t in info["tiles"]]


def _inside(rows: np.ndarray, cols: np.ndarray, rect, grow: int = 0) -> np.ndarray:
    r0, c0, r1, c1 = rect
    return (((rows >= r0 - grow) & (rows < r1 + grow))[:, None]
            & ((cols >= c0 - grow) & (cols < c1 + grow))[None, :])


def _boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels next to (4-neighbourhood) a pixel of another non-zero label."""
    edge = np.zeros(labels.shape, dtype=bool)
    horizontal = (labels[:, :-1] != labels[:, 1:]) & (labels[:, :-1] > 0) & (labels[:, 1:] > 0)
    vertical = (labels[:-1] != labels[1:]) & (labels[:-1] > 0) & (labels[1:] > 0)
    edge[:, :-1] |= horizontal
    edge[:, 1:] |= horizontal
    edge[:-1] |= vertical
    edge[1:] |= vertical
    return edge


def _zones(rows: np.ndarray, cols: np.ndarray, rects, seams: Sequence, shapes,
           transform) -> Dict[str, np.ndarray]:
    """The seam, overlap and floor zones of the truth-grid pixels ``rows x cols``."""
    import rasterio.features
    from affine import Affine
    from scipy import ndimage

    inside = [_inside(rows, cols, rect) for rect in rects]
    count = np.sum(inside, axis=0)
    grown = np.sum([_inside(rows, cols, rect, FLOOR_MARGIN) for rect in rects], axis=0)
    kind = seams[0]
    if kind == "edges":  # every tile's footprint edge where another tile lies beneath
        lines = np.zeros(count.shape, dtype=bool)
        for i, rect in enumerate(rects):
            shrunk = _inside(rows, cols, (rect[0] + 1, rect[1] + 1, rect[2] - 1, rect[3] - 1))
            edge = inside[i] & ~shrunk
            others = np.any([inside[j] for j in range(len(rects)) if j != i], axis=0)
            lines |= edge & others
    else:
        if kind == "last":  # the last tile covering a pixel shows there
            labels = np.zeros(count.shape, dtype=np.int32)
            for i, mask in enumerate(inside):
                labels[mask] = i + 1
        else:  # seamline polygons, in layer order (a later one wins where they overlap)
            window = transform * Affine.translation(int(cols[0]), int(rows[0]))
            labels = rasterio.features.rasterize(
                [(shape, i + 1) for i, shape in enumerate(shapes)],
                out_shape=count.shape, transform=window, fill=0, dtype="int32")
        lines = _boundary(labels)
    seam = ndimage.binary_dilation(lines, structure=np.ones((3, 3), bool),
                                   iterations=SEAM_PIXELS) if lines.any() else lines
    return {"seam": seam, "overlap": count >= 2, "floor": (count == 1) & (grown == 1)}


def _polygons(path: str, crs) -> list:
    import geopandas

    table = geopandas.read_file(path)
    if table.crs is not None and crs is not None:
        table = table.to_crs(crs)
    return [g for g in table.geometry if g is not None and not g.is_empty]


def seam_metrics(mosaic: str, info: dict, seams: Sequence) -> dict:
    """Seam visibility of ``mosaic`` (placed on the truth's grid) against the truth.

    Per band: fit ``truth ~ g * mosaic + o`` by least squares over every valid
    pixel (relative normalization is only defined up to one affine map; this
    is ``bench_radiometry.tile_metrics``' affine fit), the error image
    ``E = g * mosaic + o - truth``, and at each pixel whose right and lower
    neighbours are valid too the gradient magnitude
    ``|grad E| = hypot(E[r, c+1] - E[r, c], E[r+1, c] - E[r, c])``.
    Its mean over three zones:

    * ``seam``: pixels within :data:`SEAM_PIXELS` (Chebyshev) of the tool's seams:
      the edges between its seamline polygons (``polygons``), between the areas
      where each tile is the last covering the pixel (``last``: hard cut in
      input order, OTB's compositing order), or the tiles' footprint edges lying
      over another tile (``edges``: where a blend without seamlines starts);
    * ``overlap``: every pixel covered by two or more tiles (the same pixels
      for every tool; any seam lies in them);
    * ``floor``: pixels covered by one tile only, more than :data:`FLOOR_MARGIN`
      pixels from any other tile: the error's texture away from any seam.

    Means over the 4 bands; also the affine RMSE, and ``holes``: truth-valid
    pixels of the tiles' union that the mosaic leaves nodata (band 1).
    """
    import rasterio
    from rasterio.windows import Window

    fit = bench_radiometry.tile_metrics([mosaic], info["truth_path"], seams=False)
    gain, offset = np.array(fit["affine_gain"]), np.array(fit["affine_offset"])
    rects = _rects(info)
    sums = {zone: np.zeros(len(gain)) for zone in ("seam", "overlap", "floor")}
    counts = {zone: np.zeros(len(gain)) for zone in sums}
    holes = 0
    with rasterio.open(info["truth_path"]) as truth, rasterio.open(mosaic) as ds:
        shapes = _polygons(seams[1], truth.crs) if seams[0] == "polygons" else None
        origin = bench_radiometry._placement(ds, truth)
        r0, c0 = max(0, origin[0]), max(0, origin[1])
        r1 = min(truth.height, origin[0] + ds.height)
        c1 = min(truth.width, origin[1] + ds.width)
        halo = SEAM_PIXELS + 2
        cols = np.arange(c0, c1)
        bands = list(range(1, len(gain) + 1))
        for top in range(r0, r1, STRIP_ROWS):
            bottom = min(top + STRIP_ROWS, r1)
            a, b = max(r0, top - halo), min(r1, bottom + halo)
            shape = (b - a, c1 - c0)
            m = ds.read(bands, window=Window(c0 - origin[1], a - origin[0], *shape[::-1]))
            t = truth.read(bands, window=Window(c0, a, *shape[::-1]))
            m, t = m.astype(np.float64), t.astype(np.float64)
            m_ok = common.valid_mask(ds, m, make_radiometry_data.NODATA)
            t_ok = common.valid_mask(truth, t)
            rows = np.arange(a, b)
            zones = _zones(rows, cols, rects, seams, shapes, truth.transform)
            inner = slice(top - a, bottom - a)
            union = np.any([_inside(rows, cols, rect) for rect in rects], axis=0)
            holes += int((t_ok[0] & ~m_ok[0] & union)[inner].sum())
            for i in range(len(bands)):
                ok = m_ok[i] & t_ok[i]
                error = gain[i] * m[i] + offset[i] - t[i]
                dx = np.zeros(shape)
                dy = np.zeros(shape)
                dx[:, :-1] = error[:, 1:] - error[:, :-1]
                dy[:-1] = error[1:] - error[:-1]
                defined = ok.copy()
                defined[:, :-1] &= ok[:, 1:]
                defined[:, -1] = False
                defined[:-1] &= ok[1:]
                defined[-1] = False
                gradient = np.hypot(dx, dy)[inner]
                for zone, mask in zones.items():
                    where = (mask & defined)[inner]
                    sums[zone][i] += float(gradient[where].sum())
                    counts[zone][i] += int(where.sum())
    means = {zone: sums[zone] / np.maximum(counts[zone], 1) for zone in sums}
    return {
        "seam_kind": seams[0],
        "seam": float(means["seam"].mean()), "overlap": float(means["overlap"].mean()),
        "floor": float(means["floor"].mean()),
        "per_band": {zone: means[zone].tolist() for zone in means},
        "pixels": {zone: int(counts[zone][0]) for zone in counts},
        "affine_rmse": fit["affine_rmse_mean"], "holes": holes,
    }


def print_seams(title: str, results: Sequence[Result]) -> None:
    print(f"\n{title}")
    header = (f"{'pipeline':<40} {'seam':>6} {'overlap':>7} {'floor':>6} {'seam/fl':>7} "
              f"{'aff.RMSE':>8} {'holes':>6} {'wall s':>7} {'peak MiB':>8} {'CPU s':>6}  note")
    print(header)
    print("-" * len(header))
    for r in results:
        m = r.metrics or {}
        row = r.table_row()
        ratio = m["seam"] / m["floor"] if m and m["floor"] else None
        print(f"{r.label:<40} {_num(m.get('seam'), 6, 2)} {_num(m.get('overlap'), 7, 2)} "
              f"{_num(m.get('floor'), 6, 2)} {_num(ratio, 7, 2)} "
              f"{_num(m.get('affine_rmse'), 8, 1)} {_num(m.get('holes'), 6, 0)} "
              f"{_num(row.wall, 7, 1)} {_num(row.peak_mib, 8, 0)} {_num(row.cpu, 6, 1)}  "
              f"{row.note}".rstrip())
    print(flush=True)


def _num(value, width: int, digits: int) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


# --------------------------------------------------------------------------- main

def print_timing(title: str, results: Sequence[Result], reference_key: str) -> None:
    reference = next((r for r in results if r.key == reference_key and r.ok), None)
    common.print_table(title, [r.table_row() for r in results],
                       reference.run.wall if reference else None, ours_over_row=True)


def print_steps(results: Sequence[Result]) -> None:
    for r in results:
        steps = {k: v for k, v in r.details.items() if k.endswith("_s")}
        peaks = [round(p.peak_mib) for p in r.run.procs if p.peak_mib >= 20] if r.run else []
        if steps or peaks:
            print(f"  {r.label.strip():<40} in-process s: "
                  + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in steps.items())
                  + (f"; process peaks MiB: {peaks}" if peaks else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"sections to run, among: {' '.join(SECTIONS)}")
    parser.add_argument("--size", type=int, default=6000,
                        help="merge and align: side of the mosaic (default 6000: 4 tiles of 3333)")
    parser.add_argument("--seam-size", type=int, default=3000,
                        help="seams: side of the radiometry truth (default 3000)")
    parser.add_argument("--blocks", default="100",
                        help="seams: local block adjustment blocks for both tools (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    parser.add_argument("--timeout", type=float,
                        help="stop a run after this many seconds (coreutils timeout)")
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args()
    sections = [s for s in SECTIONS if not args.only or s in args.only]

    print(common.describe_checkout(), flush=True)
    common.ensure_tools({"gdalwarp": "gdal-bin"})
    print(subprocess.run(["gdalwarp", "--version"], capture_output=True,
                         text=True).stdout.strip(), flush=True)
    modules = engine_modules()
    for name, error in modules.items():
        if error:
            print(f"engine.{name} not available: {error}", flush=True)
    sm_python = None
    if "merge" in sections or "seams" in sections:
        try:
            sm_python = bench_radiometry.ensure_spectralmatch()
            print(f"spectralmatch {bench_radiometry.SPECTRALMATCH_VERSION} in "
                  f"{bench_radiometry.SPECTRALMATCH_VENV}", flush=True)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"spectralmatch venv: {error}", flush=True)
    if "seams" in sections:
        try:
            common.ensure_tools({"otbcli_Mosaic": "otb-bin"})
            print(f"OTB (otb-bin) {bench_radiometry.otb_version()}", flush=True)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"OTB: {error}", flush=True)

    everything = {}
    out = None
    try:
        if "merge" in sections or "align" in sections:
            info = make_mosaic_data.ensure_mosaic_data(args.data, args.size)
            out = os.path.join(info["folder"], f"out-{os.getpid()}")
            print(f"tiles: 4 x {info['tile_size']} x {info['tile_size']} x 4 uint16, overlap "
                  f"{info['overlap']} px, mosaic {args.size} x {args.size}, in {info['folder']}; "
                  f"outputs in {out}" + ("" if args.keep else " (removed at the end)"), flush=True)
            if "merge" in sections:
                results = bench_merge(info, out, sm_python, modules, args.timeout)
                print_timing(f"merge 4 tiles into a {args.size} x {args.size} x 4 uint16 mosaic "
                             f"(ours/row: tessera last's wall over the row's)", results,
                             "tessera-last")
                print("each output vs gdalwarp's (pixel for pixel, all bands):")
                print("\n".join(check_merge(results)))
                print_steps(results)
                everything["merge"] = results
            if "align" in sections:
                results = bench_align(info, out, modules, args.timeout)
                print_timing(f"align: 4 tiles to {TARGET_CRS}, {ALIGN_RESOLUTION:g} m, -tap, "
                             f"bilinear (ours/row: tessera's wall over the row's)", results,
                             "tessera-align")
                print("each tile vs gdalwarp's, over pixels valid in both:")
                print("\n".join(check_align(results, common.tile_paths(info))))
                print_steps(results)
                everything["align"] = results
        if "seams" in sections:
            seam_info = make_radiometry_data.ensure_radiometry_data(args.data, args.seam_size)
            seam_out = os.path.join(seam_info["folder"], f"out-mosaic-{os.getpid()}")
            print(f"seams: radiometry tiles 4 x {seam_info['tile_size']} px (truth "
                  f"{args.seam_size}), outputs in {seam_out}", flush=True)
            try:
                results = bench_seams(seam_info, seam_out, sm_python, modules, args.timeout,
                                      args.blocks)
                for r in results:
                    if r.outputs:
                        try:
                            r.metrics = seam_metrics(r.outputs[0], seam_info, r.details["seams"])
                        except Exception as error:  # noqa: BLE001 - report, go on
                            r.note = "; ".join(filter(None, [r.note,
                                                             f"metrics failed: {error!r}"]))
                print_seams(f"seam visibility: mean |grad E| of the mosaic's error image E "
                            f"(truth units), within {SEAM_PIXELS} px of the seams, over the "
                            f"overlaps, away from them (floor); truth {args.seam_size} px",
                            results)
                print("per band (b1..b4) seam | overlap | floor, and zone sizes (px):")
                for r in results:
                    if r.metrics:
                        m = r.metrics
                        print(f"  {r.label.strip():<40} " + " | ".join(
                            " ".join(f"{v:6.2f}" for v in m["per_band"][z])
                            for z in ("seam", "overlap", "floor"))
                              + f"  seams: {m['seam_kind']}, px {m['pixels']}")
                print_steps(results)
                everything["seams"] = results
            finally:
                if not args.keep:
                    shutil.rmtree(seam_out, ignore_errors=True)
    finally:
        if out and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({section: {r.key: {
                "label": r.label.strip(), "wall": r.run.wall if r.run else None,
                "peak_mib": r.run.peak_mib if r.run else None,
                "cpu": r.run.cpu if r.run else None, "note": r.note,
                "details": r.details, "metrics": r.metrics} for r in results}
                for section, results in everything.items()}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
