"""The training loop shared by the diffusion backends, and its resumable checkpoints.

:func:`train` runs a written-out loop: AdamW with a linear-warmup + cosine learning rate, optional
gradient accumulation and clipping, bf16 autocast, an exponential moving average (EMA) of the weights
(the weights used for sampling), a tqdm bar with the loss, a loss curve and checkpoints.

Randomness is tied to the step, not to the history: step ``s`` of process ``p`` draws its batch, noise
and timesteps from a generator seeded with ``(seed, s, p)``. A run resumed from a checkpoint therefore
continues exactly as the uninterrupted run would have.

Checkpoints
-----------
Every ``checkpoint_every`` steps, and at the last step, the main process writes
``workdir/checkpoints/step-<8 digits>/`` atomically (under a temporary name, renamed when complete):

``model.safetensors``, ``ema.safetensors``, ``optimizer.safetensors``
    the weights, their moving average and the optimizer's tensors (no pickle anywhere);
``checkpoint.json``
    the step, the loss curve so far, the optimizer's scalar state, a *fingerprint* of the configuration
    and data the run trains on, and the SHA-256 of each safetensors file.

Calling :func:`train` again with the same ``workdir`` resumes from the newest checkpoint, after checking
that its fingerprint matches and that every file has its recorded checksum; a mismatch raises
:class:`~idgen.errors.IdgenError` and nothing is loaded. The two newest checkpoints are kept.

Several GPUs
------------
The loop uses :class:`accelerate.Accelerator` for device placement and data parallelism, so the script that
calls ``fit`` runs unchanged on one CPU (no accelerate config needed) or on several GPUs::

    accelerate launch --multi_gpu --num_processes 4 my_script.py

Each process then draws its own batches (the effective batch is ``batch_size * grad_accum * 4``), the
gradients are averaged, and only the main process writes checkpoints and ``log.json`` (``workdir`` must
be on a file system every process sees). Mixed precision is this loop's ``mixed_precision`` option: do not
pass ``--mixed_precision`` to ``accelerate launch``. To try data parallelism without GPUs, run several CPU
processes over gloo: ``ACCELERATE_USE_CPU=true torchrun --nproc_per_node 2 my_script.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import resource
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from idgen.errors import IdgenError, UsageError
from idgen.files import sha256_file
from trainers.base import atomic_folder

__all__ = [
    "LOOP_DEFAULTS",
    "LoopSettings",
    "Objective",
    "Checkpoint",
    "TrainingResult",
    "ExponentialMovingAverage",
    "train",
    "step_generator",
    "resolve_mixed_precision",
    "check_integer",
    "check_number",
    "check_choice",
    "latest_checkpoint",
    "load_checkpoint",
]

#: the loop's options and their defaults (backends override ``steps``, ``batch_size`` and ``lr``)
LOOP_DEFAULTS: dict[str, Any] = {
    "steps": 2000,
    "batch_size": 128,
    "lr": 1e-3,
    "lr_warmup_steps": 100,
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
    "mixed_precision": "auto",
    "grad_accum": 1,
    "ema_decay": 0.995,
    "checkpoint_every": 500,
    "log_every": 50,
    "progress": True,
}
MIXED_PRECISIONS = ("auto", "bf16", "no")
CHECKPOINT_FORMAT = 1
CHECKPOINTS_KEPT = 2
CHECKPOINT_FILES = ("model.safetensors", "ema.safetensors", "optimizer.safetensors")
_CHECKPOINT_NAME = re.compile(r"^step-(\d{8})$")

#: ``objective(model, batch, generator) -> scalar loss``; the batch holds the dataset's keys on the device
Objective = Callable[[nn.Module, dict[str, torch.Tensor], torch.Generator], torch.Tensor]


# ---------------------------------------------------------------------------------------------- options
def check_integer(options: Mapping[str, Any], name: str, minimum: int) -> int:
    """``options[name]`` as an int no smaller than ``minimum``, or a precise :class:`UsageError`.

    Examples
    --------
    >>> check_integer({"steps": 0}, "steps", 1)
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: option steps must be an integer >= 1, got 0
    """
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"option {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(
    options: Mapping[str, Any], name: str, low: float, high: float, *, high_included: bool = True
) -> float:
    """``options[name]`` as a float in ``[low, high]`` (or ``[low, high)``), or a precise :class:`UsageError`.

    Examples
    --------
    >>> check_number({"ema_decay": 1.5}, "ema_decay", 0.0, 1.0, high_included=False)
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: option ema_decay must be a number in [0, 1), got 1.5
    """
    value = options[name]
    inside = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if inside:
        inside = low <= value <= high if high_included else low <= value < high
    if not inside:
        raise UsageError(
            f"option {name} must be a number in [{low:g}, {high:g}{']' if high_included else ')'}, got {value!r}"
        )
    return float(value)


def check_choice(options: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """``options[name]`` if it is one of ``choices``, else a precise :class:`UsageError`.

    Examples
    --------
    >>> check_choice({"sampler": "euler"}, "sampler", ("ddim", "ddpm"))
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: option sampler must be one of 'ddim', 'ddpm', got 'euler'
    """
    value = options[name]
    if value not in choices:
        raise UsageError(f"option {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class LoopSettings:
    """The validated loop options (see :data:`LOOP_DEFAULTS`).

    ``steps`` counts optimizer steps, each made of ``grad_accum`` batches of ``batch_size`` rows per
    process. ``lr`` rises linearly over ``lr_warmup_steps`` and then follows a cosine to 0 at ``steps``.
    ``ema_decay`` is the EMA's decay once warmed up (it starts lower, see :class:`ExponentialMovingAverage`).
    ``max_grad_norm`` of 0 turns clipping off.
    """

    steps: int
    batch_size: int
    lr: float
    lr_warmup_steps: int
    weight_decay: float
    max_grad_norm: float
    mixed_precision: str
    grad_accum: int
    ema_decay: float
    checkpoint_every: int
    log_every: int
    progress: bool

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LoopSettings:
        """Validate the loop's options; raises :class:`IdgenError` naming the first bad one."""
        if not isinstance(options["progress"], bool):
            raise IdgenError(f"option progress must be True or False, got {options['progress']!r}")
        return cls(
            steps=check_integer(options, "steps", 1),
            batch_size=check_integer(options, "batch_size", 1),
            lr=check_number(options, "lr", 0.0, math.inf),
            lr_warmup_steps=check_integer(options, "lr_warmup_steps", 0),
            weight_decay=check_number(options, "weight_decay", 0.0, math.inf),
            max_grad_norm=check_number(options, "max_grad_norm", 0.0, math.inf),
            mixed_precision=check_choice(options, "mixed_precision", MIXED_PRECISIONS),
            grad_accum=check_integer(options, "grad_accum", 1),
            ema_decay=check_number(options, "ema_decay", 0.0, 1.0, high_included=False),
            checkpoint_every=check_integer(options, "checkpoint_every", 1),
            log_every=check_integer(options, "log_every", 1),
            progress=options["progress"],
        )

    def learning_rate(self, step: int) -> float:
        """Learning rate of (0-based) ``step``: linear warmup, then cosine decay to 0.

        Examples
        --------
        >>> settings = LoopSettings.from_options({**LOOP_DEFAULTS, "steps": 200, "lr_warmup_steps": 100})
        >>> [round(settings.learning_rate(step) / settings.lr, 3) for step in (0, 99, 149, 199)]
        [0.01, 1.0, 0.5, 0.0]
        """
        if step < self.lr_warmup_steps:
            return self.lr * (step + 1) / self.lr_warmup_steps
        progress = (step + 1 - self.lr_warmup_steps) / max(1, self.steps - self.lr_warmup_steps)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def resolve_mixed_precision(requested: str, device: torch.device) -> str:
    """``"bf16"`` or ``"no"`` for ``device``.

    ``"auto"`` picks bf16 where the hardware computes in it natively (CUDA GPUs with bf16 support, CPUs
    with AVX-512-BF16 or AMX) and fp32 elsewhere: on a CPU without those instructions bf16 is emulated
    and about ten times slower than fp32.
    """
    if requested == "no":
        return "no"
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    else:
        native = False
    if requested == "bf16":
        if device.type == "cuda" and not native:
            raise IdgenError(
                f"mixed_precision='bf16' is not supported on {torch.cuda.get_device_name(device)}; use 'no'"
            )
        return "bf16"
    return "bf16" if native else "no"


