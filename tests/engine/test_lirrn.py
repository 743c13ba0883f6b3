"""LIRRN against an in-memory implementation, known lines, nodata, seeds, tiling, bad input."""

import itertools

import numpy as np
import pytest

from support import WORLDVIEW, crop, read_raster, write_raster
from tessera.engine.errors import InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.histograms import Binning
from tessera.engine.lirrn import (NearestValues, greedy_pairs, lirrn, lirrn_coefficients,
                                  multi_otsu)


def otsu_score(counts, starts):
    """Between-class objective of a split (bin indices as positions), None with an empty class."""
    edges = [0, *starts, len(counts)]
    parts = [(counts[a:b].sum(), (counts[a:b] * np.arange(a, b)).sum())
             for a, b in zip(edges[:-1], edges[1:])]
    if any(w == 0 for w, _ in parts):
        return None
    return sum(s * s / w for w, s in parts)


def test_multi_otsu_is_the_exhaustive_optimum():
    rng = np.random.default_rng(2)
    for _ in range(40):
        bins, classes = int(rng.integers(6, 28)), int(rng.integers(2, 5))
        counts = rng.integers(0, 50, bins) * (rng.random(bins) < 0.7)
        if np.count_nonzero(counts) < classes:
            continue
        scores = [otsu_score(counts, cut) for cut in
                  itertools.combinations(range(1, bins), classes - 1)]
        best = max(score for score in scores if score is not None)
        found = multi_otsu(counts, classes)
        assert len(found) == classes - 1 and np.all(np.diff(found) > 0)
        assert otsu_score(counts, found) == pytest.approx(best, rel=1e-12)


def test_multi_otsu_cuts_between_three_modes():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.normal(mode, 4, 5000) for mode in (20, 55, 90)])
    counts, edges = np.histogram(values, 256, (values.min(), values.max()))
    low, high = edges[multi_otsu(counts, 3)]
    assert 20 + 12 < low < 55 - 12 and 55 + 12 < high < 90 - 12


def greedy_by_argmin(a, b):
    """The reference system's matching: argmin of the whole distance matrix, then its row
    and column are struck out."""
    distance = np.abs(a[:, None] - b[None, :])
    pairs = []
    for _ in range(min(len(a), len(b))):
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        pairs.append((a[i], b[j]))
        distance[i, :] = distance[:, j] = np.inf
    return pairs


def test_greedy_pairs_equal_the_argmin_loop():
    rng = np.random.default_rng(9)
    for size_a, size_b in ((30, 30), (17, 25), (25, 9)):
        a = np.sort(rng.integers(0, 40, size_a).astype(float))  # many ties
        b = np.sort(rng.integers(5, 50, size_b).astype(float))
        assert list(zip(*greedy_pairs(a, b))) == greedy_by_argmin(a, b)


def test_nearest_values_are_a_multiset_fixed_by_the_values():
    """Four values lie 0.5 from the target 10.5; the three kept are the smaller first,
    whichever window brings them and in whichever order partials merge."""
    def partial_of(values):
        near = NearestValues(Binning(((0.0, 1.0, 50),)), ((25,),),
                             (((9.0, 10.5, 12.0), (30.0, 30.0, 30.0)),), 3)
        values = np.array(values, float)[None, None, :]
        near.add(values, np.ones(values.shape, bool))
        return near

    for first, second in (([9, 10, 11, 12], [10, 11]), ([10, 11], [9, 10, 11, 12])):
        merged = partial_of(first)
        merged.merge(partial_of(second))
        low, mean, high = merged.kept[0][0]
        assert np.sort(mean).tolist() == [10, 10, 11]
        assert np.sort(low).tolist() == [9, 10, 10] and np.sort(high).tolist() == [11, 11, 12]
        assert all(group.size == 0 for group in merged.kept[0][1])  # class 2 got no value


