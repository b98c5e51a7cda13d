"""The condition encoder: every conditioning variable, whatever its kind, becomes one vector per row.

Each kind has its own encoder and the encodings are summed:

``discrete``
    one ``nn.Embedding`` per variable; category values are mapped to indices by :func:`category_indices`;
``continuous``
    the variables are concatenated, standardized with statistics taken from the training data
    (buffers, so they travel with the weights) and passed through one MLP;
``image``
    one small convolutional encoder per variable (:class:`ImageEncoder`).

For classifier-free guidance the encoder can also hold a learned *null condition*: rows flagged in
``drop_condition`` get it instead of their encoding, which trains the unconditional model alongside the
conditional one.

This module also holds the conversions from table columns to model tensors shared by the backends
(:func:`category_indices`, :func:`images_to_model_range`, :func:`condition_tensors`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from idgen.data import VariableType
from idgen.errors import DataError, PositivityError

__all__ = ["ConditionEncoder", "ImageEncoder", "category_indices", "images_to_model_range", "condition_tensors"]


class ImageEncoder(nn.Module):
    """Two strided convolutions, a 2×2 average pool and a linear read-out.

    Parameters
    ----------
    in_channels : int
        Channels of the conditioning image.
    embedding_dim : int
        Size of the output vector.
    """

    def __init__(self, in_channels: int, embedding_dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(32, 64, kernel_size=3, stride=2, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 2 * 2, embedding_dim),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Encode ``(B, C, H, W)`` images in [-1, 1] into ``(B, embedding_dim)`` vectors."""
        return self.layers(images)


