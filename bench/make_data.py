"""Generate the synthetic benchmark rasters (skipped when a file already exists).

Usage::

    /usr/bin/python3 bench/make_data.py [--data /tmp/tessera-bench] [--big]

Writes ``u16x4_8192.tif`` (8192 x 8192 x 4 uint16, nodata 0) and
``f32_8192.tif`` (8192 x 8192 float32, nodata -9999); with ``--big`` also
``f32_30000.tif`` (30000 x 30000 float32, 3.4 GiB of pixels). Rasters are
written strip by strip, so memory stays small whatever their size, and are
the same on every run (seeded).
"""

import argparse

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.data_dir_argument(parser)
    parser.add_argument("--big", action="store_true",
                        help="also generate the 30000 x 30000 float32 raster (3.4 GiB)")
    args = parser.parse_args()
    keys = ["u16x4", "f32"] + (["f32big"] if args.big else [])
    for key in keys:
        print(common.ensure_raster(args.data, key))


if __name__ == "__main__":
    main()
