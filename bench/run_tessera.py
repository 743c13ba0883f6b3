"""Run one Tessera engine operation (the process the benchmarks time and measure).

Usage::

    /usr/bin/python3 bench/run_tessera.py bandmath IN OUT --expression "(b4 - b3) / (b4 + b3)"
    /usr/bin/python3 bench/run_tessera.py focal IN OUT --statistic mean --radius 7

with ``--executor serial|processes|dask``, ``--workers N``, ``--window N``,
``--nodata V`` and, for dask, ``--scheduler tcp://HOST:PORT``. Prints one JSON
line: the in-process elapsed seconds.
"""

import argparse
import json
import time

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=("bandmath", "focal"))
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--executor", default="processes", choices=("serial", "processes", "dask"))
    parser.add_argument("--scheduler", help="Dask scheduler address (--executor dask)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--expression", default="(b4 - b3) / (b4 + b3)")
    parser.add_argument("--statistic", default="mean")
    parser.add_argument("--radius", type=float, default=7)
    parser.add_argument("--nodata", type=float, default=None)
    args = parser.parse_args()

    common.import_tessera()
    from tessera.engine.executors import Execution

    execution = Execution(executor=args.executor, workers=args.workers,
                          window_size=args.window, scheduler=args.scheduler)
    start = time.perf_counter()
    if args.operation == "bandmath":
        from tessera.engine.bandmath import band_math

        band_math([args.input], args.expression, args.output, dtype="float32",
                  nodata=args.nodata, execution=execution)
    else:
        from tessera.engine.focal import focal_statistics
        from tessera.engine.neighbourhoods import Neighbourhood

        focal_statistics(args.input, args.output, statistic=args.statistic,
                         neighbourhood=Neighbourhood("square", radius=args.radius),
                         nodata=args.nodata, execution=execution)
    print(json.dumps({"elapsed": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
