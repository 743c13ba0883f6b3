"""Run Tessera's global regression (and its local block adjustment) on tiles.

The process the radiometry benchmark times and measures::

    /usr/bin/python3 bench/tessera_radiometry_runner.py --mode global+local \\
        --global-dir OUT1 --local-dir OUT2 TILE [TILE ...]

Calls ``tessera.engine.global_regression.global_regression(tiles, OUT1,
template="{stem}_global.tif", execution=Execution("processes", workers=2,
window_size=512))`` and then, for ``global+local``,
``tessera.engine.local_adjustment.local_block_adjustment(outs, OUT2,
template="{stem}_local.tif", blocks=100, execution=...)`` on its outputs (the
engine's defaults otherwise; ``--correction`` and ``--reference`` pass those
arguments, e.g. ``gamma`` and ``blocks`` for spectralmatch's behaviour).
Prints one JSON line: seconds per step and output paths.
"""

import argparse
import json
import time

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiles", nargs="+")
    parser.add_argument("--mode", choices=("global", "global+local"), default="global+local")
    parser.add_argument("--global-dir", required=True)
    parser.add_argument("--local-dir")
    parser.add_argument("--executor", default="processes", choices=("serial", "processes"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--blocks", default="100",
                        help="local adjustment blocks: a count per image, or ROWS,COLS")
    parser.add_argument("--correction", help="local correction (default: the engine's)")
    parser.add_argument("--reference", help="local reference map (default: the engine's)")
    args = parser.parse_args()

    common.import_tessera()
    from tessera.engine.executors import Execution
    from tessera.engine.global_regression import global_regression

    execution = Execution(args.executor, workers=args.workers, window_size=args.window)
    report = {"mode": args.mode}
    start = time.perf_counter()
    outs = global_regression(list(args.tiles), args.global_dir, template="{stem}_global.tif",
                             execution=execution)
    report["global_s"] = time.perf_counter() - start
    report["global"] = [str(p) for p in outs]
    if args.mode == "global+local":
        from tessera.engine.local_adjustment import local_block_adjustment

        start = time.perf_counter()
        blocks = (tuple(int(v) for v in args.blocks.split(",")) if "," in args.blocks
                  else int(args.blocks))
        options = {k: v for k, v in (("correction", args.correction),
                                     ("reference", args.reference)) if v}
        report.update(options)
        outs2 = local_block_adjustment(list(outs), args.local_dir, template="{stem}_local.tif",
                                       blocks=blocks, execution=execution, **options)
        report["local_s"] = time.perf_counter() - start
        report["local"] = [str(p) for p in outs2]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
