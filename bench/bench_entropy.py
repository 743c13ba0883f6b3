"""Entropy benchmark: Shannon entropy of a 10-class 8192 x 8192 land-cover map, sigma 10 px.

Usage::

    /usr/bin/python3 bench/bench_entropy.py [--data /tmp/tessera-bench] [--window 512] [--keep]

Runs, each in its own process tree, side by side:

* Tessera ``diversity.entropy`` with the process executor and 2 workers, then
  serially: per window, one one-hot layer at a time is blurred (exact halo of
  ``int(4 sigma + 0.5)`` = 40 px), its share accumulated into the entropy;
* a straightforward single-process scipy implementation holding every layer
  in memory: ``scipy.ndimage.gaussian_filter`` of each float32 one-hot layer
  (into one (10, rows, cols) float32 stack), shares divided in place by their
  sum, ``scipy.special.entr`` summed over the stack, divided by ln(10).

Both use scipy's ``reflect`` edges and truncate 4, and write float32 with the
engine's creation options. Prints wall time, peak RSS, their ratios against
the targets (Tessera x2 at most 0.5x the wall time and 0.25x the peak memory of
scipy), and the largest absolute difference between the outputs.

The map (``landcover10_8192.tif``, uint8 codes 1..10, no nodata) is generated
on first use, strip by strip: each class has a suitability made of seeded
sines at three scales (regions of thousands of pixels, patches of hundreds,
details of tens) plus a little noise, and each pixel takes the most suitable
class, giving crisp patches of every size with ragged edges.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import common

CLASSES = 10
SIGMA = 10.0
SIZE = 8192


# --------------------------------------------------------------------------- data

def landcover_strips(classes: int = CLASSES):
    """``strip(index, rows, cols) -> (1, rows, cols)`` uint8 class codes 1..``classes``."""
    rng = np.random.default_rng([common.SEED, classes])
    scales = [(1.0, 8192), (0.6, 1800), (0.25, 400)]  # (weight, size: periods size/12..size/1.5)
    waves = [[(weight, common._waves(rng, 6, size)) for weight, size in scales]
             for _ in range(classes)]

    def strip(index, rows, cols):
        noise = np.random.default_rng([common.SEED, classes, index])
        best = np.full((rows.size, cols.size), -np.inf)
        codes = np.zeros((rows.size, cols.size), np.uint8)
        for code, terms in enumerate(waves, start=1):
            score = sum(weight * common._smooth(rows, cols, w) for weight, w in terms)
            score += noise.normal(0, 0.01, score.shape)
            better = score > best
            best[better] = score[better]
            codes[better] = code
        return codes[None]

    return strip


def ensure_landcover(data: str, size: int) -> str:
    """The land-cover map of ``size`` x ``size`` px in ``data``, generated if missing."""
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, f"landcover{CLASSES}_{size}.tif")
    if not os.path.exists(path):
        print(f"generating {path} ({size} x {size} uint8, {CLASSES} classes) ...", flush=True)
        start = time.perf_counter()
        common._write_strips(path, size, size, 1, "uint8", None, landcover_strips())
        print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return path


# --------------------------------------------------------------------------- the two tools

def run_tessera(source: str, output: str, executor: str, workers: int, window: int) -> None:
    common.import_tessera()
    from tessera.engine.diversity import entropy
    from tessera.engine.executors import Execution

    start = time.perf_counter()
    entropy(source, output, sigma=SIGMA, edge="reflect",
            execution=Execution(executor, workers=workers, window_size=window))
    print(json.dumps({"elapsed": time.perf_counter() - start}))


def run_scipy(source: str, output: str) -> None:
    """Every one-hot layer blurred and held in memory, then numpy/scipy entropy."""
    import rasterio
    from scipy import ndimage, special

    times = {}
    start = time.perf_counter()
    with rasterio.open(source) as ds:
        codes = ds.read(1)
        profile = dict(common.gtiff_profile(), width=ds.width, height=ds.height, count=1,
                       dtype="float32", crs=ds.crs, transform=ds.transform, nodata=None)
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    categories = np.unique(codes)
    layers = np.empty((len(categories),) + codes.shape, np.float32)
    for k, category in enumerate(categories):
        layers[k] = ndimage.gaussian_filter((codes == category).astype(np.float32), SIGMA)
    times["blur"] = time.perf_counter() - start
    start = time.perf_counter()
    layers /= layers.sum(axis=0)
    entropy = special.entr(layers).sum(axis=0) / np.log(len(categories))
    times["entropy"] = time.perf_counter() - start
    start = time.perf_counter()
    with rasterio.open(output, "w", **profile) as ds:
        ds.write(entropy.astype(np.float32), 1)
    times["write"] = time.perf_counter() - start
    print(json.dumps(times))


# --------------------------------------------------------------------------- benchmark

def benchmark(source: str, data: str, window: int) -> dict:
    out = {name: os.path.join(data, f"out_entropy_{name}.tif")
           for name in ("ours2", "serial", "scipy")}
    me = [common.PYTHON, os.path.abspath(__file__)]
    runs = {
        "ours2": common.measure("tessera processes x2 entropy", me + [
            "--run", "tessera", source, out["ours2"], "--window", str(window)]),
        "serial": common.measure("tessera serial entropy", me + [
            "--run", "tessera", source, out["serial"], "--window", str(window),
            "--executor", "serial"]),
        "scipy": common.measure("scipy in memory entropy", me + [
            "--run", "scipy", source, out["scipy"]]),
    }
    rows = [common.row(runs["ours2"], "tessera processes x2"),
            common.row(runs["serial"], "tessera serial"),
            common.row(runs["scipy"], "scipy, all layers in memory",
                       _steps(runs["scipy"]))]
    ours, scipy = runs["ours2"], runs["scipy"]
    common.print_table(f"entropy of {os.path.basename(source)}, {CLASSES} classes, sigma "
                       f"{SIGMA:g} px, window {window}", rows,
                       ours.wall if ours.ok else None, ours_over_row=True)
    if ours.ok and scipy.ok:
        wall, peak = ours.wall / scipy.wall, ours.peak_mib / scipy.peak_mib
        print(f"tessera x2 / scipy: wall {wall:.2f} (target <= 0.5: "
              f"{'met' if wall <= 0.5 else 'MISSED'}), peak RSS {peak:.2f} (target <= 0.25: "
              f"{'met' if peak <= 0.25 else 'MISSED'})")
        result = common.compare_rasters(out["ours2"], out["scipy"])
        print(f"max |tessera x2 - scipy| over {result['both']} pixels: "
              f"{result['max_abs']:.3g} (mean {result['mean_abs']:.3g}); valid in one only: "
              f"{result['only_a'] + result['only_b']}")
    if ours.ok:
        print("peak RSS of each process of tessera x2: " + ", ".join(
            f"{_role(proc.command)} {proc.peak_mib:.0f} MiB" for proc in ours.procs))
    if ours.ok and runs["serial"].ok:
        same = common.read_band(out["ours2"])[0].tobytes() == \
            common.read_band(out["serial"])[0].tobytes()
        print(f"tessera x2 and serial outputs identical: {same}")
    print(flush=True)
    return out


def _role(command: str) -> str:
    """What a process of the measured tree is: the run itself, a worker or a helper."""
    if "--run" in command:
        return "parent"
    if "spawn_main" in command:
        return "worker"
    if "multiprocessing" in command:
        return "resource tracker"
    return "interpreter probe" if " -c " in command else command.split()[0]


def _steps(run) -> str:
    if not run.ok:
        return ""
    return ", ".join(f"{step} {seconds:.1f} s" for step, seconds in run.json().items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--window", type=int, default=512, help="Tessera window size (px)")
    parser.add_argument("--size", type=int, default=SIZE, help="side of the map (px)")
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    parser.add_argument("--run", nargs=3, metavar=("TOOL", "IN", "OUT"),
                        help=argparse.SUPPRESS)  # one measured run: tessera|scipy IN OUT
    parser.add_argument("--executor", default="processes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        tool, source, output = args.run
        if tool == "tessera":
            run_tessera(source, output, args.executor, 2, args.window)
        else:
            run_scipy(source, output)
        return
    print(common.describe_checkout(), flush=True)
    source = ensure_landcover(args.data, args.size)
    out = benchmark(source, args.data, args.window)
    if not args.keep:
        common.remove_outputs(out.values())


if __name__ == "__main__":
    sys.exit(main())
