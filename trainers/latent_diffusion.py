"""``latent-diffusion``: an image factor that denoises in the latent space of its domain's autoencoder.

The model of diffusers' latent pipelines, applied to one factor ``P(image | parents)`` of an ID-GEN plan:

1. the domain's :class:`~trainers.autoencoder.ImageAutoencoder` (a task of the plan, trained once and
   shared by every factor, query and baseline) encodes the target images, and every image parent, into
   standardized latents (``4×8×8`` for 32×32 images with the defaults);
2. a denoiser is trained on the target latents with the loop, schedulers, v-prediction and
   classifier-free guidance of :mod:`trainers.diffusion`;
3. sampling runs the same written-out denoising loop there, then the autoencoder decodes.

Two denoisers (option ``denoiser``):

``"mlp"`` (default)
    a residual MLP on the flattened latent; image parents' flattened latents are concatenated to its input
    *and* projected into the time embedding that every block reads, so the network sees the parent both
    locally and as a global code; discrete and continuous parents enter through the usual
    :class:`~trainers.conditioning.ConditionEncoder`. On the CPU it trains on ~10× more samples per second
    than a UNet on the latent grid (``bench/latent_factors.py``).
``"unet"``
    a diffusers :class:`~diffusers.UNet2DModel` on the latent grid, image parents' latents as extra input
    channels (:class:`~trainers.diffusion.UNetDenoiser`).

Classifier-free guidance drops every condition at once: the image parents' latents become zeros and a
learned "dropped" embedding is added, the other parents get the encoder's null condition.

A fitted factor keeps a copy of its (frozen) autoencoder's weights with their SHA-256 and the autoencoder
task's id, so a factor folder is self-contained and verified on load, as a diffusers pipeline folder holds
its VAE; the plan trains the autoencoder once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from idgen.data import Table, VariableType
from idgen.errors import DataError, IdgenError
from trainers.autoencoder import ImageAutoencoder, build_autoencoder, weights_digest
from trainers.base import register_backend
from trainers.conditioning import condition_tensors
from trainers.diffusion import DIFFUSION_DEFAULTS, Denoiser, DiffusionFactor, MLPDenoiser, UNetDenoiser
from trainers.loop import check_choice, check_integer

__all__ = ["LatentDiffusion", "LatentMLPDenoiser"]

DENOISERS = ("mlp", "unet")
AUTOENCODER_PREFIX = "autoencoder."


class LatentMLPDenoiser(MLPDenoiser):
    """:class:`~trainers.diffusion.MLPDenoiser` over flattened latents, image parents' latents at its input and
    in its embedding.

    Parameters
    ----------
    data_dim : int
        Width of the flattened target latent.
    parent_dims : mapping of str to int
        Flattened latent width of each image parent (in this order).
    width, depth : int
        Hidden width (also the embedding size) and number of residual blocks.
    condition_types : mapping of str to VariableType
        The other (discrete, continuous) parents; may be empty.
    null_condition : bool
        Learn what a dropped condition looks like (classifier-free guidance).
    """

    def __init__(
        self,
        data_dim: int,
        parent_dims: Mapping[str, int],
        width: int,
        depth: int,
        condition_types: Mapping[str, VariableType],
        null_condition: bool,
    ) -> None:
        super().__init__(data_dim, width, depth, condition_types, null_condition)
        self.parent_names = tuple(parent_dims)
        parent_width = sum(parent_dims.values())
        self.parent_embedding = nn.Linear(parent_width, width) if parent_width else None
        self.dropped_embedding = nn.Parameter(torch.zeros(width)) if null_condition and parent_width else None
        self.input_layer = nn.Linear(data_dim + parent_width, width)

    def forward(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        conditions: Mapping[str, torch.Tensor],
        drop_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the training target for noisy latents ``sample`` ``(B, data_dim)`` at ``timesteps``."""
        others = {name: value for name, value in conditions.items() if name not in self.parent_names}
        embedding = self.embed(sample, timesteps, others, drop_condition)
        if not self.parent_names:
            return self.trunk(sample, embedding)
        parents = torch.cat([conditions[name].to(sample.dtype) for name in self.parent_names], dim=1)
        if drop_condition is not None:
            parents = torch.where(drop_condition[:, None], torch.zeros_like(parents), parents)
        assert self.parent_embedding is not None
        embedding = embedding + self.parent_embedding(parents)
        if drop_condition is not None and self.dropped_embedding is not None:
            embedding = embedding + drop_condition[:, None].to(sample.dtype) * self.dropped_embedding
        return self.trunk(torch.cat([sample, parents], dim=1), embedding)


