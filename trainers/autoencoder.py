"""The image autoencoder of one image domain: trained once per plan, shared by every latent factor.

ID-GEN fits one conditional model per factor, and on Napkin-MNIST four of them draw or read images of the
same kind (coloured digits). Learning digit shapes four times in pixel space is what held the CPU run back,
so, as in diffusers' latent pipelines, an :class:`ImageAutoencoder` maps every image of a *domain* (a group
of image variables of one shape) to a small latent grid once, and the ``latent-diffusion`` factors
(:mod:`trainers.latent_diffusion`) denoise those latents.

* The model is a plain convolutional autoencoder (no KL term, no attention, no norms: small and fast on a
  CPU): ``levels = len(channels)`` resolutions, each but the last halving the side, ``latent_channels``
  channels at the lowest one; 32×32×3 → 4×8×8 with the defaults.
* Training minimises ``MSE + l1_weight · L1`` on the pooled images of the domain's variables, with the
  shared loop of :mod:`trainers.loop` (checkpoints, resume, EMA weights).
* After training it measures each latent channel's mean and standard deviation and stores them as
  buffers, so :meth:`ImageAutoencoder.encode` returns standardized latents (the role of Stable Diffusion's
  scaling factor) and :meth:`ImageAutoencoder.decode` takes them.
* :func:`save_autoencoder` writes ``autoencoder.json`` and ``autoencoder.safetensors`` atomically with the
  weights' SHA-256; :func:`load_autoencoder` refuses a folder whose weights do not match it.

Examples
--------
>>> import numpy as np
>>> images = {"A": np.random.default_rng(0).random((16, 3, 8, 8), dtype=np.float32)}
>>> model, log = fit_autoencoder(images, {"steps": 3, "channels": [8, 8], "progress": False}, seed=0)
>>> model.encode(torch.zeros(2, 3, 8, 8)).shape
torch.Size([2, 4, 4, 4])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from safetensors.torch import load_file, save_file
from torch import nn

from idgen.errors import DataError, IdgenError
from trainers.base import atomic_folder
from trainers.conditioning import images_to_model_range
from trainers.loop import LOOP_DEFAULTS, LoopSettings, check_integer, check_number, train

__all__ = [
    "AUTOENCODER_DEFAULTS",
    "ImageAutoencoder",
    "fit_autoencoder",
    "save_autoencoder",
    "load_autoencoder",
    "weights_digest",
    "AUTOENCODER_FILE",
]

AUTOENCODER_FILE = "autoencoder.json"
WEIGHTS_FILE = "autoencoder.safetensors"
FORMAT = "idgen-autoencoder/1"
#: options of an autoencoder task (the loop's options plus the architecture and the loss)
AUTOENCODER_DEFAULTS: dict[str, Any] = {
    **LOOP_DEFAULTS,
    "steps": 3000,
    "batch_size": 64,
    "lr": 2e-3,
    "channels": (32, 64, 96),
    "latent_channels": 4,
    "l1_weight": 0.1,
    "checkpoint_every": 500,
}
#: options that do not change what the autoencoder learns (left out of its artifact key)
AUTOENCODER_RUNTIME_OPTIONS = frozenset({"progress", "checkpoint_every", "log_every"})


class _ResidualConvBlock(nn.Module):
    """``x + conv(silu(conv(silu(x))))`` with 3×3 convolutions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.first = nn.Conv2d(channels, channels, 3, padding=1)
        self.second = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.second(F.silu(self.first(F.silu(hidden))))


