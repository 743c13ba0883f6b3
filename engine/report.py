"""Before/after report of a radiometric normalization: numbers, plots and previews.

Given the input images and their normalized outputs (paired by order), the
report shows whether the normalization did its job, as spectralmatch's
statistics plots do (reference F18), but streamed and in one HTML page:

* per-band mean spectral profiles before (dashed) and after (solid) of every
  image, and a table of per-band means and standard deviations
  (:class:`moments.Moments`, one streamed pass per image);
* the differences in the overlaps of every pair of images, before and after:
  mean absolute difference (MAD) and root mean square difference (RMSE) over
  the pixels valid in both (:mod:`differences`, which computes them streamed
  and nodata-safe); a table and a bar chart;
* a preview of every image before and after, read decimated, with one 2-98 %
  stretch per band shared by all of them, so brightness differences between
  images and between before and after stay visible;
* a summary: the mean seam MAD before and after and its relative change.

Unlike the reference, no image is ever held whole in memory (previews are
read at most ``preview_size`` pixels across) and nodata is excluded in every
band of both images; see :mod:`differences` for how the overlap numbers
avoid the reference's unsigned wrap-around.

The HTML page and a folder of PNG plots beside it (``<report stem>_files``)
appear atomically (:func:`raster_io.replaced_atomically` and
:func:`raster_io.folder_replaced_atomically`): both are built under temporary
names and renamed only when everything was written; on error or cancel
nothing is left behind.
matplotlib (its Agg renderer, never pyplot's global state) and rasterio are
imported where used.
"""

import datetime
import html
import os
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence, Tuple
from urllib.parse import quote

import numpy as np

from .differences import PairDifference, overlap_differences_of
from .errors import Cancelled, GridMismatchError, InvalidInputError
from .executors import Execution, reusing_workers
from .moments import Moments, MomentsAccumulator
from .image_sets import check_images
from .raster_io import RasterInfo, Source, folder_replaced_atomically, replaced_atomically
from .runner import CancelCheck, Progress, run_reduce, scaled
from .windows import same_crs

#: Percentiles of the common preview stretch.
STRETCH = (2.0, 98.0)
#: Smallest preview (px across) that still shows anything.
MIN_PREVIEW = 16
_MISSING = "\u2014"


def _moments(infos: Sequence[RasterInfo], execution: Execution, progress: Progress,
             cancelled: CancelCheck) -> List[Moments]:
    """The per-band :class:`Moments` of every image, one streamed pass each."""
    return [run_reduce(partial(MomentsAccumulator, info.count), [Source(info.path)], info.grid,
                       execution=execution, progress=scaled(progress, k, len(infos)),
                       cancelled=cancelled)
            for k, info in enumerate(infos)]


@dataclass
class _Side:
    """Everything measured of one side (before or after) of the comparison."""

    infos: List[RasterInfo]
    moments: List[Moments]
    pairs: List[PairDifference]


def _measure(infos: List[RasterInfo], execution: Execution, progress: Progress,
             cancelled: CancelCheck) -> _Side:
    return _Side(infos, _moments(infos, execution, scaled(progress, 0, 2), cancelled),
                 overlap_differences_of(infos, execution, scaled(progress, 1, 2), cancelled))