@register_backend
class LatentDiffusion(DiffusionFactor):
    """``latent-diffusion``: one image target, diffused in its autoencoder's latent space.

    Needs an autoencoder for the target and for every image parent (:meth:`attach_autoencoders`;
    :func:`idgen.fit` attaches the plan's before fitting). Options beyond the shared diffusion ones:
    ``denoiser`` (``"mlp"`` or ``"unet"``), ``width`` / ``depth`` (MLP) and ``block_out_channels`` /
    ``layers_per_block`` / ``norm_num_groups`` (UNet on the latent grid).
    """

    backend = "latent-diffusion"
    default_options = {
        **DIFFUSION_DEFAULTS,
        "steps": 4000,
        "batch_size": 256,
        "lr": 1e-3,
        "sample_batch_size": 1024,
        "denoiser": "mlp",
        "width": 768,
        "depth": 4,
        "block_out_channels": (64, 128),
        "layers_per_block": 1,
        "norm_num_groups": 8,
    }
    clip_sample = False

    def __init__(
        self, targets: Sequence[str], conditioning: Sequence[str], types: Mapping[str, VariableType], **options: Any
    ) -> None:
        super().__init__(targets, conditioning, types, **options)
        self.autoencoders: dict[str, tuple[str, ImageAutoencoder]] = {}

    # -------------------------------------------------------------- autoencoders
    def image_variables(self) -> tuple[str, ...]:
        """The target and the image parents: each needs an autoencoder."""
        return tuple(name for name in self.targets + self.conditioning if self.types[name].kind == "image")

    def attach_autoencoders(self, autoencoders: Mapping[str, tuple[str, ImageAutoencoder]]) -> None:
        """Give the factor the autoencoder (its task id and model) of each of its image variables."""
        missing = [name for name in self.image_variables() if name not in autoencoders]
        if missing:
            raise IdgenError(
                f"latent-diffusion model of {self.describe()} needs an autoencoder for {', '.join(missing)}: "
                "give the plan an image domain holding them (compile(..., image_domains=...))"
            )
        for name in self.image_variables():
            task_id, model = autoencoders[name]
            if tuple(model.image_shape) != tuple(self.types[name].shape):
                raise DataError(
                    f"the autoencoder of task {task_id} encodes {model.image_shape} images but {name!r} is "
                    f"{self.types[name].describe()}"
                )
            self.autoencoders[name] = (task_id, model)

    def _autoencoder(self, name: str) -> ImageAutoencoder:
        if name not in self.autoencoders:
            raise IdgenError(
                f"latent-diffusion model of {self.describe()} has no autoencoder for {name!r}; "
                "fit it through idgen.fit on a plan with an image domain, or load a saved factor"
            )
        return self.autoencoders[name][1]

    # -------------------------------------------------------------- options and shapes
    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        """One image target is required."""
        if len(self.targets) != 1 or types[self.targets[0]].kind != "image":
            kinds = ", ".join(f"{name}: {types[name].describe()}" for name in self.targets)
            return f"it needs exactly one image target, got {kinds or 'none'}"
        return super().unsupported(types)

    def _check_options(self) -> None:
        super()._check_options()
        check_choice(self.options, "denoiser", DENOISERS)
        check_integer(self.options, "width", 1)
        check_integer(self.options, "depth", 1)
        check_integer(self.options, "layers_per_block", 1)
        groups = check_integer(self.options, "norm_num_groups", 1)
        channels = self.options["block_out_channels"]
        if (
            not isinstance(channels, (list, tuple))
            or not channels
            or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 or c % groups for c in channels)
        ):
            raise IdgenError(
                f"option block_out_channels must be a non-empty list of positive integers divisible by "
                f"norm_num_groups={groups}, got {channels!r}"
            )

    def _latent_shape(self, name: str) -> tuple[int, int, int]:
        return self._autoencoder(name).latent_shape

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The target's latent: flattened for the MLP denoiser, ``(C, h, w)`` for the UNet."""
        shape = self._latent_shape(self.targets[0])
        return (int(np.prod(shape)),) if self.options["denoiser"] == "mlp" else shape

    def _image_parents(self) -> tuple[str, ...]:
        return tuple(name for name in self.conditioning if self.types[name].kind == "image")

    def build_denoiser(self) -> Denoiser:
        """The MLP or latent-grid UNet, conditioned on the parents (image parents as latents)."""
        others = {name: self.types[name] for name in self.conditioning if self.types[name].kind != "image"}
        null_condition = self.options["cfg_dropout"] > 0
        if self.options["denoiser"] == "mlp":
            return LatentMLPDenoiser(
                self.target_shape[0],
                {name: int(np.prod(self._latent_shape(name))) for name in self._image_parents()},
                width=self.options["width"],
                depth=self.options["depth"],
                condition_types=others,
                null_condition=null_condition,
            )
        shape = self._latent_shape(self.targets[0])
        latent_types = {name: VariableType("image", self._latent_shape(name)) for name in self._image_parents()}
        mismatched = [name for name, kind in latent_types.items() if kind.shape[1:] != shape[1:]]
        if mismatched:
            raise DataError(
                f"the latent UNet concatenates image parents on the target's latent grid {shape[1:]}; "
                f"{', '.join(mismatched)} have other grids (use denoiser='mlp')"
            )
        channels = tuple(self.options["block_out_channels"])
        factor = 2 ** (len(channels) - 1)
        if shape[1] % factor or shape[2] % factor:
            raise IdgenError(
                f"a {len(channels)}-level UNet needs the latent side {shape[1]}x{shape[2]} divisible by {factor}"
            )
        return UNetDenoiser(
            shape,
            block_out_channels=channels,
            layers_per_block=self.options["layers_per_block"],
            attention=False,
            norm_num_groups=self.options["norm_num_groups"],
            condition_types={**others, **latent_types},
            null_condition=null_condition,
            concatenated=tuple(latent_types),
        )

    # -------------------------------------------------------------- encoding
    def _latents(self, table: Table, name: str) -> torch.Tensor:
        latents = self._autoencoder(name).encode_images(np.asarray(table[name]), name)
        return latents.reshape(len(latents), -1) if self.options["denoiser"] == "mlp" else latents

    def make_conditions(self, table: Table) -> dict[str, torch.Tensor]:
        """Discrete and continuous parents as usual; image parents as their standardized latents."""
        others = {name: self.types[name] for name in self.conditioning if self.types[name].kind != "image"}
        conditions = condition_tensors(table, others)
        conditions.update({name: self._latents(table, name) for name in self._image_parents()})
        return conditions

    def encode_targets(self, table: Table, *, fit_statistics: bool) -> torch.Tensor:
        """The target images' standardized latents (the autoencoder holds the statistics)."""
        return self._latents(table, self.targets[0])

    def decode_targets(self, values: torch.Tensor) -> Table:
        """Sampled latents decoded into images with pixels in [0, 1]."""
        name = self.targets[0]
        latents = values.reshape(len(values), *self._latent_shape(name))
        return {name: self._autoencoder(name).decode_latents(latents)}

    # -------------------------------------------------------------- state
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The denoiser's state plus each distinct autoencoder's weights, settings and SHA-256."""
        metadata, arrays = super().state()
        autoencoders: dict[str, Any] = {}
        for name in self.image_variables():
            task_id, model = self.autoencoders[name]
            autoencoders[name] = {
                "task": task_id,
                "settings": model.settings(),
                "weights_sha256": weights_digest(model),
            }
            for key, value in model.state_dict().items():
                arrays[f"{AUTOENCODER_PREFIX}{task_id}.{key}"] = value
        metadata["autoencoders"] = autoencoders
        return metadata, arrays

    def load_state(self, metadata: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
        """Rebuild (and verify) the autoencoders, then the denoiser."""
        records = metadata.get("autoencoders")
        if not isinstance(records, Mapping):
            raise IdgenError(f"saved latent-diffusion model of {self.describe()} names no autoencoders")
        built: dict[str, ImageAutoencoder] = {}
        attached: dict[str, tuple[str, ImageAutoencoder]] = {}
        for name, record in records.items():
            task_id = str(record["task"])
            if task_id not in built:
                prefix = f"{AUTOENCODER_PREFIX}{task_id}."
                weights = {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
                built[task_id] = build_autoencoder(
                    record["settings"], weights, record["weights_sha256"], f"the factor {self.describe()}"
                )
            attached[name] = (task_id, built[task_id])
        self.attach_autoencoders(attached)
        denoiser_arrays = {k: v for k, v in arrays.items() if not k.startswith(AUTOENCODER_PREFIX)}
        super().load_state(metadata, denoiser_arrays)
