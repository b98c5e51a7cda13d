"""Evaluation metrics of the experiments, computed with an attribute classifier.

* :func:`classifier_fid` — "FID (digit-classifier features)": the Fréchet distance between Gaussians
  fitted to the penultimate-layer features of a trained
  :class:`~trainers.classifiers.AttributeClassifier`, computed by torchmetrics'
  ``FrechetInceptionDistance`` with that classifier as a custom feature extractor. It ranks samples
  of the same variable against each other, but it is **not** comparable to Inception FID numbers (the
  paper's 25.66 / 22.67): another network, another feature space, another scale.
* :func:`attribute_tvd_from_predictions` — total variation distance between the (digit, colour,
  thickness) distribution a classifier reads off samples and an exact Napkin-MNIST table.
* :func:`celeba_attribute_classifier` — the CelebA classifier of binary attributes (``Male``,
  ``Young``) that judges generated faces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from idgen.datasets.napkin_mnist import ImageAttributes, attribute_tvd
from idgen.errors import DataError
from trainers.classifiers import AttributeClassifier, check_images, train_attribute_classifier

__all__ = ["ClassifierFeatures", "classifier_fid", "attribute_tvd_from_predictions", "celeba_attribute_classifier"]


class ClassifierFeatures(nn.Module):
    """An :class:`AttributeClassifier`'s penultimate layer as a torchmetrics custom feature extractor.

    torchmetrics' ``FrechetInceptionDistance(feature=module)`` reads the feature size from
    ``module.num_features`` and calls ``module(images)`` expecting ``(N, num_features)``; with
    ``normalize=True`` it passes float images in [0, 1] through unchanged, which is what the classifier
    reads. The module never leaves evaluation mode, so batch normalisation uses its running statistics.

    Parameters
    ----------
    model : AttributeClassifier
        A trained classifier.

    Examples
    --------
    >>> extractor = ClassifierFeatures(AttributeClassifier({"colour": 6}, image_size=8, feature_size=5))
    >>> extractor.num_features, tuple(extractor(torch.rand(2, 3, 8, 8)).shape)
    (5, (2, 5))
    """

    def __init__(self, model: AttributeClassifier) -> None:
        super().__init__()
        self.model = model
        self.num_features = model.feature_size
        self.train(False)

    def train(self, mode: bool = True) -> ClassifierFeatures:
        """Stay in evaluation mode whatever ``mode`` asks.

        Parameters
        ----------
        mode : bool
            Ignored.

        Returns
        -------
        ClassifierFeatures
            ``self``.
        """
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the classifier's penultimate-layer features.

        Parameters
        ----------
        images : torch.Tensor
            float ``(N, channels, image_size, image_size)`` with pixels in [0, 1].

        Returns
        -------
        torch.Tensor
            ``(N, num_features)``.
        """
        return self.model.embed(images)


