"""Napkin-MNIST: determinism, image format, and the exact truth against a Monte-Carlo of the SCM."""

from __future__ import annotations

import numpy as np
import pytest

from idgen.datasets import napkin_mnist
from idgen.errors import DataError

SMALL = napkin_mnist.NapkinMNISTConfig(image_size=8, n_samples=40, seed=3)
INTERVENTION = napkin_mnist.ImageAttributes(digit=3, colour=4, thickness=0)
MONTE_CARLO_DRAWS = 1_000_000


@pytest.fixture(scope="module")
def small_data() -> napkin_mnist.NapkinMNISTData:
    return napkin_mnist.generate(SMALL)


def test_same_seed_gives_identical_data(small_data: napkin_mnist.NapkinMNISTData) -> None:
    again = napkin_mnist.generate(SMALL)
    for name, values in small_data.observed().items():
        np.testing.assert_array_equal(values, again.observed()[name])


def test_other_seed_gives_other_data(small_data: napkin_mnist.NapkinMNISTData) -> None:
    other = napkin_mnist.generate(napkin_mnist.NapkinMNISTConfig(image_size=8, n_samples=40, seed=4))
    assert not np.array_equal(small_data.X, other.X)


def test_shapes_and_ranges(small_data: napkin_mnist.NapkinMNISTData) -> None:
    for name in ("W1", "X", "Y"):
        images = small_data.observed()[name]
        assert images.shape == (40, 3, 8, 8) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
    assert small_data.W2.dtype == np.int64 and set(small_data.W2) <= set(range(20))
    digits, groups = napkin_mnist.decode_w2(small_data.W2)
    np.testing.assert_array_equal(digits, small_data.hidden["W2_digit"])
    np.testing.assert_array_equal(groups, small_data.hidden["W2_colour_group"])
    assert small_data.image_attributes("Y").shape == (40, 3)


def test_images_show_their_colour(small_data: napkin_mnist.NapkinMNISTData) -> None:
    for name in ("W1", "X", "Y"):
        colours = small_data.hidden[f"{name}_colour"]
        dark_channels = napkin_mnist.COLOUR_RGB[colours] == 0
        images = small_data.observed()[name]
        assert np.all(images[dark_channels] == 0.0)


def test_cache_round_trip(tmp_path) -> None:
    config = napkin_mnist.NapkinMNISTConfig(image_size=8, n_samples=10, seed=1, cache_dir=str(tmp_path))
    first = napkin_mnist.generate(config)
    assert len(list(tmp_path.glob("napkin_mnist_*.npz"))) == 1
    second = napkin_mnist.generate(config)
    np.testing.assert_array_equal(first.Y, second.Y)
    for name, values in first.hidden.items():
        np.testing.assert_array_equal(values, second.hidden[name])


def test_x_is_rotated_and_y_reflected() -> None:
    arguments = dict(digits=[2, 5], colours=[0, 3], thicknesses=[1, 2], image_size=16, seed=7)
    upright = napkin_mnist.render_images(**arguments, transform="none")
    rotated = napkin_mnist.render_images(**arguments, transform="rotate90")
    reflected = napkin_mnist.render_images(**arguments, transform="reflect")
    np.testing.assert_array_equal(rotated, np.rot90(upright, k=1, axes=(2, 3)))
    np.testing.assert_array_equal(reflected, upright[..., ::-1])
    assert not np.array_equal(rotated, upright)


def test_intervention_images_are_deterministic() -> None:
    images, rows = napkin_mnist.intervention_images(8)
    again, _ = napkin_mnist.intervention_images(8)
    np.testing.assert_array_equal(images, again)
    assert images.shape == (len(napkin_mnist.INTERVENTION_ATTRIBUTES), 3, 8, 8)
    assert rows.tolist() == [list(item) for item in napkin_mnist.INTERVENTION_ATTRIBUTES]


@pytest.mark.parametrize(
    "truth", [napkin_mnist.true_interventional_attributes, napkin_mnist.true_conditional_attributes]
)
def test_truth_tables_are_distributions(truth) -> None:
    table = truth(INTERVENTION, SMALL)
    assert table.shape == (10, 6, 3)
    assert table.min() >= 0.0
    assert table.sum() == pytest.approx(1.0)


def test_do_and_conditioning_differ_only_in_colour() -> None:
    do_table = napkin_mnist.true_interventional_attributes(INTERVENTION, SMALL)
    conditional_table = napkin_mnist.true_conditional_attributes(INTERVENTION, SMALL)
    np.testing.assert_allclose(do_table.sum(axis=1), conditional_table.sum(axis=1))
    np.testing.assert_allclose(do_table.sum(axis=(0, 2)), np.full(6, 1 / 6))
    assert 0.5 * np.abs(do_table - conditional_table).sum() == pytest.approx(0.405)


def test_truth_matches_monte_carlo_under_do() -> None:
    rng = np.random.default_rng(11)
    draws = napkin_mnist.sample_attributes(200_000, SMALL, rng, intervention=INTERVENTION)
    rows = np.stack([draws["Y_digit"], draws["Y_colour"], draws["Y_thickness"]], axis=1)
    truth = napkin_mnist.true_interventional_attributes(INTERVENTION, SMALL)
    assert napkin_mnist.attribute_tvd(rows, truth) < 0.02


def test_truth_matches_monte_carlo_given_x() -> None:
    config = napkin_mnist.NapkinMNISTConfig(label_noise=0.2, thickness_noise=0.1)
    draws = napkin_mnist.sample_attributes(MONTE_CARLO_DRAWS, config, np.random.default_rng(12))
    matches = (
        (draws["X_digit"] == INTERVENTION.digit)
        & (draws["X_colour"] == INTERVENTION.colour)
        & (draws["X_thickness"] == INTERVENTION.thickness)
    )
    rows = np.stack([draws["Y_digit"], draws["Y_colour"], draws["Y_thickness"]], axis=1)[matches]
    assert len(rows) > 4_000
    conditional = napkin_mnist.true_conditional_attributes(INTERVENTION, config)
    interventional = napkin_mnist.true_interventional_attributes(INTERVENTION, config)
    assert napkin_mnist.attribute_tvd(rows, conditional) < 0.06
    assert napkin_mnist.attribute_tvd(rows, interventional) > 0.2
    empirical_colour = napkin_mnist.empirical_attribute_table(rows).sum(axis=(0, 2))
    np.testing.assert_allclose(empirical_colour, conditional.sum(axis=(0, 2)), atol=0.02)


def test_out_of_range_attributes_are_rejected() -> None:
    with pytest.raises(DataError, match="colour=6"):
        napkin_mnist.true_interventional_attributes((1, 6, 0), SMALL)


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(DataError, match="label_noise"):
        napkin_mnist.NapkinMNISTConfig(label_noise=1.5)


def test_change_transform_turns_an_x_image_into_the_y_image_of_the_same_attributes() -> None:
    digits, colours, thickness = np.array([3, 7]), np.array([1, 4]), np.array([0, 2])
    x = napkin_mnist.render_images(digits, colours, thickness, image_size=16, transform="rotate90", seed=5)
    y = napkin_mnist.render_images(digits, colours, thickness, image_size=16, transform="reflect", seed=5)
    assert np.array_equal(napkin_mnist.change_transform(x, "rotate90", "reflect"), y)
    assert not np.array_equal(x, y)


def test_change_transform_refuses_an_unknown_transform() -> None:
    with pytest.raises(DataError, match="unknown image transform 'mirror'"):
        napkin_mnist.change_transform(np.zeros((1, 3, 4, 4)), "mirror", "none")
