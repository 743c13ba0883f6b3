"""Raster input and output: sources, masked window reads, atomic outputs.

Inputs are described by :class:`Source` values (a path, the bands to read
and an optional nodata override) so they can be sent to worker processes;
each worker opens a file once and keeps it open for its lifetime.
Reads return a :class:`Block`: the pixel values and a validity mask of the
same shape, so nodata travels as a mask and never as a magic number.

Outputs are written to a temporary file beside the target and renamed into
place only when the whole raster was written; on error or cancel the
temporary file is removed and the target is left as it was.

rasterio is imported where it is used, so the QGIS provider can list the
algorithms (and explain what to install) on a Python that lacks it.
"""

import functools
import math
import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from .dtypes import cast, check_nodata
from .errors import GridMismatchError, InvalidInputError, MissingInputError, check_choice
from .windows import Grid, Window

#: Edge policy: pixels outside the raster are read as nodata (invalid), so a
#: neighbourhood at the border is truncated, never padded with made-up values.
EDGE_NODATA = "nodata"
EDGE_POLICIES = (EDGE_NODATA,)

#: Creation options of every GeoTIFF the engine writes, compression aside.
GTIFF_OPTIONS = {
    "driver": "GTiff",
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "bigtiff": "if_safer",
    "num_threads": "all_cpus",
}
BLOCK_SIZE = GTIFF_OPTIONS["blockxsize"]
#: Output compressions, fastest first. ZSTD level 1 writes about five times
#: faster than DEFLATE level 1 for the same size; DEFLATE is the choice for
#: software whose GDAL lacks ZSTD (GDAL < 2.3 or built without libzstd).
COMPRESSIONS = {
    "zstd": {"compress": "zstd", "zstd_level": 1},
    "deflate": {"compress": "deflate", "zlevel": 1},
    "lzw": {"compress": "lzw"},
    "none": {"compress": "none"},
}
DEFAULT_COMPRESSION = "zstd"
#: GDAL block cache while writing (MB): windows are written as whole tiles, so
#: a small cache suffices, and GDAL's default (5% of RAM) would let dirty tiles
#: of a big output pile up in the writer.
WRITER_GDAL_CACHE_MB = 128


@dataclass(frozen=True)
class Source:
    """What a worker opens: a raster path, 1-based bands (None: all), nodata override.

    With ``grid`` set, windows are given in that grid instead of the raster's
    own and the raster is read onto it (see :mod:`resample`): by offset when
    the grids share pixel size and alignment, else by ``resampling``.
    """

    path: str
    bands: Optional[Tuple[int, ...]] = None
    nodata: Optional[float] = None
    grid: Optional[Grid] = None
    resampling: str = "bilinear"


@dataclass(frozen=True)
class RasterInfo:
    """What the engine needs to know about an input before any work starts."""

    path: str
    grid: Grid
    count: int
    dtype: str
    nodata: Optional[float]

    @property
    def stem(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]


@dataclass
class Block:
    """Pixel values (band, row, col) and a boolean validity mask of the same shape."""

    data: np.ndarray
    valid: np.ndarray


@dataclass(frozen=True)
class OutputSpec:
    """Everything needed to create an output raster."""

    path: str
    grid: Grid
    count: int
    dtype: str
    nodata: Optional[float]
    descriptions: Tuple[str, ...] = field(default_factory=tuple)
    #: Move valid pixels whose value lands on nodata one step into the range
    #: (see :func:`encode`); right for corrected images, wrong for band math,
    #: where a computed 0 may well mean "nodata" to the user.
    keep_valid: bool = False
    #: Also write an internal per-dataset mask band (valid where any band is
    #: valid), for viewers and formats that prefer a mask to a nodata value.
    internal_mask: bool = False
    #: GDAL metadata of each band, as (key, value) pairs: ``(("category", "3"),)`` tags
    #: band 1 with ``category=3``.
    band_tags: Tuple[Tuple[Tuple[str, str], ...], ...] = field(default_factory=tuple)
    #: GDAL scale and offset of every band (value = pixel * scale + offset), for integer
    #: outputs that store a fraction (0..254 meaning 0..1); None writes neither.
    scale_offset: Optional[Tuple[float, float]] = None


def describe(path: str, what: str = "input raster") -> RasterInfo:
    """Open ``path`` once to learn its grid, bands, type and nodata."""
    import rasterio

    if not os.path.exists(path):
        raise MissingInputError(f"{what} '{path}' does not exist: check the path")
    try:
        with rasterio.open(path) as ds:
            crs = ds.crs.to_wkt() if ds.crs else None
            return RasterInfo(path, Grid(crs, ds.transform, ds.width, ds.height),
                              ds.count, ds.dtypes[0], ds.nodata)
    except rasterio.errors.RasterioIOError as exc:
        raise MissingInputError(
            f"{what} '{path}' cannot be opened as a raster ({exc}): "
            f"check that it is a GDAL-readable raster file") from exc


_LOCAL = threading.local()


