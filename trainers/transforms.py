"""Per-column monotone transforms of continuous targets, fitted on the data and inverted at sampling.

A diffusion model learns a standardized vector well when each coordinate looks roughly Gaussian; a
right-skewed outcome spanning 100 to 30,000 does not, and the model's small errors in its tail move
the conditional means a lot. ``mlp-diffusion`` therefore learns each continuous target column in a
transformed space (option ``target_transform``):

``"quantile"``
    the empirical quantile map to a standard normal (:class:`QuantileTransform`): monotone,
    piecewise linear between ``knots`` quantiles, so any shape becomes Gaussian and the inverse
    returns values inside the observed range;
``"yeo-johnson"``
    the Yeo–Johnson power transform with λ fitted by maximum likelihood (:class:`YeoJohnsonTransform`);
``"auto"``
    ``"quantile"`` for a skewed or heavy-tailed column (|skewness| > 1 or excess kurtosis > 3), else none;
``"none"``
    the identity.

Every transform is a small JSON-able object saved with the model (:func:`transform_from_json`).

Examples
--------
>>> import numpy as np
>>> values = np.exp(np.random.default_rng(0).normal(6.0, 1.0, size=(2000, 1)))
>>> transform = fit_transform(values, "auto")
>>> type(transform).__name__
'QuantileTransform'
>>> bool(np.allclose(transform.inverse(transform.forward(values)), values, rtol=1e-3))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np

from idgen.errors import IdgenError

__all__ = [
    "TRANSFORMS",
    "IdentityTransform",
    "QuantileTransform",
    "YeoJohnsonTransform",
    "fit_transform",
    "transform_from_json",
    "is_skewed",
]

TRANSFORMS = ("auto", "quantile", "yeo-johnson", "none")
#: quantile knots of the quantile transform (fewer when the column has fewer rows)
QUANTILE_KNOTS = 1000


class IdentityTransform:
    """No transform."""

    name = "none"

    def forward(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name}


class QuantileTransform:
    """Map each dimension through its empirical CDF to a standard normal, and back.

    Parameters
    ----------
    knots : list of (list of float, list of float)
        Per dimension, increasing data values and the normal scores they map to.
    """

    name = "quantile"

    def __init__(self, knots: list[tuple[list[float], list[float]]]) -> None:
        self.knots = [(np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)) for x, z in knots]

    @classmethod
    def fit(cls, values: np.ndarray, knots: int = QUANTILE_KNOTS) -> QuantileTransform:
        values = np.asarray(values, dtype=np.float64)
        rows = len(values)
        count = max(2, min(knots, rows))
        inner = (np.arange(count) + 0.5) / count
        # the observed minimum and maximum are knots too, just outside the inner normal scores
        levels = np.concatenate([[0.0], inner, [1.0]])
        scores = np.array(
            [NormalDist().inv_cdf(float(p)) for p in np.concatenate([[0.25 / rows], inner, [1 - 0.25 / rows]])]
        )
        fitted = []
        for column in values.T:
            quantiles = np.quantile(column, levels)
            unique, inverse = np.unique(quantiles, return_inverse=True)
            # tied quantiles (a point mass) map to the mean of their scores, keeping the map monotone
            merged = np.bincount(inverse, weights=scores) / np.bincount(inverse)
            fitted.append((unique.tolist(), merged.tolist()))
        return cls(fitted)

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        out = np.empty_like(values)
        for j, (x, z) in enumerate(self.knots):
            out[:, j] = np.interp(values[:, j], x, z) if len(x) > 1 else 0.0
        return out

    def inverse(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        out = np.empty_like(values)
        for j, (x, z) in enumerate(self.knots):
            out[:, j] = np.interp(values[:, j], z, x) if len(x) > 1 else x[0]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "knots": [[x.tolist(), z.tolist()] for x, z in self.knots]}


class YeoJohnsonTransform:
    """The Yeo–Johnson power transform per dimension, λ by maximum likelihood, then standardized."""

    name = "yeo-johnson"

    def __init__(self, lambdas: list[float], means: list[float], stds: list[float]) -> None:
        self.lambdas = [float(v) for v in lambdas]
        self.means = np.asarray(means, dtype=np.float64)
        self.stds = np.asarray(stds, dtype=np.float64)

    @classmethod
    def fit(cls, values: np.ndarray) -> YeoJohnsonTransform:
        from scipy.stats import yeojohnson_normmax

        values = np.asarray(values, dtype=np.float64)
        lambdas = [float(yeojohnson_normmax(column)) for column in values.T]
        transformed = np.stack([_yeo_johnson(column, lam) for column, lam in zip(values.T, lambdas, strict=True)], 1)
        std = transformed.std(axis=0)
        return cls(lambdas, transformed.mean(axis=0).tolist(), np.where(std > 0, std, 1.0).tolist())

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        out = np.stack([_yeo_johnson(values[:, j], lam) for j, lam in enumerate(self.lambdas)], axis=1)
        return (out - self.means) / self.stds

    def inverse(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64) * self.stds + self.means
        return np.stack([_yeo_johnson_inverse(values[:, j], lam) for j, lam in enumerate(self.lambdas)], axis=1)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "lambdas": self.lambdas, "means": self.means.tolist(), "stds": self.stds.tolist()}


Transform = IdentityTransform | QuantileTransform | YeoJohnsonTransform


def is_skewed(column: np.ndarray) -> bool:
    """|skewness| > 1 or excess kurtosis > 3 (a Gaussian has 0 and 0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> is_skewed(rng.normal(size=5000)), is_skewed(np.exp(rng.normal(size=5000)))
    (False, True)
    """
    column = np.asarray(column, dtype=np.float64)
    centered = column - column.mean()
    variance = float(np.mean(centered**2))
    if variance == 0.0:
        return False
    skewness = float(np.mean(centered**3)) / variance**1.5
    kurtosis = float(np.mean(centered**4)) / variance**2 - 3.0
    return abs(skewness) > 1.0 or kurtosis > 3.0


def fit_transform(values: np.ndarray, method: str) -> Transform:
    """Fit the transform ``method`` (one of :data:`TRANSFORMS`) on ``(N, d)`` values."""
    if method not in TRANSFORMS:
        raise IdgenError(f"target_transform must be one of {', '.join(TRANSFORMS)}, got {method!r}")
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    if method == "auto":
        method = "quantile" if any(is_skewed(column) for column in values.T) else "none"
    if method == "quantile":
        return QuantileTransform.fit(values)
    if method == "yeo-johnson":
        return YeoJohnsonTransform.fit(values)
    return IdentityTransform()


def transform_from_json(spec: Mapping[str, Any] | None) -> Transform:
    """Inverse of ``transform.to_json()`` (``None``, from models saved before transforms, is the identity)."""
    if spec is None or spec.get("name") == "none":
        return IdentityTransform()
    if spec["name"] == "quantile":
        return QuantileTransform([(x, z) for x, z in spec["knots"]])
    if spec["name"] == "yeo-johnson":
        return YeoJohnsonTransform(spec["lambdas"], spec["means"], spec["stds"])
    raise IdgenError(f"unknown saved target transform {spec.get('name')!r}")


def _yeo_johnson(x: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(x)
    positive = x >= 0
    if abs(lam) < 1e-8:
        out[positive] = np.log1p(x[positive])
    else:
        out[positive] = ((x[positive] + 1.0) ** lam - 1.0) / lam
    if abs(lam - 2.0) < 1e-8:
        out[~positive] = -np.log1p(-x[~positive])
    else:
        out[~positive] = -((1.0 - x[~positive]) ** (2.0 - lam) - 1.0) / (2.0 - lam)
    return out


def _yeo_johnson_inverse(y: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(y)
    positive = y >= 0
    if abs(lam) < 1e-8:
        out[positive] = np.expm1(y[positive])
    else:
        out[positive] = np.maximum(y[positive] * lam + 1.0, 0.0) ** (1.0 / lam) - 1.0
    if abs(lam - 2.0) < 1e-8:
        out[~positive] = -np.expm1(-y[~positive])
    else:
        out[~positive] = 1.0 - np.maximum(1.0 - (2.0 - lam) * y[~positive], 0.0) ** (1.0 / (2.0 - lam))
    return out