def in_memory_coefficients(subject, reference, nodata, classes, samples, fraction, seed):
    """The whole algorithm on whole arrays, as this module specifies it."""
    def profile(image):
        rng, groups = np.random.default_rng(seed), []
        for band in image:
            values = band[band != nodata].astype(float)
            width = (values.max() - values.min()) / 256
            bins = np.clip(np.floor((values - values.min()) / width), 0, 255).astype(int)
            starts = multi_otsu(np.bincount(bins, minlength=256), classes)
            label = np.searchsorted(starts, bins, side="right")
            band_groups = []
            for c in range(classes):
                members = values[label == c]
                for target in (members.min(), members.mean(), members.max()):
                    near = np.sort(members[np.lexsort((members, np.abs(members - target)))
                                           [:samples]])
                    keep = max(1, int(round(fraction * near.size)))
                    band_groups.append(near[np.sort(rng.choice(near.size, keep, replace=False))])
            groups.append(band_groups)
        return groups

    lines = []
    for mine, theirs in zip(profile(subject), profile(reference)):
        pairs = np.array([p for a, b in zip(mine, theirs) for p in greedy_by_argmin(a, b)])
        lines.append(np.polyfit(pairs[:, 0], pairs[:, 1], 1))
    return np.array(lines).T


@pytest.fixture(scope="module")
def worldview_reference(tmp_path_factory):
    """Another part of the WorldView-3 image with other gains: a reference for the crop."""
    path = str(tmp_path_factory.mktemp("ref") / "reference.tif")
    crop(WORLDVIEW, path, (200, 250, 110, 120))
    array, profile = read_raster(path)
    valid = array != profile["nodata"]
    gains = np.linspace(0.6, 1.4, 8)[:, None, None]
    array = np.where(valid, np.round(array * gains + 40), array).astype(np.int16)
    return write_raster(path, array, nodata=profile["nodata"], crs=profile["crs"],
                        transform=profile["transform"])


def test_equals_the_in_memory_algorithm(worldview_crop, worldview_reference):
    options = dict(classes=3, samples=300, fraction=0.2, seed=5)
    gains, offsets = lirrn_coefficients(worldview_crop, worldview_reference, **options)
    want_gains, want_offsets = in_memory_coefficients(
        read_raster(worldview_crop)[0], read_raster(worldview_reference)[0], -9999, **options)
    np.testing.assert_allclose(gains, want_gains, rtol=1e-9)
    np.testing.assert_allclose(offsets, want_offsets, rtol=1e-9, atol=1e-9)
    assert np.abs(gains - 1).min() > 0.1  # a real correction, not the identity


def levels(rng, shape):
    """Three classes of whole-number levels, each level on >= 60 pixels, so every group of
    20 nearest values holds one value. Class means 11.27, 41.68, 80.6 are nearest 11, 42
    and 81."""
    spec = [(10, 200), (11, 200), (12, 100), (13, 80),
            (40, 60), (41, 60), (42, 200), (43, 60),
            (79, 60), (80, 80), (81, 100), (82, 60)]
    values = np.repeat([v for v, _ in spec], [n for _, n in spec])
    return rng.permutation(np.resize(values, shape[0] * shape[1] * shape[2])).reshape(shape)


