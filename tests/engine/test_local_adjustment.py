"""Local block adjustment: block grids, exact block means, corrections with known answers,
maps saved and reused, tiling independence (also where the gamma shift is needed)."""

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from support import distorted_tiles, read_raster, write_raster
from tessera.engine.block_maps import BlockAccumulator, BlockGrid, block_grid, load_map
from tessera.engine.errors import InvalidInputError, MissingInputError
from tessera.engine.executors import Execution
from tessera.engine.local_adjustment import REFERENCE_MAP, local_block_adjustment
from tessera.engine.raster_io import Block
from tessera.engine.windows import Grid, Window


def test_block_grid_follows_the_reference_formula():
    assert block_grid((0, 0, 100, 100), 100, 4) == BlockGrid((0, 0, 100, 100), 20, 20)
    wide = block_grid((0, 0, 200, 100), 10, 3)  # T = 30, aspect 2: 8 x 4 = 32 > 30 -> 7 x 4
    assert (wide.rows, wide.cols) == (4, 7)
    assert block_grid((0, 0, 10, 10), (3, 5), 9) == BlockGrid((0, 0, 10, 10), 3, 5)


def test_block_means_are_exact_and_interpolation_passes_through_block_centres():
    from affine import Affine

    grid = Grid("EPSG:32610", Affine(1, 0, 0, 0, -1, 40), 40, 40)
    blocks = BlockGrid((0, 0, 40, 40), 2, 4)
    values = np.repeat(np.repeat(np.arange(8.0).reshape(2, 4), 20, axis=0), 10, axis=1)[None]
    accumulator = BlockAccumulator(1, blocks, grid)
    for window in (Window(0, 0, 25, 40), Window(25, 0, 15, 40)):
        accumulator.add([Block(values[:, window.row:window.row_stop],
                               np.ones((1,) + window.shape, bool))], window)
    means = accumulator.means(0.5)
    np.testing.assert_array_equal(means[0], np.arange(8.0).reshape(2, 4))
    surface = blocks.interpolate(means, grid, Window(0, 0, 40, 40))[0]
    # independent bilinear: scipy between block centres, positions clipped to the outer ones
    fr = np.clip((np.arange(40) + 0.5) / 20 - 0.5, 0, 1)
    fc = np.clip((np.arange(40) + 0.5) / 10 - 0.5, 0, 3)
    rows, cols = np.meshgrid(fr, fc, indexing="ij")
    expected = map_coordinates(means[0], [rows, cols], order=1)
    np.testing.assert_allclose(surface, expected, atol=1e-12)
    assert surface[0, 0] == 0.0 and surface[39, 39] == 7.0  # held beyond outer centres


def test_interpolation_skips_empty_blocks_and_reweights():
    from affine import Affine

    grid = Grid(None, Affine(1, 0, 0, 0, -1, 2), 4, 2)
    blocks = BlockGrid((0, 0, 4, 2), 1, 2)
    surface = blocks.interpolate(np.array([[[5.0, np.nan]]]), grid, Window(0, 0, 2, 4))
    # the last column lies beyond the empty block's centre: only that block weighs there
    np.testing.assert_array_equal(surface, [[[5.0, 5.0, 5.0, np.nan]] * 2])
    empty = blocks.interpolate(np.array([[[np.nan, np.nan]]]), grid, Window(0, 0, 2, 4))
    assert np.isnan(empty).all()


def _pair(tmp_path, second, dtype="float32"):
    rng = np.random.default_rng(2)
    base = rng.uniform(200, 400, (2, 30, 40))
    a = write_raster(tmp_path / "a.tif", base.astype(dtype), nodata=-9999)
    b = write_raster(tmp_path / "b.tif", second(base).astype(dtype), nodata=-9999)
    return base, [a, b]


def test_linear_brings_a_scaled_copy_and_the_original_to_their_mean(tmp_path):
    base, paths = _pair(tmp_path, lambda x: 1.2 * x)
    outputs = local_block_adjustment(paths, str(tmp_path / "out"), correction="linear",
                                     blocks=(3, 4))
    for output in outputs:
        np.testing.assert_allclose(read_raster(output)[0], 1.1 * base, rtol=1e-5)


def test_offset_brings_a_shifted_copy_and_the_original_to_their_mean(tmp_path):
    base, paths = _pair(tmp_path, lambda x: x + 20)
    outputs = local_block_adjustment(paths, str(tmp_path / "out"), correction="offset")
    for output in outputs:
        np.testing.assert_allclose(read_raster(output)[0], base + 10, rtol=1e-5)


def test_identical_images_are_unchanged_and_alpha_zero_changes_nothing(tmp_path):
    base, paths = _pair(tmp_path, lambda x: x)
    for output in local_block_adjustment(paths, str(tmp_path / "same"), correction="gamma"):
        np.testing.assert_allclose(read_raster(output)[0], base, rtol=1e-5)
    _, shifted = _pair(tmp_path, lambda x: x + 50)
    out = local_block_adjustment(shifted, str(tmp_path / "alpha"), alpha=0.0)[1]
    np.testing.assert_allclose(read_raster(out)[0], base + 50, rtol=1e-5)


