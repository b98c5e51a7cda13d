"""Bad options, unsupported variable types and bad sampling inputs raise precise errors."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from idgen.data import VariableType
from idgen.errors import DataError, IdgenError, PositivityError
from trainers.base import get_backend
from trainers.diffusion import MLPDiffusion, UNetDiffusion

BINARY = VariableType("discrete", (), (0, 1))
SCALAR = VariableType("continuous", (1,))
IMAGE = VariableType("image", (3, 8, 8))
TYPES = {"X": BINARY, "Y": SCALAR, "I": IMAGE, "J": VariableType("image", (1, 6, 6))}


def test_both_backends_are_registered_by_name() -> None:
    assert get_backend("mlp-diffusion") is MLPDiffusion and get_backend("unet-diffusion") is UNetDiffusion


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 0}, "option steps must be an integer >= 1, got 0"),
        ({"batch_size": 2.5}, "option batch_size must be an integer >= 1"),
        ({"grad_accum": True}, "option grad_accum must be an integer >= 1"),
        ({"lr": -1.0}, "option lr must be a number in"),
        ({"ema_decay": 1.0}, r"option ema_decay must be a number in \[0, 1\)"),
        ({"mixed_precision": "fp16"}, "option mixed_precision must be one of 'auto', 'bf16', 'no'"),
        ({"prediction_type": "noise"}, "option prediction_type must be one of"),
        (
            {"sampler": "euler"},
            re.escape("option sampler must be one of 'dpm-solver++', 'sde-dpm-solver++', 'ddim', 'ddpm', 'auto'"),
        ),
        ({"sampler_steps": 1001}, "option sampler_steps must be at most 1000"),
        ({"progress": "yes"}, "option progress must be True or False"),
        ({"guidance_scale": 3.0}, "guidance_scale=3 needs an unconditional model: set cfg_dropout > 0"),
        ({"cfg_dropout": 1.0}, r"option cfg_dropout must be a number in \[0, 1\)"),
        ({"width": 0}, "option width must be an integer >= 1"),
        ({"learning_rate": 0.1}, "backend 'mlp-diffusion' has no option"),
    ],
)
def test_bad_mlp_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(IdgenError, match=message):
        MLPDiffusion(["Y"], ["X"], TYPES, **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"block_out_channels": []}, "option block_out_channels must be a non-empty list of positive integers"),
        (
            {"block_out_channels": (16, 20)},
            r"option norm_num_groups=8 must divide every entry of block_out_channels \[16, 20\]",
        ),
        ({"block_out_channels": (16, 32, 32, 32, 32)}, "image height and width must be divisible by 16; 'I' is 8x8"),
        ({"attention": 1}, "option attention must be True or False"),
        ({"image_conditioning": "stack"}, "option image_conditioning must be one of"),
    ],
)
def test_bad_unet_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(IdgenError, match=message):
        UNetDiffusion(["I"], ["X"], TYPES, **options)


def test_unconditional_model_refuses_cfg_dropout() -> None:
    with pytest.raises(IdgenError, match="cfg_dropout=0.1 needs conditioning variables"):
        MLPDiffusion(["Y"], [], TYPES, cfg_dropout=0.1)


@pytest.mark.parametrize(
    ("backend", "targets", "message"),
    [
        (MLPDiffusion, ["I"], "target\\(s\\) I are images; use unet-diffusion"),
        (UNetDiffusion, ["Y"], "needs exactly one image target, got Y: continuous\\[1\\]; use mlp-diffusion"),
        (UNetDiffusion, ["I", "J"], "needs exactly one image target"),
    ],
)
def test_unsupported_target_types_are_refused(backend: type, targets: list[str], message: str) -> None:
    with pytest.raises(IdgenError, match=message):
        backend(targets, ["X"], TYPES)


def test_discrete_variable_without_categories_is_refused() -> None:
    with pytest.raises(IdgenError, match="discrete variable\\(s\\) E have no categories"):
        MLPDiffusion(["Y"], ["E"], {**TYPES, "E": VariableType("discrete", (), ())})


def test_images_outside_the_unit_interval_are_refused() -> None:
    model = UNetDiffusion(["I"], ["X"], TYPES, steps=1, progress=False)
    table = {"X": np.array([0, 1]), "I": np.full((2, 3, 8, 8), 255.0)}
    with pytest.raises(DataError, match=r"image variable 'I' has pixel values in \[255, 255\]; expected \[0, 1\]"):
        model.fit(table)


def test_table_with_a_wrong_shape_is_refused() -> None:
    model = UNetDiffusion(["I"], ["X"], TYPES, steps=1, progress=False)
    with pytest.raises(DataError, match="column 'I' has per-row shape"):
        model.fit({"X": np.array([0, 1]), "I": np.zeros((2, 3, 4, 4))})


@pytest.fixture(scope="module")
def fitted() -> MLPDiffusion:
    model = MLPDiffusion(["Y"], ["X"], TYPES, steps=2, width=8, depth=1, progress=False)
    model.fit({"X": np.array([0, 1, 0, 1]), "Y": np.array([0.0, 1.0, 0.5, 1.5])})
    return model


def test_sampling_before_fitting_is_refused() -> None:
    with pytest.raises(IdgenError, match="is not fitted; call fit"):
        MLPDiffusion(["Y"], ["X"], TYPES).sample({"X": np.array([0])}, 1, seed=0)


def test_sampling_an_unseen_category_is_refused(fitted: MLPDiffusion) -> None:
    with pytest.raises(PositivityError, match=r"variable 'X' takes value\(s\) \[2\] never seen in training"):
        fitted.sample({"X": np.array([0, 2])}, 2, seed=0)


def test_sampling_with_the_wrong_number_of_rows_is_refused(fitted: MLPDiffusion) -> None:
    with pytest.raises(DataError, match="asked for n=3 samples but conditioning column\\(s\\) have"):
        fitted.sample({"X": np.array([0, 1])}, 3, seed=0)


def test_sampling_zero_rows_gives_empty_columns(fitted: MLPDiffusion) -> None:
    assert fitted.sample({"X": np.zeros(0, np.int64)}, 0, seed=0)["Y"].shape == (0, 1)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(IdgenError, match="seed must be a non-negative integer"):
        MLPDiffusion(["Y"], ["X"], TYPES, steps=1).fit({"X": np.array([0, 1]), "Y": np.array([0.0, 1.0])}, seed=-1)


def test_image_parent_of_the_target_size_enters_as_input_channels() -> None:
    model = UNetDiffusion(["I"], ["X", "I2", "J"], {**TYPES, "I2": IMAGE})
    denoiser = model.build_denoiser()
    assert model.concatenated_conditions() == ("I2",)  # J is 6x6: it goes through the encoder
    assert denoiser.unet.config.in_channels == 3 + 3
    assert denoiser.condition_encoder is not None and denoiser.condition_encoder.image_names == ("J",)


def test_encoder_option_reads_every_image_parent_through_the_encoder() -> None:
    model = UNetDiffusion(["I"], ["I2"], {**TYPES, "I2": IMAGE}, image_conditioning="encoder")
    denoiser = model.build_denoiser()
    assert model.concatenated_conditions() == () and denoiser.unet.config.in_channels == 3
    assert denoiser.condition_encoder is not None and denoiser.condition_encoder.image_names == ("I2",)


def test_both_option_concatenates_and_encodes_an_image_parent() -> None:
    model = UNetDiffusion(["I"], ["X", "I2"], {**TYPES, "I2": IMAGE}, image_conditioning="both")
    denoiser = model.build_denoiser()
    assert model.concatenated_conditions() == ("I2",) and denoiser.unet.config.in_channels == 3 + 3
    assert denoiser.condition_encoder is not None and denoiser.condition_encoder.image_names == ("I2",)
    assert denoiser.condition_encoder.discrete_names == ("X",)


@pytest.mark.parametrize(
    ("targets", "sampler"),
    [(["Y"], "dpm-solver++"), (["X"], "sde-dpm-solver++"), (["Y", "X"], "sde-dpm-solver++")],
)
def test_the_auto_sampler_is_the_ode_for_continuous_targets_and_stochastic_for_discrete_ones(
    targets: list[str], sampler: str
) -> None:
    conditioning = ["I"]
    model = MLPDiffusion(targets, conditioning, TYPES)
    assert model.options["sampler"] == "auto" and model.resolved_sampler() == sampler
    assert model.sampling_scheduler().config.algorithm_type == sampler.replace("dpm-solver", "dpmsolver")


def test_an_explicit_sampler_is_used_as_given() -> None:
    assert MLPDiffusion(["Y"], ["X"], TYPES, sampler="ddim").resolved_sampler() == "ddim"
