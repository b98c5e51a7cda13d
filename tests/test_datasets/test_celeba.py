"""CelebA loader on the fake fixture: round trip, splits, attribute signal, and missing-data errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idgen.datasets import celeba
from idgen.errors import DataError


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return celeba.write_celeba_fixture(tmp_path_factory.mktemp("celeba"), n=20, seed=0)


def test_fixture_has_the_standard_layout(root: Path) -> None:
    assert len(list((root / "img_align_celeba").glob("*.jpg"))) == 20
    lines = (root / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == "20" and lines[1].split() == list(celeba.CELEBA_ATTRIBUTES)


def test_round_trip_shapes_and_values(root: Path) -> None:
    data = celeba.load_celeba(root, attributes=("Male", "Young"), split="all", image_size=16)
    assert data["image"].shape == (20, 3, 16, 16) and data["image"].dtype == np.float32
    assert 0.0 <= data["image"].min() and data["image"].max() <= 1.0
    assert set(np.unique(data["Male"])) <= {0, 1} and data["Male"].dtype == np.int64
    assert data["filename"][0] == "000001.jpg"


def test_pixels_carry_the_attributes(root: Path) -> None:
    data = celeba.load_celeba(root, attributes=("Male", "Young"), split="all", image_size=16)
    red = data["image"][:, 0].mean(axis=(1, 2))
    blue = data["image"][:, 2].mean(axis=(1, 2))
    assert red[data["Male"] == 1].min() > red[data["Male"] == 0].max()
    assert blue[data["Young"] == 1].min() > blue[data["Young"] == 0].max()


def test_splits_partition_the_data(root: Path) -> None:
    sizes = {split: len(celeba.load_celeba(root, split=split, image_size=8)["filename"]) for split in celeba.SPLITS}
    assert sizes == {"train": 12, "valid": 4, "test": 4}
    test_names = celeba.load_celeba(root, split="test", image_size=8)["filename"]
    assert list(test_names) == ["000017.jpg", "000018.jpg", "000019.jpg", "000020.jpg"]


def test_limit_keeps_the_first_images(root: Path) -> None:
    data = celeba.load_celeba(root, split="train", image_size=8, limit=3)
    assert list(data["filename"]) == ["000001.jpg", "000002.jpg", "000003.jpg"]


def test_missing_dataset_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="img_align_celeba") as error:
        celeba.load_celeba(tmp_path / "nowhere")
    assert "\n" not in str(error.value) and "list_attr_celeba.txt" in str(error.value)


def test_missing_partition_file_is_named(tmp_path: Path) -> None:
    root = celeba.write_celeba_fixture(tmp_path, n=2)
    (root / "list_eval_partition.txt").unlink()
    with pytest.raises(DataError, match="missing .*list_eval_partition.txt"):
        celeba.load_celeba(root)


def test_unknown_attribute_and_split_are_rejected(root: Path) -> None:
    with pytest.raises(DataError, match="Smiles"):
        celeba.load_celeba(root, attributes=("Smiles",))
    with pytest.raises(DataError, match="split 'validation'"):
        celeba.load_celeba(root, split="validation")