@reusing_workers
def normalization_report(inputs: Sequence[str], outputs: Sequence[str], report_path: str, *,
                         labels: Optional[Sequence[str]] = None, preview_size: int = 256,
                         execution: Execution = Execution(), progress: Progress = None,
                         cancelled: CancelCheck = None) -> str:
    """Write an HTML report comparing images before and after a normalization.

    Parameters
    ----------
    inputs, outputs : sequence of str
        The images before and after, paired by order: the same count, one
        CRS and one band count; every image may have its own grid.
    report_path : str
        The ``.html`` page to write; its PNG plots go to the folder
        ``<report stem>_files`` beside it. A missing folder is created; an
        existing report of that name is replaced.
    labels : sequence of str, optional
        One display name per image pair (default: the input file names).
    preview_size : int
        Largest side, in pixels, of each preview (at least 16).

    Returns
    -------
    str
        ``report_path``.

    Raises
    ------
    InvalidInputError
        Counts of inputs, outputs or labels differ, band counts differ, the
        report path does not end in .html, or the preview is too small.
    GridMismatchError
        Inputs and outputs are in different CRSs.

    Notes
    -----
    The seam MAD of the summary is the MAD averaged over bands, then over the
    pairs that have valid pixels in common both before and after, so both
    numbers describe the same seams.
    """
    if len(inputs) != len(outputs):
        raise InvalidInputError(
            f"{len(inputs)} input image(s) but {len(outputs)} normalized image(s) given: "
            f"give one normalized image per input, in the same order")
    if not report_path.lower().endswith(".html"):
        raise InvalidInputError(f"report path '{report_path}' does not end in .html: give the "
                                f"report the extension .html")
    if preview_size < MIN_PREVIEW:
        raise InvalidInputError(f"preview size {preview_size} px is too small: use "
                                f"{MIN_PREVIEW} px or more (256 is a good default)")
    before = check_images(inputs, "input raster")
    after = check_images(outputs, "normalized raster")
    _check_pairs(before, after)
    labels = [str(label) for label in labels] if labels is not None else [
        info.stem for info in before]
    if len(labels) != len(before):
        raise InvalidInputError(f"{len(labels)} label(s) given for {len(before)} image(s): "
                                f"give one label per input image, or none")
    folder = os.path.dirname(os.path.abspath(report_path))
    os.makedirs(folder, exist_ok=True)
    measured = (_measure(before, execution, scaled(progress, 0, 3), cancelled),
                _measure(after, execution, scaled(progress, 1, 3), cancelled))
    files = os.path.splitext(os.path.basename(report_path))[0] + "_files"
    with replaced_atomically(report_path, ".html") as page, \
            folder_replaced_atomically(os.path.join(folder, files)) as temp:
        previews = _write_previews(measured, temp, preview_size, scaled(progress, 2, 3),
                                   cancelled)
        _plot_profiles(measured, labels, os.path.join(temp, "profiles.png"))
        rows = _pair_rows(measured)
        if rows:
            _plot_pairs(rows, labels, os.path.join(temp, "overlaps.png"))
        with open(page, "w", encoding="utf-8") as handle:
            handle.write(_page(measured, labels, rows, previews, files))
    return report_path


def _check_pairs(before: Sequence[RasterInfo], after: Sequence[RasterInfo]) -> None:
    first = before[0]
    for source, result in zip(before, after):
        if result.count != source.count:
            raise InvalidInputError(
                f"normalized raster '{result.stem}' has {result.count} band(s) but input "
                f"'{source.stem}' has {source.count}: compare each input with its own "
                f"normalized image, in the same order")
        if not same_crs(first.grid.crs, result.grid.crs):
            raise GridMismatchError(
                f"normalized raster '{result.stem}' is in another CRS than input "
                f"'{first.stem}': inputs and normalized images must share one CRS")


# -- previews ---------------------------------------------------------------------------------

def _display_bands(count: int) -> Tuple[int, ...]:
    """Bands shown as red, green, blue: 3, 2, 1 when there are three, else band 1 as grey."""
    return (3, 2, 1) if count >= 3 else (1,)


def _read_preview(path: str, bands: Tuple[int, ...], size: int) -> Tuple[np.ndarray, np.ndarray]:
    """``bands`` of ``path`` read decimated to at most ``size`` px across (nearest, so
    nodata stays exact): values (bands, rows, cols) and where all of them are valid."""
    import rasterio

    with rasterio.open(path) as ds:
        scale = min(1.0, size / max(ds.width, ds.height))
        shape = (len(bands), max(1, round(ds.height * scale)), max(1, round(ds.width * scale)))
        data = ds.read(list(bands), out_shape=shape, masked=True)
    values = np.ma.getdata(data).astype(np.float32)
    valid = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(values).all(axis=0)
    return values, valid


