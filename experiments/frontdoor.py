"""Front-door scenarios: X → M → Y with a hidden confounder U of X and Y, and exact answers.

``frontdoor_discrete``
    binary X, M, Y; the truth is enumerated from the SCM (:class:`idgen.scm.DiscreteSCM`).
``frontdoor_continuous``
    binary X and M, continuous Y = 2·M + 1.5·U + noise with U ~ N(0, 1) and X = 1[U + noise > 0];
    E[Y | do(X = x)] = 2·P(M = 1 | x) exactly, while the naive regression E[Y | X = x] adds 1.5·E[U | x].

Both report idgen's estimate next to the truth, the naive conditional (a plain conditional model of Y
given X) and the confounder-blind chain that ignores the bidirected edge (the DCM assumption), which on
this graph differs from the naive conditional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from pipeline import ScenarioData, fit_baseline, load_graph
from scipy.stats import norm

import idgen
from idgen.scm import DiscreteSCM, Joint

#: P(M = 1 | X = x) in both scenarios
MEDIATOR = np.array([0.15, 0.8])


def discrete_scm(graph: idgen.ADMG) -> DiscreteSCM:
    """Binary front-door SCM with strong confounding: U pushes both X and Y up."""

    def bernoulli(p_one: np.ndarray) -> np.ndarray:
        return np.stack([1 - p_one, p_one], axis=-1)

    return DiscreteSCM(
        graph,
        cpts={
            "X": bernoulli(np.array([0.1, 0.9])),  # axis: U
            "M": bernoulli(MEDIATOR),  # axis: X
            "Y": bernoulli(np.array([[0.1, 0.7], [0.3, 0.9]])),  # axes: M, U
        },
        latent_priors={("X", "Y"): np.array([0.5, 0.5])},
    )


def make_data(cfg: DictConfig) -> ScenarioData:
    graph = load_graph(cfg)
    rows = int(cfg.data.rows)
    if cfg.data.kind == "frontdoor_discrete":
        scm = discrete_scm(graph)
        return ScenarioData(scm.sample(rows, seed=cfg.seed), context={"scm": scm})
    rng = np.random.default_rng(cfg.seed)
    confounder = rng.normal(size=rows)
    treatment = (confounder + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    mediator = (rng.random(rows) < MEDIATOR[treatment]).astype(np.int64)
    outcome = (2.0 * mediator + 1.5 * confounder + rng.normal(scale=0.5, size=rows)).astype(np.float32)
    return ScenarioData({"X": treatment, "M": mediator, "Y": outcome}, variable_types={"Y": "continuous"})


def continuous_truth(x: int) -> float:
    """E[Y | do(X = x)] = 2·P(M = 1 | x) (U has mean zero and is independent of do(X))."""
    return float(2.0 * MEDIATOR[x])


def continuous_naive(x: int) -> float:
    """E[Y | X = x] = 2·P(M = 1 | x) + 1.5·E[U | X = x], with X = 1[U + N(0, 0.25) > 0]."""
    scale = np.sqrt(1 + 0.25)
    mean_u_given_one = (1 / scale) * norm.pdf(0) / 0.5  # E[U | U + e > 0] = Cov(U, U+e)/sd · φ(0)/Φ(0)
    return continuous_truth(x) + 1.5 * (mean_u_given_one if x == 1 else -mean_u_given_one)


def evaluate(cfg: DictConfig, network: Any, data: ScenarioData, outdir: Path) -> dict[str, Any]:
    graph = load_graph(cfg)
    n = int(cfg.profile.eval_samples)
    naive_network = fit_baseline(cfg, "conditional", idgen.ADMG(directed=[("X", "Y")]), "P(Y | do(X))", data)
    blind_graph = idgen.ADMG(directed=graph.directed)
    blind_network = fit_baseline(cfg, "confounder_blind", blind_graph, "P(Y | do(X))", data)
    estimators = {"idgen": network, "conditional P(Y|X)": naive_network, "confounder-blind chain": blind_network}
    rows = []
    for x in (0, 1):
        row: dict[str, Any] = {"x": x}
        for name, model in estimators.items():
            samples = model.sample(n, do={"X": x}, seed=cfg.seed + x)
            if cfg.data.kind == "frontdoor_discrete":
                truth = data.context["scm"].interventional(["Y"], do={"X": x})
                row["truth P(Y=1|do(x))"] = truth.probability({"Y": 1})
                estimate = Joint.from_samples(samples, ["Y"], {"Y": 2})
                row[f"{name} P(Y=1)"] = estimate.probability({"Y": 1})
                row[f"{name} TVD"] = estimate.tvd(truth)
            else:
                row["truth E[Y|do(x)]"] = continuous_truth(x)
                row["analytic E[Y|X=x]"] = continuous_naive(x)
                row[f"{name} E[Y]"] = float(np.mean(samples["Y"]))
        rows.append(row)
    key = "P(Y=1)" if cfg.data.kind == "frontdoor_discrete" else "E[Y]"
    truth_key = "truth P(Y=1|do(x))" if cfg.data.kind == "frontdoor_discrete" else "truth E[Y|do(x)]"
    effects = {"truth": rows[1][truth_key] - rows[0][truth_key]}
    for name in estimators:
        effects[name] = rows[1][f"{name} {key}"] - rows[0][f"{name} {key}"]
    metrics: dict[str, Any] = {"per_intervention": rows, "average_causal_effect": effects}
    metrics["relative_effect_error"] = {
        name: abs(effects[name] - effects["truth"]) / abs(effects["truth"]) for name in estimators
    }
    _plot(effects, outdir / "effects.png", key)
    return metrics


def _plot(effects: dict[str, float], path: Path, key: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 3))
    names = list(effects)
    ax.bar(names, [effects[k] for k in names], color=["black", "tab:green", "tab:red", "tab:orange"][: len(names)])
    ax.set_ylabel(f"effect on {key}: do(X=1) − do(X=0)")
    ax.set_title("front-door: average causal effect")
    ax.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