@pytest.mark.parametrize("shuffled", [False, True], ids=["same-pixels", "shuffled"])
def test_exact_affine_copy_gives_the_line_back(tmp_path, shuffled):
    """Greedy nearest-value pairing pairs values, not ranks: the line comes back exactly
    when each group holds one value, as here (see the next test for spread groups)."""
    rng = np.random.default_rng(12)
    subject = levels(rng, (3, 40, 39)).astype(np.float32)
    gains, offsets = np.array([1.5, 0.75, 2.0]), np.array([20.0, -3.0, 5.5])
    reference = subject * gains[:, None, None].astype(np.float32) + offsets[:, None, None]
    if shuffled:
        reference = rng.permutation(reference.reshape(3, -1), axis=1).reshape(3, 40, 39)
    write_raster(tmp_path / "sub.tif", subject, nodata=-1)
    write_raster(tmp_path / "ref.tif", reference.astype(np.float32), nodata=-1)
    got_gains, got_offsets = lirrn_coefficients(str(tmp_path / "sub.tif"),
                                                str(tmp_path / "ref.tif"), samples=20)
    np.testing.assert_allclose(got_gains, gains, rtol=1e-6)
    np.testing.assert_allclose(got_offsets, offsets, rtol=1e-6)
    (output,) = lirrn([str(tmp_path / "sub.tif")], str(tmp_path / "ref.tif"),
                      str(tmp_path / "out"), samples=20)
    normalized = read_raster(output)[0]
    if not shuffled:  # every band, the last included, lands on the reference
        np.testing.assert_allclose(normalized, reference, rtol=1e-6)
    np.testing.assert_allclose(np.sort(normalized, axis=None), np.sort(reference, axis=None),
                               rtol=1e-6)


def test_affine_copy_of_continuous_data_is_close(tmp_path):
    """Spread groups: nearest-value pairing crosses pairs inside a group (the subject's
    largest with the reference's smallest when the groups lie apart), which tilts the line
    by about (group spread / band range)**2; the groups at class extremes sit in sparse
    tails, so here it comes to 0.25 % (gain 1.6958, offset 30.43 measured)."""
    rng = np.random.default_rng(13)
    subject = np.concatenate([rng.normal(m, 6, 1500) for m in (40, 100, 170)])
    subject = rng.permutation(subject).reshape(1, 50, 90).astype(np.float32)
    reference = rng.permutation((subject * 1.7 + 30).ravel()).reshape(1, 50, 90)
    write_raster(tmp_path / "sub.tif", subject, nodata=-1e9)
    write_raster(tmp_path / "ref.tif", reference.astype(np.float32), nodata=-1e9)
    gains, offsets = lirrn_coefficients(str(tmp_path / "sub.tif"), str(tmp_path / "ref.tif"),
                                        samples=100)
    assert gains[0] == pytest.approx(1.7, rel=5e-3)
    assert offsets[0] == pytest.approx(30, abs=1.0)


def test_nodata_takes_no_part(worldview_crop, worldview_reference, tmp_path):
    """The same holes under two extreme nodata values give the same line; as valid pixels
    those extremes would move it."""
    array, profile = read_raster(worldview_crop)
    holes = array == -9999
    options = dict(crs=profile["crs"], transform=profile["transform"])
    write_raster(tmp_path / "low.tif", array, nodata=-9999, **options)
    write_raster(tmp_path / "high.tif", np.where(holes, 32000, array).astype(np.int16),
                 nodata=32000, **options)
    write_raster(tmp_path / "valid.tif", np.where(holes, 32000, array).astype(np.int16),
                 **options)
    low, high, valid = (lirrn_coefficients(str(tmp_path / f"{name}.tif"), worldview_reference)
                        for name in ("low", "high", "valid"))
    np.testing.assert_array_equal(low, high)
    assert np.abs(np.array(valid) - np.array(low)).max() > 0.01


def test_seed_decides_the_bytes(worldview_crop, worldview_reference, tmp_path):
    runs = {name: read_raster(lirrn([worldview_crop], worldview_reference, str(tmp_path / name),
                                    seed=seed)[0])[0]
            for name, seed in (("a", 3), ("b", 3), ("c", 4))}
    np.testing.assert_array_equal(runs["a"], runs["b"])
    assert not np.array_equal(runs["a"], runs["c"])


TILING = dict(samples=200, fraction=0.3)


@pytest.fixture(scope="module")
def untiled(worldview_crop, worldview_reference, tmp_path_factory):
    return read_raster(lirrn([worldview_crop], worldview_reference,
                             str(tmp_path_factory.mktemp("whole")),
                             execution=Execution("serial", window_size=512), **TILING)[0])[0]


@pytest.mark.parametrize("execution", [Execution("serial", window_size=7),
                                       Execution("processes", workers=2, window_size=16)],
                         ids=["serial-7px", "processes-2w-16px"])
