"""How mixed the landscape is around every pixel: Shannon entropy and interaction
of local category proportions (REFERENCE F3, F4).

Both take their category layers from :func:`categories.category_layers`:
straight from a categorical map, blurred per window with the kernel's halo
(one layer at a time: never all layers of the whole raster), or from a
category-maps raster, whose bands are found by their ``category`` tag and
used as they are (no halo). The two routes give the same result: a
category-maps raster in float32 holds exactly the layers the direct route
makes.

Entropy, per pixel, over the n chosen layers v_k (F3): p_k = v_k / S with
S = sum v_k, and H = -sum p_k ln p_k (0 ln 0 = 0). It is accumulated layer by
layer as H = ln S - (sum v_k ln v_k) / S, in float64. Normed, H is divided
by ln(n), or by ln(max categories) to compare maps with different numbers of
categories, giving 0..1; else it is in nats (float outputs only). A pixel
where every layer is 0 (S = 0, H undefined) or any layer is nodata is nodata,
never NaN cast to an integer.

Interaction (F4), over the layers as fractions a_k (0..1): I = prod a_k;
standardized, I / sum a_k (0 where the sum is 0); normed, I / (1/n)^n, so n
equal shares of 1/n give 1. Float outputs keep I as it is (standardized
values may exceed 1); integer outputs clip it to 1 and round *up*
(ceil(I x top)), as convster does.

Integer outputs store fractions as :mod:`fractions` says (uint8: 0..254,
nodata 255, GDAL scale 1/254).
"""

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .categories import MapLayers, StoredLayers, category_layers, kernel_maker, output_spec
from .errors import InvalidInputError
from .executors import Execution, reusing_workers
from .fractions import FractionOutput, fraction_output
from .raster_io import EDGE_NODATA, Block, check_output
from .runner import CancelCheck, Progress, progress_steps, run_map
from .value_ranges import Range
from .windows import Window

LayerMaker = Union[MapLayers, StoredLayers]


# --------------------------------------------------------------------------- the math

