"""CelebA loader for the standard aligned-and-cropped layout, and a tiny fake dataset for tests.

Expected layout under ``root`` (as distributed by the CelebA authors)::

    root/img_align_celeba/000001.jpg ...     178 x 218 aligned faces
    root/list_attr_celeba.txt                line 1: count; line 2: 40 attribute names;
                                             then ``filename  1 -1 ...`` (1 = present, -1 = absent)
    root/list_eval_partition.txt             ``filename split`` with 0 = train, 1 = valid, 2 = test

Images are centre-cropped to a 178 x 178 square, resized to ``image_size`` (bicubic) and returned as
float32 in [0, 1] with layout N x 3 x H x W; attributes become int64 columns of 0 and 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from idgen.errors import DataError

__all__ = ["CELEBA_ATTRIBUTES", "SPLITS", "load_celeba", "write_celeba_fixture"]

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young",
)  # fmt: skip
"""The 40 attribute names of ``list_attr_celeba.txt``, in file order."""

SPLITS = {"train": 0, "valid": 1, "test": 2}
"""Split names and their codes in ``list_eval_partition.txt``."""

IMAGE_FOLDER = "img_align_celeba"
ATTRIBUTE_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
CROP_SIDE = 178
_ALIGNED_WIDTH, _ALIGNED_HEIGHT = 178, 218


def _require(path: Path, root: Path) -> None:
    """Raise a one-line :class:`DataError` naming ``path`` if it does not exist."""
    if not path.exists():
        raise DataError(
            f"CelebA is missing {path}: download the aligned CelebA images with list_attr_celeba.txt "
            f"and list_eval_partition.txt and place them as {root}/{IMAGE_FOLDER}/*.jpg, "
            f"{root}/{ATTRIBUTE_FILE}, {root}/{PARTITION_FILE}"
        )


def _read_attribute_file(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Parse ``list_attr_celeba.txt`` into (attribute names, filenames, values in {-1, 1})."""
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise DataError(f"{path} must start with a count line and an attribute-name line")
    names = lines[1].split()
    filenames = []
    rows = []
    for line_number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1:
            raise DataError(f"{path}:{line_number} has {len(fields) - 1} values for {len(names)} attributes")
        filenames.append(fields[0])
        rows.append([int(value) for value in fields[1:]])
    return names, filenames, np.array(rows, dtype=np.int64).reshape(-1, len(names))


def _read_partition_file(path: Path) -> dict[str, int]:
    """Parse ``list_eval_partition.txt`` into a filename -> split code mapping."""
    partition = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields:
            partition[fields[0]] = int(fields[1])
    return partition


