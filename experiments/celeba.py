"""CelebA faces: P(Image | do(Male = 0)) with Male ↔ Young confounded, Male → Image ← Young.

The dataset must be in the standard layout under ``data.root`` (``img_align_celeba/``,
``list_attr_celeba.txt``, ``list_eval_partition.txt``); a missing dataset stops with a message saying
where to put it. An attribute classifier trained by us on the real images reads the attributes of the
generated faces. The reference is the back-door adjustment on the attribute *labels*,
``Σ_young P(young) P(attributes | Male = 0, young)``; the baseline is the conditional model
P(Image | Male = 0), whose Young distribution follows P(Young | Male = 0) instead of P(Young).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from pipeline import ScenarioData, fit_baseline

import idgen
from idgen.datasets.celeba import load_celeba


def make_data(cfg: DictConfig) -> ScenarioData:
    attributes = list(dict.fromkeys([*cfg.data.attributes, *cfg.data.evaluation_attributes]))
    loaded = load_celeba(
        cfg.data.root,
        attributes=tuple(attributes),
        split=cfg.data.split,
        image_size=int(cfg.data.image_size),
        limit=cfg.data.limit,
    )
    table = {"Image": loaded["image"], **{a: loaded[a] for a in cfg.data.attributes}}
    labels = {a: loaded[a] for a in attributes}
    return ScenarioData(table, variable_types={a: "discrete" for a in cfg.data.attributes}, context={"labels": labels})


def _adjusted_truth(labels: dict[str, np.ndarray], attribute: str, male: int) -> float:
    """Σ_young P(young) P(attribute = 1 | Male = male, young), from the labels."""
    young = labels["Young"]
    total = 0.0
    for value in (0, 1):
        rows = (labels["Male"] == male) & (young == value)
        if rows.any():
            total += float((young == value).mean()) * float(labels[attribute][rows].mean())
    return total


def evaluate(cfg: DictConfig, network: Any, data: ScenarioData, outdir: Path) -> dict[str, Any]:
    from trainers.classifiers import predict, train_attribute_classifier

    labels = data.context["labels"]
    attributes = list(cfg.data.evaluation_attributes)
    images = np.asarray(data.table["Image"])
    classifier, report = train_attribute_classifier(
        images,
        {a: labels[a] for a in attributes},
        classes={a: 2 for a in attributes},
        steps=int(cfg.profile.classifier_steps),
        seed=int(cfg.seed),
    )
    conditional = fit_baseline(
        cfg, "conditional", idgen.ADMG(directed=[("Male", "Image")]), "P(Image | do(Male))", data
    )
    n = int(cfg.profile.eval_samples)
    result: dict[str, Any] = {"classifier_held_out_accuracy": report["held_out_accuracy"], "per_intervention": []}
    for male in cfg.query["values"]["Male"]:
        entry: dict[str, Any] = {"do_Male": int(male)}
        for name, model in (("idgen", network), ("conditional", conditional)):
            drawn = model.sample(n, do={"Male": int(male)}, seed=int(cfg.seed))["Image"].numpy()
            predicted = predict(classifier, np.clip(drawn, 0, 1))
            for attribute in attributes:
                entry[f"{name} P({attribute}=1)"] = float(np.mean(predicted[attribute]))
            _grid(drawn[:16], outdir / f"samples_{name}_male{male}.png")
        for attribute in attributes:
            truth = _adjusted_truth(labels, attribute, int(male))
            entry[f"reference P({attribute}=1)"] = truth
            for name in ("idgen", "conditional"):
                entry[f"{name} |error| {attribute}"] = abs(entry[f"{name} P({attribute}=1)"] - truth)
        result["per_intervention"].append(entry)
    return result


def _grid(images: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(8, len(images))
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns, rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, images, strict=False):
        ax.imshow(np.clip(np.transpose(image, (1, 2, 0)), 0, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
