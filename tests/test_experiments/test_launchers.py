"""Scaling out the experiment stages: the ``executor`` config group, the SLURM launcher configs for the
stage-wise train.py (one job per task) and the per-stage resource groups compile.py prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

import idgen

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def _compose(*overrides: str, hydra_config: bool = False) -> Any:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_config)


@pytest.mark.parametrize(("launcher", "target"), [("slurm", "SlurmLauncher"), ("slurm_local", "LocalLauncher")])
def test_launcher_configs_take_their_resources_from_launch(launcher: str, target: str) -> None:
    cfg = _compose(f"hydra/launcher={launcher}", "launch.num_gpus=2", "launch.num_cpus=8", hydra_config=True)
    settings = cfg.hydra.launcher
    assert settings._target_.endswith(target)
    assert (settings.gpus_per_node, settings.cpus_per_task, settings.tasks_per_node) == (2, 8, 1)
    assert settings.timeout_min == cfg.launch.timeout_min and settings.mem_gb == cfg.launch.mem_gb


def test_fit_plan_hands_the_executor_group_to_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(idgen, "fit", lambda *args, **kwargs: calls.append(kwargs))
    cfg = _compose("experiment=frontdoor_discrete", "executor=ray", "executor.max_retries=5")
    plan = idgen.compile(pipeline.load_graph(cfg), cfg.query.text)
    data = pipeline.ScenarioData(table=None)
    pipeline.fit_plan(cfg, plan, data)
    pipeline.fit_plan(cfg, plan, data, tasks=[plan.tasks[0].id])  # one train.py job: its task, in-process
    assert calls[0]["executor"] == "ray"
    assert calls[0]["executor_options"] == {"address": None, "num_cpus": None, "num_gpus": None, "max_retries": 5}
    assert calls[1]["executor"] == "serial" and calls[1]["executor_options"] is None


def test_launch_groups_split_each_stage_by_the_resources_its_tasks_ask_for() -> None:
    import pipeline

    cfg = _compose("experiment=frontdoor_discrete", "+backend.by_variable.Y.num_gpus=1")
    plan = idgen.compile(pipeline.load_graph(cfg), cfg.query.text)
    rng = np.random.default_rng(0)
    table = {v: rng.integers(0, 2, size=50) for v in ("X", "M", "Y")}  # discrete: every task is tabular
    groups = pipeline.launch_groups(cfg, plan, pipeline.ScenarioData(table=table))
    described = [
        [(r["num_gpus"], sorted(plan.task(t).describe() for t in ids)) for r, ids in stage] for stage in groups
    ]
    assert described == [[(0, ["P(M | X)", "P(X)"]), (1, ["P(Y | X, M)"])], [(1, ["P(Y | M)"])]]


@pytest.mark.slow
def test_submitit_local_launcher_trains_a_stage_one_job_per_task(tmp_path: Path) -> None:
    import pipeline

    cfg = _compose("experiment=frontdoor_discrete")
    first_stage = idgen.compile(pipeline.load_graph(cfg), cfg.query.text).stages()[0]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            str(REPO / "experiments" / "train.py"),
            "--multirun",
            "hydra/launcher=slurm_local",
            "experiment=frontdoor_discrete",
            f"artifacts={tmp_path / 'artifacts'}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            f"task={','.join(first_stage)}",
        ],
        check=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    fitted = {p.parent.name.split("-")[0] for p in (tmp_path / "artifacts" / "tasks").glob("*/factor.json")}
    assert fitted == set(first_stage)
    jobs = list((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))
    assert len(jobs) == len(first_stage)  # one submitit job per task
