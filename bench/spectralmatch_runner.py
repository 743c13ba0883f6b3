"""Run spectralmatch's global regression (and its local block adjustment) on tiles.

Runs inside spectralmatch's own venv (see ``bench_radiometry.ensure_spectralmatch``)
with ``bench/stubs`` on ``PYTHONPATH`` (a stub ``omnicloudmask``)::

    ~/.cache/tessera/venv-spectralmatch/bin/python bench/spectralmatch_runner.py \\
        --mode global+local --global-dir OUT1 --local-dir OUT2 TILE [TILE ...]

Calls, with every other parameter left at its default (all images are model
images, output dtype = input dtype, gamma correction, alpha 1, uncompressed
GeoTIFF as spectralmatch writes them)::

    global_regression(tiles, [OUT1/<stem>_global.tif ...], window_size=512,
                      image_parallel_workers=("process", 2))
    local_block_adjustment(globals, [OUT2/<stem>_local.tif ...], window_size=512,
                           number_of_blocks=100, image_parallel_workers=("process", 2))

Prints one JSON line: version, seconds per step, output paths.
"""

import argparse
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiles", nargs="+")
    parser.add_argument("--mode", choices=("global", "global+local"), default="global+local")
    parser.add_argument("--global-dir", required=True)
    parser.add_argument("--local-dir")
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2,
                        help="image-level process workers (0: serial, spectralmatch's default)")
    parser.add_argument("--blocks", default="100",
                        help="number_of_blocks: a count per image, or ROWS,COLS")
    args = parser.parse_args()

    import spectralmatch
    from spectralmatch import global_regression, local_block_adjustment

    blocks = (tuple(int(v) for v in args.blocks.split(",")) if "," in args.blocks
              else int(args.blocks))
    parallel = ("process", args.workers) if args.workers > 0 else None
    stems = [os.path.splitext(os.path.basename(p))[0] for p in args.tiles]
    os.makedirs(args.global_dir, exist_ok=True)
    report = {"spectralmatch": spectralmatch.__version__, "mode": args.mode}
    start = time.perf_counter()
    outs = global_regression(
        list(args.tiles), [os.path.join(args.global_dir, f"{s}_global.tif") for s in stems],
        window_size=args.window, image_parallel_workers=parallel)
    report["global_s"] = time.perf_counter() - start
    report["global"] = list(outs)
    if args.mode == "global+local":
        os.makedirs(args.local_dir, exist_ok=True)
        start = time.perf_counter()
        outs2 = local_block_adjustment(
            list(outs), [os.path.join(args.local_dir, f"{s}_local.tif") for s in stems],
            window_size=args.window, number_of_blocks=blocks,
            image_parallel_workers=parallel)
        report["local_s"] = time.perf_counter() - start
        report["local"] = list(outs2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
