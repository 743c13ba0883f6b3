"""Run spectralmatch's global regression (and its local block adjustment) on tiles,
or its mosaic steps (merge; the whole seamline pipeline).

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

For the mosaic benchmark (``bench_mosaic.py``), ``--mode merge --output M.tif``
calls ``merge_rasters(tiles, M.tif, window_size=512,
image_parallel_workers=("process", 2))``, and ``--mode pipeline --output M.tif
--seam-dir DIR`` runs global and local as above, then::

    voronoi_center_seamline(locals, DIR/seamlines.gpkg)          # defaults
    # when it fails (1.0.4 raises TypeError when two footprints overlap in more than
    # one polygon, e.g. footprints cut by nodata lines), once more on stand-ins of the
    # locals with the same names and grids, valid everywhere (solid rectangles):
    voronoi_center_seamline(DIR/footprints/<stem>_local.tif ..., DIR/seamlines.gpkg)
    mask_rasters(locals, [DIR/<stem>_masked.tif ...],
                 vector_mask=("include", DIR/seamlines.gpkg, "image"),
                 window_size=512, image_parallel_workers=("process", 2))
    merge_rasters(masked, M.tif, window_size=512, image_parallel_workers=("process", 2))

Prints one JSON line: version, seconds per step, output paths.
"""

import argparse
import json
import os
import time


def solid_footprints(images, folder):
    """One uint8 raster per image, same file name and grid, valid everywhere (1, nodata 0)."""
    import numpy as np
    import rasterio

    os.makedirs(folder, exist_ok=True)
    outputs = []
    for path in images:
        output = os.path.join(folder, os.path.basename(path))
        with rasterio.open(path) as src:
            profile = dict(driver="GTiff", width=src.width, height=src.height, count=1,
                           dtype="uint8", nodata=0, crs=src.crs, transform=src.transform,
                           compress="deflate")
        with rasterio.open(output, "w", **profile) as dst:
            dst.write(np.ones((1, profile["height"], profile["width"]), np.uint8))
        outputs.append(output)
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiles", nargs="+")
    parser.add_argument("--mode", choices=("global", "global+local", "merge", "pipeline"),
                        default="global+local")
    parser.add_argument("--global-dir")
    parser.add_argument("--local-dir")
    parser.add_argument("--output", help="merge, pipeline: the mosaic")
    parser.add_argument("--seam-dir", help="pipeline: folder of the seamlines and masked images")
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
    if args.mode == "merge":
        report = {"spectralmatch": spectralmatch.__version__, "mode": args.mode}
        start = time.perf_counter()
        spectralmatch.merge_rasters(list(args.tiles), args.output, window_size=args.window,
                                    image_parallel_workers=parallel)
        report["merge_s"] = time.perf_counter() - start
        report["output"] = args.output
        print(json.dumps(report))
        return
    if not args.global_dir:
        parser.error(f"--mode {args.mode} needs --global-dir")
    stems = [os.path.splitext(os.path.basename(p))[0] for p in args.tiles]
    os.makedirs(args.global_dir, exist_ok=True)
    report = {"spectralmatch": spectralmatch.__version__, "mode": args.mode}
    start = time.perf_counter()
    outs = global_regression(
        list(args.tiles), [os.path.join(args.global_dir, f"{s}_global.tif") for s in stems],
        window_size=args.window, image_parallel_workers=parallel)
    report["global_s"] = time.perf_counter() - start
    report["global"] = list(outs)
    if args.mode in ("global+local", "pipeline"):
        os.makedirs(args.local_dir, exist_ok=True)
        start = time.perf_counter()
        outs2 = local_block_adjustment(
            list(outs), [os.path.join(args.local_dir, f"{s}_local.tif") for s in stems],
            window_size=args.window, number_of_blocks=blocks,
            image_parallel_workers=parallel)
        report["local_s"] = time.perf_counter() - start
        report["local"] = list(outs2)
    if args.mode == "pipeline":
        os.makedirs(args.seam_dir, exist_ok=True)
        gpkg = os.path.join(args.seam_dir, "seamlines.gpkg")
        start = time.perf_counter()
        try:
            spectralmatch.voronoi_center_seamline(list(outs2), gpkg)
        except (TypeError, ValueError) as error:
            report["seamlines_error"] = f"{type(error).__name__}: {error}"
            solid = solid_footprints(list(outs2), os.path.join(args.seam_dir, "footprints"))
            spectralmatch.voronoi_center_seamline(solid, gpkg)
            report["seamlines_from"] = "solid rectangles"
        report["seamlines_s"] = time.perf_counter() - start
        report["seamlines"] = gpkg
        masked = [os.path.join(args.seam_dir, f"{s}_masked.tif") for s in stems]
        start = time.perf_counter()
        spectralmatch.mask_rasters(list(outs2), masked, vector_mask=("include", gpkg, "image"),
                                   window_size=args.window, image_parallel_workers=parallel)
        report["mask_s"] = time.perf_counter() - start
        start = time.perf_counter()
        spectralmatch.merge_rasters(masked, args.output, window_size=args.window,
                                    image_parallel_workers=parallel)
        report["merge_s"] = time.perf_counter() - start
        report["output"] = args.output
    print(json.dumps(report))


if __name__ == "__main__":
    main()
