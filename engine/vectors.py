"""Merge vector layers into one GeoPackage layer: union, intersection or keep.

Reference F12 (spectralmatch ``merge_vectors``), with two changes:

* attribute columns that several layers share are *kept* in an intersection,
  renamed ``<column>_<layer name>`` for every layer that has them (the
  reference drops them silently); union and keep put same-named columns in one
  column, as a concatenation should;
* an empty intersection is an error naming the layers, not an empty file that
  a model would carry on with.

Layer names are the file names without extension. Layers in another CRS than
the first are reprojected to it. geopandas is imported where it is used.
"""

import os
from typing import Callable, List, Optional, Sequence

from .errors import Cancelled, InvalidInputError, check_choice
from .runner import CancelCheck, Progress
from .vector_io import check_geopackage, read_layer, write_geopackage

#: How layers are merged: features of every layer (no dissolve), the areas common to
#: all layers (iterative overlay), or every feature with the name of its layer.
METHODS = ("union", "intersection", "keep")
#: The field that holds layer names in ``keep`` mode when no name field is given.
DEFAULT_NAME_FIELD = "source"
_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


def merge_vectors(inputs: Sequence[str], output: str, *, method: str = "union",
                  name_field: Optional[str] = None, separator: str = "_",
                  progress: Progress = None, cancelled: CancelCheck = None) -> str:
    """Merge the layers ``inputs`` into the GeoPackage ``output``.

    Parameters
    ----------
    inputs : sequence of str
        Vector files (their first layer), all points, all lines or all polygons.
    output : str
        A .gpkg path; its layer is named after the file. It appears only when
        complete.
    method : {'union', 'intersection', 'keep'}
        ``union``: every feature of every layer, attribute columns united
        (missing values empty). ``intersection``: the areas covered by every
        layer, each piece with the attributes of the features it came from
        (``geopandas.overlay`` over the layers in order; needs two layers or
        more). ``keep``: like union, plus a field ``name_field`` (default
        'source') holding each feature's layer name.
    name_field : str, optional
        Also for union and intersection: a field with the names of the layers
        each feature came from, joined by ``separator`` (an intersection piece
        comes from every layer: 'a_b_c').

    Returns
    -------
    str
        ``output``.

    Raises
    ------
    InvalidInputError
        Unknown method, fewer than two layers for an intersection, two layers
        of one name when names are written, mixed geometry types, a layer
        without CRS beside one with, invalid polygons in an intersection, a
        name field that a layer already has, an empty intersection.
    MissingInputError
        A layer that does not exist or cannot be read.

    Examples
    --------
    Layers a (square 0..2 x 0..2, field ``id=1``) and b (square 1..3 x 1..3,
    ``id=7``): the intersection is the square 1..2 x 1..2 with ``id_a=1`` and
    ``id_b=7``; the union has both squares and one ``id`` column (1, 7).
    """
    check_choice(method, METHODS, "merge method")
    if not inputs:
        raise InvalidInputError("no vector layer given: choose the layers to merge")
    if method == "intersection" and len(inputs) < 2:
        raise InvalidInputError("an intersection needs two vector layers or more: add a "
                                "layer, or use the union method")
    field = name_field or (DEFAULT_NAME_FIELD if method == "keep" else None)
    check_geopackage(output, inputs, "merged layer")
    names = [os.path.splitext(os.path.basename(path))[0] for path in inputs]
    if field or method == "intersection":
        _check_distinct(inputs, names)
    overlays = len(inputs) - 1 if method == "intersection" else 0
    step = _stepper(len(inputs) + overlays, progress, cancelled)
    tables = _read_all(inputs, names, step)
    _check_geometry_types(tables, names)
    if field:
        _check_free(tables, names, field)
    if method == "intersection":
        merged = _intersection(tables, names, step)
        if field:
            merged[field] = separator.join(names)
    else:
        merged = _concatenation(tables, names, field)
    write_geopackage(_promoted(merged), output, os.path.splitext(os.path.basename(output))[0])
    return output


def _stepper(total: int, progress: Progress, cancelled: CancelCheck) -> Callable[[], None]:
    """A callable to call after each of ``total`` steps (reading a layer, one overlay):
    it raises :class:`Cancelled` when the user cancelled, else reports progress."""
    done = [0]

    def step() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled("cancelled by the user; no output was written")
        done[0] += 1
        if progress is not None:
            progress(100.0 * done[0] / total)

    return step