# ---------------------------------------------------------------------------------------------- EMA
class ExponentialMovingAverage:
    """A float32 moving average of a module's parameters.

    After ``t`` updates the decay is ``min(decay, (1 + t) / (10 + t))``, so early weights fade quickly.

    Parameters
    ----------
    module : nn.Module
    decay : float
        Decay once warmed up.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {name: parameter.detach().float().clone() for name, parameter in module.named_parameters()}

    @torch.no_grad()
    def update(self, module: nn.Module, updates_done: int) -> None:
        """Blend the current parameters in; ``updates_done`` counts this update (1 for the first)."""
        decay = min(self.decay, (1 + updates_done) / (10 + updates_done))
        for name, parameter in module.named_parameters():
            self.shadow[name].lerp_(parameter.detach().float(), 1.0 - decay)

    def to(self, device: torch.device) -> None:
        """Move the averages to ``device``."""
        self.shadow = {name: value.to(device) for name, value in self.shadow.items()}

    def averaged_state_dict(self, module: nn.Module) -> dict[str, torch.Tensor]:
        """``module``'s state dict with every parameter replaced by its average (buffers as they are)."""
        state = {name: value.detach().clone() for name, value in module.state_dict().items()}
        state.update({name: value.clone() for name, value in self.shadow.items()})
        return state


