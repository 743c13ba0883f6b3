"""Focal benchmark: mean 15 x 15 and median 5 x 5 on an 8192 x 8192 float32 raster.

Usage::

    /usr/bin/python3 bench/bench_focal.py [--data /tmp/tessera-bench] [--only mean|median] [--keep]

For each statistic runs, each in its own process tree: Tessera with the
process executor (2 workers), Tessera serial, scipy.ndimage in memory in one
process (:mod:`scipy_focal`: read + filter + write) and GRASS ``r.neighbors``
in a temporary location (:mod:`grass_focal`; grass-core is installed when
missing). GRASS is reported twice: ``r.neighbors`` alone and the whole
session (start, import, neighbors, export). Prints wall time, ratio to
Tessera x2 and peak RSS, then the largest absolute difference to Tessera x2
over pixels whose whole window is valid (scipy does not skip nodata; GRASS
and Tessera do), and for Tessera serial and GRASS also over all pixels valid
in both.
"""

import argparse
import os

import numpy as np
from scipy import ndimage

import common

#: statistic -> (Tessera radius, window size, GRASS method)
CASES = {"mean": (7, 15, "average"), "median": (2, 5, "median")}


def run_case(statistic: str, source: str, data: str) -> dict:
    """Run every tool for ``statistic``; print the table; return {name: (run, output)}."""
    radius, size, method = CASES[statistic]
    out = {name: os.path.join(data, f"out_{statistic}{size}_{name}.tif")
           for name in ("ours2", "serial", "scipy", "grass")}
    engine = ["focal", source, "--statistic", statistic, "--radius", str(radius),
              "--nodata", "-9999"]
    engine_cmd = lambda name, *extra: common.tessera_command(  # noqa: E731
        engine[0], engine[1], out[name], *engine[2:], *extra)
    runs = {
        "ours2": common.measure(f"tessera processes x2 {statistic}",
                                engine_cmd("ours2", "--executor", "processes", "--workers", "2")),
        "serial": common.measure(f"tessera serial {statistic}",
                                 engine_cmd("serial", "--executor", "serial")),
        "scipy": common.measure(f"scipy {statistic} in memory", [
            common.PYTHON, os.path.join(common.BENCH_DIR, "scipy_focal.py"),
            source, out["scipy"], statistic, str(size)]),
        "grass": common.measure(f"grass r.neighbors {method}", [
            "grass", "--tmp-location", source, "--exec", common.PYTHON,
            os.path.join(common.BENCH_DIR, "grass_focal.py"), source, out["grass"], method,
            str(size)]),
    }
    rows = [common.row(runs["ours2"], "tessera processes x2"),
            common.row(runs["serial"], "tessera serial"),
            common.row(runs["scipy"], "scipy.ndimage (read+filter+write)")]
    grass = runs["grass"]
    if grass.ok:
        steps = grass.json()
        alone = max((p.peak_mib for p in grass.find("r.neighbors")), default=None)
        rows.append(common.Row("grass r.neighbors alone", steps["neighbors"], alone,
                               note="peak RSS: the r.neighbors process"))
        rows.append(common.row(grass, "grass total (start+import+run+export)",
                               f"import {steps['import']:.1f} s, export {steps['export']:.1f} s"))
    else:
        rows.append(common.row(grass, "grass r.neighbors"))
    reference = runs["ours2"].wall if runs["ours2"].ok else None
    common.print_table(f"focal {statistic} {size}x{size} on {os.path.basename(source)}",
                       rows, reference)
    compare(source, size, runs, out)
    return out


def compare(source: str, size: int, runs: dict, out: dict) -> None:
    """Print max |Tessera x2 - peer| over fully valid windows (and over valid-in-both)."""
    if not runs["ours2"].ok:
        print("tessera processes x2 failed: nothing to compare")
        return
    _, valid = common.read_band(source)
    full = ndimage.minimum_filter(valid.view(np.uint8), size=size, mode="constant",
                                  cval=0).astype(bool)
    del valid
    ours, ours_valid = common.read_band(out["ours2"])
    for name in ("serial", "scipy", "grass"):
        if not runs[name].ok:
            continue
        other, other_valid = common.read_band(out[name])
        text = (f"max |tessera x2 - {name}| over {full.sum()} pixels with a fully valid "
                f"window: {common.max_abs_diff(ours, other, full):.3g}")
        if name != "scipy":
            both = ours_valid & other_valid
            text += (f"; over {both.sum()} pixels valid in both: "
                     f"{common.max_abs_diff(ours, other, both):.3g}, valid-mask mismatches: "
                     f"{(ours_valid != other_valid).sum()}")
        print(text, flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--only", choices=tuple(CASES), help="run one statistic only")
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    args = parser.parse_args()
    print(common.describe_checkout(), flush=True)

    common.ensure_tools({"grass": "grass-core"})
    source = common.ensure_raster(args.data, "f32")
    for statistic in [args.only] if args.only else CASES:
        out = run_case(statistic, source, args.data)
        if not args.keep:
            common.remove_outputs(out.values())


if __name__ == "__main__":
    main()
