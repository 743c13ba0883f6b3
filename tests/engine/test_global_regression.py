"""Global regression: the worked example, known distortions undone, robust fit, models."""

import json
import os

import numpy as np
import pytest

from support import GAINS, OFFSETS, distorted_tiles, read_raster, truth_of_tile, write_raster
from tessera.engine.errors import GridMismatchError, InvalidInputError
from tessera.engine.executors import Execution
from tessera.engine.global_regression import global_regression, load_model, solve_band
from tessera.engine.masks import VectorMask



def test_worked_example_of_the_reference_all_images_anchor():
    gains, offsets = solve_band(np.array([100.0, 130.0]), np.array([10.0, 15.0]),
                                [(0, 1, 110.0, 12.0, 140.0, 14.0)], [True, True])
    np.testing.assert_allclose(gains, [1.2075, 0.9924], atol=1e-3)
    np.testing.assert_allclose(offsets, [-7.2431, -12.5215], atol=1e-3)


def test_worked_example_with_a_single_reference():
    gains, offsets = solve_band(np.array([100.0, 130.0]), np.array([10.0, 15.0]),
                                [(0, 1, 110.0, 12.0, 140.0, 14.0)], [True, False])
    np.testing.assert_allclose(gains, [1.0, 12 / 14], atol=1e-9)
    np.testing.assert_allclose(offsets, [0.0, -10.0], atol=1e-9)


def test_huber_resists_one_corrupted_overlap_that_misleads_least_squares():
    """Five images y_k = (x - offset_k) / gain_k, noisy overlap statistics, a cloud in the
    overlap of images 0 and 2; image 0 is the reference, so the truth is known."""
    gains = np.array([1.0, 1.3, 0.7, 1.1, 0.9])
    offsets = np.array([0.0, 40.0, -25.0, 10.0, 5.0])
    rng = np.random.default_rng(3)
    rows = []
    for i, j in [(i, j) for i in range(5) for j in range(i + 1, 5)]:
        mean, std = rng.uniform(800, 1200), rng.uniform(80, 120)
        rows.append((i, j, (mean - offsets[i]) / gains[i] + rng.normal(0, 1),
                     std / gains[i] + rng.normal(0, 0.5),
                     (mean - offsets[j]) / gains[j] + rng.normal(0, 1),
                     std / gains[j] + rng.normal(0, 0.5)))
    rows[1] = rows[1][:4] + (rows[1][4] + 150.0, rows[1][5] * 1.5)
    means, stds = (1000 - offsets) / gains, 100 / gains
    errors = {}
    for fit in ("least_squares", "huber"):
        got_gains, got_offsets = solve_band(means, stds, rows, [True] + [False] * 4, fit=fit)
        errors[fit] = np.abs(got_gains * means + got_offsets - 1000).max()
    assert errors["huber"] < 3.0 < 20.0 < errors["least_squares"]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return distorted_tiles(str(tmp_path_factory.mktemp("tiles")), GAINS, OFFSETS)


def test_known_distortions_are_undone_onto_the_single_reference(tiles, tmp_path):
    paths, truth = tiles
    outputs = global_regression(paths, str(tmp_path), reference=("include", ["tile0"]),
                                dtype="float32", save_model_to=str(tmp_path / "model.json"))
    for k, output in enumerate(outputs):
        got = read_raster(output)[0]
        expected = truth_of_tile(truth, k)
        valid = ~np.isnan(expected)
        assert np.all(got[~valid] == -9999)
        relative = np.abs(got[valid] - expected[valid]) / np.abs(expected[valid]).mean()
        assert relative.max() < 0.005, k
    model = json.load(open(tmp_path / "model.json"))
    np.testing.assert_allclose(model["images"]["tile1"]["gain"], 1 / np.array(GAINS[1]),
                               rtol=2e-3)
    assert model["images"]["tile0"]["gain"] == pytest.approx([1.0] * 3)