def test_tiling_is_invisible(worldview_crop, worldview_reference, untiled, tmp_path, execution):
    tiled = lirrn([worldview_crop], worldview_reference, str(tmp_path), execution=execution,
                  **TILING)
    np.testing.assert_array_equal(read_raster(tiled[0])[0], untiled)


@pytest.mark.parametrize("option, message", [
    (dict(classes=1), "classes 1 is not allowed: use a whole number from 2"),
    (dict(fraction=0), r"fraction 0 is outside \(0, 1\]"),
    (dict(fraction=1.5), r"fraction 1.5 is outside \(0, 1\]"),
    (dict(samples=0), "samples 0 is not allowed"),
    (dict(seed=-1), "seed -1 is not allowed"),
])
def test_bad_parameters(worldview_crop, worldview_reference, tmp_path, option, message):
    with pytest.raises(InvalidInputError, match=message):
        lirrn([worldview_crop], worldview_reference, str(tmp_path), **option)


def test_reference_with_another_band_count(worldview_crop, tmp_path):
    write_raster(tmp_path / "ref.tif", np.arange(300, dtype=np.int16).reshape(3, 10, 10))
    with pytest.raises(InvalidInputError, match="has 8 band.* but 'ref' has 3"):
        lirrn([worldview_crop], str(tmp_path / "ref.tif"), str(tmp_path))


def test_band_with_too_few_levels(worldview_crop, tmp_path):
    array = np.arange(800, dtype=np.int16).reshape(8, 10, 10)
    array[2] = np.where(array[2] % 2, 7, 9)
    write_raster(tmp_path / "two.tif", array)
    with pytest.raises(InvalidInputError, match="band 3 of 'two' has 2 distinct level.*3 classes"):
        lirrn_coefficients(str(tmp_path / "two.tif"), worldview_crop)


def test_infinite_values_are_nodata_to_the_statistics(tmp_path):
    """Valid ±inf pixels (nodata -1) give the same line as with those pixels as nodata; they
    are written as gain * value + offset, i.e. stay infinite in a float output."""
    rng = np.random.default_rng(19)
    subject = levels(rng, (2, 40, 39)).astype(np.float32)
    reference = (rng.gamma(3.0, 20.0, (2, 30, 30)) + 5).astype(np.float32)
    spots = [(0, 3, slice(4, 9), np.inf), (1, 11, 12, -np.inf), (1, 30, 2, np.inf)]
    infinite, holes = subject.copy(), subject.copy()
    for band, rows, cols, value in spots:
        infinite[band, rows, cols], holes[band, rows, cols] = value, -1
    reference_infinite = reference.copy()
    reference_infinite[0, 2, 5], reference_infinite[1, 9, :3] = -np.inf, np.inf
    reference_holes = np.where(np.isinf(reference_infinite), -1, reference).astype(np.float32)
    paths = {}
    for name, array in (("inf", infinite), ("holes", holes), ("ref_inf", reference_infinite),
                        ("ref_holes", reference_holes)):
        paths[name] = write_raster(tmp_path / f"{name}.tif", array, nodata=-1)
    options = dict(samples=50, fraction=0.5, seed=1)
    gains, offsets = lirrn_coefficients(paths["inf"], paths["ref_inf"], **options)
    want = lirrn_coefficients(paths["holes"], paths["ref_holes"], **options)
    np.testing.assert_array_equal(gains, want[0])
    np.testing.assert_array_equal(offsets, want[1])
    assert np.all(gains > 0)
    (output,) = lirrn([paths["inf"]], paths["ref_inf"], str(tmp_path / "out"), **options)
    got = read_raster(output)[0]
    for band, rows, cols, value in spots:
        assert (got[band, rows, cols] == value).all()
    finite = np.isfinite(infinite)
    np.testing.assert_allclose(got[finite], (infinite * gains[:, None, None]
                                             + offsets[:, None, None])[finite], rtol=1e-6)