def classifier_fid(
    real_images: np.ndarray | torch.Tensor,
    fake_images: np.ndarray | torch.Tensor,
    feature_model: AttributeClassifier,
    batch_size: int = 512,
) -> float:
    """FID (digit-classifier features): Fréchet distance of two image sets in a classifier's feature space.

    Both sets are embedded by ``feature_model``'s penultimate layer (see :class:`ClassifierFeatures`)
    and torchmetrics' ``FrechetInceptionDistance`` compares the Gaussians fitted to the two feature
    clouds, accumulating the statistics in float64. The value is 0 for identical sets and grows with
    the difference; it is not comparable to Inception FID numbers reported elsewhere.

    Parameters
    ----------
    real_images, fake_images : numpy.ndarray or torch.Tensor
        float ``(N, channels, image_size, image_size)`` with pixels in [0, 1], at least 2 images each
        (many more for a stable estimate: the covariance has ``feature_size`` squared entries).
    feature_model : AttributeClassifier
        The classifier whose features are compared, e.g. from
        :func:`~trainers.classifiers.napkin_attribute_classifier`.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    float
        The distance, at least 0 up to rounding.

    Raises
    ------
    idgen.errors.DataError
        If the two sets differ in image shape, do not fit the classifier, hold fewer than 2 images or
        have pixels outside [0, 1].
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    real_shape, fake_shape = tuple(np.shape(real_images)), tuple(np.shape(fake_images))
    if real_shape[1:] != fake_shape[1:]:
        raise DataError(
            f"classifier_fid compares images of one shape, but real images are {real_shape[1:]} per image "
            f"and fake images are {fake_shape[1:]}"
        )
    real = check_images(real_images, feature_model, "real images")
    fake = check_images(fake_images, feature_model, "fake images")
    if real.shape[0] < 2 or fake.shape[0] < 2:
        raise DataError(
            f"classifier_fid needs at least 2 real and 2 fake images, got {real.shape[0]} and {fake.shape[0]}"
        )
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(feature_model), normalize=True)
    for images, is_real in ((real, True), (fake, False)):
        for batch in images.split(batch_size):
            metric.update(batch, real=is_real)
    return float(metric.compute())


def attribute_tvd_from_predictions(predictions: Mapping[str, np.ndarray], truth_table: np.ndarray) -> float:
    """Total variation distance between predicted Napkin-MNIST attributes and an exact table.

    Parameters
    ----------
    predictions : mapping of str to numpy.ndarray
        int columns ``digit``, ``colour`` and ``thickness`` of equal length, e.g. from
        :func:`~trainers.classifiers.predict` on samples of Y.
    truth_table : numpy.ndarray
        Shape ``(10, 6, 3)``, e.g. from
        :func:`~idgen.datasets.napkin_mnist.true_interventional_attributes`.

    Returns
    -------
    float
        ``0.5 * sum |empirical - truth_table|``, in [0, 1].

    Raises
    ------
    idgen.errors.DataError
        If a column is missing or the columns differ in length.

    Examples
    --------
    >>> truth = np.zeros((10, 6, 3)); truth[1, 2, 0] = 1.0
    >>> attribute_tvd_from_predictions({"digit": np.array([1, 4]), "colour": np.array([2, 2]),
    ...                                 "thickness": np.array([0, 0])}, truth)
    0.5
    """
    missing = [name for name in ImageAttributes._fields if name not in predictions]
    if missing:
        raise DataError(f"predictions lack the attribute column(s) {', '.join(missing)}")
    lengths = {name: np.shape(predictions[name]) for name in ImageAttributes._fields}
    if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1:
        raise DataError(f"prediction columns must be 1-D of one length, got shapes {lengths}")
    rows = np.stack([np.asarray(predictions[name]) for name in ImageAttributes._fields], axis=1)
    return attribute_tvd(rows, truth_table)


def celeba_attribute_classifier(
    images: np.ndarray | torch.Tensor,
    labels: Mapping[str, np.ndarray],
    *,
    steps: int = 1500,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    augment: bool = True,
    held_out: float | np.ndarray = 0.1,
) -> tuple[AttributeClassifier, dict[str, Any]]:
    """Train the classifier of binary CelebA attributes that judges generated faces.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        float ``(N, 3, S, S)`` with pixels in [0, 1]
        (as :func:`~idgen.datasets.celeba.load_celeba` gives them).
    labels : mapping of str to numpy.ndarray
        One column of 0 and 1 per attribute, e.g. ``{"Male": ..., "Young": ...}`` as ``load_celeba``
        returns them.
    steps, batch_size, lr, seed, augment, held_out
        As in :func:`~trainers.classifiers.train_attribute_classifier`.

    Returns
    -------
    tuple of (AttributeClassifier, dict)
        The classifier (one two-class head per attribute) and its training report with
        ``held_out_accuracy``.

    Raises
    ------
    idgen.errors.DataError
        If a label column holds values other than 0 and 1.
    """
    for name, column in labels.items():
        values = np.unique(np.asarray(column))
        if not np.isin(values, (0, 1)).all():
            raise DataError(f"CelebA attribute {name!r} must hold 0 and 1, got values {values.tolist()}")
    return train_attribute_classifier(
        images,
        labels,
        classes={name: 2 for name in labels},
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        augment=augment,
        held_out=held_out,
    )
