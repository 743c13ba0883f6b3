"""Fixtures shared by all tests (no QGIS here; QGIS fixtures live in ``tests/qgis``)."""

import numpy as np
import pytest

from support import WORLDVIEW, crop, read_raster, write_raster


@pytest.fixture(scope="session")
def worldview_crop(tmp_path_factory):
    """A 97 x 113 corner of the WorldView-3 image (nodata along its slanted edge)
    with a few seeded nodata holes punched inside, all bands int16."""
    path = str(tmp_path_factory.mktemp("crop") / "worldview_crop.tif")
    crop(WORLDVIEW, path, (0, 0, 97, 113))
    array, profile = read_raster(path)
    rng = np.random.default_rng(7)
    for _ in range(12):
        row, col = rng.integers(10, 85), rng.integers(10, 100)
        array[:, row:row + rng.integers(1, 5), col:col + rng.integers(1, 5)] = profile["nodata"]
    return write_raster(path, array, nodata=profile["nodata"], crs=profile["crs"],
                        transform=profile["transform"])