def _datasets() -> Dict[str, Any]:
    """This thread's open inputs (per thread: QGIS may run two algorithms at once)."""
    if not hasattr(_LOCAL, "datasets"):
        _LOCAL.datasets = {}
    return _LOCAL.datasets


def _dataset(path: str):
    """This thread's open handle of ``path`` (opened on first use, kept for reuse)."""
    datasets = _datasets()
    if path not in datasets:
        import rasterio

        datasets[path] = rasterio.open(path)
    return datasets[path]


def dataset_transform(path: str):
    """The affine transform of ``path`` (from this thread's open handle)."""
    return _dataset(path).transform


def close_sources() -> None:
    """Close every input this thread has opened."""
    datasets = _datasets()
    while datasets:
        datasets.popitem()[1].close()


def read_block(source: Source, window: Window, edge: str = EDGE_NODATA) -> Block:
    """Read ``window`` (which may reach past the raster) from ``source``.

    Parts outside the raster follow the ``edge`` policy; with
    :data:`EDGE_NODATA` they are invalid with value 0.
    """
    check_choice(edge, EDGE_POLICIES, "edge policy")
    if source.grid is not None:
        from .resample import read_onto

        return read_onto(source, window, edge)
    ds = _dataset(source.path)
    bands = list(source.bands or range(1, ds.count + 1))
    inside = window.clip(ds.height, ds.width)
    data = np.zeros((len(bands),) + window.shape, dtype=ds.dtypes[bands[0] - 1])
    valid = np.zeros(data.shape, dtype=bool)
    if inside is not None:
        target = (slice(None), slice(inside.row - window.row, inside.row_stop - window.row),
                  slice(inside.col - window.col, inside.col_stop - window.col))
        values = ds.read(bands, window=inside.to_rasterio())
        data[target] = values
        valid[target] = _validity(ds, source, bands, inside, values)
    return Block(data, valid)