# ---------------------------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """A verified checkpoint read back by :func:`load_checkpoint`."""

    folder: Path
    step: int
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    record: dict[str, Any]


def latest_checkpoint(directory: Path) -> Path | None:
    """The complete checkpoint folder with the highest step in ``directory``, or ``None``."""
    if not directory.is_dir():
        return None
    steps = [
        (int(match.group(1)), path) for path in directory.iterdir() if (match := _CHECKPOINT_NAME.match(path.name))
    ]
    return max(steps)[1] if steps else None


def load_checkpoint(folder: Path, fingerprint: Mapping[str, Any]) -> Checkpoint:
    """Read and verify a checkpoint written by :func:`train`.

    Raises
    ------
    IdgenError
        ``checkpoint.json`` is missing or unreadable, was written for another configuration or data
        (``fingerprint`` differs), or a file is missing or does not have its recorded SHA-256. Nothing is
        loaded in that case.
    """
    record_file = folder / "checkpoint.json"
    earlier = "delete the folder to resume from an earlier checkpoint"
    try:
        record = json.loads(record_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IdgenError(
            f"checkpoint {str(folder)!r} is corrupt: cannot read checkpoint.json ({error}); {earlier}"
        ) from None
    if not isinstance(record, dict) or record.get("format") != CHECKPOINT_FORMAT:
        raise IdgenError(f"checkpoint {str(folder)!r} has an unknown format; expected format {CHECKPOINT_FORMAT}")
    expected = _json_normalized(fingerprint)
    if record.get("fingerprint") != expected:
        stored = record.get("fingerprint") or {}
        differing = sorted(key for key in set(stored) | set(expected) if stored.get(key) != expected.get(key))
        raise IdgenError(
            f"checkpoint {str(folder)!r} was written for a different configuration or data (differs in: "
            f"{', '.join(differing)}); use another workdir or delete its checkpoints folder"
        )
    for name in CHECKPOINT_FILES:
        path = folder / name
        if not path.is_file():
            raise IdgenError(f"checkpoint {str(folder)!r} is incomplete: {name} is missing; {earlier}")
        if sha256_file(path) != record.get("checksums", {}).get(name):
            raise IdgenError(
                f"checkpoint file {str(path)!r} is corrupt (its SHA-256 differs from the one recorded in "
                f"checkpoint.json); {earlier}"
            )
    optimizer_tensors = load_file(str(folder / "optimizer.safetensors"))
    return Checkpoint(
        folder=folder,
        step=int(record["step"]),
        model=load_file(str(folder / "model.safetensors")),
        ema=load_file(str(folder / "ema.safetensors")),
        optimizer=_optimizer_state_from_parts(optimizer_tensors, record["optimizer"]),
        record=record,
    )


def _save_checkpoint(
    folder: Path,
    *,
    module: nn.Module,
    ema: ExponentialMovingAverage,
    optimizer: torch.optim.Optimizer,
    record: dict[str, Any],
) -> None:
    optimizer_tensors, optimizer_scalars = _optimizer_state_to_parts(optimizer.state_dict())
    contents = {
        "model.safetensors": module.state_dict(),
        "ema.safetensors": ema.shadow,
        "optimizer.safetensors": optimizer_tensors,
    }
    with atomic_folder(folder) as temporary:
        checksums = {}
        for name, tensors in contents.items():
            path = temporary / name
            save_file({key: value.detach().cpu().contiguous() for key, value in tensors.items()}, str(path))
            _fsync(path)
            checksums[name] = sha256_file(path)
        full_record = {**record, "format": CHECKPOINT_FORMAT, "optimizer": optimizer_scalars, "checksums": checksums}
        (temporary / "checkpoint.json").write_text(json.dumps(full_record, indent=1))
        _fsync(temporary / "checkpoint.json")


def _prune_checkpoints(directory: Path) -> None:
    """Keep the :data:`CHECKPOINTS_KEPT` newest checkpoints; remove older ones and interrupted writes."""
    named = sorted(
        (path for path in directory.iterdir() if _CHECKPOINT_NAME.match(path.name)), key=lambda path: path.name
    )
    for path in named[:-CHECKPOINTS_KEPT]:
        shutil.rmtree(path)
    _remove_interrupted_writes(directory)


def _remove_interrupted_writes(directory: Path) -> None:
    """Remove the temporary folders of checkpoint writes that were killed before their rename."""
    for path in directory.iterdir():
        if path.name.startswith(".step-"):
            shutil.rmtree(path, ignore_errors=True)


def _optimizer_state_to_parts(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into named tensors (safetensors) and JSON-able scalars."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, parameter_state in state["state"].items():
        for key, value in parameter_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": _json_normalized(state["param_groups"]), "scalars": scalars}


def _optimizer_state_from_parts(tensors: Mapping[str, torch.Tensor], parts: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`_optimizer_state_to_parts`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, values in parts["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = [
        {key: tuple(value) if key == "betas" else value for key, value in group.items()}
        for group in parts["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _json_normalized(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _write_json_atomically(path: Path, content: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(content, indent=1))
    os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------- the loop
@dataclass
class TrainingResult:
    """What :func:`train` hands back: the averaged weights to sample with, and the JSON-able log."""

    averaged_weights: dict[str, torch.Tensor]
    log: dict[str, Any]


def step_generator(seed: int, step: int, process_index: int) -> torch.Generator:
    """The CPU generator of one step of one process (a function of its arguments only).

    Examples
    --------
    >>> a, b = step_generator(0, 5, 0), step_generator(0, 5, 0)
    >>> bool(torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b)))
    True
    """
    entropy = np.random.SeedSequence([seed, step, process_index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(entropy[0]) << 32 | int(entropy[1]))


def _batches(
    dataset: Mapping[str, torch.Tensor], batch_size: int, count: int, generator: torch.Generator, device: torch.device
) -> Iterator[dict[str, torch.Tensor]]:
    """``count`` batches of rows drawn uniformly with replacement, moved to ``device``."""
    rows = len(next(iter(dataset.values())))
    for _ in range(count):
        indices = torch.randint(0, rows, (batch_size,), generator=generator)
        yield {key: value[indices].to(device, non_blocking=True) for key, value in dataset.items()}


def _peak_memory_mb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "torch.cuda.max_memory_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss of the whole process"


def train(
    module: nn.Module,
    objective: Objective,
    dataset: Mapping[str, torch.Tensor],
    settings: LoopSettings,
    *,
    seed: int,
    workdir: Path | None,
    fingerprint: Mapping[str, Any],
    description: str,
) -> TrainingResult:
    """Train ``module`` to minimise ``objective`` on batches of ``dataset``; resume from ``workdir``.

    Parameters
    ----------
    module : nn.Module
        The model, freshly initialised (the caller seeds its initialisation, e.g. with
        :func:`accelerate.utils.set_seed`); its weights are replaced by a checkpoint's when resuming.
    objective : Objective
        ``objective(model, batch, generator)`` returns the scalar loss of one batch; it must draw its
        randomness from ``generator``.
    dataset : mapping of str to Tensor
        Equal-length CPU tensors; each batch holds the same keys.
    settings : LoopSettings
    seed : int
        Seeds every step's generator.
    workdir : Path or None
        Where checkpoints and ``log.json`` go; ``None`` trains without either.
    fingerprint : mapping
        JSON-able description of everything the result depends on; a checkpoint with another fingerprint
        is refused.
    description : str
        Shown on the progress bar and recorded in the log.

    Returns
    -------
    TrainingResult
    """
    wall_start = time.perf_counter()
    accelerator = Accelerator()
    if accelerator.mixed_precision != "no":
        raise IdgenError(
            f"accelerate is configured for mixed precision {accelerator.mixed_precision!r}, but this loop "
            "handles precision itself through its mixed_precision option: launch without --mixed_precision"
        )
    device = accelerator.device
    precision = resolve_mixed_precision(settings.mixed_precision, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    checkpoints = workdir / "checkpoints" if workdir is not None else None

    optimizer = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    ema = ExponentialMovingAverage(module, settings.ema_decay)
    start_step, loss_curve, previous_train_time = 0, [], 0.0
    checkpoint: Checkpoint | None = None
    if checkpoints is not None:
        if accelerator.is_main_process and checkpoints.is_dir():
            _remove_interrupted_writes(checkpoints)
        accelerator.wait_for_everyone()
        latest = latest_checkpoint(checkpoints)
        if latest is not None:
            checkpoint = load_checkpoint(latest, fingerprint)
            module.load_state_dict(checkpoint.model)
            ema.shadow = {name: value.float() for name, value in checkpoint.ema.items()}
            start_step = checkpoint.step
            loss_curve = checkpoint.record["loss"]
            previous_train_time = checkpoint.record["train_time_s"]
    model, optimizer = accelerator.prepare(module, optimizer)
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint.optimizer)
    ema.to(device)

    progress = tqdm(
        total=settings.steps,
        initial=start_step,
        desc=description,
        disable=not (settings.progress and accelerator.is_main_process),
        dynamic_ncols=True,
    )
    running_loss = torch.zeros((), device=device)
    running_steps = 0
    model.train()
    loop_start = time.perf_counter()
    for step in range(start_step, settings.steps):
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate(step)
        generator = step_generator(seed, step, accelerator.process_index)
        batches = _batches(dataset, settings.batch_size, settings.grad_accum, generator, device)
        for micro_step, batch in enumerate(batches):
            synchronize = micro_step == settings.grad_accum - 1
            with contextlib.nullcontext() if synchronize else accelerator.no_sync(model):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    loss = objective(model, batch, generator)
                accelerator.backward(loss / settings.grad_accum)
            running_loss += loss.detach() / settings.grad_accum
        if settings.max_grad_norm > 0:
            accelerator.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        steps_done = step + 1
        ema.update(accelerator.unwrap_model(model), steps_done)
        running_steps += 1
        progress.update(1)

        if steps_done % settings.log_every == 0 or steps_done == settings.steps:
            mean_loss = accelerator.reduce(running_loss, reduction="mean").item() / running_steps
            loss_curve.append([steps_done, mean_loss])
            progress.set_postfix(loss=f"{mean_loss:.4f}")
            running_loss.zero_()
            running_steps = 0
        if checkpoints is not None and (steps_done % settings.checkpoint_every == 0 or steps_done == settings.steps):
            if accelerator.is_main_process:
                record = {
                    "step": steps_done,
                    "fingerprint": _json_normalized(fingerprint),
                    "loss": loss_curve,
                    "train_time_s": previous_train_time + time.perf_counter() - loop_start,
                }
                _save_checkpoint(
                    checkpoints / f"step-{steps_done:08d}",
                    module=accelerator.unwrap_model(model),
                    ema=ema,
                    optimizer=optimizer,
                    record=record,
                )
                _prune_checkpoints(checkpoints)
            accelerator.wait_for_everyone()
    progress.close()
    train_time = time.perf_counter() - loop_start
    steps_run = settings.steps - start_step
    examples = steps_run * settings.batch_size * settings.grad_accum * accelerator.num_processes
    peak_memory, memory_source = _peak_memory_mb(device)
    unwrapped = accelerator.unwrap_model(model)
    log = {
        "task": description,
        "device": str(device),
        "num_processes": accelerator.num_processes,
        "mixed_precision": precision,
        "parameters": sum(parameter.numel() for parameter in unwrapped.parameters()),
        "steps": settings.steps,
        "start_step": start_step,
        "resumed_from": str(checkpoint.folder) if checkpoint is not None else None,
        "batch_size": settings.batch_size,
        "grad_accum": settings.grad_accum,
        "log_every": settings.log_every,
        "loss": loss_curve,
        "final_loss": loss_curve[-1][1] if loss_curve else None,
        "wall_time_s": time.perf_counter() - wall_start,
        "train_time_s": train_time,
        "total_train_time_s": previous_train_time + train_time,
        "samples_per_s": examples / train_time if steps_run else None,
        "peak_memory_mb": peak_memory,
        "peak_memory_source": memory_source,
    }
    if workdir is not None and accelerator.is_main_process:
        _write_json_atomically(workdir / "log.json", log)
    return TrainingResult(averaged_weights=ema.averaged_state_dict(unwrapped), log=log)
