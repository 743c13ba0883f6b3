"""Run one of Tessera's mosaic operations (the process the mosaic benchmark times and measures).

Usage (every mode takes ``--executor serial|processes``, ``--workers N``,
``--window N``; defaults: processes, 2, 512)::

    /usr/bin/python3 bench/tessera_mosaic_runner.py merge TILE ... --output M.tif \\
        [--method last|first|feather] [--seamlines S.gpkg] [--feather-distance D]
    /usr/bin/python3 bench/tessera_mosaic_runner.py align TILE ... --output-dir DIR \\
        --target-crs EPSG:32634 --resolution 10 [--tap] [--resampling bilinear]
    /usr/bin/python3 bench/tessera_mosaic_runner.py seamlines TILE ... --output S.gpkg \\
        [--cost geometry|difference]
    /usr/bin/python3 bench/tessera_mosaic_runner.py pipeline TILE ... --work-dir DIR \\
        --output M.tif [--blocks 100] [--cost difference] [--composite feather|cut|edges]

Calls, from the ``tessera`` package (``common.import_tessera``), with
``execution=Execution(executor, workers, window)`` and the engine's defaults
otherwise:

* ``merge``: ``engine.mosaic.mosaic(tiles, output, method=..., seamlines=...,
  feather_distance=...)``;
* ``align``: ``engine.align.align_rasters(tiles, output_dir,
  template="{stem}_aligned.tif", resolution=R, target_aligned_pixels=tap,
  resampling=..., target_crs=...)``;
* ``seamlines``: ``engine.seamlines.seamlines(tiles, output, cost=...)``;
* ``pipeline`` (the seam-visibility benchmark's full workflow):
  ``global_regression`` -> ``local_block_adjustment(blocks=...)`` -> then by
  ``--composite``: ``feather``: ``seamlines(cost=...)`` -> ``mosaic(method="feather",
  seamlines=...)``; ``cut``: ``seamlines`` -> ``mask_rasters(field="image")`` ->
  ``mosaic(method="last")`` (hard cuts along the same seamlines); ``edges``:
  ``mosaic(method="feather")`` without seamlines (blend by footprint edges).
  ``--from-local`` skips the two radiometric steps (the tiles given are
  already normalized) and ``--seamlines S.gpkg`` the seamlines, e.g. to
  composite another pipeline's outputs along its seamlines.

Prints one JSON line: seconds per step and the outputs.
"""

import argparse
import json
import os
import time

import common


def _execution(args):
    from tessera.engine.executors import Execution

    return Execution(args.executor, workers=args.workers, window_size=args.window)


def _timed(report: dict, step: str, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    report[f"{step}_s"] = round(time.perf_counter() - start, 3)
    return result


def merge(args, report: dict) -> None:
    from tessera.engine.mosaic import mosaic

    options = {}
    if args.seamlines:
        options["seamlines"] = args.seamlines
    if args.feather_distance:
        options["feather_distance"] = args.feather_distance
    report["output"] = _timed(report, "mosaic", mosaic, list(args.tiles), args.output,
                              method=args.method, execution=_execution(args), **options)


def align(args, report: dict) -> None:
    from tessera.engine.align import align_rasters

    report["outputs"] = [str(p) for p in _timed(
        report, "align", align_rasters, list(args.tiles), args.output_dir,
        template="{stem}_aligned.tif", resolution=args.resolution,
        target_aligned_pixels=args.tap, resampling=args.resampling,
        target_crs=args.target_crs, execution=_execution(args))]


def seamlines(args, report: dict) -> None:
    from tessera.engine.seamlines import seamlines as make_seamlines

    report["output"] = _timed(report, "seamlines", make_seamlines, list(args.tiles), args.output,
                              cost=args.cost, execution=_execution(args))


def pipeline(args, report: dict) -> None:
    from tessera.engine.mosaic import mosaic

    execution = _execution(args)
    os.makedirs(args.work_dir, exist_ok=True)
    images = list(args.tiles)
    if not args.from_local:
        from tessera.engine.global_regression import global_regression
        from tessera.engine.local_adjustment import local_block_adjustment

        blocks = (tuple(int(v) for v in args.blocks.split(",")) if "," in args.blocks
                  else int(args.blocks))
        images = [str(p) for p in _timed(
            report, "global", global_regression, images, os.path.join(args.work_dir, "global"),
            template="{stem}_global.tif", execution=execution)]
        images = [str(p) for p in _timed(
            report, "local", local_block_adjustment, images, os.path.join(args.work_dir, "local"),
            template="{stem}_local.tif", blocks=blocks, execution=execution)]
    report["normalized"] = images
    if args.composite == "edges":
        report["output"] = _timed(report, "mosaic", mosaic, images, args.output,
                                  method="feather", execution=execution)
        return
    from tessera.engine.seamlines import seamlines as make_seamlines

    if args.seamlines:  # made before (e.g. by another pipeline run on the same images)
        gpkg = report["seamlines"] = args.seamlines
    else:
        gpkg = os.path.join(args.work_dir, "seamlines.gpkg")
        report["seamlines"] = _timed(report, "seamlines", make_seamlines, images, gpkg,
                                     cost=args.cost, execution=execution)
    if args.composite == "feather":
        report["output"] = _timed(report, "mosaic", mosaic, images, args.output,
                                  method="feather", seamlines=gpkg, execution=execution)
        return
    from tessera.engine.mask_rasters import mask_rasters

    masked = [str(p) for p in _timed(
        report, "mask", mask_rasters, images, gpkg, os.path.join(args.work_dir, "masked"),
        field="image", template="{stem}_masked.tif", execution=execution)]
    report["output"] = _timed(report, "mosaic", mosaic, masked, args.output, method="last",
                              execution=execution)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("merge", "align", "seamlines", "pipeline"))
    parser.add_argument("tiles", nargs="+")
    parser.add_argument("--output", help="mosaic (merge, pipeline) or GeoPackage (seamlines)")
    parser.add_argument("--output-dir", help="align: folder of the aligned rasters")
    parser.add_argument("--work-dir", help="pipeline: folder of the intermediate files")
    parser.add_argument("--executor", default="processes", choices=("serial", "processes"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--method", default="last", help="merge: mosaic method")
    parser.add_argument("--seamlines", help="merge: seamline GeoPackage (feather only); "
                        "pipeline: use these seamlines instead of making them")
    parser.add_argument("--feather-distance", type=float,
                        help="merge: feather distance in map units (default: the engine's)")
    parser.add_argument("--target-crs", help="align: target CRS")
    parser.add_argument("--resolution", type=float, help="align: target pixel size")
    parser.add_argument("--tap", action="store_true", help="align: target-aligned pixels")
    parser.add_argument("--resampling", default="bilinear", help="align: resampling")
    parser.add_argument("--cost", default="difference", choices=("geometry", "difference"),
                        help="seamlines / pipeline: seamline cost")
    parser.add_argument("--blocks", default="100", help="pipeline: local adjustment blocks")
    parser.add_argument("--composite", default="feather", choices=("feather", "cut", "edges"),
                        help="pipeline: how the normalized images are put together")
    parser.add_argument("--from-local", action="store_true",
                        help="pipeline: the tiles are already normalized (skip global+local)")
    args = parser.parse_args()

    common.import_tessera()
    report = {"mode": args.mode}
    start = time.perf_counter()
    {"merge": merge, "align": align, "seamlines": seamlines, "pipeline": pipeline}[args.mode](
        args, report)
    report["elapsed_s"] = round(time.perf_counter() - start, 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
