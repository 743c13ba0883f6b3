"""Categorical maps: their categories, and one layer per category (REFERENCE F1).

A categorical map (land cover, say) holds integer category codes in one band.
Its categories are the distinct valid values, found in one streamed pass
(:func:`find_categories`); a map with more than :data:`MAX_CATEGORIES` of them
is refused as not categorical, and so is a float raster.

Category maps (:func:`category_maps`) write one band per category ``c``, named
``LC_<c>`` and tagged ``category=<c>`` (the tags are how :mod:`diversity`
finds the layers again):

* ``presence``: 1 where the map is ``c``, else 0;
* ``proportion``: the kernel-weighted share of ``c`` among the *valid* map
  pixels around each pixel, ``K*(map == c) / K*valid`` (a normalized
  convolution, :mod:`kernels`): nodata is left out of the denominator, so the
  shares of all categories sum to 1 wherever the map is valid.

Pixels where the map itself is nodata are nodata in every band.

Layers are made one category at a time per window (:class:`MapLayers`), never
all layers of the whole raster, and the kernel weight of the valid pixels is
computed once per window for all categories. The kernel sums are
:mod:`kernels`' fixed-order sums, so windows and workers do not change a bit.

Outputs are fractions 0..1, stored as :mod:`fractions` says (float32 as they
are; integer types 0..max-1 with max as nodata and a GDAL scale, which
:class:`StoredLayers` reads back).
"""

