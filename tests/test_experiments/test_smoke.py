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
