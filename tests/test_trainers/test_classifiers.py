"""Attribute classifiers and the metrics built on them, with tiny settings (16-pixel images, few steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from idgen.datasets.celeba import load_celeba, write_celeba_fixture
from idgen.datasets.napkin_mnist import render_images
from idgen.errors import DataError
from trainers.classifiers import (
    AttributeClassifier,
    features,
    load_classifier,
    napkin_attribute_classifier,
    predict,
    save_classifier,
    train_attribute_classifier,
)
from trainers.metrics import attribute_tvd_from_predictions, celeba_attribute_classifier, classifier_fid

pytest.importorskip("mlxtend")
torch.set_num_threads(1)

IMAGE_SIZE = 16
TINY_NAPKIN = {"n_train": 2000, "n_held_out": 400, "steps": 200, "batch_size": 32, "lr": 5e-3}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classifier_cache")


@pytest.fixture(scope="module")
def napkin_classifier(cache_dir: Path) -> tuple[AttributeClassifier, dict[str, float]]:
    return napkin_attribute_classifier(IMAGE_SIZE, "none", cache_dir, **TINY_NAPKIN)


def rendered(colours: list[int], count: int, seed: int) -> np.ndarray:
    """``count`` regular-thickness images of random digits in colours cycling through ``colours``, in [0, 1]."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(10, size=count)
    colour_column = np.resize(np.array(colours), count)
    images = render_images(digits, colour_column, np.ones(count, dtype=np.int64), image_size=IMAGE_SIZE, seed=seed)
    return images


def test_napkin_classifier_learns_colour_and_thickness_on_held_out_digits(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]],
) -> None:
    _, accuracy = napkin_classifier
    assert set(accuracy) == {"digit", "colour", "thickness"}
    assert accuracy["colour"] >= 0.9  # chance: 1/6
    assert accuracy["thickness"] >= 0.6  # chance: 1/3
    assert accuracy["digit"] >= 0.3  # chance: 1/10, after only 200 steps


def test_napkin_classifier_is_reused_from_its_cache(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]], cache_dir: Path
) -> None:
    model, accuracy = napkin_classifier
    assert len(list(cache_dir.glob("napkin_classifier_*"))) == 1
    cached_model, cached_accuracy = napkin_attribute_classifier(IMAGE_SIZE, "none", cache_dir, **TINY_NAPKIN)
    assert cached_accuracy == accuracy
    images = rendered([0, 3], 8, seed=1)
    assert np.array_equal(features(cached_model, images), features(model, images))


def test_save_and_load_give_identical_predictions(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]], tmp_path: Path
) -> None:
    model, _ = napkin_classifier
    save_classifier(model, tmp_path / "classifier", {"note": "test"})
    loaded, report = load_classifier(tmp_path / "classifier")
    images = rendered([1, 4], 16, seed=2)
    assert report == {"note": "test"}
    expected, actual = predict(model, images), predict(loaded, images)
    assert all(np.array_equal(expected[name], actual[name]) for name in ("digit", "colour", "thickness"))
    assert np.array_equal(features(loaded, images), features(model, images))


def test_loading_a_folder_without_a_classifier_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="holds no saved attribute classifier"):
        load_classifier(tmp_path)


def test_fid_is_zero_for_a_set_against_itself_and_large_against_other_colours(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]],
) -> None:
    model, _ = napkin_classifier
    first_group = rendered([0, 1, 2], 300, seed=3)
    first_group_again = rendered([0, 1, 2], 300, seed=4)
    second_group = rendered([3, 4, 5], 300, seed=5)
    itself = classifier_fid(first_group, first_group, model)
    same_distribution = classifier_fid(first_group, first_group_again, model)
    other_colours = classifier_fid(first_group, second_group, model)
    assert abs(itself) < 1e-6 * other_colours
    assert other_colours > 5 * same_distribution


def test_fid_refuses_image_sets_of_different_shapes(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]],
) -> None:
    model, _ = napkin_classifier
    with pytest.raises(DataError, match=r"real images are \(3, 16, 16\).*fake images are \(3, 8, 8\)"):
        classifier_fid(np.zeros((4, 3, 16, 16), np.float32), np.zeros((4, 3, 8, 8), np.float32), model)


def test_fid_refuses_images_in_minus_one_to_one(
    napkin_classifier: tuple[AttributeClassifier, dict[str, float]],
) -> None:
    model, _ = napkin_classifier
    images = rendered([0], 4, seed=6) * 2.0 - 1.0
    with pytest.raises(DataError, match=r"expected \[0, 1\]"):
        classifier_fid(images, images, model)


def test_attribute_tvd_of_perfect_predictions_of_one_point_is_zero() -> None:
    truth = np.zeros((10, 6, 3))
    truth[7, 5, 2] = 1.0
    predictions = {"digit": np.array([7, 7]), "colour": np.array([5, 5]), "thickness": np.array([2, 2])}
    assert attribute_tvd_from_predictions(predictions, truth) == 0.0
    with pytest.raises(DataError, match="thickness"):
        attribute_tvd_from_predictions({"digit": np.array([7]), "colour": np.array([5])}, truth)


def test_training_refuses_labels_outside_their_classes() -> None:
    images = np.zeros((4, 3, 8, 8), np.float32)
    with pytest.raises(DataError, match=r"labels\['colour'\] must lie in 0..5"):
        train_attribute_classifier(images, {"colour": np.array([0, 1, 2, 6])}, classes={"colour": 6}, steps=1)


def test_celeba_classifier_learns_male_and_young_from_the_fixture(tmp_path: Path) -> None:
    root = write_celeba_fixture(tmp_path / "celeba", n=80, seed=0)
    data = load_celeba(root, attributes=("Male", "Young"), split="all", image_size=IMAGE_SIZE)
    model, report = celeba_attribute_classifier(
        data["image"],
        {"Male": data["Male"], "Young": data["Young"]},
        steps=60,
        batch_size=32,
        held_out=0.25,
    )
    assert model.attributes == {"Male": 2, "Young": 2}
    assert report["held_out_size"] == 20
    assert report["held_out_accuracy"]["Male"] >= 0.9
    assert report["held_out_accuracy"]["Young"] >= 0.9
