"""Monotone transforms of continuous targets (trainers/transforms.py) and their hook in mlp-diffusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idgen.data import infer_types
from idgen.errors import IdgenError
from trainers.base import load_factor
from trainers.diffusion import MLPDiffusion
from trainers.transforms import (
    IdentityTransform,
    QuantileTransform,
    YeoJohnsonTransform,
    fit_transform,
    transform_from_json,
)

RNG = np.random.default_rng(0)
SKEWED = np.exp(RNG.normal(6.0, 1.0, size=(3000, 1)))


@pytest.mark.parametrize("method", ["quantile", "yeo-johnson"])
def test_transform_inverts_exactly_and_gaussianizes(method: str) -> None:
    transform = fit_transform(SKEWED, method)
    forward = transform.forward(SKEWED)
    assert np.allclose(transform.inverse(forward), SKEWED, rtol=1e-9)
    assert abs(forward.mean()) < 0.05 and abs(forward.std() - 1) < 0.05
    again = transform_from_json(transform.to_json())
    assert np.allclose(again.forward(SKEWED), forward)


def test_quantile_transform_is_monotone_and_stays_in_the_observed_range() -> None:
    transform = QuantileTransform.fit(SKEWED)
    grid = np.linspace(-6, 6, 500).reshape(-1, 1)
    back = transform.inverse(grid)
    assert np.all(np.diff(back[:, 0]) >= 0)
    assert back.min() == SKEWED.min() and back.max() == SKEWED.max()


def test_quantile_transform_handles_point_masses() -> None:
    values = np.concatenate([np.zeros(500), RNG.exponential(size=500)]).reshape(-1, 1)
    transform = QuantileTransform.fit(values)
    assert np.allclose(transform.inverse(transform.forward(values)), values)


def test_auto_transforms_only_skewed_columns() -> None:
    assert isinstance(fit_transform(SKEWED, "auto"), QuantileTransform)
    assert isinstance(fit_transform(RNG.normal(size=(3000, 1)), "auto"), IdentityTransform)
    assert isinstance(fit_transform(SKEWED, "yeo-johnson"), YeoJohnsonTransform)
    with pytest.raises(IdgenError, match="target_transform must be one of"):
        fit_transform(SKEWED, "log")


def test_mlp_diffusion_learns_in_the_transformed_space_and_saves_it(tmp_path: Path) -> None:
    table = {"X": np.array([0, 1] * 200), "Y": SKEWED[:400, 0]}
    model = MLPDiffusion(["Y"], ["X"], infer_types(table), steps=3, progress=False)
    model.fit(table, seed=0)
    assert model.target_metadata()["transforms"]["Y"]["name"] == "quantile"
    drawn = model.sample({"X": np.array([0, 1] * 20)}, 40, seed=1)["Y"]
    assert drawn.min() >= SKEWED[:400].min() - 1e-3 and drawn.max() <= SKEWED[:400].max() + 1e-3
    model.save(tmp_path / "m")
    assert np.array_equal(load_factor(tmp_path / "m").sample({"X": np.array([0, 1] * 20)}, 40, seed=1)["Y"], drawn)


def test_mlp_diffusion_refuses_an_unknown_transform() -> None:
    table = {"X": np.array([0, 1] * 4), "Y": np.arange(8.0)}
    with pytest.raises(IdgenError, match="target_transform"):
        MLPDiffusion(["Y"], ["X"], infer_types(table), target_transform="log")
