"""Benchmark: attribute copy rate per CPU-minute, pixel-space UNet vs the latent backend, on one napkin factor.

The task is a factor of the napkin plan that draws D′: ``P(Y | W1, W2, X)`` (default) or ``P(Y | X)``. Y must
copy X's digit (through a rotation and a reflection, onto another MNIST exemplar) and thickness and, given
W1, W1's colour. Each variant trains on the same observational Napkin-MNIST rows (rendered without the
classifier's held-out exemplars), samples Y for the rows of a dataset drawn with another seed, and the cached
attribute classifier reads the samples. Reported per variant: digit / thickness / colour copy rates next to
their ceilings, training minutes, and the copy rate per training minute. The latent variants share one
autoencoder (trained once, as in a plan; its minutes are reported separately and added in
``minutes_with_autoencoder``), whose reconstructions of held-out digits are also read.

Variants: ``pixel`` (``unet-diffusion``, X as extra channels), ``latent-mlp`` and ``latent-unet``
(``latent-diffusion`` with ``denoiser="mlp"`` / ``"unet"``), each with ``,option=value`` overrides, e.g.
``latent-mlp,steps=3000,width=512``. Guided sampling uses ``--guidance``.

Usage::

    .venv/bin/python bench/latent_factors.py --variant pixel,steps=300 --variant latent-mlp,steps=3000

Prints the figures and writes ``bench/results/latent_factors.json`` (state the CPU and precision you ran on).
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from image_conditioning import _save_grid  # bench/ is the script's folder, on sys.path

from idgen.data import infer_types
from idgen.datasets import napkin_mnist
from trainers.autoencoder import fit_autoencoder
from trainers.classifiers import napkin_attribute_classifier, predict
from trainers.diffusion import UNetDiffusion
from trainers.latent_diffusion import LatentDiffusion

TASKS = {"y_given_x": ("X",), "y_given_w1_w2_x": ("W1", "W2", "X")}
KINDS = {
    "pixel": (UNetDiffusion, {"image_conditioning": "concat", "batch_size": 64, "lr": 1e-3}),
    "latent-mlp": (LatentDiffusion, {"denoiser": "mlp"}),
    "latent-unet": (LatentDiffusion, {"denoiser": "unet"}),
}


def parse_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """``"latent-mlp,steps=300"`` -> ``("latent-mlp,steps=300", "latent-mlp", {"steps": 300})``."""
    head, *rest = text.split(",")
    if head not in KINDS:
        raise SystemExit(f"variant {text!r}: the kind must be one of {', '.join(KINDS)}")
    options: dict[str, Any] = {}
    for item in rest:
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"variant {text!r}: expected option=value, got {item!r}")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return text, head, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="y_given_w1_w2_x")
    parser.add_argument("--variant", action="append", default=None, help="repeatable")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--eval-rows", type=int, default=500)
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--cfg-dropout", type=float, default=0.1)
    parser.add_argument("--autoencoder-steps", type=int, default=3000)
    parser.add_argument("--autoencoder-channels", default="16,32,64")
    parser.add_argument("--classifier-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    parser.add_argument("--cache-dir", default="runs/cache/napkin_mnist")
    parser.add_argument("--workdir", default="runs/bench_latent_factors", help="checkpoints (resumable)")
    parser.add_argument("--output", default="bench/results/latent_factors.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [parse_variant(v) for v in (args.variant or ["pixel,steps=300", "latent-mlp,steps=3000"])]

    def dataset(rows: int, seed: int) -> napkin_mnist.NapkinMNISTData:
        config = napkin_mnist.NapkinMNISTConfig(
            image_size=args.image_size, n_samples=rows, seed=seed, held_out_fraction=0.1, cache_dir=args.cache_dir
        )
        return napkin_mnist.generate(config)

    train, held_out = dataset(args.rows, 0), dataset(args.eval_rows, 12345)
    classifier, accuracy = napkin_attribute_classifier(
        args.image_size,
        napkin_mnist.IMAGE_TRANSFORMS["Y"],
        Path(args.cache_dir) / "classifiers",
        steps=args.classifier_steps,
        seed=0,
    )
    conditioning = TASKS[args.task]
    observed = train.observed()
    types = infer_types(observed, {"W2": "discrete"})
    noise = train.config.label_noise
    results: dict[str, Any] = {
        "task": f"P(Y | {', '.join(conditioning)})",
        "settings": {k: v for k, v in vars(args).items() if k != "variant"},
        "classifier_held_out_accuracy": accuracy,
        "ceilings": {"digit": 1 - 0.9 * noise, "thickness": 1.0, "colour": 1 - 0.9 * noise},
        "machine": {"processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads()},
        "variants": {},
    }
    print(f"task {results['task']}; {args.rows} rows; classifier held-out accuracy {accuracy}", flush=True)

    autoencoder = None
    autoencoder_minutes = 0.0
    if any(kind != "pixel" for _, kind, _ in variants):
        start = time.perf_counter()
        autoencoder, log = fit_autoencoder(
            {v: observed[v] for v in ("W1", "X", "Y")},
            {
                "steps": args.autoencoder_steps,
                "channels": [int(c) for c in args.autoencoder_channels.split(",")],
                "progress": False,
            },
            seed=0,
            workdir=Path(args.workdir) / "autoencoder",
        )
        autoencoder_minutes = (time.perf_counter() - start) / 60
        originals = held_out.Y
        read_original = predict(classifier, originals)
        read_reconstructed = predict(classifier, autoencoder.decode_latents(autoencoder.encode_images(originals)))
        truth = held_out.image_attributes("Y")
        results["autoencoder"] = {
            "minutes": round(autoencoder_minutes, 2),
            "parameters": sum(p.numel() for p in autoencoder.parameters()),
            "latent_shape": list(autoencoder.latent_shape),
            "originals_read": {
                a: float(np.mean(read_original[a] == truth[:, k]))
                for k, a in enumerate(napkin_mnist.ImageAttributes._fields)
            },
            "reconstructions_read": {
                a: float(np.mean(read_reconstructed[a] == truth[:, k]))
                for k, a in enumerate(napkin_mnist.ImageAttributes._fields)
            },
        }
        print(f"autoencoder: {json.dumps(results['autoencoder'])}", flush=True)

    x_attributes = held_out.image_attributes("X")
    w1_colour = held_out.hidden["W1_colour"]
    rows = {v: held_out.observed()[v] for v in conditioning}
    for label, kind, overrides in variants:
        cls, defaults = KINDS[kind]
        options = {**defaults, "cfg_dropout": args.cfg_dropout, "progress": False, **overrides}
        factor = cls(["Y"], conditioning, types, **options)
        if autoencoder is not None and kind != "pixel":
            factor.attach_autoencoders({v: ("bench", autoencoder) for v in ("W1", "X", "Y")})
        workdir = Path(args.workdir) / args.task / label.replace(",", "_").replace("=", "-")
        start = time.perf_counter()
        log = factor.fit({v: observed[v] for v in ("Y", *conditioning)}, seed=0, workdir=workdir)
        minutes = (time.perf_counter() - start) / 60
        factor.options["guidance_scale"] = args.guidance
        start = time.perf_counter()
        drawn = factor.sample(rows, args.eval_rows, seed=1)["Y"]
        sampled = time.perf_counter() - start
        read = predict(classifier, drawn)
        digit = float(np.mean(read["digit"] == x_attributes[:, 0]))
        thickness = float(np.mean(read["thickness"] == x_attributes[:, 2]))
        colour = float(np.mean(read["colour"] == w1_colour))
        all_three = float(
            np.mean(
                (read["digit"] == x_attributes[:, 0])
                & (read["thickness"] == x_attributes[:, 2])
                & (read["colour"] == w1_colour)
            )
        )
        shared = autoencoder_minutes if kind != "pixel" else 0.0
        figures = {
            "digit_copied": digit,
            "thickness_copied": thickness,
            "colour_of_w1": colour,
            "all_three": all_three,
            "train_minutes": round(minutes, 2),
            "minutes_with_autoencoder": round(minutes + shared, 2),
            "all_three_per_minute": round(all_three / max(minutes + shared, 1e-9), 4),
            "samples_per_s": log.get("samples_per_s"),
            "sample_seconds": round(sampled, 1),
            "parameters": sum(p.numel() for p in factor.denoiser.parameters()),
            "mixed_precision": log.get("mixed_precision"),
        }
        results["variants"][label] = figures
        print(f"{label:40s} " + "  ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
        _save_grid(held_out.X[:8], drawn[:8], Path(args.workdir) / f"{args.task}-{workdir.name}.png")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
