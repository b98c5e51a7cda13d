"""Benchmark: a log-normal outcome (~100 to ~30,000) through mlp-diffusion, with and without the transform.

The front-door table of :mod:`idgen.datasets.purchases` without its positivity hole (so the exact
E[Y | do(t)] is the estimand's value). For each ``target_transform`` it prints

* E[Y | do(T = t)] sampled from the network next to the exact truth (goal: within 2 %), and the
  front-door plug-in of the rows themselves (how close the data alone gets);
* for every factor of Y, the mean of the model's samples in each parent cell next to the mean of the
  rows it was trained on (goal: within 2 %).

Usage: ``.venv/bin/python bench/skewed_outcome.py [--rows 20000] [--steps 3000] [--samples 40000] [--seed 0]``
``[--transforms auto,none] [--samplers auto,sde-dpm-solver++]``.
Writes ``bench/results/skewed_outcome.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import idgen
from idgen.datasets import purchases as scenario


def cell_means(network: Any, workdir: Path, data: Any, samples: int, sampler: str) -> list[dict[str, Any]]:
    """Per factor of the outcome and parent cell: the model's sample mean (drawn with ``sampler``) vs its
    training rows' mean."""
    from safetensors.numpy import load_file

    plan = idgen.compile(scenario.GRAPH, scenario.QUERY)
    log = json.loads((workdir / "fit_log.json").read_text())
    rows = []
    for task in plan.tasks:
        if task.targets != (scenario.OUTCOME,):
            continue
        if task.source == "observed":
            table = {c: data[c].to_numpy() for c in data.columns}
        else:
            table = load_file(str(workdir / log["datasets"][task.source] / "data.safetensors"))
        factor = _fitted_factor(network, workdir, task)
        factor.options["sampler"] = sampler  # a factor loaded from disk samples as it was saved
        outcome = np.asarray(table[scenario.OUTCOME], dtype=np.float64).reshape(-1)
        for config in itertools.product((0, 1), repeat=len(task.conditioning)):
            mask = np.ones(len(outcome), dtype=bool)
            for variable, value in zip(task.conditioning, config, strict=True):
                mask &= np.asarray(table[variable]).reshape(-1) == value
            if mask.sum() < 200:
                continue
            given = {
                v: np.full(samples, value, dtype=np.int64) for v, value in zip(task.conditioning, config, strict=True)
            }
            drawn = factor.sample(given, samples, seed=1)[scenario.OUTCOME].reshape(-1)
            data_mean, model_mean = float(outcome[mask].mean()), float(drawn.mean())
            rows.append(
                {
                    "factor": task.describe(),
                    "cell": dict(zip(task.conditioning, config, strict=True)),
                    "rows": int(mask.sum()),
                    "data_mean": data_mean,
                    "model_mean": model_mean,
                    "relative_error": model_mean / data_mean - 1,
                }
            )
    return rows


def _fitted_factor(network: Any, workdir: Path, task: Any) -> Any:
    from trainers.base import load_factor

    if task.id in network.factors:
        return network.factors[task.id]
    folder = next(
        p for p in (workdir / "tasks").iterdir() if p.name.startswith(task.id + "-") and (p / "factor.json").is_file()
    )
    return load_factor(folder)


def plug_in(data: Any, treatment: int) -> float:
    """The data's own front-door estimate: Σ_g P(g) Σ_m P(m | t, g) Σ_t' P(t' | g) mean(Y | g, t', m).

    The sampled effect cannot be closer to the truth than the rows allow; this is that reference.
    """
    g, t, m, y = (
        data[c].to_numpy() for c in (scenario.COVARIATE, scenario.TREATMENT, scenario.MEDIATOR, scenario.OUTCOME)
    )
    total = 0.0
    for covariate in (0, 1):
        in_g = g == covariate
        for mediator in (0, 1):
            p_m = float((m[in_g & (t == treatment)] == mediator).mean())
            inner = sum(
                float((t[in_g] == other).mean()) * float(y[in_g & (t == other) & (m == mediator)].mean())
                for other in (0, 1)
            )
            total += float(in_g.mean()) * p_m * inner
    return total


