"""Sweep the sampling guidance of P(Y | X) on a fitted Napkin-MNIST run, on *validation* interventions.

Guidance is a sampling option (no retraining), so one fitted run can be read at several scales. The
intervention images here are other MNIST exemplars (``--seed``, default 1) of the held-out digits than the
experiment's evaluation images (seed 0), so a scale chosen here is not chosen on the reported figures.
For each scale it prints, for idgen and the conditional baseline, the mean joint attribute TVD to the exact
P(Y attrs | do(X = x)), the colour-marginal TVD and how often Y's digit / thickness match X's.

Usage (after ``experiments/run.py experiment=napkin_mnist profile=cpu artifacts=RUN``)::

    .venv/bin/python bench/napkin_guidance.py --artifacts RUN --cache-dir RUN_CACHE --scales 1,1.5,2,2.5,3

Writes ``bench/results/napkin_guidance.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", required=True, help="the run's artifacts folder (holds network/)")
    parser.add_argument("--cache-dir", default="runs/cache/napkin_mnist", help="the run's data.cache_dir")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--scales", default="1,1.5,2,2.5,3")
    parser.add_argument("--seed", type=int, default=1, help="which exemplars of the held-out digits to intervene with")
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--output", default="bench/results/napkin_guidance.json")
    args = parser.parse_args()
    sys.path.insert(0, str(REPOSITORY / "experiments"))
    import napkin_mnist as scenario
    import pipeline
    from hydra import compose, initialize_config_dir

    import idgen
    from idgen.datasets import napkin_mnist
    from trainers.classifiers import predict

    with initialize_config_dir(config_dir=str(REPOSITORY / "configs"), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "experiment=napkin_mnist",
                f"profile={args.profile}",
                f"artifacts={args.artifacts}",
                f"data.cache_dir={args.cache_dir}",
            ],
        )
    data = scenario.make_data(cfg)
    networks = {
        "idgen": idgen.SamplingNetwork.load(Path(args.artifacts) / "network"),
        "conditional": pipeline.fit_baseline(
            cfg, "conditional", idgen.ADMG(directed=[("X", "Y")]), cfg.query.text, data
        ),
    }
    classifier, _ = scenario._classifier(cfg)
    config = data.context["config"]
    allowed = napkin_mnist.held_out_digit_mask(scenario._held_out_fraction(cfg), 0)
    images, rows = napkin_mnist.intervention_images(
        int(cfg.data.image_size), napkin_mnist.INTERVENTION_ATTRIBUTES, seed=args.seed, allowed=allowed
    )
    results: dict[str, Any] = {"artifacts": args.artifacts, "seed": args.seed, "scales": {}}
    for scale in (float(s) for s in args.scales.split(",")):
        row: dict[str, Any] = {}
        for name, network in networks.items():
            (factor,) = network.factors.values()
            factor.options["guidance_scale"] = scale
            tvd, colour, digit, thickness = [], [], [], []
            for k, (image, attributes) in enumerate(zip(images, rows, strict=True)):
                truth = napkin_mnist.true_interventional_attributes(tuple(int(a) for a in attributes), config)
                drawn = np.clip(network.sample(args.samples, do={"X": image}, seed=k)["Y"].numpy(), 0, 1)
                read = predict(classifier, drawn)
                predicted = np.stack([read[a] for a in napkin_mnist.ImageAttributes._fields], axis=1)
                tvd.append(napkin_mnist.attribute_tvd(predicted, truth))
                colour.append(scenario._marginal_tvd(predicted, truth, axis=1))
                digit.append(float(np.mean(predicted[:, 0] == attributes[0])))
                thickness.append(float(np.mean(predicted[:, 2] == attributes[2])))
            row[name] = {
                "tvd": float(np.mean(tvd)),
                "colour_tvd": float(np.mean(colour)),
                "digit_matches_x": float(np.mean(digit)),
                "thickness_matches_x": float(np.mean(thickness)),
            }
        results["scales"][str(scale)] = row
        print(
            f"guidance {scale:4g}: "
            + "   ".join(
                f"{name} TVD {r['tvd']:.3f} colour {r['colour_tvd']:.3f} digit {r['digit_matches_x']:.2f} "
                f"thickness {r['thickness_matches_x']:.2f}"
                for name, r in row.items()
            ),
            flush=True,
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