class ConditionEncoder(nn.Module):
    """Sum of per-kind encodings of the conditioning variables.

    Parameters
    ----------
    types : mapping of str to VariableType
        The conditioning variables, in a fixed order (at least one).
    embedding_dim : int
        Size of the condition vector (the denoiser's time-embedding size, to which it is added).
    null_condition : bool
        Hold a learned null condition for classifier-free guidance.
    """

    continuous_mean: torch.Tensor
    continuous_std: torch.Tensor

    def __init__(self, types: Mapping[str, VariableType], embedding_dim: int, *, null_condition: bool) -> None:
        super().__init__()
        if not types:
            raise DataError("a condition encoder needs at least one conditioning variable")
        self.names = tuple(types)
        self.discrete_names = tuple(name for name in self.names if types[name].kind == "discrete")
        self.continuous_names = tuple(name for name in self.names if types[name].kind == "continuous")
        self.image_names = tuple(name for name in self.names if types[name].kind == "image")
        self.discrete_embeddings = nn.ModuleList(
            nn.Embedding(len(types[name].categories), embedding_dim) for name in self.discrete_names
        )
        continuous_width = sum(types[name].shape[0] for name in self.continuous_names)
        self.continuous_network = (
            nn.Sequential(
                nn.Linear(continuous_width, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim)
            )
            if continuous_width
            else None
        )
        self.register_buffer("continuous_mean", torch.zeros(continuous_width))
        self.register_buffer("continuous_std", torch.ones(continuous_width))
        self.image_encoders = nn.ModuleList(
            ImageEncoder(types[name].shape[0], embedding_dim) for name in self.image_names
        )
        self.null_embedding = nn.Parameter(torch.zeros(embedding_dim)) if null_condition else None

    def set_statistics(self, conditions: Mapping[str, torch.Tensor]) -> None:
        """Store the mean and standard deviation of the continuous conditioning columns (from training data).

        A constant column keeps a standard deviation of 1 so that it is only centred.
        """
        if not self.continuous_names:
            return
        values = torch.cat([conditions[name].float() for name in self.continuous_names], dim=1)
        std = values.std(dim=0, unbiased=False)
        self.continuous_mean.copy_(values.mean(dim=0))
        self.continuous_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def forward(
        self, conditions: Mapping[str, torch.Tensor], drop_condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Encode a batch of conditions.

        Parameters
        ----------
        conditions : mapping of str to Tensor
            Per variable: category indices ``(B,)`` (int64), continuous values ``(B, d)`` or images
            ``(B, C, H, W)`` in [-1, 1], as :func:`condition_tensors` makes them.
        drop_condition : Tensor of bool, shape (B,), optional
            Rows that get the null condition instead (classifier-free guidance).

        Returns
        -------
        Tensor, shape (B, embedding_dim)
        """
        parts = [
            embedding(conditions[name])
            for name, embedding in zip(self.discrete_names, self.discrete_embeddings, strict=True)
        ]
        if self.continuous_network is not None:
            values = torch.cat([conditions[name].float() for name in self.continuous_names], dim=1)
            parts.append(self.continuous_network((values - self.continuous_mean) / self.continuous_std))
        parts.extend(
            encoder(conditions[name]) for name, encoder in zip(self.image_names, self.image_encoders, strict=True)
        )
        encoded = torch.stack(parts).sum(dim=0)
        if drop_condition is None:
            return encoded
        if self.null_embedding is None:
            raise DataError("this condition encoder was built without a null condition; it cannot drop conditions")
        return torch.where(drop_condition[:, None], self.null_embedding.to(encoded.dtype), encoded)


def category_indices(values: np.ndarray, categories: tuple[int, ...], name: str) -> np.ndarray:
    """Map category values to their positions in ``categories``.

    Raises
    ------
    PositivityError
        A value is not one of the categories seen in training.

    Examples
    --------
    >>> category_indices(np.array([5, 2, 5]), (2, 5), "X").tolist()
    [1, 0, 1]
    """
    known = np.asarray(categories)
    positions = np.searchsorted(known, values).clip(0, len(known) - 1)
    unseen = known[positions] != values
    if unseen.any():
        strangers = sorted({int(v) for v in np.asarray(values)[unseen]})
        raise PositivityError(
            f"variable {name!r} takes value(s) {strangers[:8]} never seen in training; "
            f"known categories: {list(categories)}"
        )
    return positions.astype(np.int64)


def images_to_model_range(values: np.ndarray, name: str) -> torch.Tensor:
    """Images with pixels in [0, 1] as a float32 tensor in [-1, 1].

    Raises
    ------
    DataError
        A pixel lies outside [0, 1] (scale images to [0, 1] before handing them to idgen).

    Examples
    --------
    >>> images_to_model_range(np.array([[[[0.0, 0.5, 1.0]]]]), "I").tolist()
    [[[[-1.0, 0.0, 1.0]]]]
    """
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise DataError(f"image variable {name!r} has pixel values in [{low:g}, {high:g}]; expected [0, 1]")
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)) * 2.0 - 1.0


def condition_tensors(table: Mapping[str, np.ndarray], types: Mapping[str, VariableType]) -> dict[str, torch.Tensor]:
    """The conditioning columns of ``table`` as the tensors :class:`ConditionEncoder` reads.

    Examples
    --------
    >>> types = {"X": VariableType("discrete", (), (0, 3)), "Z": VariableType("continuous", (1,))}
    >>> tensors = condition_tensors({"X": np.array([3, 0]), "Z": np.array([0.5, 1.5])}, types)
    >>> tensors["X"].tolist(), tensors["Z"].shape
    ([1, 0], torch.Size([2, 1]))
    """
    tensors: dict[str, torch.Tensor] = {}
    for name, variable_type in types.items():
        column = np.asarray(table[name])
        if variable_type.kind == "discrete":
            tensors[name] = torch.from_numpy(category_indices(column, variable_type.categories, name))
        elif variable_type.kind == "continuous":
            tensors[name] = torch.from_numpy(np.ascontiguousarray(column, dtype=np.float32).reshape(len(column), -1))
        else:
            tensors[name] = images_to_model_range(column, name)
    return tensors