class ImageAutoencoder(nn.Module):
    """A convolutional autoencoder for ``(C, H, W)`` images in [-1, 1] with standardized latents.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``; ``H`` and ``W`` must be divisible by ``2 ** (len(channels) - 1)``.
    channels : sequence of int
        Channels per resolution level, from the image's resolution down to the latent grid's.
    latent_channels : int
        Channels of the latent grid.
    """

    latent_mean: torch.Tensor
    latent_std: torch.Tensor

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], latent_channels: int) -> None:
        super().__init__()
        image_channels, height, width = (int(s) for s in image_shape)
        check_image_shape((image_channels, height, width), channels)
        self.image_shape = (image_channels, height, width)
        self.channels = tuple(int(c) for c in channels)
        self.latent_channels = int(latent_channels)
        encoder: list[nn.Module] = [nn.Conv2d(image_channels, self.channels[0], 3, padding=1)]
        for level, width_here in enumerate(self.channels):
            if level > 0:
                encoder.append(nn.Conv2d(self.channels[level - 1], width_here, 4, stride=2, padding=1))
            encoder.append(_ResidualConvBlock(width_here))
        encoder += [nn.SiLU(), nn.Conv2d(self.channels[-1], self.latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*encoder)
        decoder: list[nn.Module] = [nn.Conv2d(self.latent_channels, self.channels[-1], 3, padding=1)]
        for level in range(len(self.channels) - 1, -1, -1):
            decoder.append(_ResidualConvBlock(self.channels[level]))
            if level > 0:
                decoder += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(self.channels[level], self.channels[level - 1], 3, padding=1),
                ]
        decoder += [nn.SiLU(), nn.Conv2d(self.channels[0], image_channels, 3, padding=1)]
        self.decoder = nn.Sequential(*decoder)
        self.register_buffer("latent_mean", torch.zeros(self.latent_channels))
        self.register_buffer("latent_std", torch.ones(self.latent_channels))

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """``(latent_channels, H / 2^(levels-1), W / 2^(levels-1))``."""
        factor = 2 ** (len(self.channels) - 1)
        return (self.latent_channels, self.image_shape[1] // factor, self.image_shape[2] // factor)

    def settings(self) -> dict[str, Any]:
        """The constructor's arguments (JSON-able)."""
        return {
            "image_shape": list(self.image_shape),
            "channels": list(self.channels),
            "latent_channels": self.latent_channels,
        }

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Standardized latents ``(B, *latent_shape)`` of images ``(B, C, H, W)`` in [-1, 1]."""
        raw = self.encoder(images)
        return (raw - self.latent_mean[None, :, None, None]) / self.latent_std[None, :, None, None]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (clamped) from standardized latents."""
        raw = latents * self.latent_std[None, :, None, None] + self.latent_mean[None, :, None, None]
        return self.decoder(raw).clamp(-1.0, 1.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``decoder(encoder(images))``, unclamped: the training path (see :meth:`reconstruct`)."""
        return self.decoder(self.encoder(images))

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] through the standardized latents and back, clamped."""
        return self.decode(self.encode(images))

    @torch.inference_mode()
    def set_latent_statistics(self, images: torch.Tensor, batch_size: int = 512) -> None:
        """Store each latent channel's mean and standard deviation over ``images`` (in [-1, 1])."""
        raws = torch.cat([self.encoder(images[k : k + batch_size]) for k in range(0, len(images), batch_size)])
        std = raws.std(dim=(0, 2, 3), unbiased=False)
        self.latent_mean.copy_(raws.mean(dim=(0, 2, 3)))
        self.latent_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    @torch.inference_mode()
    def encode_images(self, images: np.ndarray, name: str = "images", batch_size: int = 512) -> torch.Tensor:
        """Standardized latents of images with pixels in [0, 1] (numpy ``(N, C, H, W)``), batched."""
        tensor = images_to_model_range(np.asarray(images), name)
        if tuple(tensor.shape[1:]) != self.image_shape:
            raise DataError(
                f"{name} has images of shape {tuple(tensor.shape[1:])}; this autoencoder encodes {self.image_shape}"
            )
        self.eval()
        parts = [self.encode(tensor[k : k + batch_size]) for k in range(0, len(tensor), batch_size)]
        return torch.cat(parts) if parts else torch.zeros((0, *self.latent_shape))

    @torch.inference_mode()
    def decode_latents(self, latents: torch.Tensor, batch_size: int = 512) -> np.ndarray:
        """Images with pixels in [0, 1] (float32 numpy) from standardized latents, batched."""
        self.eval()
        parts = [self.decode(latents[k : k + batch_size].float()) for k in range(0, len(latents), batch_size)]
        images = torch.cat(parts) if parts else torch.zeros((0, *self.image_shape))
        return ((images + 1.0) / 2.0).numpy().astype(np.float32)


def check_image_shape(image_shape: Sequence[int], channels: Sequence[int]) -> None:
    """Refuse images whose side a ``len(channels)``-level autoencoder cannot halve ``levels - 1`` times.

    Examples
    --------
    >>> check_image_shape((3, 32, 32), (16, 32, 64))
    >>> check_image_shape((3, 12, 12), (8, 16, 32, 64))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    idgen.errors.IdgenError: an autoencoder with 4 levels halves the side 3 times, ... got 12x12 (use fewer ...)
    """
    _, height, width = (int(s) for s in image_shape)
    factor = 2 ** (len(channels) - 1)
    if height % factor or width % factor:
        raise IdgenError(
            f"an autoencoder with {len(channels)} levels halves the side {len(channels) - 1} times, so image "
            f"height and width must be divisible by {factor}; got {height}x{width} (use fewer channels levels)"
        )


def check_autoencoder_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over :data:`AUTOENCODER_DEFAULTS`, each checked; an unknown or bad one is an error."""
    unknown = set(options) - set(AUTOENCODER_DEFAULTS)
    if unknown:
        raise IdgenError(
            f"autoencoder has no option(s) {', '.join(sorted(unknown))}; "
            f"it accepts {', '.join(sorted(AUTOENCODER_DEFAULTS))}"
        )
    resolved = {**AUTOENCODER_DEFAULTS, **options}
    LoopSettings.from_options(resolved)
    channels = resolved["channels"]
    if (
        not isinstance(channels, (list, tuple))
        or not channels
        or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels)
    ):
        raise IdgenError(f"autoencoder option channels must be a non-empty list of positive integers, got {channels!r}")
    resolved["channels"] = tuple(channels)
    check_integer(resolved, "latent_channels", 1)
    check_number(resolved, "l1_weight", 0.0, float("inf"))
    return resolved


class _ReconstructionObjective:
    """``MSE + l1_weight · L1`` between a batch of images and its reconstruction."""

    def __init__(self, l1_weight: float) -> None:
        self.l1_weight = l1_weight

    def __call__(self, model: nn.Module, batch: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        images = batch["target"]
        reconstruction = model(images).float()  # through the (possibly data-parallel) wrapper
        return F.mse_loss(reconstruction, images) + self.l1_weight * F.l1_loss(reconstruction, images)


def fit_autoencoder(
    images: Mapping[str, np.ndarray],
    options: Mapping[str, Any],
    *,
    seed: int,
    workdir: Path | None = None,
) -> tuple[ImageAutoencoder, dict[str, Any]]:
    """Train an autoencoder on the pooled images of a domain's variables (pixels in [0, 1]).

    Parameters
    ----------
    images : mapping of str to numpy.ndarray
        Per variable, ``(N, C, H, W)`` images of one shape.
    options : mapping
        Over :data:`AUTOENCODER_DEFAULTS`.
    seed : int
    workdir : Path, optional
        Checkpoints go here; an interrupted fit resumes from them.

    Returns
    -------
    (ImageAutoencoder, dict)
        The model (EMA weights, latent statistics set) and the loop's log plus the held-out-free
        reconstruction error on the training images.
    """
    if not images:
        raise DataError("an autoencoder needs at least one image variable")
    resolved = check_autoencoder_options(options)
    shapes = {name: tuple(np.shape(values)[1:]) for name, values in images.items()}
    if len(set(shapes.values())) != 1:
        raise DataError(f"an image domain holds images of one shape; got {shapes}")
    pooled = torch.cat([images_to_model_range(np.asarray(values), name) for name, values in images.items()])
    digest = hashlib.sha256()
    for name in sorted(images):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(images[name]).tobytes())
    set_seed(int(np.random.SeedSequence(int(seed)).generate_state(1)[0]))
    shape = next(iter(shapes.values()))
    model = ImageAutoencoder(shape, resolved["channels"], resolved["latent_channels"])
    settings = LoopSettings.from_options(resolved)
    fingerprint = {
        "kind": "autoencoder",
        "variables": sorted(images),
        "options": {k: v for k, v in resolved.items() if k not in AUTOENCODER_RUNTIME_OPTIONS},
        "seed": int(seed),
        "data_sha256": digest.hexdigest(),
    }
    result = train(
        model,
        _ReconstructionObjective(float(resolved["l1_weight"])),
        {"target": pooled},
        settings,
        seed=int(seed),
        workdir=workdir,
        fingerprint=fingerprint,
        description=f"autoencoder of {', '.join(sorted(images))}",
    )
    model.load_state_dict(result.averaged_weights)
    model.eval()
    model.set_latent_statistics(pooled)
    with torch.inference_mode():
        sample = pooled[: min(2048, len(pooled))]
        error = float(F.mse_loss(model.reconstruct(sample), sample))
    log = {**result.log, "reconstruction_mse": error, "latent_shape": list(model.latent_shape)}
    return model, log


def weights_digest(model: ImageAutoencoder) -> str:
    """SHA-256 over the model's tensors (names, shapes and float32 bytes), independent of file layout."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        array = value.detach().cpu().float().contiguous().numpy()
        digest.update(f"{name}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_autoencoder(model: ImageAutoencoder, path: str | Path, report: Mapping[str, Any] | None = None) -> None:
    """Write ``autoencoder.json`` (settings, weights' SHA-256, report) and its safetensors, atomically."""
    with atomic_folder(Path(path)) as folder:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS_FILE))
        header = {
            "format": FORMAT,
            "settings": model.settings(),
            "weights_sha256": weights_digest(model),
            "report": dict(report or {}),
        }
        (folder / AUTOENCODER_FILE).write_text(json.dumps(header, indent=1, default=str))


def build_autoencoder(
    settings: Mapping[str, Any], weights: Mapping[str, torch.Tensor], expected_sha256: str, where: str
) -> ImageAutoencoder:
    """An autoencoder from its settings and weights, refused unless the weights hash to ``expected_sha256``."""
    try:
        model = ImageAutoencoder(settings["image_shape"], settings["channels"], settings["latent_channels"])
        model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()}, strict=True)
    except IdgenError:
        raise
    except Exception as error:  # noqa: BLE001 - a corrupt artifact is one clear error, never a half-loaded model
        raise IdgenError(f"cannot load the autoencoder in {where}: {type(error).__name__}: {error}") from None
    if weights_digest(model) != expected_sha256:
        raise IdgenError(f"the autoencoder weights in {where} do not match their recorded SHA-256; refusing them")
    if not all(torch.isfinite(value).all() for value in model.state_dict().values()):
        raise IdgenError(f"the autoencoder weights in {where} hold NaN or infinite values; refusing them")
    model.eval()
    return model


def load_autoencoder(path: str | Path) -> tuple[ImageAutoencoder, dict[str, Any]]:
    """Load what :func:`save_autoencoder` wrote, after checking the weights against their SHA-256."""
    folder = Path(path)
    header_file = folder / AUTOENCODER_FILE
    if not header_file.is_file():
        raise IdgenError(f"{str(folder)!r} holds no autoencoder ({AUTOENCODER_FILE} missing)")
    try:
        header = json.loads(header_file.read_text())
        if header.get("format") != FORMAT:
            raise IdgenError(f"{header_file} is not an idgen autoencoder (format {header.get('format')!r})")
        weights = load_file(str(folder / WEIGHTS_FILE))
    except IdgenError:
        raise
    except Exception as error:  # noqa: BLE001
        raise IdgenError(f"cannot load the autoencoder in {str(folder)!r}: {type(error).__name__}: {error}") from None
    model = build_autoencoder(header["settings"], weights, header["weights_sha256"], repr(str(folder)))
    return model, header["report"]