def _stretch(previews: Sequence[Tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The common 2-98 % range of every display band over the valid pixels of all previews:
    array (bands, 2)."""
    limits = []
    for band in range(previews[0][0].shape[0]):
        pooled = np.concatenate([values[band][valid] for values, valid in previews])
        low, high = np.percentile(pooled, STRETCH) if pooled.size else (0.0, 1.0)
        limits.append((low, high if high > low else low + 1.0))
    return np.array(limits)


def _rgba(values: np.ndarray, valid: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """8-bit RGBA (rows, cols, 4) of a preview; nodata is fully transparent."""
    low, high = limits[:, 0, None, None], limits[:, 1, None, None]
    scaled_values = np.clip((values - low) / (high - low), 0.0, 1.0)
    rgb = np.repeat(scaled_values, 3 // len(values), axis=0)  # grey: band 1 thrice
    rgba = np.concatenate([rgb * valid, valid[None].astype(float)])
    return np.ascontiguousarray(np.round(np.moveaxis(rgba, 0, -1) * 255).astype(np.uint8))


@dataclass
class _Previews:
    """The preview PNGs: the bands shown, their common stretch (bands, 2) and, before then
    after, the (file name, (rows, cols)) of every image."""

    bands: Tuple[int, ...]
    limits: np.ndarray
    images: List[Tuple[str, Tuple[int, int]]]


def _write_previews(measured, folder: str, size: int, progress: Progress,
                    cancelled: CancelCheck) -> _Previews:
    """Write one PNG per image and side into ``folder``."""
    from matplotlib.image import imsave

    bands = _display_bands(measured[0].infos[0].count)
    read = []
    for side in measured:
        for info in side.infos:
            if cancelled is not None and cancelled():
                raise Cancelled("cancelled by the user; no report was written")
            read.append(_read_preview(info.path, bands, size))
            if progress is not None:
                progress(100.0 * len(read) / (2 * len(side.infos)))
    limits = _stretch(read)
    names = []
    for k, (values, valid) in enumerate(read):
        side, image = divmod(k, len(measured[0].infos))
        name = f"preview_{image + 1:03d}_{('before', 'after')[side]}.png"
        imsave(os.path.join(folder, name), _rgba(values, valid, limits))
        names.append((name, valid.shape))
    return _Previews(bands, limits, names)


# -- plots ------------------------------------------------------------------------------------

def _plot_profiles(measured, labels: Sequence[str], path: str) -> None:
    """Mean of every band per image: before dashed, after solid, one colour per image."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7.5, 4.0))
    axes = figure.add_subplot()
    bands = np.arange(1, measured[0].infos[0].count + 1)
    for k, label in enumerate(labels):
        colour = f"C{k % 10}"
        axes.plot(bands, measured[0].moments[k].mean, linestyle="--", linewidth=1,
                  color=colour)
        axes.plot(bands, measured[1].moments[k].mean, linestyle="-", linewidth=1,
                  color=colour, label=_plain(label))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("band")
    axes.set_ylabel("mean")
    axes.set_title("Mean per band: before (dashed), after (solid)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.savefig(path, dpi=100, bbox_inches="tight")


def _plain(label: str) -> str:
    """``label`` as literal matplotlib text: a ``$`` would otherwise start mathtext."""
    return label.replace("$", r"\$")


def _pair_rows(measured) -> List[Tuple[int, int, Optional[PairDifference],
                                       Optional[PairDifference]]]:
    """Every pair that overlaps before or after: (i, j, before, after), None where the
    extents do not overlap on that side."""
    sides = [{(pair.first, pair.second): pair for pair in side.pairs} for side in measured]
    return [(i, j, sides[0].get((i, j)), sides[1].get((i, j)))
            for i, j in sorted(set(sides[0]) | set(sides[1]))]


def _mad(pair: Optional[PairDifference]) -> float:
    return pair.mean_mad if pair is not None else float("nan")


def _plot_pairs(rows, labels: Sequence[str], path: str) -> None:
    """Band-averaged MAD of every pair, before and after, side by side."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(5.0, 2.0 + 0.7 * len(rows)), 4.0))
    axes = figure.add_subplot()
    where = np.arange(len(rows))
    for shift, side, name, colour in ((-0.2, 2, "before", "0.6"), (0.2, 3, "after", "C0")):
        bars = axes.bar(where + shift, [_mad(row[side]) for row in rows], 0.4, label=name,
                        color=colour)
        axes.bar_label(bars, fmt="%.4g", fontsize="x-small")
    axes.set_xlim(-0.8, len(rows) - 0.2)
    axes.set_xticks(where)
    axes.set_xticklabels([_plain(f"{labels[i]} / {labels[j]}") for i, j, _, _ in rows],
                         rotation=30, ha="right", fontsize="small")
    axes.set_ylabel("mean absolute difference")
    axes.set_title("Overlap differences (mean over bands)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# -- the page ---------------------------------------------------------------------------------

def _seam_change(rows) -> Tuple[float, float, int]:
    """(MAD before, MAD after, pairs): band-averaged MADs averaged over the pairs with
    valid pixels in common on both sides (NaN, NaN, 0 when there is none)."""
    both = [(before.mean_mad, after.mean_mad) for _, _, before, after in rows
            if before is not None and after is not None and before.common and after.common]
    if not both:
        return float("nan"), float("nan"), 0
    values = np.array(both)
    return float(values[:, 0].mean()), float(values[:, 1].mean()), len(both)


def _number(value: float) -> str:
    return _MISSING if value is None or not np.isfinite(value) else f"{value:.6g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of plain-text cells (escaped here)."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _image(files: str, name: str, alt: str, shape=None) -> str:
    size = f' width="{shape[1]}" height="{shape[0]}"' if shape else ""
    return (f'<img src="{html.escape(quote(files))}/{html.escape(name)}" '
            f'alt="{html.escape(alt)}"{size}>')


def _summary(rows) -> str:
    before, after, count = _seam_change(rows)
    if not count:
        return "No pair of images has valid pixels in common both before and after: " \
               "there is no seam to compare."
    change = f"{100.0 * (after - before) / before:+.1f} %" if before > 0 else "n/a"
    return (f"Mean seam MAD (over {count} overlapping pair(s)): {_number(before)} \u2192 "
            f"{_number(after)} ({change}).")


def _images_table(measured, labels: Sequence[str]) -> str:
    return _table(["#", "image", "before", "after"], [
        [str(k + 1), label, os.path.basename(source.path), os.path.basename(result.path)]
        for k, (label, source, result) in enumerate(
            zip(labels, measured[0].infos, measured[1].infos))])


def _moments_table(measured, labels: Sequence[str]) -> str:
    rows = []
    for k, label in enumerate(labels):
        before, after = measured[0].moments[k], measured[1].moments[k]
        for band in range(len(before.mean)):
            rows.append([label, str(band + 1), _number(before.mean[band]),
                         _number(after.mean[band]), _number(before.std[band]),
                         _number(after.std[band])])
    return _table(["image", "band", "mean before", "mean after", "std before", "std after"],
                  rows)


def _pairs_table(rows, labels: Sequence[str], bands: int) -> str:
    def note(pair: Optional[PairDifference], side: str) -> List[str]:
        if pair is None:
            return [f"extents do not overlap {side}"]
        return [] if pair.common else [f"no valid pixels in common {side}"]

    def cell(pair: Optional[PairDifference], what: str, band: Optional[int]) -> str:
        if pair is None:
            return _MISSING
        if band is None:
            return _number(pair.mean_mad if what == "mad" else pair.mean_rmse)
        return _number(getattr(pair, what)[band])

    def count(pair: Optional[PairDifference], band: int) -> str:
        return _MISSING if pair is None else str(int(pair.count[band]))

    table = []
    for i, j, before, after in rows:
        name = f"{labels[i]} / {labels[j]}"
        notes = "; ".join(note(before, "before") + note(after, "after"))
        table.append([name, "mean", "", "", cell(before, "mad", None), cell(after, "mad", None),
                      cell(before, "rmse", None), cell(after, "rmse", None), notes])
        for band in range(bands):
            table.append([name, str(band + 1), count(before, band), count(after, band),
                          cell(before, "mad", band), cell(after, "mad", band),
                          cell(before, "rmse", band), cell(after, "rmse", band), ""])
    return _table(["pair", "band", "pixels before", "pixels after", "MAD before", "MAD after",
                   "RMSE before", "RMSE after", "note"], table)


def _previews_table(previews: _Previews, labels: Sequence[str], files: str) -> str:
    images = previews.images
    half = len(labels)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        f"<td>{_image(files, images[k][0], f'{label} before', images[k][1])}</td>"
        f"<td>{_image(files, images[half + k][0], f'{label} after', images[half + k][1])}"
        f"</td></tr>" for k, label in enumerate(labels))
    return f'<table class="previews"><tr><th>image</th><th>before</th><th>after</th></tr>' \
           f'{body}</table>'


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.summary { font-size: 1.2em; font-weight: bold; }
.previews img { background: #000; image-rendering: pixelated; }
"""


def _page(measured, labels: Sequence[str], rows, previews: _Previews, files: str) -> str:
    """The whole HTML page (self-contained but for the PNGs, linked relatively)."""
    bands = measured[0].infos[0].count
    shown = ", ".join(str(band) for band in previews.bands)
    limits = "; ".join(f"band {band}: {_number(low)} \u2013 {_number(high)}"
                       for band, (low, high) in zip(previews.bands, previews.limits))
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    pairs = (f"{_image(files, 'overlaps.png', 'overlap differences before and after')}"
             f"{_pairs_table(rows, labels, bands)}" if rows else
             "<p>No two images overlap: there are no seams to compare.</p>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Normalization report</title><style>{STYLE}</style></head>
<body>
<h1>Normalization report</h1>
<p>{len(labels)} image(s) of {bands} band(s) compared before and after normalization;
written {date} by the Tessera engine.</p>
<p class="summary">{html.escape(_summary(rows))}</p>
{_images_table(measured, labels)}
<h2>Spectral profiles</h2>
{_image(files, 'profiles.png', 'mean per band before and after')}
{_moments_table(measured, labels)}
<h2>Overlap differences</h2>
<p>Mean absolute difference (MAD) and root mean square difference (RMSE) over the pixels
valid in both images, on the first image's grid.</p>
{pairs}
<h2>Previews</h2>
<p>Bands {shown} as {'red, green, blue' if len(previews.bands) == 3 else 'grey'}, one
2&ndash;98 % stretch shared by every image before and after ({html.escape(limits)});
nodata is black.</p>
{_previews_table(previews, labels, files)}
</body>
</html>
"""
