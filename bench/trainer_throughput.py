"""Benchmark: the diffusion trainer's training throughput and the cost of its samplers.

1. **Training throughput** (images/s) of ``unet-diffusion``'s ``fit`` against a plain hand-written
   diffusers loop training the same denoiser (same UNet and condition encoder, batch, precision, steps and
   noise schedule; AdamW, cosine-with-warmup LR, gradient clipping and diffusers' ``EMAModel``, as in
   diffusers' ``train_unconditional.py`` example), in fp32 and bf16. The goal is a ratio ≥ 0.95. A *bare*
   loop (forward, backward, AdamW step only) is timed too, as a floor for the overhead of those extras.
2. **Sampling cost** on the coloured-square task (a square in the colour a discrete parent names): a UNet is
   trained once, then sampled with DPM-Solver++ (20 steps), its stochastic variant (20 steps) and ancestral
   DDPM (1000 steps): UNet evaluations per image, seconds per 1,000 images and the colour accuracy of the
   samples (the mean-RGB read-out).

Usage: ``.venv/bin/python bench/trainer_throughput.py`` (a few minutes on one CPU thread); scale up with
``--image-size 28 --batch-size 64 --train-steps 50 --quality-steps 2000 --samples 1000`` and so on.
Prints the figures and writes ``bench/results/trainer_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from diffusers import DDPMScheduler
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel

from idgen.data import infer_types
from trainers.diffusion import UNetDiffusion
from trainers.loop import resolve_mixed_precision

PRECISION_NAMES = {"no": "fp32", "bf16": "bf16"}
SAMPLERS = (("dpm-solver++", 20), ("sde-dpm-solver++", 20), ("ddpm", 1000))


def coloured_squares(rows: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Black RGB images with one square of side ``size // 2`` in colour ``X`` (0 red, 1 green, 2 blue)."""
    generator = np.random.default_rng(seed)
    colours = generator.integers(0, 3, rows)
    corners = generator.integers(0, size - size // 2 + 1, (rows, 2))
    images = np.zeros((rows, 3, size, size), dtype=np.float32)
    for row, (colour, (top, left)) in enumerate(zip(colours, corners, strict=True)):
        images[row, colour, top : top + size // 2, left : left + size // 2] = 1.0
    return {"X": colours, "I": images}


def plain_diffusers_loop(
    factor: UNetDiffusion, table: dict[str, np.ndarray], steps: int, precision: str, seed: int, *, extras: bool
) -> float:
    """Train ``factor``'s denoiser with a hand-written diffusers loop; return images/s of the loop.

    With ``extras`` the loop also clips gradients, follows a cosine-with-warmup LR and keeps diffusers'
    ``EMAModel`` (as our trainer does); without, it is forward, backward and AdamW step only.
    """
    options = factor.options
    set_seed(seed)
    denoiser = factor.build_denoiser()
    optimizer = torch.optim.AdamW(denoiser.parameters(), lr=options["lr"], weight_decay=options["weight_decay"])
    lr_scheduler = get_cosine_schedule_with_warmup(optimizer, options["lr_warmup_steps"], steps)
    ema = EMAModel(denoiser.parameters(), decay=options["ema_decay"], use_ema_warmup=True, inv_gamma=1.0, power=1.0)
    noise_scheduler = DDPMScheduler(
        num_train_timesteps=1000, beta_schedule=options["beta_schedule"], prediction_type="v_prediction"
    )
    images = torch.from_numpy(table["I"]) * 2.0 - 1.0
    colours = torch.from_numpy(table["X"])
    batch_size = options["batch_size"]
    denoiser.train()
    start = time.perf_counter()
    for _ in range(steps):
        indices = torch.randint(0, len(images), (batch_size,))
        clean = images[indices]
        noise = torch.randn_like(clean)
        timesteps = torch.randint(0, 1000, (batch_size,))
        noisy = noise_scheduler.add_noise(clean, noise, timesteps)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            prediction = denoiser(noisy, timesteps, {"X": colours[indices]})
        loss = F.mse_loss(prediction.float(), noise_scheduler.get_velocity(clean, noise, timesteps))
        loss.backward()
        if extras:
            torch.nn.utils.clip_grad_norm_(denoiser.parameters(), options["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if extras:
            lr_scheduler.step()
            ema.step(denoiser.parameters())
    return steps * batch_size / (time.perf_counter() - start)


def throughput(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    """Images/s of our ``fit`` and of the plain loops, best of ``args.repeats`` alternated runs each."""
    steps = args.bf16_train_steps if precision == "bf16" else args.train_steps
    table = coloured_squares(2000, args.image_size, seed=0)
    options = {"steps": steps, "batch_size": args.batch_size, "mixed_precision": precision, "progress": False}
    options["checkpoint_every"] = steps  # one checkpoint, at the end, as every fit writes
    rates: dict[str, list[float]] = {"trainer": [], "fit_call": [], "plain": [], "bare": []}
    for repeat in range(args.repeats):
        factor = UNetDiffusion(["I"], ["X"], infer_types(table), **options)
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            log = factor.fit(table, seed=repeat, workdir=Path(workdir))
            rates["fit_call"].append(steps * args.batch_size / (time.perf_counter() - start))
        rates["trainer"].append(log["samples_per_s"])
        rates["plain"].append(plain_diffusers_loop(factor, table, steps, precision, seed=repeat, extras=True))
        rates["bare"].append(plain_diffusers_loop(factor, table, steps, precision, seed=repeat, extras=False))
    best = {name: max(values) for name, values in rates.items()}
    return {
        "steps": steps,
        "parameters": log["parameters"],
        "trainer_images_per_s": round(best["trainer"], 2),
        "trainer_fit_call_images_per_s": round(best["fit_call"], 2),
        "plain_loop_images_per_s": round(best["plain"], 2),
        "bare_loop_images_per_s": round(best["bare"], 2),
        "ratio": round(best["trainer"] / best["plain"], 3),
        "ratio_whole_fit_call": round(best["fit_call"] / best["plain"], 3),
        "ratio_to_bare_loop": round(best["trainer"] / best["bare"], 3),
    }


def sampling_cost(args: argparse.Namespace) -> dict[str, Any]:
    """Train one UNet on coloured squares, then time and score each sampler."""
    table = coloured_squares(2000, args.quality_image_size, seed=0)
    channels = tuple(int(c) for c in args.quality_channels.split(","))
    factor = UNetDiffusion(
        ["I"],
        ["X"],
        infer_types(table),
        steps=args.quality_steps,
        batch_size=32,
        block_out_channels=channels,
        lr_warmup_steps=20,
        sample_batch_size=args.samples,
        progress=False,
    )
    log = factor.fit(table, seed=0)
    evaluations = 0

    def count(*_: Any) -> None:
        nonlocal evaluations
        evaluations += 1

    factor.denoiser.unet.register_forward_hook(count)
    colours = np.arange(args.samples) % 3
    results: dict[str, Any] = {"train_seconds": round(log["wall_time_s"], 1), "parameters": log["parameters"]}
    for sampler, steps in SAMPLERS:
        factor.options.update(sampler=sampler, sampler_steps=steps)
        evaluations = 0
        start = time.perf_counter()
        images = factor.sample({"X": colours}, args.samples, seed=1)["I"]
        seconds = time.perf_counter() - start
        accuracy = float((images.mean(axis=(2, 3)).argmax(axis=1) == colours).mean())
        results[f"{sampler} {steps} steps"] = {
            "unet_evaluations_per_image": evaluations,
            "seconds_per_1000_images": round(1000 * seconds / args.samples, 2),
            "colour_accuracy": round(accuracy, 3),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=12, help="throughput: square image side")
    parser.add_argument("--batch-size", type=int, default=32, help="throughput: images per step")
    parser.add_argument("--train-steps", type=int, default=20, help="throughput: fp32 steps per timed run")
    parser.add_argument("--bf16-train-steps", type=int, default=8, help="throughput: bf16 steps per timed run")
    parser.add_argument("--repeats", type=int, default=2, help="throughput: alternated runs, best kept")
    parser.add_argument("--precisions", default="no,bf16", help="throughput: comma-separated, of no and bf16")
    parser.add_argument("--quality-image-size", type=int, default=8, help="sampling: square image side")
    parser.add_argument("--quality-channels", default="16,32", help="sampling: UNet block_out_channels")
    parser.add_argument("--quality-steps", type=int, default=300, help="sampling: training steps of the UNet")
    parser.add_argument("--samples", type=int, default=300, help="sampling: images per sampler")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "trainer_throughput.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result: dict[str, Any] = {
        "settings": {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
        "auto_mixed_precision": resolve_mixed_precision("auto", device),
        "throughput": {},
    }
    for precision in args.precisions.split(","):
        figures = throughput(args, precision)
        result["throughput"][PRECISION_NAMES[precision]] = figures
        print(
            f"{PRECISION_NAMES[precision]}: trainer {figures['trainer_images_per_s']} images/s "
            f"(whole fit call {figures['trainer_fit_call_images_per_s']}), plain diffusers loop "
            f"{figures['plain_loop_images_per_s']} images/s, ratio {figures['ratio']}; bare loop "
            f"(no EMA, clipping, LR schedule) {figures['bare_loop_images_per_s']} images/s, "
            f"ratio {figures['ratio_to_bare_loop']}"
        )
    result["sampling"] = sampling_cost(args)
    for name, figures in result["sampling"].items():
        if isinstance(figures, dict):
            print(
                f"{name}: {figures['unet_evaluations_per_image']} UNet evaluations/image, "
                f"{figures['seconds_per_1000_images']} s per 1,000 images, colour accuracy {figures['colour_accuracy']}"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