def test_non_reference_images_are_calibrated_through_a_chain(tmp_path):
    rng = np.random.default_rng(5)
    truth = rng.uniform(100, 2000, (1, 20, 60))
    paths = []
    for k, (gain, offset) in enumerate([(1.0, 0.0), (2.0, 30.0), (0.5, -10.0)]):
        part = truth[:, :, 20 * k:20 * k + 30 if k < 2 else 60]
        paths.append(write_raster(tmp_path / f"c{k}.tif", (part * gain + offset).astype("f4"),
                                  origin=(500000.0 + 40 * k, 4200000.0)))
    # c2 overlaps c1 only; c1 and c2 are not references, yet c2 is brought back through c1
    outputs = global_regression(paths, str(tmp_path / "out"), reference=("include", ["c0"]))
    np.testing.assert_allclose(read_raster(outputs[2])[0], truth[:, :, 40:60], rtol=1e-4)


def test_clamping_to_the_output_type_is_warned_and_never_wraps(tiles, tmp_path):
    warnings = []
    outputs = global_regression(tiles[0], str(tmp_path), reference=("include", ["tile0"]),
                                dtype="uint8", warn=warnings.append)
    assert any("clamped" in message and "uint8" in message for message in warnings)
    got, profile = read_raster(outputs[1])
    assert profile["nodata"] == 255
    assert got.max() == 255 and (got[got != 255] >= 0).all()


def test_vector_mask_selects_the_pixels_statistics_use(tiles, tmp_path):
    from shapely.geometry import box

    paths, _ = tiles
    with_all = read_raster(global_regression(paths, str(tmp_path / "a"), dtype="float32")[1])[0]
    left, bottom, right, top = _bounds(paths[1])
    half = VectorMask("include", (box(left, bottom, (left + right) / 2, top).wkb,))
    masked = read_raster(global_regression(paths, str(tmp_path / "b"), dtype="float32",
                                           masks=[None, half, None, None])[1])[0]
    assert not np.allclose(masked, with_all, equal_nan=True)
    nothing = VectorMask("include", ())
    with pytest.raises(InvalidInputError, match="'tile2' has no valid pixel.*mask"):
        global_regression(paths, str(tmp_path / "c"), masks=[None, None, nothing, None])


def _bounds(path):
    import rasterio

    with rasterio.open(path) as ds:
        return tuple(ds.bounds)


def test_saved_model_reproduces_outputs_and_keeps_old_statistics(tiles, tmp_path):
    paths, _ = tiles
    model = str(tmp_path / "model.json")
    first = global_regression(paths[:3], str(tmp_path / "a"), save_model_to=model)
    again = global_regression(paths[:3], str(tmp_path / "b"), model=model)
    for one, two in zip(first, again):
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(two)[0])
    grown = str(tmp_path / "grown.json")
    global_regression(paths, str(tmp_path / "c"), model=model, save_model_to=grown)
    old, new = json.load(open(model))["images"], json.load(open(grown))["images"]
    for stem in ("tile0", "tile1", "tile2"):
        assert new[stem]["whole"] == old[stem]["whole"]
        for other, stats in old[stem]["overlaps"].items():
            assert new[stem]["overlaps"][other] == stats
    assert set(new["tile3"]["overlaps"]) == {"tile0", "tile1", "tile2"}
    assert set(load_model(grown)) == {"tile0", "tile1", "tile2", "tile3"}


def test_images_only_in_the_model_still_anchor_the_fit(tiles, tmp_path):
    paths, truth = tiles
    model = str(tmp_path / "model.json")
    global_regression(paths[:2], str(tmp_path / "a"), reference=("include", ["tile0"]),
                      save_model_to=model)
    only_new = global_regression(paths[2:], str(tmp_path / "b"), model=model,
                                 reference=("include", ["tile0"]), dtype="float32")
    got = read_raster(only_new[0])[0]
    expected = truth_of_tile(truth, 2)
    valid = ~np.isnan(expected)
    assert (np.abs(got[valid] - expected[valid]) / np.nanmean(expected)).max() < 0.005


