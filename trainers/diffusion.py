"""Conditional diffusion backends: ``unet-diffusion`` for images, ``mlp-diffusion`` for vectors and categories.

Both backends fit a *denoiser* (a network plus a :class:`~trainers.conditioning.ConditionEncoder`) with
the shared loop of :mod:`trainers.loop`, and sample with a denoising loop written out below. As in
diffusers, the schedulers are kept apart from the models:

* training adds noise with a :class:`~diffusers.DDPMScheduler` (1000 timesteps, cosine
  ``squaredcos_cap_v2`` betas) and regresses the ``prediction_type`` target, **v-prediction** by default
  (epsilon-prediction on the cosine schedule samples pure noise at CPU training budgets);
* sampling uses ``sampler`` for ``sampler_steps`` steps (default 20): ``"dpm-solver++"``
  (:class:`~diffusers.DPMSolverMultistepScheduler`, the ODE solver, default of ``unet-diffusion``),
  ``"sde-dpm-solver++"`` (its stochastic variant), ``"ddim"``, ancestral ``"ddpm"``
  (``sampler_steps=1000`` for the textbook sampler), or ``"auto"`` (default of ``mlp-diffusion``): the
  stochastic sampler when a target is discrete, the ODE solver when every target is continuous. Each
  step costs one network evaluation, two with classifier-free guidance. The ODE carries the denoiser's
  errors into category frequencies (on a 3×3 conditional table: total variation 0.03–0.05 against
  0.01–0.03 for ``"sde-dpm-solver++"`` and ``"ddpm"``), while the stochastic sampler widens continuous
  targets: on the log-normal outcome of ``bench/skewed_outcome.py`` it drew every cell 3–6 % too wide
  in the learned space, which lifts the cell means 1.5–2.7 %; the ODE drew them within 2.5 % (means
  within 1.3 %).

``unet-diffusion``
    one image target ``(C, H, W)`` with pixels in [0, 1]; a diffusers :class:`~diffusers.UNet2DModel`
    whose class embedding is the identity, so the condition vector is added to its time embedding.
``mlp-diffusion``
    any number of continuous and discrete targets, concatenated: continuous ones standardized with the
    training mean and standard deviation, discrete ones as one-hot vectors scaled to ±1 and decoded by
    argmax; a residual MLP with a sinusoidal timestep embedding.

Conditioning variables may be of any kind. Classifier-free guidance is off by default: set
``cfg_dropout`` (the fraction of training rows whose condition is replaced by a learned null condition)
and then ``guidance_scale`` (1 means no guidance).

To train on several GPUs, launch the script that calls ``fit`` with
``accelerate launch --multi_gpu --num_processes 4 my_script.py`` (see :mod:`trainers.loop`).

Examples
--------
>>> import numpy as np
>>> from idgen.data import infer_types
>>> table = {"X": np.array([0, 1] * 64), "Y": np.array([0.0, 5.0] * 64)}
>>> model = MLPDiffusion(["Y"], ["X"], infer_types(table), steps=5, progress=False)
>>> log = model.fit(table, seed=0)
>>> model.sample({"X": np.array([0, 1])}, 2, seed=0)["Y"].shape
(2, 1)
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DModel
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn

from idgen.data import Table, VariableType, check_columns
from idgen.errors import DataError, IdgenError
from trainers.base import FactorModel, register_backend
from trainers.conditioning import ConditionEncoder, category_indices, condition_tensors, images_to_model_range
from trainers.loop import (
    LOOP_DEFAULTS,
    LoopSettings,
    check_choice,
    check_integer,
    check_number,
    resolve_mixed_precision,
    train,
)
from trainers.transforms import TRANSFORMS, IdentityTransform, fit_transform, transform_from_json

__all__ = [
    "DiffusionFactor",
    "UNetDiffusion",
    "MLPDiffusion",
    "Denoiser",
    "UNetDenoiser",
    "MLPDenoiser",
    "DiffusionObjective",
]

TRAIN_TIMESTEPS = 1000
PREDICTION_TYPES = ("v_prediction", "epsilon", "sample")
BETA_SCHEDULES = ("squaredcos_cap_v2", "linear", "scaled_linear")
#: sampler name -> (scheduler class, settings added to the training schedule's config); diffusers schedulers
#: share ``set_timesteps`` / ``scale_model_input`` / ``step`` but no typed base class, hence ``Any``
SAMPLERS: dict[str, tuple[Any, dict[str, Any]]] = {
    "dpm-solver++": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++"}),
    "sde-dpm-solver++": (DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++"}),
    "ddim": (DDIMScheduler, {}),
    "ddpm": (DDPMScheduler, {}),
}
#: ``sampler="auto"``: chosen per model by :meth:`DiffusionFactor.resolved_sampler`
AUTO_SAMPLER = "auto"
DIFFUSION_DEFAULTS: dict[str, Any] = {
    **LOOP_DEFAULTS,
    "prediction_type": "v_prediction",
    "beta_schedule": "squaredcos_cap_v2",
    "sampler": "dpm-solver++",
    "sampler_steps": 20,
    "sample_batch_size": 1024,
    "cfg_dropout": 0.0,
    "guidance_scale": 1.0,
}
#: options that change how a fitted model samples or reports, not what it learns (left out of the
#: fingerprint that decides whether a checkpoint may be resumed)
SAMPLING_AND_REPORTING_OPTIONS = frozenset(
    {"sampler", "sampler_steps", "sample_batch_size", "guidance_scale", "progress", "checkpoint_every", "log_every"}
)
CONDITION_PREFIX = "condition:"
#: how ``unet-diffusion`` feeds image parents to the UNet (see :class:`UNetDiffusion`)
IMAGE_CONDITIONING = ("concat", "encoder", "both")


# ---------------------------------------------------------------------------------------------- denoisers
class Denoiser(nn.Module, ABC):
    """A network ``(sample, timesteps, conditions, drop_condition) -> prediction`` with its condition encoder."""

    condition_encoder: ConditionEncoder | None

    @abstractmethod
    def forward(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        conditions: Mapping[str, torch.Tensor],
        drop_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the training target for the noisy ``sample`` at ``timesteps`` (scalar or ``(B,)``)."""


