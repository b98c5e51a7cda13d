"""Benchmark: how well ``unet-diffusion`` copies traits of an image parent, per conditioning choice.

On Napkin-MNIST Y copies X's digit (with label noise) and thickness and, given W1, W1's colour; X is
rotated by 90 degrees and Y reflected, so the digit must be *recognised* in X, not copied pixel by pixel.
This is what the factors P(Y | W1, W2, X) and P(Y | X) of the napkin plan must learn. For each variant
the script trains one UNet on the observational data (profile-sized), samples Y for held-out conditioning
rows (a dataset drawn with another seed), reads the samples with the cached attribute classifier and
reports the fraction of samples whose digit / thickness equals X's and whose colour equals W1's, next to
the ceilings the label noise allows (digit and colour ``1 - 0.9 * noise``, thickness 1).

A variant is ``image_conditioning[,option=value...]``, e.g. ``both,cfg_dropout=0.1``; a variant trained with
``cfg_dropout`` is sampled at each of the ``--guidance`` scales.

Usage: ``.venv/bin/python bench/image_conditioning.py --task y_given_w1_w2_x --variant concat --variant both``
(each variant trains for ``--steps`` steps: ~0.25 s per step at 20x20 on this machine's 2 cores).
Prints the figures and writes ``bench/results/image_conditioning.json``.
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

from idgen.data import infer_types
from idgen.datasets import napkin_mnist
from trainers.classifiers import napkin_attribute_classifier, predict
from trainers.diffusion import UNetDiffusion

TASKS = {"y_given_x": ("X",), "y_given_w1_w2_x": ("W1", "W2", "X")}


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``"both,cfg_dropout=0.1"`` -> ``("both", {"image_conditioning": "both", "cfg_dropout": 0.1})``."""
    head, *rest = text.split(",")
    options: dict[str, Any] = {"image_conditioning": head}
    for item in rest:
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"variant {text!r}: expected option=value, got {item!r}")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return text, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="y_given_w1_w2_x")
    parser.add_argument("--variant", action="append", default=None, help="repeatable; default: concat and both")
    parser.add_argument("--image-size", type=int, default=20)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--channels", default="32,64,64")
    parser.add_argument("--eval-rows", type=int, default=500)
    parser.add_argument("--guidance", default="1,2,3", help="guidance scales for variants trained with cfg_dropout")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    parser.add_argument("--cache-dir", default="runs/cache/napkin_mnist")
    parser.add_argument("--workdir", default="runs/bench_image_conditioning", help="checkpoints (resumable)")
    parser.add_argument("--output", default="bench/results/image_conditioning.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [parse_variant(v) for v in (args.variant or ["concat", "both"])]

    def dataset(rows: int, seed: int) -> napkin_mnist.NapkinMNISTData:
        config = napkin_mnist.NapkinMNISTConfig(
            image_size=args.image_size, n_samples=rows, seed=seed, cache_dir=args.cache_dir
        )
        return napkin_mnist.generate(config)

    train, held_out = dataset(args.rows, 0), dataset(args.eval_rows, 12345)
    classifier, accuracy = napkin_attribute_classifier(
        args.image_size, napkin_mnist.IMAGE_TRANSFORMS["Y"], Path(args.cache_dir) / "classifiers", steps=1500, seed=0
    )
    conditioning = TASKS[args.task]
    types = infer_types(train.observed(), {"W2": "discrete"})
    noise = train.config.label_noise
    results: dict[str, Any] = {
        "task": f"P(Y | {', '.join(conditioning)})",
        "settings": {k: v for k, v in vars(args).items() if k != "variant"},
        "classifier_held_out_accuracy": accuracy,
        "ceilings": {"digit": 1 - 0.9 * noise, "thickness": 1.0, "colour": 1 - 0.9 * noise},
        "machine": platform.processor() or platform.machine(),
        "variants": {},
    }
    print(f"task {results['task']}; classifier held-out accuracy {accuracy}")
    x_attributes = held_out.image_attributes("X")
    w1_colour = held_out.hidden["W1_colour"]
    for name, options in variants:
        factor = UNetDiffusion(
            ["Y"],
            conditioning,
            types,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            block_out_channels=[int(c) for c in args.channels.split(",")],
            progress=False,
            **options,
        )
        workdir = Path(args.workdir) / args.task / name.replace(",", "_").replace("=", "-")
        start = time.perf_counter()
        factor.fit(train.observed(), seed=0, workdir=workdir)
        trained = time.perf_counter() - start
        rows = {v: held_out.observed()[v] for v in conditioning}
        scales = [float(g) for g in args.guidance.split(",")] if options.get("cfg_dropout", 0) > 0 else [None]
        for scale in scales:
            label = name if scale is None else f"{name} @guidance {scale:g}"
            if scale is not None:
                factor.options["guidance_scale"] = scale
            start = time.perf_counter()
            drawn = factor.sample(rows, args.eval_rows, seed=1)["Y"]
            sampled = time.perf_counter() - start
            read = predict(classifier, drawn)
            figures = {
                "digit_copied": float(np.mean(read["digit"] == x_attributes[:, 0])),
                "thickness_copied": float(np.mean(read["thickness"] == x_attributes[:, 2])),
                "colour_of_w1": float(np.mean(read["colour"] == w1_colour)),
                "train_seconds": round(trained, 1),
                "sample_seconds": round(sampled, 1),
                "parameters": sum(p.numel() for p in factor.denoiser.parameters()),
            }
            results["variants"][label] = figures
            print(f"{label:48s} " + "  ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
            suffix = "" if scale is None else f"-g{scale:g}"
            _save_grid(held_out.X[:8], drawn[:8], Path(args.workdir) / f"{args.task}-{workdir.name}{suffix}.png")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"wrote {output}")


def _save_grid(conditions: np.ndarray, drawn: np.ndarray, path: Path) -> None:
    """Two rows: the conditioning X images, then the Y drawn for each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(conditions), figsize=(len(conditions) * 0.9, 2.0), squeeze=False)
    for column in range(len(conditions)):
        for row, image in enumerate((conditions[column], drawn[column])):
            axes[row][column].imshow(np.transpose(np.clip(image, 0, 1), (1, 2, 0)))
            axes[row][column].axis("off")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