def run(transform: str, sampler: str, data: Any, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One transform and sampler; models already in ``workdir`` (same transform, other sampler) are reused."""
    plan = idgen.compile(scenario.GRAPH, scenario.QUERY)
    start = time.perf_counter()
    network = idgen.fit(
        plan,
        data,
        workdir=workdir,
        steps=args.steps,
        target_transform=transform,
        sampler=sampler,
        progress=False,
        verbose=False,
    )
    fit_seconds = time.perf_counter() - start
    effects = []
    for t in (0, 1):
        drawn = network.sample(args.samples, do={scenario.TREATMENT: t}, seed=t)[scenario.OUTCOME].to_numpy()
        exact = scenario.truth(t, hole=False)
        reference = plug_in(data, t)
        effects.append(
            {
                "do": t,
                "sampled": float(drawn.mean()),
                "monte_carlo_se": float(drawn.std() / np.sqrt(len(drawn))),
                "truth": exact,
                "relative_error": float(drawn.mean() / exact - 1),
                "plug_in": reference,
                "plug_in_relative_error": reference / exact - 1,
            }
        )
    cells = cell_means(network, workdir, data, args.samples, sampler)
    return {
        "transform": transform,
        "sampler": sampler,
        "fit_seconds": round(fit_seconds, 1),
        "effects": effects,
        "cells": cells,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the table")
    parser.add_argument("--transforms", default="auto,none", help="comma-separated target_transform values")
    parser.add_argument(
        "--samplers", default="auto", help="comma-separated samplers; each reuses its transform's trained models"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "skewed_outcome.json"))
    args = parser.parse_args()
    data = scenario.purchases(args.rows, seed=args.seed, hole=False)
    y = data[scenario.OUTCOME]
    print(
        f"{args.rows:,} rows; {scenario.OUTCOME}: 1%–99% {y.quantile(0.01):,.0f}–{y.quantile(0.99):,.0f}, "
        f"max {y.max():,.0f}"
    )
    results = []
    for transform in args.transforms.split(","):
        with tempfile.TemporaryDirectory() as folder:
            for sampler in args.samplers.split(","):
                result = run(transform.strip(), sampler.strip(), data, args, Path(folder))
                results.append(result)
                report(result, args)
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {"rows": args.rows, "seed": args.seed, "steps": args.steps, "samples": args.samples, "results": results},
            indent=1,
            default=float,
        )
    )
    print(f"wrote {out}")


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    """Print one transform and sampler's figures."""
    print(
        f"\ntarget_transform={result['transform']!r}, sampler={result['sampler']!r} "
        f"(fit {result['fit_seconds']} s, {args.steps} steps; a later sampler reuses the models)"
    )
    for effect in result["effects"]:
        print(
            f"  E[Y | do(T={effect['do']})]: sampled {effect['sampled']:,.1f} (MC s.e. "
            f"{effect['monte_carlo_se']:,.1f})  truth {effect['truth']:,.1f}  error "
            f"{100 * effect['relative_error']:+.2f} %  (the rows' plug-in {effect['plug_in']:,.1f}: "
            f"{100 * effect['plug_in_relative_error']:+.2f} %)"
        )
    for cell in result["cells"]:
        described = ", ".join(f"{k}={v}" for k, v in cell["cell"].items())
        print(
            f"  {cell['factor']} at {described} ({cell['rows']:,} rows): model {cell['model_mean']:,.1f}  "
            f"data {cell['data_mean']:,.1f}  error {100 * cell['relative_error']:+.2f} %"
        )
    worst = max(abs(e["relative_error"]) for e in result["effects"] + result["cells"])
    print(f"  worst relative error {100 * worst:.2f} % (goal 2 %)")


if __name__ == "__main__":
    main()