class UNetDenoiser(Denoiser):
    """A diffusers ``UNet2DModel`` conditioned through its (identity) class embedding.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the target images.
    block_out_channels : sequence of int
        Channels per resolution level; each level but the last halves the resolution.
    layers_per_block : int
        ResNet layers per level.
    attention : bool
        Self-attention at the lowest resolution (down, mid and up blocks).
    norm_num_groups : int
        Groups of the group norms; must divide every entry of ``block_out_channels``.
    condition_types : mapping of str to VariableType
        Conditioning variables (may be empty: an unconditional UNet).
    null_condition : bool
        Learn a null condition for classifier-free guidance.
    concatenated : sequence of str
        Image conditions of the target's height and width that enter as extra input channels (the UNet
        sees them pixel by pixel) instead of through the condition encoder; rows whose condition is
        dropped for classifier-free guidance get zeros there.
    encode_concatenated : bool
        Also read the ``concatenated`` images through the condition encoder, so that they reach every
        block as a global vector as well as pixel by pixel.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        block_out_channels: Sequence[int],
        layers_per_block: int,
        attention: bool,
        norm_num_groups: int,
        condition_types: Mapping[str, VariableType],
        null_condition: bool,
        concatenated: Sequence[str] = (),
        encode_concatenated: bool = False,
    ) -> None:
        super().__init__()
        channels, height, width = image_shape
        self.concatenated = tuple(concatenated)
        for name in self.concatenated:
            kind = condition_types[name]
            if kind.kind != "image" or kind.shape[1:] != (height, width):
                raise DataError(
                    f"condition {name!r} ({kind.describe()}) cannot be concatenated to {height}x{width} images"
                )
        encoded = {
            name: kind for name, kind in condition_types.items() if encode_concatenated or name not in self.concatenated
        }
        extra_channels = sum(condition_types[name].shape[0] for name in self.concatenated)
        levels = len(block_out_channels)
        down_blocks = tuple(
            "AttnDownBlock2D" if attention and level == levels - 1 else "DownBlock2D" for level in range(levels)
        )
        up_blocks = tuple("AttnUpBlock2D" if attention and level == 0 else "UpBlock2D" for level in range(levels))
        self.unet = UNet2DModel(
            sample_size=(height, width),
            in_channels=channels + extra_channels,
            out_channels=channels,
            block_out_channels=tuple(block_out_channels),
            layers_per_block=layers_per_block,
            down_block_types=down_blocks,
            up_block_types=up_blocks,
            add_attention=attention,
            norm_num_groups=norm_num_groups,
            class_embed_type="identity" if encoded else None,
        )
        time_embedding_dim = block_out_channels[0] * 4
        self.condition_encoder = (
            ConditionEncoder(encoded, time_embedding_dim, null_condition=null_condition) if encoded else None
        )

    def forward(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        conditions: Mapping[str, torch.Tensor],
        drop_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the training target for noisy images ``sample`` at ``timesteps`` (scalar or ``(B,)``)."""
        class_labels = (
            self.condition_encoder(conditions, drop_condition) if self.condition_encoder is not None else None
        )
        if self.concatenated:
            extra = torch.cat([conditions[name].to(sample.dtype) for name in self.concatenated], dim=1)
            if drop_condition is not None:
                extra = torch.where(drop_condition[:, None, None, None], torch.zeros_like(extra), extra)
            sample = torch.cat([sample, extra], dim=1)
        return self.unet(sample, timesteps, class_labels=class_labels).sample


