"""Whole plans fitted with diffusion factors: data from an SCM with a latent → compile → fit → sample.

The front-door graph ``X → M → Y, X ↔ Y`` is the smallest graph where every route matters: ID goes
through line 7 (a synthetic dataset), the back-door adjustment does not exist and the naive conditional
``P(Y | X)`` is biased by the latent. Each test fits a whole plan with a diffusion backend and compares
the sampled interventional distribution with the exact answer of the SCM; the naive answer is computed
from the same data to show that the tolerance separates the two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import idgen
from idgen.scm import DiscreteSCM

torch.set_num_threads(1)

FRONTDOOR = idgen.ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
MLP = {"width": 128, "depth": 2, "batch_size": 256, "lr": 2e-3, "lr_warmup_steps": 50}


def _bernoulli(p_one: np.ndarray) -> np.ndarray:
    return np.stack([1 - p_one, p_one], axis=-1)


def _frontdoor_scm() -> DiscreteSCM:
    """Binary front door with strong confounding: the latent pushes X and Y the same way."""
    return DiscreteSCM(
        FRONTDOOR,
        cpts={
            "X": _bernoulli(np.array([0.2, 0.8])),  # axis: latent
            "M": _bernoulli(np.array([0.15, 0.8])),  # axis: X
            "Y": _bernoulli(np.array([[0.1, 0.6], [0.35, 0.9]])),  # axes: M, latent
        },
        latent_priors={("X", "Y"): np.array([0.5, 0.5])},
    )


def _fit_log(workdir: Path) -> list[dict]:  # type: ignore[type-arg]
    return json.loads((workdir / "fit_log.json").read_text())["tasks"]


def _tvd(samples: np.ndarray, truth: np.ndarray) -> float:
    empirical = np.bincount(samples.astype(np.int64), minlength=truth.size) / len(samples)
    return float(0.5 * np.abs(empirical - truth).sum())


def _fit_discrete_frontdoor(workdir: Path, rows: int, data_seed: int, **options: Any) -> tuple[DiscreteSCM, Any, Any]:
    """Data from :func:`_frontdoor_scm` and the front-door plan fitted with ``mlp-diffusion`` for every task."""
    scm = _frontdoor_scm()
    data = scm.sample(rows, seed=data_seed)
    plan = idgen.compile(FRONTDOOR, "P(Y | do(X))")
    network = idgen.fit(
        plan, data, backend="mlp-diffusion", workdir=workdir, seed=0, synthetic_size=rows, progress=False, **options
    )
    return scm, data, network


def test_discrete_frontdoor_with_mlp_diffusion_only_matches_the_exact_effect(tmp_path: Path) -> None:
    scm, data, network = _fit_discrete_frontdoor(tmp_path, 20_000, data_seed=0, steps=600, **MLP)
    assert {entry["backend"] for entry in _fit_log(tmp_path)} == {"mlp-diffusion"}
    for x in (0, 1):
        truth = scm.interventional(["Y"], do={"X": x}).table
        naive = np.bincount(data["Y"][data["X"] == x], minlength=2) / np.sum(data["X"] == x)
        sampled = network.sample(8000, do={"X": x}, seed=x)["Y"].to_numpy()
        assert _tvd(sampled, truth) <= 0.05, (x, truth, sampled.mean())
        assert 0.5 * np.abs(naive - truth).sum() > 0.1  # the tolerance separates idgen from P(Y | X)


def _linear_gaussian_frontdoor(rows: int, seed: int) -> dict[str, np.ndarray]:
    """U ~ N(0, 1) hidden; X = U + e; M = 0.8 X + e; Y = 1.5 M + 1.2 U + e (e ~ N(0, 0.5²)).

    E[Y | do(X = x)] = 1.2 x, while the regression of Y on X has slope 1.2 + 1.2 · 1 / 1.25 = 2.16.
    """
    generator = np.random.default_rng(seed)
    latent = generator.normal(size=rows)
    x = latent + generator.normal(scale=0.5, size=rows)
    m = 0.8 * x + generator.normal(scale=0.5, size=rows)
    y = 1.5 * m + 1.2 * latent + generator.normal(scale=0.5, size=rows)
    return {name: column.astype(np.float32) for name, column in (("X", x), ("M", m), ("Y", y))}


def test_continuous_linear_gaussian_frontdoor_recovers_the_causal_effect(tmp_path: Path) -> None:
    data = _linear_gaussian_frontdoor(20_000, seed=0)
    true_effect = 1.2 * (1.0 - (-1.0))
    naive_effect = float(np.polyfit(data["X"], data["Y"], 1)[0]) * 2.0
    assert abs(naive_effect - true_effect) > 0.5 * true_effect  # the naive regression is far off
    plan = idgen.compile(FRONTDOOR, "P(Y | do(X))")
    network = idgen.fit(
        plan,
        data,
        backend="mlp-diffusion",
        workdir=tmp_path,
        seed=0,
        synthetic_size=20_000,
        steps=800,
        progress=False,
        **MLP,
    )
    means = {x: float(network.sample(8000, do={"X": np.float32(x)}, seed=1)["Y"].mean()) for x in (-1.0, 1.0)}
    effect = means[1.0] - means[-1.0]
    assert abs(effect - true_effect) <= 0.1 * true_effect, (effect, true_effect, naive_effect)


def _mixed_scm(rows: int, seed: int) -> tuple[dict[str, np.ndarray], dict[int, float]]:
    """Discrete C → image I → continuous Z with C ↔ Z (a front door whose mediator is an image).

    A hidden U ∈ {0, 1} drives C ∈ {0, 1, 2} and adds 2 U to Z. I is an 8×8 square in colour C with
    probability 0.7 and in a uniformly random colour otherwise (so that every (C, I) pair has positive
    probability: the front-door factor P(Z | C, I) is evaluated at C ≠ colour(I)); Z = 3 · 1[I is red]
    + 2 U + noise. Returns the data and the exact E[Z | do(C = c)] = 3 P(red | c) + 2 P(U = 1).
    """
    generator = np.random.default_rng(seed)
    latent = generator.random(rows) < 0.5
    colour_given_u = np.where(latent[:, None], [0.6, 0.3, 0.1], [0.1, 0.3, 0.6])
    treatment = np.array([generator.choice(3, p=p) for p in colour_given_u])
    colour = np.where(generator.random(rows) < 0.7, treatment, generator.integers(0, 3, rows))
    images = np.zeros((rows, 3, 8, 8), dtype=np.float32)
    corners = generator.integers(0, 5, (rows, 2))
    for row, (c, (top, left)) in enumerate(zip(colour, corners, strict=True)):
        images[row, c, top : top + 4, left : left + 4] = 1.0
    z = 3.0 * (colour == 0) + 2.0 * latent + generator.normal(scale=0.3, size=rows)
    p_red = {c: 0.7 * (c == 0) + 0.3 / 3 for c in range(3)}
    truth = {c: 3.0 * p_red[c] + 2.0 * 0.5 for c in range(3)}
    return {"C": treatment, "I": images, "Z": z.astype(np.float32)}, truth


def test_mixed_plan_discrete_image_continuous_runs_end_to_end(tmp_path: Path) -> None:
    graph = idgen.ADMG(directed=[("C", "I"), ("I", "Z")], bidirected=[("C", "Z")])
    data, truth = _mixed_scm(4000, seed=0)
    plan = idgen.compile(graph, "P(Z | do(C))")
    network = idgen.fit(
        plan,
        data,
        workdir=tmp_path,
        seed=0,
        synthetic_size=4000,
        progress=False,
        options_by_backend={
            "unet-diffusion": {
                "steps": 300,
                "batch_size": 32,
                "block_out_channels": [16, 32],
                "norm_num_groups": 8,
                "lr": 2e-3,
            },
            "mlp-diffusion": {"steps": 500, **MLP},
        },
    )
    backends = {entry["task"]: entry["backend"] for entry in _fit_log(tmp_path)}
    assert set(backends.values()) == {"tabular", "unet-diffusion", "mlp-diffusion"}, backends
    naive = {c: float(data["Z"][data["C"] == c].mean()) for c in range(3)}
    for c in (0, 2):
        sampled = network.sample(2000, do={"C": c}, seed=c)["Z"]
        assert abs(float(sampled.mean()) - truth[c]) <= 0.3, (c, float(sampled.mean()), truth[c], naive[c])
    # the latent separates the naive conditional means from the truth by far more than the tolerance
    assert abs(naive[2] - truth[2]) > 0.5


@pytest.mark.slow
def test_discrete_frontdoor_with_mlp_diffusion_at_full_size(tmp_path: Path) -> None:
    scm, _, network = _fit_discrete_frontdoor(tmp_path, 100_000, data_seed=1, steps=3000)
    for x in (0, 1):
        truth = scm.interventional(["Y"], do={"X": x}).table
        sampled = network.sample(50_000, do={"X": x}, seed=x)["Y"].to_numpy()
        assert _tvd(sampled, truth) <= 0.02, (x, truth, sampled.mean())