def test_pairs_on_another_grid_are_read_onto_the_first_without_nodata_bleeding(tmp_path):
    from affine import Affine

    rng = np.random.default_rng(11)
    base = rng.uniform(500, 600, (1, 40, 40))
    fine = write_raster(tmp_path / "fine.tif", base.astype("f4"), res=1.0)
    coarse = base.reshape(1, 20, 2, 20, 2).mean(axis=(2, 4)) * 2 + 100
    coarse[:, :, :3] = -9999  # nodata next to valid pixels must not leak into the pairing
    shifted = Affine(2.0, 0, 500000.0 + 0.5, 0, -2.0, 4200000.0 - 0.5)
    coarse_path = write_raster(tmp_path / "coarse.tif", coarse.astype("f4"), nodata=-9999,
                               transform=shifted)
    outputs = global_regression([fine, coarse_path], str(tmp_path / "out"),
                                reference=("include", ["fine"]))
    got = read_raster(outputs[1])[0]
    valid = got != -9999
    # the gain is std-driven (smoothing changes std), the mean must match closely
    assert abs(got[valid].mean() - base.mean()) < 2.0
    assert got[valid].min() > 400


def test_bad_inputs_are_named(tiles, tmp_path, worldview_crop):
    paths, _ = tiles
    with pytest.raises(InvalidInputError, match="'nope'.* match no input.*tile0"):
        global_regression(paths, str(tmp_path), reference=("include", ["nope"]))
    three_bands = write_raster(tmp_path / "two.tif", np.ones((2, 5, 5), np.int16))
    with pytest.raises(InvalidInputError, match="'two' has 2 band.*'tile0' has 3"):
        global_regression([paths[0], three_bands], str(tmp_path))
    other_crs = write_raster(tmp_path / "utm11.tif", np.ones((3, 5, 5), np.int16),
                             crs="EPSG:32611")
    with pytest.raises(GridMismatchError, match="'utm11' is in another CRS"):
        global_regression([paths[0], other_crs], str(tmp_path))
    far = write_raster(tmp_path / "far.tif", np.ones((3, 5, 5), np.int16), origin=(0.0, 0.0),
                       crs=read_raster(paths[0])[1]["crs"])
    with pytest.raises(InvalidInputError, match=r"no two images overlap \(tile0, far\)"):
        global_regression([paths[0], far], str(tmp_path))
    with pytest.raises(InvalidInputError, match="far overlap.* no reference image"):
        global_regression([paths[0], paths[1], far], str(tmp_path),
                          reference=("exclude", ["far"]))
    with pytest.raises(InvalidInputError, match="lacks {stem}"):
        global_regression(paths, str(tmp_path), template="same.tif")


@pytest.mark.parametrize("execution", [Execution("serial", window_size=7),
                                       Execution("processes", 2, 16)],
                         ids=["7px", "2-workers"])
def test_tiling_and_workers_give_the_same_bytes(tiles, tmp_path, execution):
    paths, _ = tiles
    whole = global_regression(paths, str(tmp_path / "whole"), fit="huber",
                              save_model_to=str(tmp_path / "whole.json"),
                              execution=Execution("serial", window_size=4096))
    tiled = global_regression(paths, str(tmp_path / "tiled"), fit="huber",
                              save_model_to=str(tmp_path / "tiled.json"), execution=execution)
    for one, two in zip(whole, tiled):
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(two)[0])
    gains = [json.load(open(tmp_path / f"{name}.json"))["images"]["tile3"]["gain"]
             for name in ("whole", "tiled")]
    np.testing.assert_allclose(gains[0], gains[1], rtol=1e-12)


def test_cancel_after_the_first_image_leaves_no_output_at_all(tiles, tmp_path):
    from tessera.engine.errors import Cancelled

    paths, _ = tiles

    def cancelled():  # once the first image is written (renamed to its pending name)
        return any(name.endswith(".pending.tif") for name in os.listdir(tmp_path))

    with pytest.raises(Cancelled):
        global_regression(paths, str(tmp_path), execution=Execution(window_size=32),
                          cancelled=cancelled)
    assert os.listdir(tmp_path) == []