def test_gamma_lowers_the_difference_of_distorted_tiles(tmp_path):
    paths, _ = distorted_tiles(str(tmp_path), [1.0] * 4, [0.0] * 4, gradient=0.3)
    outputs = local_block_adjustment(paths, str(tmp_path / "out"), blocks=200,
                                     correction="gamma")
    assert _seam_difference(outputs) < 0.25 * _seam_difference(paths)


def test_same_pixel_reference_fixes_seams_where_block_means_mislead(tmp_path):
    paths, _ = distorted_tiles(str(tmp_path), [1.0] * 4, [0.0] * 4, gradient=0.3)
    seams = {reference: _seam_difference(local_block_adjustment(
        paths, str(tmp_path / reference), blocks=50, reference=reference))
        for reference in ("pixels", "blocks")}
    assert seams["pixels"] < 0.5 * _seam_difference(paths) < seams["blocks"]


def _seam_difference(paths):
    """Mean absolute difference of tiles 0 and 1 where both are valid."""
    a, b = read_raster(paths[0])[0][:, :, 60:].astype(float), read_raster(paths[1])[0][:, :, :40]
    valid = (a != -9999) & (b != -9999)
    return np.abs(a - b)[valid].mean()


@pytest.mark.parametrize("correction", ["gamma", "linear", "offset"])
def test_tiling_and_workers_give_the_same_bytes_even_with_negative_values(tmp_path,
                                                                          correction):
    paths, _ = distorted_tiles(str(tmp_path), [1.0, 1.1, 0.9, 1.0], [-400, 0, -300, 50],
                               gradient=0.2)
    runs = {}
    for name, execution in [("whole", Execution(window_size=4096)),
                            ("7px", Execution(window_size=7)),
                            ("2w", Execution("processes", 2, 32))]:
        if name == "2w" and correction != "gamma":
            continue
        runs[name] = [read_raster(path)[0] for path in local_block_adjustment(
            paths, str(tmp_path / name), correction=correction, blocks=30,
            execution=execution)]
    for name, arrays in runs.items():
        for whole, other in zip(runs["whole"], arrays):
            np.testing.assert_array_equal(whole, other, err_msg=name)


def test_saved_maps_reproduce_outputs_and_a_reference_serves_new_images(tmp_path):
    paths, _ = distorted_tiles(str(tmp_path), [1.0] * 4, [0.0] * 4, gradient=0.2)
    maps = str(tmp_path / "maps")
    first = local_block_adjustment(paths, str(tmp_path / "a"), save_maps=maps, blocks=(6, 6))
    reference, blocks, _ = load_map(str(tmp_path / "maps" / REFERENCE_MAP))
    assert (blocks.rows, blocks.cols) == (6, 6) and reference.shape == (3, 6, 6)
    again = local_block_adjustment(paths, str(tmp_path / "b"), load_maps=maps)
    for one, two in zip(first, again):
        np.testing.assert_array_equal(read_raster(one)[0], read_raster(two)[0])
    (tmp_path / "maps" / "tile3_blocks.tif").unlink()
    recomputed = local_block_adjustment(paths, str(tmp_path / "c"), load_maps=maps)
    np.testing.assert_array_equal(read_raster(recomputed[3])[0], read_raster(first[3])[0])


def test_automatic_blocks_from_the_coefficient_of_variation(tmp_path):
    paths, _ = distorted_tiles(str(tmp_path), [1.0] * 4, [0.0] * 4)
    maps = str(tmp_path / "maps")
    local_block_adjustment(paths, str(tmp_path / "out"), blocks="coefficient_of_variation",
                           save_maps=maps)
    values = np.concatenate([read_raster(p)[0][0][read_raster(p)[0][0] != -9999] for p in paths])
    side = max(1, round(10 * values.std() / values.mean() / (45 / 125)))
    _, blocks, _ = load_map(str(tmp_path / "maps" / REFERENCE_MAP))
    assert (blocks.rows, blocks.cols) == (side, side)


def test_bad_inputs_are_explained(tmp_path):
    _, paths = _pair(tmp_path, lambda x: x)
    with pytest.raises(InvalidInputError, match="correction 'curve' is unknown"):
        local_block_adjustment(paths, str(tmp_path), correction="curve")
    with pytest.raises(InvalidInputError, match="threshold 2 is outside 0..1"):
        local_block_adjustment(paths, str(tmp_path), threshold=2)
    with pytest.raises(MissingInputError, match="no reference block map"):
        local_block_adjustment(paths, str(tmp_path), load_maps=str(tmp_path))
    with pytest.raises(InvalidInputError, match="'a' has no block with enough valid pixels"):
        local_block_adjustment(paths, str(tmp_path / "o"), threshold=1.0, blocks=(1, 1),
                               canvas=(0, 0, 1e7, 1e7))