def _validity(ds, source: Source, bands, window: Window, values: np.ndarray) -> np.ndarray:
    from rasterio.enums import MaskFlags

    nodata = source.nodata if source.nodata is not None else ds.nodata
    flags = [ds.mask_flag_enums[b - 1] for b in bands]
    if source.nodata is None and any(
            MaskFlags.per_dataset in f or MaskFlags.alpha in f for f in flags):
        valid = ds.read_masks(bands, window=window.to_rasterio()) > 0
    elif nodata is not None and not math.isnan(nodata):
        valid = values != nodata
    else:
        valid = np.ones(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        valid &= ~np.isnan(values)
    return valid


def creation_options(compression: str = DEFAULT_COMPRESSION) -> dict:
    """rasterio creation options of an output with ``compression`` (see :data:`COMPRESSIONS`).

    ZSTD falls back to DEFLATE where this GDAL cannot write it.
    """
    check_choice(compression, COMPRESSIONS, "compression")
    if compression == "zstd" and not _gdal_writes_zstd():
        compression = "deflate"
    return dict(GTIFF_OPTIONS, **COMPRESSIONS[compression])


@functools.lru_cache(maxsize=None)
def _gdal_writes_zstd() -> bool:
    """True when this GDAL writes ZSTD GeoTIFFs (probed once, in memory)."""
    import rasterio
    import rasterio.shutil
    from rasterio.transform import from_origin

    probe = "/vsimem/tessera-zstd-probe.tif"
    with rasterio.open(probe, "w", driver="GTiff", width=1, height=1, count=1, dtype="uint8",
                       transform=from_origin(0, 1, 1, 1), compress="zstd") as ds:
        ds.write(np.zeros((1, 1, 1), np.uint8))
    with rasterio.open(probe) as ds:
        written = ds.compression is not None and ds.compression.name.lower() == "zstd"
    rasterio.shutil.delete(probe)
    return written


@contextmanager
def replaced_atomically(output: str, extension: str) -> Iterator[str]:
    """Yield a hidden temporary path beside ``output`` (its folder is created if needed);
    rename it over ``output`` on success.

    On error or cancel the temporary file (and any GDAL sidecar) is removed and
    ``output`` is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    temp = os.path.join(folder, f".{os.path.basename(output)}.{uuid.uuid4().hex[:8]}"
                                f".partial{extension}")
    try:
        yield temp
        os.replace(temp, output)
        _remove(output + ".aux.xml")
    finally:
        _remove(temp)
        _remove(temp + ".aux.xml")


@contextmanager
def folder_replaced_atomically(folder: str) -> Iterator[str]:
    """Yield a hidden temporary folder beside ``folder``; put it in ``folder``'s place on
    success (an older ``folder`` is removed); on error remove it."""
    parent, name = os.path.split(folder)
    temp = os.path.join(parent, f".{name}.{uuid.uuid4().hex[:8]}.partial")
    os.mkdir(temp)
    try:
        yield temp
        if os.path.isdir(folder):
            old = temp + ".old"
            os.replace(folder, old)
            os.replace(temp, folder)
            shutil.rmtree(old)
        else:
            os.replace(temp, folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@contextmanager
def atomic_output(spec: OutputSpec,
                  compression: str = DEFAULT_COMPRESSION) -> Iterator["OutputWriter"]:
    """Create ``spec.path`` atomically; yields a writer for windows.

    The raster is written to a hidden temporary file in the same folder and
    renamed over the target only when the ``with`` block ends normally.
    """
    import rasterio

    check_nodata(spec.nodata, spec.dtype)
    profile = dict(creation_options(compression), width=spec.grid.width, height=spec.grid.height,
                   count=spec.count, dtype=spec.dtype, crs=spec.grid.crs,
                   transform=spec.grid.transform, nodata=spec.nodata)
    with replaced_atomically(spec.path, ".tif") as temp:
        with rasterio.Env(GDAL_CACHEMAX=WRITER_GDAL_CACHE_MB * 2 ** 20,
                          GDAL_TIFF_INTERNAL_MASK=True), \
                rasterio.open(temp, "w", **profile) as ds:
            for band, text in enumerate(spec.descriptions, start=1):
                ds.set_band_description(band, text)
            for band, tags in enumerate(spec.band_tags, start=1):
                ds.update_tags(band, **dict(tags))
            if spec.scale_offset is not None:
                ds.scales = (spec.scale_offset[0],) * spec.count
                ds.offsets = (spec.scale_offset[1],) * spec.count
            yield OutputWriter(ds, spec)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class OutputWriter:
    """Writes encoded windows (see :func:`encode`) into an open output raster."""

    def __init__(self, dataset, spec: OutputSpec):
        self._ds = dataset
        self.spec = spec

    def write(self, window: Window, array: np.ndarray) -> None:
        self._ds.write(array, window=window.to_rasterio())
        if self.spec.internal_mask:
            self._ds.write_mask(_valid_anywhere(array, self.spec.nodata),
                                window=window.to_rasterio())


def _valid_anywhere(array: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    """(rows, cols) uint8 mask of an encoded window: 255 where any band is not nodata."""
    if nodata is None:
        return np.full(array.shape[1:], 255, np.uint8)
    invalid = np.isnan(array) if math.isnan(nodata) else array == nodata
    return np.where(invalid.all(axis=0), 0, 255).astype(np.uint8)


def encode(values: np.ndarray, valid: np.ndarray, spec: OutputSpec) -> np.ndarray:
    """Cast float ``values`` (band, row, col) to the output type; invalid pixels get nodata.

    With ``spec.keep_valid``, a valid pixel whose value lands exactly on
    nodata (e.g. a dark pixel clamped to 0 in a uint16 raster whose nodata is
    0) is moved one step into the type's range, so it does not turn into nodata.
    Done in the worker, so only the final, smaller array crosses processes.
    """
    out = cast(values, spec.dtype)
    if spec.keep_valid and spec.nodata is not None and not math.isnan(spec.nodata):
        collide = valid & (out == spec.nodata)
        if collide.any():
            out[collide] = _next_to(spec.nodata, out.dtype)
    if spec.nodata is not None:
        out[~valid] = spec.nodata
    return out


def _next_to(nodata: float, dtype: np.dtype):
    """The representable value next to ``nodata``, towards the middle of the type's range."""
    if dtype.kind == "f":
        return np.nextafter(dtype.type(nodata), dtype.type(0) if nodata != 0 else dtype.type(1))
    return nodata + 1 if nodata < np.iinfo(dtype).max else nodata - 1


def same_grid(infos: Sequence[RasterInfo]) -> Grid:
    """The common grid of ``infos``, or an error naming the first that differs and how."""
    first = infos[0]
    for info in infos[1:]:
        if not first.grid.same_as(info.grid):
            raise GridMismatchError(
                f"input '{info.stem}' is not on the grid of '{first.stem}' "
                f"({_difference(first.grid, info.grid)}): inputs must share CRS, extent and "
                f"pixel size; align them first")
    return first.grid


def _difference(a: Grid, b: Grid) -> str:
    if (a.width, a.height) != (b.width, b.height):
        return f"{b.width} x {b.height} px instead of {a.width} x {a.height} px"
    if not Grid(a.crs, b.transform, b.width, b.height).same_as(b):
        return "another CRS"
    if a.res != b.res:
        return f"pixel size {b.res[0]:g} x {b.res[1]:g} instead of {a.res[0]:g} x {a.res[1]:g}"
    return (f"origin ({b.transform.c:g}, {b.transform.f:g}) instead of "
            f"({a.transform.c:g}, {a.transform.f:g})")


def check_output(output: str, inputs: Sequence[str]) -> None:
    """Refuse an output path that is one of the inputs (inputs are never touched)."""
    target = os.path.abspath(output)
    for path in inputs:
        if os.path.abspath(path) == target:
            raise InvalidInputError(
                f"output '{output}' is also an input: inputs are never overwritten; "
                f"choose another output path")
