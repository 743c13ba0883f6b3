"""Memory benchmark: peak RSS of focal mean 15 x 15 on a 30000 x 30000 float32 raster.

Usage::

    /usr/bin/python3 bench/bench_memory.py [--data /tmp/tessera-bench] [--raster f32big|f32]
                                           [--workers 2] [--window 512] [--keep]

Runs Tessera's focal mean (radius 7) with the process executor in its own
process tree, polling /proc, and prints the peak RSS (VmHWM) of the parent,
of each worker and of the helper processes, their sum, and the tree's peak
concurrent RSS, against the target of 1 GiB in total. ``--raster f32`` runs
on the 8192 x 8192 raster for a quick check; the 30000 x 30000 one (3.4 GiB of
pixels) is generated on first use.
"""

import argparse
import os

import common

TARGET_MIB = 1024


def role(proc: common.Proc, root: int) -> str:
    if proc.pid == root:
        return "parent (reads nothing, writes the output)"
    if "spawn_main" in proc.command:
        return "worker"
    if "resource_tracker" in proc.command:
        return "multiprocessing resource tracker"
    if "version_info" in proc.command:
        return "interpreter probe (short-lived)"
    return proc.command[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--raster", default="f32big", choices=("f32big", "f32"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--keep", action="store_true", help="keep the output raster")
    args = parser.parse_args()
    print(common.describe_checkout(), flush=True)

    source = common.ensure_raster(args.data, args.raster)
    output = os.path.join(args.data, f"out_memory_{args.raster}.tif")
    run = common.measure("tessera focal mean r7", common.tessera_command(
        "focal", source, output, "--statistic", "mean", "--radius", "7", "--nodata", "-9999",
        "--executor", "processes", "--workers", str(args.workers),
        "--window", str(args.window)))
    label = f"tessera processes x{args.workers}, window {args.window}"
    common.print_table(f"focal mean 15x15 on {os.path.basename(source)}",
                       [common.row(run, label)], run.wall if run.ok else None)
    if run.procs:
        root = run.procs[0].pid
        print(f"{'process':<44} {'pid':>7} {'peak RSS MiB':>13}")
        for proc in run.procs:
            print(f"{role(proc, root):<44} {proc.pid:>7} {proc.peak_mib:13.0f}")
        main_procs = [p for p in run.procs if p.pid == root or "spawn_main" in p.command]
        total = sum(p.peak_mib for p in main_procs)
        print(f"{'sum of parent and worker peaks':<44} {'':>7} {total:13.0f}")
        print(f"{'sum of all peaks':<44} {'':>7} {sum(p.peak_mib for p in run.procs):13.0f}")
        print(f"{'peak concurrent (tree, polled)':<44} {'':>7} {run.peak_mib:13.0f}")
        verdict = "PASS" if run.ok and run.peak_mib < TARGET_MIB else "FAIL"
        print(f"\ntarget: under {TARGET_MIB} MiB in total -> {verdict}")
    if not args.keep:
        common.remove_outputs([output])


if __name__ == "__main__":
    main()