class ShannonSums:
    """S = sum v_k and T = sum v_k ln v_k over layers added one at a time (float64)."""

    def __init__(self, shape: Tuple[int, ...]):
        self.total = np.zeros(shape)
        self.plogp = np.zeros(shape)

    def add(self, layer: np.ndarray) -> None:
        values = np.array(layer, np.float64)
        positive = values > 0
        if not positive.any():  # an absent category adds nothing
            return
        np.maximum(values, 0.0, out=values)
        self.total += values
        logs = np.zeros(values.shape)
        np.log(values, out=logs, where=positive)
        logs *= values
        self.plogp += logs

    def entropy(self, normaliser: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(H, defined): H = ln S - T / S where S > 0 (else 0 and not defined), divided
        by ``normaliser`` when given and kept in 0..1 (rounding noise only)."""
        defined = self.total > 0
        entropy = np.zeros(self.total.shape)
        np.log(self.total, out=entropy, where=defined)
        share = np.zeros(self.total.shape)
        np.divide(self.plogp, self.total, out=share, where=defined)
        entropy -= share
        np.maximum(entropy, 0.0, out=entropy)
        if normaliser is not None:
            entropy /= normaliser
            np.minimum(entropy, 1.0, out=entropy)
        return entropy, defined


class Interaction:
    """prod a_k and sum a_k over fractions a_k added one at a time (float64)."""

    def __init__(self, shape: Tuple[int, ...]):
        self.product = np.ones(shape)
        self.total = np.zeros(shape)
        self.count = 0

    def add(self, fractions: np.ndarray) -> None:
        fractions = np.asarray(fractions, np.float64)
        self.product *= fractions
        self.total += fractions
        self.count += 1

    def value(self, *, standardize: bool = False, normed: bool = True) -> np.ndarray:
        """I = prod a_k; standardized I / sum a_k (0 where the sum is 0); normed
        I / (1/n)^n."""
        index = self.product
        if standardize:
            index = np.zeros(self.total.shape)
            np.divide(self.product, self.total, out=index, where=self.total > 0)
        if normed:
            index = index * float(self.count) ** self.count
        return index


def max_entropy(categories: int) -> float:
    """ln(n): the entropy of n equal shares, the largest n categories can reach.

    >>> round(max_entropy(2), 4), round(max_entropy(10), 4)
    (0.6931, 2.3026)
    """
    return math.log(categories)


def entropy_normaliser(categories: int, normed: bool = True,
                       max_categories: Optional[int] = None) -> Optional[float]:
    """What H is divided by: ln(n), ln(``max_categories``), or None (raw nats)."""
    if categories < 2:
        raise InvalidInputError(
            f"entropy needs at least 2 categories ({categories} chosen): with one, it is 0 "
            f"everywhere")
    if max_categories is not None:
        if not normed:
            raise InvalidInputError("a maximum number of categories only applies to normed "
                                    "entropy: normalise it, or leave the maximum unset")
        if max_categories < categories:
            raise InvalidInputError(
                f"maximum number of categories {max_categories} is below the {categories} "
                f"categories used: give at least {categories}, or leave it unset")
        return max_entropy(max_categories)
    return max_entropy(categories) if normed else None


def shannon_entropy(layers: Sequence[np.ndarray], *, normed: bool = True,
                    max_categories: Optional[int] = None) -> np.ndarray:
    """Shannon entropy across ``layers`` (n arrays of one shape, any non-negative scale).

    Parameters
    ----------
    layers : sequence of n arrays
        Category layers v_k (proportions, or counts: only their ratios matter).
    normed : bool
        Divide by ln(n), or by ln(``max_categories``) when given.

    Returns
    -------
    float64 array
        H, NaN where every layer is 0.

    Examples
    --------
    F3: layers [[10, 5], [4, 1]] and [[1, 5], [2, 9]] give
    [[0.4395, 1.0], [0.9183, 0.4690]].
    """
    sums = ShannonSums(np.shape(layers[0]))
    for layer in layers:
        sums.add(layer)
    entropy, defined = sums.entropy(entropy_normaliser(len(layers), normed, max_categories))
    return np.where(defined, entropy, np.nan)


def interaction_index(fractions: Sequence[np.ndarray], *, standardize: bool = False,
                      normed: bool = True) -> np.ndarray:
    """The interaction of 2+ layers of fractions (0..1), see :class:`Interaction`.

    Examples
    --------
    F4: a = [[.5, .25], [0, .05]], b = [[.5, .25], [0, .3]], standardized and
    normed, give [[1, .5], [0, .1714]].
    """
    check_interaction_count(len(fractions))
    product = Interaction(np.shape(fractions[0]))
    for layer in fractions:
        product.add(layer)
    return product.value(standardize=standardize, normed=normed)


def check_interaction_count(categories: int) -> None:
    """Refuse an interaction of fewer than 2 categories (a product of one is no interaction)."""
    if categories < 2:
        raise InvalidInputError(
            f"interaction needs at least 2 categories ({categories} chosen): choose the pair "
            f"or triple whose co-occurrence to measure")


# --------------------------------------------------------------------------- operators

@dataclass(frozen=True)
class EntropyOperator:
    """Entropy of the layers of one window (halo: the layers')."""

    layers: LayerMaker
    normaliser: Optional[float]
    stored: FractionOutput
    edge: str = EDGE_NODATA  # how the runner reads; map layers apply their own edge policy

    @property
    def halo(self) -> int:
        return self.layers.halo

    def __call__(self, blocks: List[Block], window: Window):
        valid, layers = self.layers(blocks[0], window)
        sums = ShannonSums(valid.shape)
        for layer in layers:
            sums.add(layer)
        entropy, defined = sums.entropy(self.normaliser)
        valid = valid & defined
        return self.stored.encode(np.where(valid, entropy, 0.0))[None], valid[None]


@dataclass(frozen=True)
class InteractionOperator:
    """Interaction of the layers of one window (halo: the layers')."""

    layers: LayerMaker
    standardize: bool
    normed: bool
    stored: FractionOutput
    edge: str = EDGE_NODATA

    @property
    def halo(self) -> int:
        return self.layers.halo

    def __call__(self, blocks: List[Block], window: Window):
        valid, layers = self.layers(blocks[0], window)
        product = Interaction(valid.shape)
        for layer in layers:
            product.add(layer)
        index = product.value(standardize=self.standardize, normed=self.normed)
        return self.stored.encode(np.where(valid, index, 0.0))[None], valid[None]


# --------------------------------------------------------------------------- operations

@reusing_workers
def entropy(raster: str, output: str, *, categories: Optional[Sequence[int]] = None,
            kernel: str = "gaussian", sigma: Optional[float] = None,
            diameter: Optional[float] = None, truncate: float = 4.0, units: str = "pixels",
            edge: str = EDGE_NODATA, band: int = 1, normed: bool = True,
            max_categories: Optional[int] = None, dtype: str = "float32",
            out_range: Optional[Range] = None, nodata: Optional[float] = None,
            execution: Execution = Execution(), progress: Progress = None,
            cancelled: CancelCheck = None) -> str:
    """Write the local Shannon entropy of category proportions.

    Parameters
    ----------
    raster : str
        A categorical map (integer codes in ``band``; blurred here with
        ``kernel``) or a category-maps raster (bands tagged ``category=<value>``,
        e.g. from :func:`categories.category_maps`; ``kernel``, ``edge`` and
        ``band`` are then unused).
    output : str
        GeoTIFF to create (atomically), one band tagged ``category=entropy``.
    categories : sequence of int, optional
        At least 2; default every category of the map, or every tagged band.
    kernel, sigma, diameter, truncate, units
        The kernel of a categorical map (see :func:`kernels.make_kernel`):
        Gaussian by sigma, or by diameter and truncate; box side or disk
        diameter; in pixels or map units.
    edge : {'nodata', 'nearest', 'reflect'}
        Beyond the raster (see :func:`categories.category_maps`).
    normed : bool
        Divide by ln(n) (0..1), or by ln(``max_categories``) when given.
        Without it H is in nats, for float output types only.
    dtype, out_range, nodata : optional
        How 0..1 is stored (:func:`fractions.fraction_output`), rounded.

    Returns
    -------
    str
        ``output``.

    Raises
    ------
    InvalidInputError
        A float map, a category that is absent (or not a tagged band), bad
        kernel sizes (sigma <= 0 ...), fewer than 2 categories, ``max_categories``
        below their number, raw entropy in an integer type, or an output
        range/nodata the type cannot hold.

    Notes
    -----
    Halo: the kernel's radius for a categorical map, none for category maps.
    A pixel is nodata where the map is nodata (any chosen band, for category
    maps) or every chosen proportion is 0.

    Examples
    --------
    Two categories in equal shares around a pixel give 1 (normed); a pixel
    whose whole neighbourhood is one category gives 0.
    """
    stored = fraction_output(dtype, out_range, nodata)
    if not normed and not stored.as_is:
        raise InvalidInputError(
            "entropy in nats (not normed) is stored as it is: choose a float output type "
            "without an output range, or normalise it")
    check_output(output, [raster])
    if categories is not None:
        entropy_normaliser(len(set(categories)), normed, max_categories)
    find, write = progress_steps(progress, 2)
    sizes = kernel_maker(kernel, sigma=sigma, diameter=diameter, truncate=truncate,
                         units=units)
    layers = category_layers(raster, categories=categories, kernel=sizes, edge=edge,
                             band=band, execution=execution, progress=find,
                             cancelled=cancelled)
    normaliser = entropy_normaliser(len(layers.categories), normed, max_categories)
    spec = output_spec(output, layers.info.grid, stored, ["entropy"], ["entropy"])
    return run_map(EntropyOperator(layers.make, normaliser, stored), [layers.source], spec,
                   execution=execution, progress=progress if layers.stored else write,
                   cancelled=cancelled)


@reusing_workers
def interaction(raster: str, output: str, *, categories: Optional[Sequence[int]] = None,
                kernel: str = "gaussian", sigma: Optional[float] = None,
                diameter: Optional[float] = None, truncate: float = 4.0, units: str = "pixels",
                edge: str = EDGE_NODATA, band: int = 1, standardize: bool = False,
                normed: bool = True, dtype: str = "float32",
                out_range: Optional[Range] = None, nodata: Optional[float] = None,
                execution: Execution = Execution(), progress: Progress = None,
                cancelled: CancelCheck = None) -> str:
    """Write the local interaction (co-occurrence) of 2+ categories.

    Parameters
    ----------
    raster, output, categories, kernel, sigma, diameter, truncate, units, edge, band :
        As :func:`entropy`. Layers of a category-maps raster become fractions
        through their GDAL scale and offset, or, without them, by dividing
        integer values by the type's maximum (convster's files: v / 255).
    standardize : bool
        Divide the product by the sum of the fractions.
    normed : bool
        Divide by (1/n)^n.
    dtype, out_range, nodata : optional
        Float outputs hold I as it is; integer outputs clip it to 1 and ceil
        onto the stored range (:func:`fractions.fraction_output`).

    Returns
    -------
    str
        ``output``, one band tagged ``category=interaction``.

    Raises
    ------
    InvalidInputError
        As :func:`entropy`, and fewer than 2 categories.

    Examples
    --------
    Shares 1/3, 1/3, 1/3 of three categories give 1 (normed, standardized or
    not); any category absent around a pixel gives 0.
    """
    stored = fraction_output(dtype, out_range, nodata, rounding="ceil")
    check_output(output, [raster])
    if categories is not None:
        check_interaction_count(len(set(categories)))
    find, write = progress_steps(progress, 2)
    sizes = kernel_maker(kernel, sigma=sigma, diameter=diameter, truncate=truncate,
                         units=units)
    layers = category_layers(raster, categories=categories, kernel=sizes, edge=edge,
                             band=band, execution=execution, progress=find,
                             cancelled=cancelled)
    check_interaction_count(len(layers.categories))
    description = "interaction of " + ", ".join(map(str, layers.categories))
    spec = output_spec(output, layers.info.grid, stored, [description], ["interaction"])
    operator = InteractionOperator(layers.make, standardize, normed, stored)
    return run_map(operator, [layers.source], spec, execution=execution,
                   progress=progress if layers.stored else write, cancelled=cancelled)
