"""``mlp-diffusion`` learns discrete, continuous and joint targets given parents of every kind."""

from __future__ import annotations

import numpy as np
from diffusion_tasks import coloured_squares, total_variation

from idgen.data import infer_types
from trainers.diffusion import MLPDiffusion

SMALL = {"width": 128, "depth": 2, "batch_size": 128, "lr": 2e-3, "lr_warmup_steps": 50, "progress": False}


def test_discrete_conditional_matches_each_row_of_the_table() -> None:
    # categories need not be 0..K-1: X in {0, 2, 3}, Y in {1, 5, 7}
    parents, children = np.array([0, 2, 3]), np.array([1, 5, 7])
    conditional = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    generator = np.random.default_rng(0)
    rows = generator.integers(0, 3, 6000)
    outcomes = np.array([generator.choice(3, p=conditional[row]) for row in rows])
    table = {"X": parents[rows], "Y": children[outcomes]}
    model = MLPDiffusion(["Y"], ["X"], infer_types(table), steps=400, **SMALL)
    model.fit(table, seed=0)
    for index, parent in enumerate(parents):
        fitted = np.bincount(outcomes[rows == index], minlength=3) / np.sum(rows == index)
        samples = model.sample({"X": np.full(4000, parent)}, 4000, seed=1)["Y"]
        assert set(np.unique(samples)) <= set(children.tolist())
        assert total_variation(np.searchsorted(children, samples), fitted) <= 0.05, parent


def test_continuous_conditional_mean_and_spread_given_continuous_and_discrete_parents() -> None:
    generator = np.random.default_rng(1)
    x = generator.normal(size=6000)
    d = generator.integers(0, 2, 6000)
    y = 2.0 * x + 3.0 * d + 1.0 + 0.5 * generator.normal(size=6000)
    table = {"X": x, "D": d, "Y": y}
    model = MLPDiffusion(["Y"], ["X", "D"], infer_types(table), steps=400, **SMALL)
    model.fit(table, seed=0)
    for x_value in (-1.0, 0.0, 1.0):
        for d_value in (0, 1):
            samples = model.sample({"X": np.full(2000, x_value), "D": np.full(2000, d_value)}, 2000, seed=2)["Y"]
            assert samples.shape == (2000, 1) and samples.dtype == np.float32
            assert abs(samples.mean() - (2.0 * x_value + 3.0 * d_value + 1.0)) < 0.2, (x_value, d_value)
            assert 0.35 < samples.std() < 0.65, (x_value, d_value)


def test_joint_discrete_and_continuous_targets_keep_their_dependence() -> None:
    generator = np.random.default_rng(2)
    switch = (generator.random(5000) < 0.3).astype(np.int64)
    level = np.stack([3.0 * switch, -2.0 * switch], axis=1) + 0.3 * generator.normal(size=(5000, 2))
    table = {"B": switch, "Z": level}
    model = MLPDiffusion(["B", "Z"], [], infer_types(table), steps=400, **SMALL)
    model.fit(table, seed=0)
    samples = model.sample({}, 4000, seed=3)
    assert samples["B"].dtype == np.int64 and samples["Z"].shape == (4000, 2)
    assert abs(samples["B"].mean() - 0.3) < 0.05
    for value, expected in ((0, [0.0, 0.0]), (1, [3.0, -2.0])):
        assert np.allclose(samples["Z"][samples["B"] == value].mean(axis=0), expected, atol=0.25), value


def test_image_parent_is_read_through_the_convolutional_encoder() -> None:
    table = coloured_squares(2000, 8, seed=0)
    model = MLPDiffusion(["X"], ["I"], infer_types(table), steps=300, **SMALL)
    model.fit(table, seed=0)
    check = coloured_squares(300, 8, seed=1)
    samples = model.sample({"I": check["I"]}, 300, seed=4)["X"]
    assert (samples == check["X"]).mean() >= 0.9


def test_guidance_scale_zero_samples_the_unconditional_model() -> None:
    generator = np.random.default_rng(3)
    x = generator.integers(0, 2, 6000)
    y = (generator.random(6000) < np.where(x == 1, 0.9, 0.1)).astype(np.int64)
    table = {"X": x, "Y": y}
    types = infer_types(table)
    model = MLPDiffusion(["Y"], ["X"], types, steps=400, cfg_dropout=0.3, **SMALL)
    model.fit(table, seed=0)
    conditional = model.sample({"X": np.zeros(3000, np.int64)}, 3000, seed=5)["Y"].mean()
    model.options["guidance_scale"] = 0.0
    unconditional = model.sample({"X": np.zeros(3000, np.int64)}, 3000, seed=5)["Y"].mean()
    assert abs(conditional - 0.1) < 0.05
    assert abs(unconditional - y.mean()) < 0.08
