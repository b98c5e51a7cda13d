"""The experiment pipeline end to end on the smoke profile (checks plumbing and outputs, not quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *overrides: str) -> dict:  # type: ignore[type-arg]
    import pipeline

    monkeypatch.chdir(tmp_path)
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*overrides, f"artifacts={tmp_path / 'artifacts'}"])
    return pipeline.run(cfg)


def test_frontdoor_discrete_smoke_writes_plan_metrics_and_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = _run(tmp_path, monkeypatch, "experiment=frontdoor_discrete")
    for name in ("plan.txt", "plan.json", "plan.png", "metrics.json", "effects.png"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["lines"] == [4, 2, 6, 7, 2, 1]
    effects = metrics["average_causal_effect"]
    assert set(effects) == {"truth", "idgen", "conditional P(Y|X)", "confounder-blind chain"}
    # even at smoke size the naive conditional is far off while idgen is in the right region
    assert abs(effects["conditional P(Y|X)"] - effects["truth"]) > 0.3
    assert abs(effects["idgen"] - effects["truth"]) < 0.2
    assert (tmp_path / "artifacts" / "network" / "network.json").is_file()


def test_frontdoor_continuous_smoke_reports_effects_next_to_truth_and_naive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = _run(tmp_path, monkeypatch, "experiment=frontdoor_continuous")
    assert (tmp_path / "effects.png").is_file()
    rows = metrics["per_intervention"]
    # the analytic truth and naive answers of this SCM: E[Y | do(x)] = 2 P(M = 1 | x)
    assert [round(r["truth E[Y|do(x)]"], 6) for r in rows] == [0.3, 1.6]
    assert rows[1]["analytic E[Y|X=x]"] - rows[0]["analytic E[Y|X=x]"] > 2.5
    effects = metrics["average_causal_effect"]
    assert set(effects) == {"truth", "idgen", "conditional P(Y|X)", "confounder-blind chain"}
    # the naive conditional learns the confounded contrast (≈ 3.0) even at smoke size
    assert effects["conditional P(Y|X)"] > 2.0
    backends = {entry["backend"] for entry in metrics["fit_log"]["tasks"]}
    assert backends == {"tabular", "mlp-diffusion"}


def test_napkin_mnist_smoke_writes_grid_bars_and_every_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = _run(tmp_path, monkeypatch, "experiment=napkin_mnist")
    for name in ("plan.txt", "plan.png", "metrics.json", "samples.png", "tvd.png"):
        assert (tmp_path / name).is_file(), name
    assert metrics["lines"] == [3, 7, 2, 6] and metrics["tasks"] == 5  # the four factors and the autoencoder
    assert len(metrics["per_intervention"]) == 4
    report = metrics["synthetic_data"]  # D' read back by the classifier, each rate next to the SCM's value
    assert report["rows_read"] == 1000 and report["Y_colour_group_matches_X"]["truth"] == 0.5
    assert report["Y_digit_matches_X"]["truth"] == pytest.approx(0.91) and report["X_digit_matches_W2"]["truth"] == 1
    assert all(0.0 <= entry["rate"] <= 1.0 for entry in report.values() if isinstance(entry, dict))
    for key in ("idgen_tvd_do", "conditional_tvd_do", "idgen_fid", "conditional_fid", "truth_sample_tvd_floor"):
        assert 0.0 <= metrics["mean"][key] < float("inf"), key
    for key in ("idgen_digit_matches_x", "conditional_thickness_matches_x", "truth_digit_matches_x"):
        assert 0.0 <= metrics["mean"][key] <= 1.0, key
    # truth: Y copies X's digit unless the label noise (0.1) redraws it, and always copies its thickness
    assert metrics["mean"]["truth_digit_matches_x"] == pytest.approx(0.91)
    assert metrics["mean"]["truth_thickness_matches_x"] == pytest.approx(1.0)
    # the spurious and the causal answer differ: the evaluation can tell the two apart
    assert metrics["mean"]["truth_do_vs_conditional_tvd"] > 0.2
    assert set(metrics["classifier_held_out_accuracy"]) == {"digit", "colour", "thickness"}
    assert "same compiled task = True" in metrics["confounder_blind_chain"]
    assert metrics["paper"]["attribute_tvd"] == 0.25
    assert [entry["backend"] for entry in metrics["fit_log"]["tasks"]] == ["autoencoder"] + ["latent-diffusion"] * 4
    gate = metrics["reconstruction_gate"]  # held-out digits read by the classifier, originals vs reconstructions
    assert set(gate["ratio"]) == {"digit", "colour", "thickness"} and isinstance(gate["passed"], bool)
    assert isinstance(report["passed"], bool) and report["threshold"] == 0.9
    # the conditional baseline trained on the very same autoencoder (loaded, not retrained)
    baseline_log = json.loads((tmp_path / "artifacts" / "baselines" / "conditional" / "fit_log.json").read_text())
    assert [entry.get("resumed", False) for entry in baseline_log["tasks"]] == [True, False]


def test_celeba_smoke_on_a_fixture_in_the_standard_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idgen.datasets.celeba import write_celeba_fixture

    root = write_celeba_fixture(tmp_path / "celeba", n=60, seed=0)
    metrics = _run(tmp_path, monkeypatch, "experiment=celeba", f"data.root={root}", "data.split=all")
    assert metrics["lines"] and metrics["tasks"] >= 2
    (entry,) = metrics["per_intervention"]
    assert entry["do_Male"] == 0
    for attribute in ("Male", "Young", "Gray_Hair", "Eyeglasses"):
        for name in ("idgen", "conditional", "reference"):
            assert 0.0 <= entry[f"{name} P({attribute}=1)"] <= 1.0
    assert (tmp_path / "samples_idgen_male0.png").is_file() and (tmp_path / "samples_conditional_male0.png").is_file()


def test_celeba_without_the_dataset_says_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import idgen

    with pytest.raises(idgen.IdgenError, match="list_attr_celeba.txt"):
        _run(tmp_path, monkeypatch, "experiment=celeba", f"data.root={tmp_path / 'nowhere'}")