def _check_distinct(paths: Sequence[str], names: Sequence[str]) -> None:
    seen = {}
    for path, name in zip(paths, names):
        if name in seen:
            raise InvalidInputError(
                f"two layers are named '{name}' ('{seen[name]}' and '{path}'): merged features "
                f"are labelled by layer name, rename one")
        seen[name] = path


def _read_all(paths: Sequence[str], names: Sequence[str], step) -> List:
    """Every layer, in the first one's CRS."""
    import geopandas

    tables = []
    for path, name in zip(paths, names):
        table = read_layer(path)
        if not isinstance(table, geopandas.GeoDataFrame):
            raise InvalidInputError(f"vector layer '{name}' has no geometry: choose a layer "
                                    f"of points, lines or polygons")
        if tables and (table.crs is None) != (tables[0].crs is None):
            without = name if table.crs is None else names[0]
            raise InvalidInputError(
                f"vector layer '{without}' has no CRS but other layers have one: assign its "
                f"CRS first (in QGIS: Assign projection)")
        if tables and table.crs is not None and table.crs != tables[0].crs:
            table = table.to_crs(tables[0].crs)
        tables.append(table)
        step()
    return tables


def _family(geometry_type: str) -> str:
    return geometry_type.replace("Multi", "")


def _check_geometry_types(tables: Sequence, names: Sequence[str]) -> None:
    """Refuse layers that mix points, lines and polygons (one output layer has one type)."""
    first = None
    for table, name in zip(tables, names):
        for family in sorted({_family(kind) for kind in table.geom_type.dropna()}):
            if first is None:
                first = (family, name)
            elif family != first[0]:
                raise InvalidInputError(
                    f"vector layer '{name}' has {family} geometries but '{first[1]}' has "
                    f"{first[0]} geometries: merge layers of one geometry type")


def _check_free(tables: Sequence, names: Sequence[str], field: str) -> None:
    for table, name in zip(tables, names):
        if field in table.columns:
            raise InvalidInputError(
                f"vector layer '{name}' already has a field '{field}': choose another name "
                f"field for the layer names")


def _concatenation(tables: Sequence, names: Sequence[str], field: Optional[str]):
    """Every feature of every layer, attribute columns united; ``field`` = layer name."""
    import geopandas
    import pandas

    if field:
        tables = [table.assign(**{field: name}) for table, name in zip(tables, names)]
    return geopandas.GeoDataFrame(pandas.concat(tables, ignore_index=True),
                                  geometry="geometry", crs=tables[0].crs)


def _intersection(tables: Sequence, names: Sequence[str], step):
    """The pieces every layer covers, each with the attributes of its source features;
    a column several layers share is kept once per layer as ``<column>_<layer name>``."""
    import geopandas

    for table, name in zip(tables, names):
        invalid = int((~table.geometry.is_valid).sum())
        if invalid:
            raise InvalidInputError(
                f"vector layer '{name}' has {invalid} invalid geometries, which an "
                f"intersection cannot use: repair them first (in QGIS: Fix geometries)")
    counts = {}
    for table in tables:
        for column in table.columns:
            counts[column] = counts.get(column, 0) + (column != table.geometry.name)
    tables = [table.rename(columns={column: f"{column}_{name}" for column in table.columns
                                    if counts[column] > 1})
              for table, name in zip(tables, names)]
    merged = tables[0]
    for table in tables[1:]:
        merged = geopandas.overlay(merged, table, how="intersection", keep_geom_type=True)
        step()
    if merged.empty:
        raise InvalidInputError(
            f"the layers {', '.join(names)} have no area in common: the intersection is "
            f"empty (use the union or keep method to combine them)")
    return merged


def _promoted(table):
    """``table`` with single geometries made multi when the layer mixes both kinds
    (a GeoPackage layer has one geometry type)."""
    kinds = set(table.geom_type.dropna())
    if not any(kind.startswith("Multi") for kind in kinds) or len(kinds) < 2:
        return table
    from shapely import geometry as shapes

    def multi(item):
        if item is None or item.geom_type not in _MULTI:
            return item
        return getattr(shapes, _MULTI[item.geom_type])([item])

    return table.set_geometry(table.geometry.apply(multi))
