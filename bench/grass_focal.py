"""The GRASS peer of the focal benchmark; runs inside a GRASS session.

Usage (the focal benchmark does this)::

    grass --tmp-location IN.tif --exec /usr/bin/python3 bench/grass_focal.py IN OUT METHOD SIZE

with METHOD ``average`` or ``median``.

Links the input with ``r.external`` (nodata becomes null), sets the region
to it, runs ``r.neighbors method=... size=...`` (nulls skipped, outside the
region is null) and exports float32 with ``r.out.gdal`` using the engine's
creation options (``-f``: float32 output of DCELL maps is intended). Prints
one JSON line with each step's seconds.
"""

import json
import subprocess
import sys
import time

import common


def main() -> None:
    source, output, method, size = sys.argv[1:5]
    creation = ",".join(f"{key}={value}" for key, value in common.gtiff_creation().items())
    steps = [
        ("import", ["r.external", f"input={source}", "band=1", "output=src", "--overwrite"]),
        ("region", ["g.region", "raster=src"]),
        ("neighbors", ["r.neighbors", "input=src", "output=result", f"method={method}",
                       f"size={size}", "--overwrite"]),
        ("export", ["r.out.gdal", "-c", "-f", "input=result", f"output={output}", "format=GTiff",
                    "type=Float32", "nodata=-9999", f"createopt={creation}", "--overwrite"]),
    ]
    times = {}
    for name, command in steps:
        start = time.perf_counter()
        subprocess.run(command + ["--quiet"], check=True)
        times[name] = time.perf_counter() - start
    print(json.dumps(times))


if __name__ == "__main__":
    main()
