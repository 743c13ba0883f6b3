"""Band math benchmark: NDVI-like ``(b4 - b3) / (b4 + b3)`` on 8192 x 8192 x 4 uint16.

Usage::

    /usr/bin/python3 bench/bench_bandmath.py [--data /tmp/tessera-bench] [--keep]

Runs, each in its own process tree: Tessera with the process executor (2
workers), Tessera serial, and ``gdal_calc.py`` (Debian's gdal-bin, installed
when missing) with the engine's creation options. Prints wall time, ratio to
Tessera x2 and peak RSS of each, and the largest absolute difference between
Tessera's and gdal_calc's outputs over pixels valid in both.
"""

import argparse
import os

import common

NODATA = -9999.0
EXPRESSION = "(b4 - b3) / (b4 + b3)"


def gdal_calc_command(source: str, output: str):
    creation = [arg for key, value in common.gtiff_creation().items()
                for arg in ("--co", f"{key}={value}")]
    return ["gdal_calc.py", "--quiet", "-A", source, "--A_band=4", "-B", source, "--B_band=3",
            "--calc=(A.astype(float)-B)/(A.astype(float)+B)", "--type=Float32",
            f"--NoDataValue={NODATA:g}", *creation, "--overwrite", f"--outfile={output}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--keep", action="store_true", help="keep the output rasters")
    args = parser.parse_args()
    print(common.describe_checkout(), flush=True)

    common.ensure_tools({"gdal_calc.py": "gdal-bin python3-gdal"})
    source = common.ensure_raster(args.data, "u16x4")
    out = {name: os.path.join(args.data, f"out_ndvi_{name}.tif")
           for name in ("ours2", "serial", "gdal")}
    nodata = ["--nodata", f"{NODATA:g}"]
    runs = [
        common.measure("tessera processes x2", common.tessera_command(
            "bandmath", source, out["ours2"], "--expression", EXPRESSION,
            "--executor", "processes", "--workers", "2", *nodata)),
        common.measure("tessera serial", common.tessera_command(
            "bandmath", source, out["serial"], "--expression", EXPRESSION,
            "--executor", "serial", *nodata)),
        common.measure("gdal_calc.py", gdal_calc_command(source, out["gdal"])),
    ]
    reference = runs[0].wall if runs[0].ok else None
    common.print_table(f"band math {EXPRESSION} on {os.path.basename(source)}",
                       [common.row(r) for r in runs], reference)

    if runs[0].ok:
        ours, ours_valid = common.read_band(out["ours2"])
        for run, name in zip(runs[1:], ("serial", "gdal")):
            if run.ok:
                other, other_valid = common.read_band(out[name])
                both = ours_valid & other_valid
                print(f"max |tessera x2 - {run.label}| over {both.sum()} pixels valid in both: "
                      f"{common.max_abs_diff(ours, other, both):.3g}; "
                      f"valid-mask mismatches: {(ours_valid != other_valid).sum()}")
    if not args.keep:
        common.remove_outputs(out.values())


if __name__ == "__main__":
    main()