class ResidualBlock(nn.Module):
    """``h + W2 silu(W1 silu(norm h) + P silu(embedding))``: a pre-norm residual block with an added embedding."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.first = nn.Linear(width, width)
        self.embedding_projection = nn.Linear(width, width)
        self.second = nn.Linear(width, width)

    def forward(self, hidden: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Update ``hidden`` ``(B, width)`` given the time+condition ``embedding`` ``(B, width)``."""
        update = self.first(F.silu(self.norm(hidden))) + self.embedding_projection(F.silu(embedding))
        return hidden + self.second(F.silu(update))


class MLPDenoiser(Denoiser):
    """A residual MLP denoiser for ``(B, data_dim)`` vectors.

    Parameters
    ----------
    data_dim : int
        Width of the diffused vector.
    width : int
        Hidden width (also the time and condition embedding size).
    depth : int
        Number of residual blocks.
    condition_types : mapping of str to VariableType
        Conditioning variables (may be empty).
    null_condition : bool
        Learn a null condition for classifier-free guidance.
    """

    def __init__(
        self, data_dim: int, width: int, depth: int, condition_types: Mapping[str, VariableType], null_condition: bool
    ) -> None:
        super().__init__()
        self.time_projection = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(width, width)
        self.condition_encoder = (
            ConditionEncoder(condition_types, width, null_condition=null_condition) if condition_types else None
        )
        self.input_layer = nn.Linear(data_dim, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(depth))
        self.output_norm = nn.LayerNorm(width)
        self.output_layer = nn.Linear(width, data_dim)

    def forward(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        conditions: Mapping[str, torch.Tensor],
        drop_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the training target for noisy vectors ``sample`` at ``timesteps`` (scalar or ``(B,)``)."""
        return self.trunk(sample, self.embed(sample, timesteps, conditions, drop_condition))

    def embed(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        conditions: Mapping[str, torch.Tensor],
        drop_condition: torch.Tensor | None,
    ) -> torch.Tensor:
        """The time embedding plus the encoded conditions, ``(B, width)``."""
        timesteps = timesteps.expand(sample.shape[0])
        embedding = self.time_embedding(self.time_projection(timesteps).to(sample.dtype))
        if self.condition_encoder is not None:
            embedding = embedding + self.condition_encoder(conditions, drop_condition)
        return embedding

    def trunk(self, inputs: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Input layer, the residual blocks reading ``embedding``, and the output layer."""
        hidden = self.input_layer(inputs)
        for block in self.blocks:
            hidden = block(hidden, embedding)
        return self.output_layer(F.silu(self.output_norm(hidden)))


# ---------------------------------------------------------------------------------------------- objective
class DiffusionObjective:
    """The denoising loss of one batch: noise the targets at random timesteps, regress the scheduler's target.

    Parameters
    ----------
    scheduler : DDPMScheduler
        Training noise schedule; its ``prediction_type`` decides the regression target.
    cfg_dropout : float
        Fraction of rows trained with the null condition (0 for none).
    """

    def __init__(self, scheduler: DDPMScheduler, cfg_dropout: float) -> None:
        self.scheduler = scheduler
        self.cfg_dropout = cfg_dropout

    def __call__(self, model: nn.Module, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        """Mean squared error of ``model``'s prediction on ``batch`` (randomness from ``generator``)."""
        clean = batch["target"]
        rows, device = clean.shape[0], clean.device
        noise = torch.randn(clean.shape, generator=generator).to(device)
        timesteps = torch.randint(0, self.scheduler.config.num_train_timesteps, (rows,), generator=generator).to(device)
        noisy = self.scheduler.add_noise(clean, noise, timesteps)
        prediction_type = self.scheduler.config.prediction_type
        if prediction_type == "v_prediction":
            target = self.scheduler.get_velocity(clean, noise, timesteps)
        elif prediction_type == "epsilon":
            target = noise
        else:
            target = clean
        drop_condition = (
            (torch.rand(rows, generator=generator) < self.cfg_dropout).to(device) if self.cfg_dropout > 0 else None
        )
        conditions = {
            key.removeprefix(CONDITION_PREFIX): value
            for key, value in batch.items()
            if key.startswith(CONDITION_PREFIX)
        }
        prediction = model(noisy, timesteps, conditions, drop_condition)
        return F.mse_loss(prediction.float(), target.float())


# ---------------------------------------------------------------------------------------------- backends
class DiffusionFactor(FactorModel):
    """What both diffusion backends share: options, fitting, the denoising loop, save/load.

    Subclasses say how targets become a tensor (:meth:`encode_targets`, :meth:`decode_targets`,
    :attr:`target_shape`) and build their network (:meth:`build_denoiser`).
    """

    #: clip the predicted clean sample to [-1, 1] while sampling (images: yes; standardized vectors: no)
    clip_sample: ClassVar[bool] = False
    runtime_options = SAMPLING_AND_REPORTING_OPTIONS

    def __init__(
        self, targets: Sequence[str], conditioning: Sequence[str], types: Mapping[str, VariableType], **options: Any
    ) -> None:
        super().__init__(targets, conditioning, types, **options)
        LoopSettings.from_options(self.options)
        self._check_options()
        self.noise_scheduler = DDPMScheduler(
            num_train_timesteps=TRAIN_TIMESTEPS,
            beta_schedule=self.options["beta_schedule"],
            prediction_type=self.options["prediction_type"],
            clip_sample=self.clip_sample,
        )
        self.denoiser: Denoiser | None = None
        self.trained_steps = 0

    # -------------------------------------------------------------- hooks
    @abstractmethod
    def build_denoiser(self) -> Denoiser:
        """A freshly initialised denoiser ``(sample, timesteps, conditions, drop_condition) -> prediction``."""

    @abstractmethod
    def encode_targets(self, table: Table, *, fit_statistics: bool) -> torch.Tensor:
        """The target columns as one float tensor in diffusion space (first learning its statistics if asked)."""

    @abstractmethod
    def decode_targets(self, values: torch.Tensor) -> Table:
        """Inverse of :meth:`encode_targets` for sampled tensors."""

    @property
    @abstractmethod
    def target_shape(self) -> tuple[int, ...]:
        """Per-row shape of the diffused tensor."""

    def make_conditions(self, table: Table) -> dict[str, torch.Tensor]:
        """The conditioning columns of ``table`` as the tensors the denoiser reads (see
        :func:`~trainers.conditioning.condition_tensors`; the latent backend encodes image parents)."""
        return condition_tensors(table, {name: self.types[name] for name in self.conditioning})

    def target_metadata(self) -> dict[str, Any]:
        """JSON-able statistics :meth:`encode_targets` learned (saved with the model)."""
        return {}

    def load_target_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Restore what :meth:`target_metadata` returned."""

    # -------------------------------------------------------------- options
    def _check_options(self) -> None:
        options = self.options
        check_choice(options, "prediction_type", PREDICTION_TYPES)
        check_choice(options, "beta_schedule", BETA_SCHEDULES)
        check_choice(options, "sampler", (*SAMPLERS, AUTO_SAMPLER))
        steps = check_integer(options, "sampler_steps", 1)
        if steps > TRAIN_TIMESTEPS:
            raise IdgenError(
                f"option sampler_steps must be at most {TRAIN_TIMESTEPS} (the training timesteps), got {steps}"
            )
        check_integer(options, "sample_batch_size", 1)
        cfg_dropout = check_number(options, "cfg_dropout", 0.0, 1.0, high_included=False)
        guidance_scale = check_number(options, "guidance_scale", 0.0, float("inf"))
        if guidance_scale != 1.0 and (cfg_dropout == 0.0 or not self.conditioning):
            raise IdgenError(
                f"guidance_scale={guidance_scale:g} needs an unconditional model: set cfg_dropout > 0 "
                "(e.g. 0.1) and give the task conditioning variables"
            )
        if cfg_dropout > 0 and not self.conditioning:
            raise IdgenError(f"cfg_dropout={cfg_dropout:g} needs conditioning variables; {self.describe()} has none")

    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        """Conditioning may be of any kind, but a discrete variable needs at least one category."""
        empty = [name for name in self.conditioning if types[name].kind == "discrete" and not types[name].categories]
        return f"discrete variable(s) {', '.join(empty)} have no categories" if empty else None

    # -------------------------------------------------------------- fit
    def fit(self, table: Table, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
        """Train the denoiser on ``table``; with ``workdir``, checkpoint there and resume from it.

        Returns the loop's log (see :func:`trainers.loop.train`), also written to ``workdir/log.json``.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise IdgenError(f"seed must be a non-negative integer, got {seed!r}")
        settings = LoopSettings.from_options(self.options)
        self._check_options()
        check_columns(table, self.types, self.targets + self.conditioning)
        conditions = self.make_conditions(table)
        dataset = {"target": self.encode_targets(table, fit_statistics=True)}
        dataset.update({CONDITION_PREFIX + name: value for name, value in conditions.items()})
        # set_seed seeds numpy's legacy generator too, which takes 32 bits: fold larger seeds into 32 bits
        set_seed(int(np.random.SeedSequence(int(seed)).generate_state(1)[0]))
        self.denoiser = self.build_denoiser()
        if self.denoiser.condition_encoder is not None:
            self.denoiser.condition_encoder.set_statistics(conditions)
        result = train(
            self.denoiser,
            DiffusionObjective(self.noise_scheduler, self.options["cfg_dropout"]),
            dataset,
            settings,
            seed=int(seed),
            workdir=Path(workdir) if workdir is not None else None,
            fingerprint=self._fingerprint(dataset, int(seed)),
            description=f"{self.backend} {self.describe()}",
        )
        self.denoiser.load_state_dict(result.averaged_weights)
        self.trained_steps = settings.steps
        return result.log

    def _fingerprint(self, dataset: Mapping[str, torch.Tensor], seed: int) -> dict[str, Any]:
        digest = hashlib.sha256()
        for key in sorted(dataset):
            digest.update(key.encode())
            digest.update(dataset[key].contiguous().numpy().tobytes())
        return {
            "backend": self.backend,
            "targets": list(self.targets),
            "conditioning": list(self.conditioning),
            "types": {name: variable_type.to_json() for name, variable_type in self.types.items()},
            "options": {key: value for key, value in self.options.items() if key not in SAMPLING_AND_REPORTING_OPTIONS},
            "seed": seed,
            "data_sha256": digest.hexdigest(),
        }

    # -------------------------------------------------------------- sample
    def sample(self, conditioning: Table, n: int, *, seed: int) -> Table:
        """Draw the targets for ``n`` rows of ``conditioning`` (same seed and options, same samples).

        Rows are denoised in batches of ``sample_batch_size``; noise comes from one CPU generator seeded
        with ``seed``, so the draw also depends on ``sample_batch_size``.
        """
        if self.denoiser is None:
            raise IdgenError(
                f"{self.backend} model of {self.describe()} is not fitted; call fit() or load a saved model"
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise IdgenError(f"n must be a non-negative integer, got {n!r}")
        self._check_options()
        check_columns(conditioning, self.types, self.conditioning)
        wrong_length = {name: len(conditioning[name]) for name in self.conditioning if len(conditioning[name]) != n}
        if wrong_length:
            raise DataError(f"asked for n={n} samples but conditioning column(s) have {wrong_length} rows")
        conditions = self.make_conditions(conditioning)
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        self.denoiser.to(device).eval()
        generator = torch.Generator().manual_seed(int(seed))
        batch_size = self.options["sample_batch_size"]
        pieces = [torch.zeros((0, *self.target_shape))]
        for start in range(0, n, batch_size):
            batch_conditions = {
                name: value[start : start + batch_size].to(device) for name, value in conditions.items()
            }
            rows = min(batch_size, n - start)
            pieces.append(self._denoise(self.denoiser, batch_conditions, rows, generator, device).cpu())
        return self.decode_targets(torch.cat(pieces))

    def resolved_sampler(self) -> str:
        """The sampler this model uses: option ``sampler``, with ``"auto"`` resolved for its targets.

        ``"auto"`` is the stochastic ``"sde-dpm-solver++"`` when a target is discrete (category
        frequencies) and the ODE ``"dpm-solver++"`` otherwise (continuous spread).
        """
        sampler = str(self.options["sampler"])
        if sampler != AUTO_SAMPLER:
            return sampler
        discrete = any(self.types[name].kind == "discrete" for name in self.targets)
        return "sde-dpm-solver++" if discrete else "dpm-solver++"

    def sampling_scheduler(self) -> Any:
        """A fresh scheduler of kind :meth:`resolved_sampler` on the training noise schedule."""
        scheduler_class, settings = SAMPLERS[self.resolved_sampler()]
        return scheduler_class.from_config(self.noise_scheduler.config, **settings)

    @torch.inference_mode()
    def _denoise(
        self,
        denoiser: Denoiser,
        conditions: Mapping[str, torch.Tensor],
        rows: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> torch.Tensor:
        """The denoising loop: from pure noise to ``rows`` samples, ``sampler_steps`` scheduler steps."""
        scheduler = self.sampling_scheduler()
        scheduler.set_timesteps(self.options["sampler_steps"], device=device)
        precision = resolve_mixed_precision(self.options["mixed_precision"], device)
        guidance_scale = self.options["guidance_scale"]
        if guidance_scale != 1.0:
            conditions = {name: torch.cat([value, value]) for name, value in conditions.items()}
            drop_condition = torch.arange(2 * rows, device=device) >= rows
        else:
            drop_condition = None
        sample = torch.randn((rows, *self.target_shape), generator=generator).to(device) * scheduler.init_noise_sigma
        for timestep in scheduler.timesteps:
            model_input = scheduler.scale_model_input(sample, timestep)
            if drop_condition is not None:
                model_input = torch.cat([model_input, model_input])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                prediction = denoiser(model_input, timestep, conditions, drop_condition).float()
            if drop_condition is not None:
                conditional, unconditional = prediction.chunk(2)
                prediction = unconditional + guidance_scale * (conditional - unconditional)
            sample = scheduler.step(prediction, timestep, sample, generator=generator).prev_sample
        return sample

    # -------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Metadata (steps trained, target statistics) and the averaged denoiser weights."""
        if self.denoiser is None:
            raise IdgenError(f"{self.backend} model of {self.describe()} is not fitted; nothing to save")
        metadata = {"trained_steps": self.trained_steps, "targets": self.target_metadata()}
        arrays = {f"denoiser.{name}": value for name, value in self.denoiser.state_dict().items()}
        return metadata, arrays

    def load_state(self, metadata: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
        """Rebuild the denoiser and load what :meth:`state` returned."""
        self.load_target_metadata(metadata["targets"])
        self.trained_steps = int(metadata["trained_steps"])
        denoiser = self.build_denoiser()
        prefix = "denoiser."
        weights = {
            name.removeprefix(prefix): torch.as_tensor(np.asarray(value))
            for name, value in arrays.items()
            if name.startswith(prefix)
        }
        denoiser.load_state_dict(weights, strict=True)
        self.denoiser = denoiser


@register_backend
class UNetDiffusion(DiffusionFactor):
    """``unet-diffusion``: one image target given conditioning of any kind.

    Images have pixels in [0, 1] (diffused in [-1, 1], sampled back into [0, 1]). Options beyond the shared
    ones: ``block_out_channels`` (channels per level; the image height and width must be divisible by
    ``2 ** (levels - 1)``), ``layers_per_block``, ``attention`` (self-attention at the lowest resolution),
    ``norm_num_groups`` and ``image_conditioning``: ``"concat"`` (default) feeds image parents of the
    target's size to the UNet as extra input channels, ``"encoder"`` reads every image parent through a
    small convolutional encoder into the condition vector (image parents of another size always are),
    ``"both"`` does the two at once (pixels for local traits such as stroke width, a global vector for
    traits such as the digit that a geometric transform moves around the image).
    The defaults make a ~1.1M-parameter UNet suited to 20×20–28×28 images on a CPU.
    """

    backend = "unet-diffusion"
    default_options = {
        **DIFFUSION_DEFAULTS,
        "steps": 2000,
        "batch_size": 64,
        "lr": 5e-4,
        "sample_batch_size": 256,
        "block_out_channels": (32, 64, 64),
        "layers_per_block": 1,
        "attention": False,
        "norm_num_groups": 8,
        "image_conditioning": "concat",
    }
    clip_sample = True

    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        """One image target is required."""
        if len(self.targets) != 1 or types[self.targets[0]].kind != "image":
            kinds = ", ".join(f"{name}: {types[name].describe()}" for name in self.targets)
            return (
                f"it needs exactly one image target, got {kinds or 'none'}; "
                "use mlp-diffusion for vectors and categories"
            )
        return super().unsupported(types)

    def _check_options(self) -> None:
        super()._check_options()
        channels = self.options["block_out_channels"]
        if (
            not isinstance(channels, (list, tuple))
            or not channels
            or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels)
        ):
            raise IdgenError(
                f"option block_out_channels must be a non-empty list of positive integers, got {channels!r}"
            )
        check_integer(self.options, "layers_per_block", 1)
        if not isinstance(self.options["attention"], bool):
            raise IdgenError(f"option attention must be True or False, got {self.options['attention']!r}")
        groups = check_integer(self.options, "norm_num_groups", 1)
        if any(c % groups for c in channels):
            raise IdgenError(
                f"option norm_num_groups={groups} must divide every entry of block_out_channels {list(channels)}"
            )
        check_choice(self.options, "image_conditioning", IMAGE_CONDITIONING)
        _, height, width = self.target_shape
        factor = 2 ** (len(channels) - 1)
        if height % factor or width % factor:
            raise IdgenError(
                f"a {len(channels)}-level UNet halves the resolution {len(channels) - 1} times, so image height and "
                f"width must be divisible by {factor}; {self.targets[0]!r} is {height}x{width} (use fewer levels)"
            )

    @property
    def target_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` of the target image."""
        return self.types[self.targets[0]].shape

    def build_denoiser(self) -> Denoiser:
        """A UNet sized by the options, conditioned on the task's conditioning variables."""
        channels, height, width = self.target_shape
        return UNetDenoiser(
            (channels, height, width),
            block_out_channels=tuple(self.options["block_out_channels"]),
            layers_per_block=self.options["layers_per_block"],
            attention=self.options["attention"],
            norm_num_groups=self.options["norm_num_groups"],
            condition_types={name: self.types[name] for name in self.conditioning},
            null_condition=self.options["cfg_dropout"] > 0,
            concatenated=self.concatenated_conditions(),
            encode_concatenated=self.options["image_conditioning"] == "both",
        )

    def concatenated_conditions(self) -> tuple[str, ...]:
        """Image conditions that enter as extra input channels: those of the target's size, with
        ``image_conditioning="concat"`` (the default) or ``"both"``; other conditions go through the condition
        encoder (with ``"both"``, these too)."""
        if self.options["image_conditioning"] == "encoder":
            return ()
        size = self.target_shape[1:]
        return tuple(
            name
            for name in self.conditioning
            if self.types[name].kind == "image" and self.types[name].shape[1:] == size
        )

    def encode_targets(self, table: Table, *, fit_statistics: bool) -> torch.Tensor:
        """The target images in [-1, 1] (no statistics to learn)."""
        return images_to_model_range(np.asarray(table[self.targets[0]]), self.targets[0])

    def decode_targets(self, values: torch.Tensor) -> Table:
        """Sampled images back into [0, 1], as float32."""
        return {self.targets[0]: ((values.clamp(-1.0, 1.0) + 1.0) / 2.0).numpy().astype(np.float32)}


@register_backend
class MLPDiffusion(DiffusionFactor):
    """``mlp-diffusion``: continuous and discrete targets (jointly) given conditioning of any kind.

    Options beyond the shared ones: ``width`` (hidden width) and ``depth`` (residual blocks).
    Continuous targets come back as ``(n, d)`` float32 arrays, discrete ones as int64 category values.
    """

    backend = "mlp-diffusion"
    default_options = {
        **DIFFUSION_DEFAULTS,
        "steps": 2000,
        "batch_size": 256,
        "lr": 1e-3,
        "sampler": AUTO_SAMPLER,
        "sample_batch_size": 4096,
        "width": 256,
        "depth": 3,
        "target_transform": "auto",  # continuous targets are learned in this space (trainers/transforms.py)
    }

    def __init__(
        self, targets: Sequence[str], conditioning: Sequence[str], types: Mapping[str, VariableType], **options: Any
    ) -> None:
        super().__init__(targets, conditioning, types, **options)
        self.target_means = {
            name: [0.0] * self.types[name].shape[0] for name in self.targets if self.types[name].kind == "continuous"
        }
        self.target_stds = {name: [1.0] * len(means) for name, means in self.target_means.items()}
        self.target_transforms: dict[str, Any] = {}

    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        """Targets must be continuous or discrete (with at least one category)."""
        if not self.targets:
            return "it needs at least one target"
        images = [name for name in self.targets if types[name].kind == "image"]
        if images:
            return f"target(s) {', '.join(images)} are images; use unet-diffusion for image targets"
        empty = [name for name in self.targets if types[name].kind == "discrete" and not types[name].categories]
        if empty:
            return f"discrete target(s) {', '.join(empty)} have no categories"
        return super().unsupported(types)

    def _check_options(self) -> None:
        super()._check_options()
        check_integer(self.options, "width", 1)
        check_integer(self.options, "depth", 1)
        check_choice(self.options, "target_transform", TRANSFORMS)

    def _widths(self) -> list[int]:
        return [
            len(self.types[name].categories) if self.types[name].kind == "discrete" else self.types[name].shape[0]
            for name in self.targets
        ]

    @property
    def target_shape(self) -> tuple[int, ...]:
        """``(D,)``: the summed widths of the one-hot and continuous target blocks."""
        return (sum(self._widths()),)

    def build_denoiser(self) -> Denoiser:
        """A residual MLP sized by ``width`` and ``depth``."""
        return MLPDenoiser(
            self.target_shape[0],
            width=self.options["width"],
            depth=self.options["depth"],
            condition_types={name: self.types[name] for name in self.conditioning},
            null_condition=self.options["cfg_dropout"] > 0,
        )

    def encode_targets(self, table: Table, *, fit_statistics: bool) -> torch.Tensor:
        """One-hot (±1) blocks for discrete targets, standardized blocks for continuous ones."""
        blocks = []
        for name in self.targets:
            column = np.asarray(table[name])
            variable_type = self.types[name]
            if variable_type.kind == "discrete":
                indices = category_indices(column, variable_type.categories, name)
                blocks.append(np.eye(len(variable_type.categories), dtype=np.float32)[indices] * 2.0 - 1.0)
                continue
            values = column.astype(np.float64).reshape(len(column), -1)
            if fit_statistics:
                self.target_transforms[name] = fit_transform(values, self.options["target_transform"])
            values = self.target_transforms.get(name, IdentityTransform()).forward(values)
            if fit_statistics:
                std = values.std(axis=0)
                self.target_means[name] = values.mean(axis=0).tolist()
                self.target_stds[name] = np.where(std > 0, std, 1.0).tolist()
            blocks.append(((values - self.target_means[name]) / self.target_stds[name]).astype(np.float32))
        return torch.from_numpy(np.concatenate(blocks, axis=1))

    def decode_targets(self, values: torch.Tensor) -> Table:
        """Split the sampled vector into its blocks: argmax for discrete targets, unstandardize continuous ones."""
        table: Table = {}
        blocks = np.split(values.numpy(), np.cumsum(self._widths())[:-1], axis=1)
        for name, block in zip(self.targets, blocks, strict=True):
            variable_type = self.types[name]
            if variable_type.kind == "discrete":
                table[name] = np.asarray(variable_type.categories, dtype=np.int64)[block.argmax(axis=1)]
            else:
                values = block * np.asarray(self.target_stds[name]) + np.asarray(self.target_means[name])
                table[name] = self.target_transforms.get(name, IdentityTransform()).inverse(values).astype(np.float32)
        return table

    def target_metadata(self) -> dict[str, Any]:
        """Means and standard deviations of the continuous targets."""
        transforms = {name: transform.to_json() for name, transform in self.target_transforms.items()}
        return {"means": self.target_means, "stds": self.target_stds, "transforms": transforms}

    def load_target_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Restore the continuous targets' statistics."""
        self.target_means = {name: list(values) for name, values in metadata["means"].items()}
        self.target_stds = {name: list(values) for name, values in metadata["stds"].items()}
        self.target_transforms = {n: transform_from_json(t) for n, t in metadata.get("transforms", {}).items()}