def _decode(path: Path, image_size: int) -> np.ndarray:
    """Read one JPEG, centre-crop a square of side 178 (or less), resize; uint8 H x W x 3."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    side = min(CROP_SIDE, rgb.width, rgb.height)
    left = (rgb.width - side) // 2
    top = (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    resized = square.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def load_celeba(
    root: str | Path,
    attributes: Sequence[str] = ("Male", "Young"),
    split: str = "train",
    image_size: int = 64,
    limit: int | None = None,
) -> dict[str, np.ndarray]:
    """Load CelebA images and chosen binary attributes.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder with the standard layout (see the module docstring).
    attributes : sequence of str
        Attribute names from ``list_attr_celeba.txt``, e.g. ``("Male", "Young")``.
    split : {"train", "valid", "test", "all"}
        Which part of ``list_eval_partition.txt`` to load.
    image_size : int
        Side of the returned square images.
    limit : int or None
        Keep only the first ``limit`` images of the split (in file order).

    Returns
    -------
    dict of str to numpy.ndarray
        ``"image"``: float32 ``(n, 3, image_size, image_size)`` in [0, 1]; ``"filename"``: str
        array; one int64 column of 0 and 1 per requested attribute.

    Raises
    ------
    idgen.errors.DataError
        If the dataset, one of its files, an attribute or the split is unknown or missing.
    """
    root = Path(root)
    if split != "all" and split not in SPLITS:
        raise DataError(f"unknown CelebA split {split!r}; use one of {', '.join(SPLITS)}, all")
    if limit is not None and limit < 0:
        raise DataError(f"limit must be non-negative, got {limit}")
    for path in (root / IMAGE_FOLDER, root / ATTRIBUTE_FILE, root / PARTITION_FILE):
        _require(path, root)
    names, filenames, values = _read_attribute_file(root / ATTRIBUTE_FILE)
    unknown = [name for name in attributes if name not in names]
    if unknown:
        raise DataError(f"unknown CelebA attributes {unknown}; {root / ATTRIBUTE_FILE} lists {names}")
    partition = _read_partition_file(root / PARTITION_FILE)
    missing_split = [filename for filename in filenames if filename not in partition]
    if missing_split:
        raise DataError(f"{root / PARTITION_FILE} has no split for {missing_split[0]}")
    selected = [
        index for index, filename in enumerate(filenames) if split == "all" or partition[filename] == SPLITS[split]
    ][:limit]
    pixels = np.zeros((len(selected), image_size, image_size, 3), dtype=np.uint8)
    for row, index in enumerate(selected):
        path = root / IMAGE_FOLDER / filenames[index]
        _require(path, root)
        pixels[row] = _decode(path, image_size)
    result = {
        "image": pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0),
        "filename": np.array([filenames[index] for index in selected], dtype=str),
    }
    for name in attributes:
        result[name] = (values[selected, names.index(name)] == 1).astype(np.int64)
    return result


def write_celeba_fixture(root: str | Path, n: int = 24, seed: int = 0) -> Path:
    """Write a tiny fake CelebA in the standard layout, for tests.

    Each 178 x 218 JPEG is a noisy flat colour whose red channel is high when ``Male`` and whose blue
    channel is high when ``Young``, with a random grey rectangle; a classifier can learn both
    attributes from pixel means. The other 38 attributes are random. Images are split 60 / 20 / 20
    into train, valid and test in file order.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder to create (or fill).
    n : int
        Number of images, at least 1.
    seed : int
        Seed of every random choice.

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    if n < 1:
        raise DataError(f"a CelebA fixture needs at least one image, got n={n}")
    root = Path(root)
    (root / IMAGE_FOLDER).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1, 1]), size=(n, len(CELEBA_ATTRIBUTES)))
    male = signs[:, CELEBA_ATTRIBUTES.index("Male")] == 1
    young = signs[:, CELEBA_ATTRIBUTES.index("Young")] == 1
    filenames = [f"{index + 1:06d}.jpg" for index in range(n)]
    for index, filename in enumerate(filenames):
        base = np.array([200 if male[index] else 50, 120, 200 if young[index] else 50], dtype=np.float64)
        noise = rng.normal(0.0, 20.0, size=(_ALIGNED_HEIGHT, _ALIGNED_WIDTH, 3))
        pixels = base + noise
        top, left = rng.integers(20, 120), rng.integers(0, 100)
        pixels[top : top + 60, left : left + 60] = rng.integers(0, 256)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        image.save(root / IMAGE_FOLDER / filename, quality=90)
    attribute_lines = [str(n), " ".join(CELEBA_ATTRIBUTES)]
    attribute_lines += [
        f"{filename} " + " ".join(f"{value:2d}" for value in row)
        for filename, row in zip(filenames, signs, strict=True)
    ]
    (root / ATTRIBUTE_FILE).write_text("\n".join(attribute_lines) + "\n")
    boundaries = (int(0.6 * n), int(0.8 * n))
    splits = np.searchsorted(np.array(boundaries), np.arange(n), side="right")
    partition_lines = [f"{filename} {code}" for filename, code in zip(filenames, splits, strict=True)]
    (root / PARTITION_FILE).write_text("\n".join(partition_lines) + "\n")
    return root