import functools
from dataclasses import dataclass
from typing import (Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from .errors import InvalidInputError, check_choice
from .executors import Execution, reusing_workers
from .fractions import FractionOutput, fraction_output
from .kernels import EDGES, Kernel, edge_fill, halo, kernel_sum, make_kernel
from .raster_io import (EDGE_NODATA, Block, OutputSpec, RasterInfo, Source, check_output,
                        describe)
from .runner import CancelCheck, Progress, progress_steps, run_map, run_reduce
from .value_ranges import Range
from .windows import Grid, Window, trim

#: More distinct values than this and a raster is not taken for a categorical map.
MAX_CATEGORIES = 256
#: What a category map holds: the kernel-weighted share of the category, or 0/1.
VALUES = ("proportion", "presence")
#: The band metadata key naming a layer's category (``category=<value>``).
TAG = "category"
#: ``kernel_maker(grid=...)`` -> Kernel, e.g. ``functools.partial(make_kernel, "gaussian",
#: sigma=2)``: the user's sizes, turned into pixels once the raster's grid is known.
KernelMaker = Callable[..., Kernel]


def kernel_maker(kernel: str = "gaussian", *, sigma: Optional[float] = None,
                 diameter: Optional[float] = None, truncate: float = 4.0,
                 units: str = "pixels") -> KernelMaker:
    """The user's kernel sizes (see :func:`kernels.make_kernel`), made into a
    :class:`kernels.Kernel` once the raster's grid is known (and checked then)."""
    return functools.partial(make_kernel, kernel, sigma=sigma, diameter=diameter,
                             truncate=truncate, units=units)


# --------------------------------------------------------------------------- categories

def check_categorical(info: RasterInfo, band: int = 1) -> None:
    """Refuse a band that does not exist or does not hold integer category codes."""
    if not 1 <= band <= info.count:
        raise InvalidInputError(
            f"band {band} does not exist in '{info.stem}', which has {info.count} band(s)")
    if np.dtype(info.dtype).kind not in "iu":
        raise InvalidInputError(
            f"'{info.stem}' holds {info.dtype} values, not category codes: a categorical map "
            f"needs an integer type; round it into one first (e.g. Band math with output type "
            f"int16)")


class DistinctValues:
    """Accumulator of the distinct valid values of a one-band block.

    Keeps the smallest :data:`MAX_CATEGORIES` + 1 values (enough to tell a map
    with too many; the smallest, so the result does not depend on the order
    windows merge in) and, apart, those of ``wanted`` that occur.
    """

    def __init__(self, wanted: Tuple[int, ...] = ()):
        self.wanted = frozenset(wanted)
        self.values, self.found = set(), set()

    def add(self, blocks: List[Block], window: Window) -> None:
        codes = blocks[0].data[0][blocks[0].valid[0]]
        if codes.dtype.kind == "u" and codes.dtype.itemsize <= 2:
            found = np.flatnonzero(np.bincount(codes))
        else:
            found = np.unique(codes)
        self._update({int(value) for value in found}, set())

    def merge(self, other: "DistinctValues") -> None:
        self._update(other.values, other.found)

    def _update(self, values: set, found: set) -> None:
        self.found |= found | (values & self.wanted)
        self.values |= values
        if len(self.values) > MAX_CATEGORIES + 1:
            self.values = set(sorted(self.values)[:MAX_CATEGORIES + 1])

    def finalize(self) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        """(sorted values, up to MAX_CATEGORIES + 1 of them; sorted wanted values found)."""
        return tuple(sorted(self.values)), tuple(sorted(self.found))


def find_categories(raster: str, *, band: int = 1,
                    categories: Optional[Sequence[int]] = None,
                    execution: Execution = Execution(), progress: Progress = None,
                    cancelled: CancelCheck = None) -> Tuple[int, ...]:
    """The categories of band ``band`` of ``raster``: every distinct valid value, or the
    given ``categories`` after checking each occurs.

    Parameters
    ----------
    raster : str
        A categorical map (integer type).
    band : int
        1-based band holding the codes.
    categories : sequence of int, optional
        Categories asked for (duplicates dropped, order kept); default: all found.

    Returns
    -------
    tuple of int
        Sorted values found, or ``categories`` in the given order.

    Raises
    ------
    InvalidInputError
        A float raster, more than :data:`MAX_CATEGORIES` values, no valid pixel,
        or a given category that never occurs.

    Examples
    --------
    A uint8 map of 1, 1, 5 with nodata 0 has categories (1, 5).
    """
    info = describe(raster, "categorical map")
    check_categorical(info, band)
    wanted = None if categories is None else _unique(categories)
    if wanted is not None and len(wanted) > MAX_CATEGORIES:
        raise InvalidInputError(f"{len(wanted)} categories given: at most {MAX_CATEGORIES} "
                                f"can be mapped at once")
    found, occurring = run_reduce(
        functools.partial(DistinctValues, wanted or ()), [Source(raster, (band,))], info.grid,
        execution=execution, progress=progress, cancelled=cancelled)
    if not found:
        raise InvalidInputError(f"'{info.stem}' has no valid pixel: there is no category to map")
    if wanted is not None:
        missing = [value for value in wanted if value not in occurring]
        if missing:
            raise InvalidInputError(
                f"categor{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(map(str, missing))} do{'es' if len(missing) == 1 else ''} not occur "
                f"in '{info.stem}', which holds {_listed(found)}: choose among those")
        return wanted
    if len(found) > MAX_CATEGORIES:
        raise InvalidInputError(
            f"'{info.stem}' holds more than {MAX_CATEGORIES} distinct values: it does not look "
            f"like a categorical map; reclassify it first or choose the categories to map")
    return found


def parse_categories(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """Categories typed by a user ("11, 12 31"), None when ``text`` is empty.

    >>> parse_categories("11, 12 31")
    (11, 12, 31)
    """
    words = (text or "").replace(",", " ").split()
    if not words:
        return None
    wrong = [word for word in words if not word.lstrip("+-").isdigit()]
    if wrong:
        raise InvalidInputError(
            f"categories '{text}': '{wrong[0]}' is not a whole number; give the category "
            f"values separated by commas, e.g. 11, 12, 31")
    return _unique(int(word) for word in words)


def _unique(values: Iterable[int]) -> Tuple[int, ...]:
    """``values`` as ints without repeats, in the given order."""
    return tuple(dict.fromkeys(int(value) for value in values))


def _listed(values: Sequence[int], shown: int = 20) -> str:
    text = ", ".join(map(str, values[:shown]))
    if len(values) <= shown:
        return text
    count = len(values) if len(values) <= MAX_CATEGORIES else f"more than {MAX_CATEGORIES}"
    return f"{text} ... ({count} values)"


def output_spec(output: str, grid: Grid, stored: FractionOutput,
                descriptions: Sequence[str], tags: Sequence[str]) -> OutputSpec:
    """The spec of a raster of fractions: one band per description, tagged
    ``category=<tag>``, with the GDAL scale and offset of ``stored``."""
    return OutputSpec(output, grid, len(descriptions), stored.dtype, stored.nodata,
                      tuple(descriptions), band_tags=tuple(((TAG, str(tag)),) for tag in tags),
                      scale_offset=stored.scale_offset)


# --------------------------------------------------------------------------- layers

@dataclass(frozen=True)
class MapLayers:
    """The category layers of a categorical map, made per window, one at a time.

    Called with the map's block (window grown by :attr:`halo`) and that grown
    window, returns the validity of the window itself and an iterator over the
    layers of ``categories`` (float arrays of the window's shape): presence
    without a kernel, else the kernel-weighted share of valid pixels.
    ``edge`` fills the block beyond the raster (:func:`kernels.edge_fill`);
    ``halo`` may be cut below the kernel radius where the kernel reaches past
    every pixel of the raster (see :func:`map_layers`).
    """

    categories: Tuple[int, ...]
    grid: Grid
    kernel: Optional[Kernel] = None
    edge: str = EDGE_NODATA
    halo: int = 0

    def __call__(self, block: Block, window: Window) -> Tuple[np.ndarray, Iterator[np.ndarray]]:
        block = edge_fill(block, window, self.grid, self.edge) if self.kernel else block
        codes, valid = block.data[0], block.valid[0]
        return trim(valid, self.halo), self._layers(codes, valid)

    def _layers(self, codes: np.ndarray, valid: np.ndarray) -> Iterator[np.ndarray]:
        inner = trim(codes, self.halo)
        if self.kernel is None:
            for category in self.categories:
                yield (inner == category).astype(np.float32)
            return
        weight = self._weight(valid)
        for category in self.categories:
            yield self._share((codes == category) & valid, weight)

    def _share(self, hit: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``K*hit / weight`` for the window, summed only where ``hit`` is within reach.

        The pixels of the window whose kernel reaches no hit are exactly 0; the rest
        are summed over the rows and columns they reach (the block cut to the hits'
        bounding box plus twice the halo). Every pixel's sum is the same sequence of
        operations as over the whole block, so the cut changes no bit.
        """
        h = self.halo
        share = np.zeros((hit.shape[0] - 2 * h, hit.shape[1] - 2 * h), np.float32)
        rows, cols = np.flatnonzero(hit.any(axis=1)), np.flatnonzero(hit.any(axis=0))
        if rows.size == 0:
            return share
        r0, r1 = max(rows[0] - 2 * h, 0), min(rows[-1] + 1, share.shape[0])
        c0, c1 = max(cols[0] - 2 * h, 0), min(cols[-1] + 1, share.shape[1])
        part = kernel_sum(hit[r0:r1 + 2 * h, c0:c1 + 2 * h].astype(np.float32), self.kernel, h)
        if weight.size > 1:
            weight = weight[r0:r1, c0:c1]
        np.divide(part, weight, out=share[r0:r1, c0:c1], where=weight > 0)
        return share

    def _weight(self, valid: np.ndarray):
        """``K*valid`` for the window (the denominator of every category's share).

        Where the whole block is valid every pixel's sum is the same sequence of
        operations on ones, so one pixel's sum stands for all (bit for bit).
        """
        if valid.all():
            side = 2 * self.halo + 1
            return kernel_sum(np.ones((side, side), np.float32), self.kernel, self.halo)
        return kernel_sum(valid.astype(np.float32), self.kernel, self.halo)


def map_layers(info: RasterInfo, categories: Tuple[int, ...], kernel: Optional[Kernel],
               edge: str) -> MapLayers:
    """:class:`MapLayers` of the map ``info`` with its halo.

    With the ``nodata`` edge policy a kernel wider than the raster is cut to
    the raster's size: every pixel farther away is beyond the edge, and
    invalid, so the result is the same and the blocks stay small.
    """
    if kernel is None:
        return MapLayers(categories, info.grid)
    return MapLayers(categories, info.grid, kernel, edge, halo(kernel, info.grid, edge))


@dataclass(frozen=True)
class StoredLayers:
    """The layers of a category-maps raster, as fractions, per window (no halo).

    ``fractions`` holds each band's (scale, offset): fraction = pixel * scale +
    offset. A pixel is valid where every chosen band is.
    """

    fractions: Tuple[Tuple[float, float], ...]
    halo: int = 0

    def __call__(self, block: Block, window: Window) -> Tuple[np.ndarray, Iterator[np.ndarray]]:
        layers = (block.data[k].astype(np.float64) * scale + offset
                  for k, (scale, offset) in enumerate(self.fractions))
        return block.valid.all(axis=0), layers


def stored_categories(path: str) -> Dict[int, int]:
    """{category: band} of the bands of ``path`` tagged ``category=<integer>``."""
    import rasterio

    found = {}
    with rasterio.open(path) as ds:
        for band in range(1, ds.count + 1):
            value = ds.tags(band).get(TAG, "")
            if value.lstrip("-").isdigit():
                found.setdefault(int(value), band)
    return found


def _fractions(path: str, bands: Sequence[int]) -> Tuple[Tuple[float, float], ...]:
    """(scale, offset) of each band: GDAL's when set, else 1 / type max for integers
    (convster's files, F4: a = v / 255 for uint8) and (1, 0) for floats."""
    import rasterio

    with rasterio.open(path) as ds:
        found = []
        for band in bands:
            scale, offset = ds.scales[band - 1], ds.offsets[band - 1]
            dtype = np.dtype(ds.dtypes[band - 1])
            if (scale, offset) == (1.0, 0.0) and dtype.kind in "iu":
                scale = 1.0 / np.iinfo(dtype).max
            found.append((float(scale), float(offset)))
    return tuple(found)


@dataclass(frozen=True)
class Layers:
    """Where an operation's category layers come from (see :func:`category_layers`)."""

    info: RasterInfo
    source: Source
    categories: Tuple[int, ...]
    make: Union[MapLayers, StoredLayers]
    stored: bool


def category_layers(raster: str, *, categories: Optional[Sequence[int]] = None,
                    kernel: Optional[KernelMaker] = None, edge: str = EDGE_NODATA, band: int = 1,
                    execution: Execution = Execution(), progress: Progress = None,
                    cancelled: CancelCheck = None) -> Layers:
    """The category layers of ``raster``: a category-maps raster (bands tagged
    ``category=<value>``, used as they are: ``kernel``, ``edge`` and ``band`` do
    not apply), or a categorical map blurred per window with the kernel that
    ``kernel`` (see :func:`kernel_maker`) makes on its grid.

    Raises
    ------
    InvalidInputError
        A category that is not a tagged band / does not occur in the map, a float
        raster without category tags, or a categorical map without a kernel.
    """
    info = describe(raster)
    tagged = stored_categories(raster)
    if tagged:
        chosen = _unique(categories) if categories is not None else tuple(tagged)
        missing = [value for value in chosen if value not in tagged]
        if missing:
            raise InvalidInputError(
                f"'{info.stem}' has no band tagged category={missing[0]}: its category bands "
                f"are {_listed(tuple(tagged))}; choose among those")
        bands = tuple(tagged[value] for value in chosen)
        return Layers(info, Source(raster, bands), chosen,
                      StoredLayers(_fractions(raster, bands)), True)
    if kernel is None:
        raise InvalidInputError(f"'{info.stem}' is a categorical map (no band tagged "
                                f"{TAG}=...): give a kernel to measure the local proportions")
    return _map_layers(info, band, categories, kernel, edge, execution, progress, cancelled)


def _map_layers(info: RasterInfo, band: int, categories: Optional[Sequence[int]],
                kernel: Optional[KernelMaker], edge: str, execution: Execution,
                progress: Progress, cancelled: CancelCheck) -> Layers:
    """The layers of the categorical map ``info``: checks, then finds its categories."""
    check_categorical(info, band)
    check_choice(edge, EDGES, "edge policy")
    the_kernel = None if kernel is None else kernel(grid=info.grid)
    chosen = find_categories(info.path, band=band, categories=categories, execution=execution,
                             progress=progress, cancelled=cancelled)
    return Layers(info, Source(info.path, (band,)), chosen,
                  map_layers(info, chosen, the_kernel, edge), False)


# --------------------------------------------------------------------------- category maps

@dataclass(frozen=True)
class CategoryMapsOperator:
    """One band per category: the layers of :class:`MapLayers`, stored as fractions."""

    layers: MapLayers
    stored: FractionOutput
    edge: str = EDGE_NODATA  # how the runner reads; the layers apply their own edge policy

    @property
    def halo(self) -> int:
        return self.layers.halo

    def __call__(self, blocks: List[Block], window: Window):
        valid, layers = self.layers(blocks[0], window)
        values = np.stack([self.stored.encode(np.where(valid, layer, 0)) for layer in layers])
        return values, np.broadcast_to(valid, values.shape)


@reusing_workers
def category_maps(raster: str, output: str, *, categories: Optional[Sequence[int]] = None,
                  band: int = 1, values: str = "proportion", kernel: str = "gaussian",
                  sigma: Optional[float] = None, diameter: Optional[float] = None,
                  truncate: float = 4.0, units: str = "pixels", edge: str = EDGE_NODATA,
                  dtype: str = "float32",
                  out_range: Optional[Range] = None, nodata: Optional[float] = None,
                  execution: Execution = Execution(), progress: Progress = None,
                  cancelled: CancelCheck = None) -> str:
    """Write one band per category of a categorical map: presence or local proportion.

    Parameters
    ----------
    raster, output : str
        Categorical map (integer type) and GeoTIFF to create (atomically).
    categories : sequence of int, optional
        Categories to map, one band each in this order; default: every value
        found (sorted). Each must occur in the map.
    band : int
        1-based band of the map holding the codes.
    values : {'proportion', 'presence'}
        The kernel-weighted share of the category among valid pixels, or 0/1.
    kernel, sigma, diameter, truncate, units
        The kernel of proportions (see :func:`kernels.make_kernel`): Gaussian by
        sigma, or by diameter and truncate; box side or disk diameter; in pixels
        or map units. Unused for presence.
    edge : {'nodata', 'nearest', 'reflect'}
        Beyond the raster: nothing (the kernel is renormalised over the pixels
        that exist), the edge pixels repeated, or mirrored (scipy's modes).
    dtype : str
        Output type: float32 (0..1) or an integer type (0..max-1, scaled).
    out_range, nodata : optional
        Stored range of the fractions and nodata (see :func:`fractions.fraction_output`).

    Returns
    -------
    str
        ``output``; band k is named ``LC_<category>`` and tagged
        ``category=<category>``.

    Raises
    ------
    InvalidInputError
        A float map, a category absent from the map, more than
        :data:`MAX_CATEGORIES` categories, bad kernel sizes (sigma <= 0 ...), or
        an output range/nodata the type cannot hold.

    Notes
    -----
    Halo: the kernel radius (presence: none), cut to the raster's size with the
    ``nodata`` edge policy. Nodata map pixels are nodata in every band.

    Examples
    --------
    A 1 x 3 map [1, 2, 2] with a box of side 3 (``kernel="box", diameter=3``) gives
    LC_1 = [1/2, 1/3, 0] and LC_2 = [1/2, 2/3, 1].
    """
    check_choice(values, VALUES, "category map values")
    stored = fraction_output(dtype, out_range, nodata)
    check_output(output, [raster])
    sizes = None
    if values == "proportion":
        sizes = kernel_maker(kernel, sigma=sigma, diameter=diameter, truncate=truncate,
                             units=units)
    find, write = progress_steps(progress, 2)
    layers = _map_layers(describe(raster, "categorical map"), band, categories, sizes, edge,
                         execution, find, cancelled)
    spec = output_spec(output, layers.info.grid, stored,
                       [f"LC_{value}" for value in layers.categories], layers.categories)
    return run_map(CategoryMapsOperator(layers.make, stored), [layers.source], spec,
                   execution=execution, progress=write, cancelled=cancelled)

