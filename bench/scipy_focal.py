"""The scipy.ndimage peer of the focal benchmark: whole raster in memory, one process.

Usage::

    /usr/bin/python3 bench/scipy_focal.py IN OUT mean|median SIZE

Reads band 1 whole with rasterio, runs ``uniform_filter(size=SIZE)`` (mean)
or ``median_filter(size=SIZE)`` (median) on it as is (nodata values take part,
edges reflect), and writes float32 with the engine's creation options. Prints
one JSON line with the read, filter and write seconds.
"""

import json
import sys
import time

import rasterio
from scipy import ndimage

import common


def main() -> None:
    source, output, statistic, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    filters = {"mean": ndimage.uniform_filter, "median": ndimage.median_filter}
    times = {}
    start = time.perf_counter()
    with rasterio.open(source) as ds:
        data = ds.read(1)
        profile = dict(common.gtiff_profile(), width=ds.width, height=ds.height, count=1,
                       dtype="float32", crs=ds.crs, transform=ds.transform, nodata=ds.nodata)
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    result = filters[statistic](data, size=size)
    times["filter"] = time.perf_counter() - start
    start = time.perf_counter()
    with rasterio.open(output, "w", **profile) as ds:
        ds.write(result.astype("float32"), 1)
    times["write"] = time.perf_counter() - start
    print(json.dumps(times))


if __name__ == "__main__":
    main()
