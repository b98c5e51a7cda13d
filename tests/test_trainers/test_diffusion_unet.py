"""``unet-diffusion`` learns a tiny conditional image task: a square in the colour its parent names."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion_tasks import colour_read_out, coloured_squares

from idgen.data import infer_types
from trainers.diffusion import UNetDiffusion

TINY_UNET = {
    "block_out_channels": (16, 32),
    "layers_per_block": 1,
    "batch_size": 32,
    "lr_warmup_steps": 20,
    "progress": False,
}


def test_coloured_square_follows_its_discrete_parent() -> None:
    table = coloured_squares(2000, 8, seed=0)
    model = UNetDiffusion(["I"], ["X"], infer_types(table), steps=300, **TINY_UNET)
    log = model.fit(table, seed=0)
    colours = np.repeat(np.arange(3), 100)
    images = model.sample({"X": colours}, 300, seed=1)["I"]
    assert images.shape == (300, 3, 8, 8) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert (colour_read_out(images) == colours).mean() >= 0.9
    assert log["steps"] == 300 and log["loss"][-1][1] < log["loss"][0][1]


@pytest.mark.slow
def test_coloured_square_with_default_unet_and_classifier_free_guidance() -> None:
    table = coloured_squares(3000, 12, seed=0)
    model = UNetDiffusion(
        ["I"], ["X"], infer_types(table), steps=500, batch_size=32, cfg_dropout=0.1, guidance_scale=2.0, progress=False
    )
    model.fit(table, seed=0)
    colours = np.repeat(np.arange(3), 100)
    images = model.sample({"X": colours}, 300, seed=1)["I"]
    assert (colour_read_out(images) == colours).mean() >= 0.95


def test_image_target_follows_an_image_parent() -> None:
    parent = coloured_squares(2000, 8, seed=0)
    child = coloured_squares(2000, 8, seed=1)
    # the child square takes the colour of the parent square, at its own position
    child_images = np.zeros_like(child["I"])
    child_images[np.arange(2000), parent["X"]] = child["I"].max(axis=1)
    table = {"P": parent["I"], "I": child_images}
    model = UNetDiffusion(["I"], ["P"], infer_types(table), steps=400, **TINY_UNET)
    model.fit(table, seed=0)
    check = coloured_squares(300, 8, seed=2)
    images = model.sample({"P": check["I"]}, 300, seed=3)["I"]
    assert (colour_read_out(images) == check["X"]).mean() >= 0.9
