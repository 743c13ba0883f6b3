"""Normalization report: the HTML page, plots, previews, atomic writing, bad input.

The overlap numbers it shows are tested in ``test_differences.py``."""

import os
import re
from urllib.parse import unquote

import pytest

from support import uniform_raster as _image
from tessera.engine.errors import Cancelled, GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.report import normalization_report

PNG = b"\x89PNG\r\n\x1a\n"


def _text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _leftovers(folder):
    return [name for _, dirs, files in os.walk(folder) for name in dirs + files
            if "partial" in name or name.endswith(".old")]


@pytest.fixture
def normalized(tmp_path):
    """Inputs a&b (band 1: 10), b (band 1: 14, overlapping a&b) and c (overlapping only
    a&b's nodata); outputs equal in the overlap, b's on a coarser grid."""
    bands = dict(bands=3)
    inputs = [_image(tmp_path / "in" / "a&b.tif", [10, 20, 30], holes=[(0, 15, 20, 5)],
                     **bands),
              _image(tmp_path / "in" / "b.tif", [14, 26, 30], origin=(500010.0, 4199990.0),
                     **bands),
              _image(tmp_path / "in" / "c.tif", [50, 50, 50], size=(5, 4),
                     origin=(500032.0, 4200000.0), **bands)]
    outputs = [_image(tmp_path / "out" / "a&b.tif", [12, 23, 30], holes=[(0, 15, 20, 5)],
                      **bands),
               _image(tmp_path / "out" / "b.tif", [12, 23, 30], origin=(500010.0, 4199990.0),
                      res=4.0, size=(10, 10), **bands),
               _image(tmp_path / "out" / "c.tif", [40, 40, 40], size=(5, 4),
                      origin=(500032.0, 4200000.0), **bands)]
    return inputs, outputs


def test_report_numbers_plots_and_previews(tmp_path, normalized):
    inputs, outputs = normalized
    report = str(tmp_path / "new" / "folder" / "report.html")
    progress = []
    assert normalization_report(inputs, outputs, report, preview_size=16,
                                execution=Execution(window_size=7),
                                progress=progress.append) == report
    page = _text(report)
    for name in ("a&amp;b.tif", "b.tif", "c.tif"):
        assert name in page
    assert "a&b" not in page
    # a/b: 4, 6, 0 per band before; 0 after -> mean seam MAD 3.33333 -> 0
    assert "Mean seam MAD (over 1 overlapping pair(s)): 3.33333 \u2192 0 (-100.0 %)" in page
    assert "no valid pixels in common before; no valid pixels in common after" in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 2 + 2 * 3
    for source in sources:
        with open(os.path.join(tmp_path / "new" / "folder", unquote(source)), "rb") as handle:
            assert handle.read(8) == PNG
    assert sorted(os.listdir(tmp_path / "new" / "folder")) == ["report.html", "report_files"]
    assert _leftovers(tmp_path) == []
    assert progress[-1] == pytest.approx(100.0)
    assert progress == sorted(progress)


def test_common_stretch_and_transparent_nodata(tmp_path, normalized):
    from matplotlib.image import imread

    inputs, outputs = normalized
    report = str(tmp_path / "report.html")
    normalization_report(inputs[:2], outputs[:2], report, labels=["A", "B"], preview_size=16)
    files = tmp_path / "report_files"
    a_before = imread(str(files / "preview_001_before.png"))
    b_before = imread(str(files / "preview_002_before.png"))
    b_after = imread(str(files / "preview_002_after.png"))
    assert a_before.shape == (16, 16, 4)  # 20 x 20 read decimated to 16 px
    assert (a_before[:, -3:, 3] == 0).all() and (a_before[:, :10, 3] == 1).all()
    # One stretch for all: red (band 3) is 30 everywhere; blue (band 1) is 10 in a, 12 after
    # and 14 in b before, the 2 and 98 % of all previews.
    assert a_before[0, 0, 0] == b_before[0, 0, 0]
    assert a_before[0, 0, 2] < b_after[0, 0, 2] < b_before[0, 0, 2]
    page = _text(report)
    assert "<td>A</td>" in page and "A / B" in page


def test_a_new_report_replaces_the_old_and_cancel_keeps_it(tmp_path, normalized):
    inputs, outputs = normalized
    report = str(tmp_path / "report.html")
    normalization_report(inputs[:2], outputs[:2], report, preview_size=16)
    normalization_report(inputs, outputs, report, preview_size=16)
    assert "c.tif" in _text(report)
    calls = []
    with pytest.raises(Cancelled):
        normalization_report(inputs[:2], outputs[:2], report, preview_size=16,
                             cancelled=lambda: calls.append(1) or len(calls) > 3)
    assert "c.tif" in _text(report)
    assert len(os.listdir(tmp_path / "report_files")) == 2 + 2 * 3
    assert _leftovers(tmp_path) == []


def test_cancel_at_the_last_check_leaves_nothing(tmp_path, normalized):
    inputs, outputs = normalized
    calls = []
    normalization_report(inputs, outputs, str(tmp_path / "dry" / "r.html"),
                         cancelled=lambda: calls.append(1) and False)
    checks, calls[:] = len(calls), []
    with pytest.raises(Cancelled, match="no report was written"):
        normalization_report(inputs, outputs, str(tmp_path / "r.html"),
                             cancelled=lambda: calls.append(1) or len(calls) == checks)
    assert sorted(os.listdir(tmp_path)) == ["dry", "in", "out"]


def test_single_band_image_without_partners(tmp_path):
    before = _image(tmp_path / "in" / "solo.tif", [100], bands=1, holes=[(0, 0, 20, 10)])
    after = _image(tmp_path / "out" / "solo.tif", [200], bands=1, holes=[(0, 0, 20, 10)])
    report = normalization_report([before], [after], str(tmp_path / "solo.html"))
    page = _text(report)
    assert "there is no seam to compare" in page and "No two images overlap" in page
    assert "<td>solo</td><td>1</td><td>100</td><td>200</td><td>0</td><td>0</td>" in page
    assert sorted(os.listdir(tmp_path / "solo_files")) == [
        "preview_001_after.png", "preview_001_before.png", "profiles.png"]


@pytest.mark.parametrize("change, error, words", [
    (dict(outputs=1), InvalidInputError, "3 input image(s) but 2 normalized image(s) given"),
    (dict(report="report.htm"), InvalidInputError, "report.htm' does not end in .html"),
    (dict(labels=["x"]), InvalidInputError, "1 label(s) given for 3 image(s)"),
    (dict(preview_size=8), InvalidInputError, "preview size 8 px is too small"),
    (dict(bands=1), InvalidInputError,
     "normalized raster 'o0' has 1 band(s) but input 'a&b' has 3"),
    (dict(crs="EPSG:32611"), GridMismatchError, "'o0' is in another CRS than input 'a&b'"),
])
def test_bad_input(tmp_path, normalized, change, error, words):
    inputs, outputs = normalized
    if "outputs" in change:
        outputs = outputs[:2]
    if "bands" in change or "crs" in change:
        bands = change.get("bands", 3)
        outputs = [_image(tmp_path / f"o{k}.tif", [1] * bands, bands=bands,
                          crs=change.get("crs", "EPSG:32610")) for k in range(3)]
    report = str(tmp_path / "report" / change.get("report", "report.html"))
    with pytest.raises(error, match=re.escape(words)):
        normalization_report(inputs, outputs, report, labels=change.get("labels"),
                             preview_size=change.get("preview_size", 256))
    assert not os.path.exists(tmp_path / "report")
