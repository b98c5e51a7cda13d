"""``fit(..., executor="ray")`` on a local 2-CPU Ray cluster: same artifacts as the serial fit, retries,
a killed worker's task resuming from its checkpoint, resources from the option groups, one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import idgen
from idgen.errors import IdgenError
from idgen.runtime.executors import check_executor, task_resources
from idgen.runtime.fit import factor_key
from idgen.scm import DiscreteSCM

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
NAPKIN = idgen.ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
TINY_MLP = {"steps": 60, "checkpoint_every": 10, "width": 32, "depth": 1, "batch_size": 64, "sampler_steps": 4}


def _first_attempt(workdir: Path | None, marker: str) -> bool:
    """True the first time a task's private work folder is asked (leaves ``marker`` there), False after."""
    assert workdir is not None
    path = Path(workdir) / marker
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return True


def _register_test_backends() -> None:
    """Backends that fail on purpose; registered here and, as Ray's worker setup hook, in every worker."""
    from trainers.base import _BACKENDS, register_backend
    from trainers.tabular import TabularModel

    if "flaky-tabular" in _BACKENDS:
        return

    class FlakyTabular(TabularModel):
        """Raises on the first attempt at each task (a marker in the task's private work folder), then fits."""

        backend = "flaky-tabular"
        default_options = {"progress": False}  # the fit passes it to every backend but "tabular"

        def fit(self, table: Any, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
            if _first_attempt(workdir, "raised-once"):
                raise RuntimeError("a transient failure")
            return super().fit(table, seed=seed, workdir=workdir)

    class BrokenTabular(TabularModel):
        backend = "broken-tabular"
        default_options = {"progress": False}

        def fit(self, table: Any, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
            raise RuntimeError("this task always fails\nwith a second line nobody needs")

    register_backend(FlakyTabular)
    register_backend(BrokenTabular)


def _register_killed_once_backend() -> None:
    """``mlp-diffusion`` whose worker process is killed (SIGKILL) right after its first checkpoint, once."""
    from trainers.base import _BACKENDS, get_backend, register_backend

    if "killed-once-mlp" in _BACKENDS:
        return

    def kill_after_first_checkpoint(workdir: Path) -> None:
        while not any(p.name.startswith("step-") for p in (workdir / "checkpoints").glob("step-*")):
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGKILL)

    class KilledOnce(get_backend("mlp-diffusion")):  # type: ignore[misc, valid-type]
        backend = "killed-once-mlp"

        def fit(self, table: Any, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
            if _first_attempt(workdir, "killed-once"):
                assert workdir is not None
                threading.Thread(target=kill_after_first_checkpoint, args=(Path(workdir),), daemon=True).start()
            return super().fit(table, seed=seed, workdir=workdir)

    register_backend(KilledOnce)


def _worker_setup() -> None:
    _register_test_backends()
    if os.environ.get("IDGEN_TEST_KILLED_ONCE"):  # only the cluster of the slow tests: it imports torch
        _register_killed_once_backend()


def _start_cluster(killed_once_backend: bool) -> None:
    """A local 2-CPU cluster whose workers get the test backends through Ray's worker setup hook."""
    from ray import cloudpickle  # Ray's own copy pickles the setup hook

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    if ray.is_initialized():
        ray.shutdown()
    env = {"PYTHONPATH": str(REPO)}  # workers import this checkout, whatever folder pytest started in
    if killed_once_backend:
        env["IDGEN_TEST_KILLED_ONCE"] = "1"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"worker_process_setup_hook": _worker_setup, "env_vars": env},
    )


@pytest.fixture(scope="module")
def cluster() -> Any:
    _register_test_backends()
    _start_cluster(killed_once_backend=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def torch_cluster() -> Any:
    """For the slow tests at the end of this file: a fresh cluster that also has ``killed-once-mlp``."""
    _register_test_backends()
    _register_killed_once_backend()
    _start_cluster(killed_once_backend=True)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def napkin_data() -> pd.DataFrame:
    return DiscreteSCM.random(NAPKIN, seed=1).sample(5_000, seed=1)


def _artifacts(workdir: Path) -> dict[str, str]:
    """sha256 of every fitted factor file and synthetic dataset under ``workdir`` (logs left out)."""
    return {
        str(path.relative_to(workdir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("tasks", "datasets")
        for path in sorted((workdir / folder).rglob("*"))
        if path.is_file() and ".work" not in str(path) and path.name != "log.json"
    }


@pytest.fixture(scope="module")
def napkin_fits(cluster: Any, napkin_data: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Any:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    serial_dir, ray_dir = tmp_path_factory.mktemp("serial"), tmp_path_factory.mktemp("ray")
    serial = idgen.fit(plan, napkin_data, backend="tabular", workdir=serial_dir, seed=3)
    on_ray = idgen.fit(plan, napkin_data, backend="tabular", workdir=ray_dir, seed=3, executor="ray")
    return serial, on_ray, serial_dir, ray_dir


# ---------------------------------------------------------------------- same results as serial
def test_ray_and_serial_fits_write_identical_factors_and_datasets(napkin_fits: Any) -> None:
    _, _, serial_dir, ray_dir = napkin_fits
    serial_files = _artifacts(serial_dir)
    assert serial_files and serial_files == _artifacts(ray_dir)


def test_ray_and_serial_fits_sample_identically(napkin_fits: Any) -> None:
    serial, on_ray, _, _ = napkin_fits
    pd.testing.assert_frame_equal(serial.sample(2000, do={"X": 1}, seed=5), on_ray.sample(2000, do={"X": 1}, seed=5))


def test_fit_log_records_executor_node_pid_and_wall_time_per_task(napkin_fits: Any) -> None:
    _, _, serial_dir, ray_dir = napkin_fits
    ray_log = json.loads((ray_dir / "fit_log.json").read_text())
    serial_log = json.loads((serial_dir / "fit_log.json").read_text())
    assert ray_log["executor"] == "ray" and serial_log["executor"] == "serial"
    assert len(ray_log["tasks"]) == 4 and len(ray_log["dataset_steps"]) == 1
    for record in ray_log["tasks"]:
        assert record["executor"] == "ray" and record["node"] and record["ray_node_id"]
        assert record["pid"] != os.getpid() and record["wall_s"] > 0
        assert "torch_threads" in record  # None: tabular tasks never touch torch
    assert {r["pid"] for r in serial_log["tasks"]} == {os.getpid()}


def test_rerun_on_ray_resumes_every_task(napkin_fits: Any, napkin_data: pd.DataFrame) -> None:
    _, _, _, ray_dir = napkin_fits
    before = _artifacts(ray_dir)
    idgen.fit(
        idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, backend="tabular", workdir=ray_dir, seed=3, executor="ray"
    )
    log = json.loads((ray_dir / "fit_log.json").read_text())
    assert all(record.get("resumed") for record in log["tasks"])
    assert _artifacts(ray_dir) == before


# ---------------------------------------------------------------------- failures
def test_a_task_that_raises_once_is_retried_and_the_fit_completes(
    cluster: Any, napkin_data: pd.DataFrame, tmp_path: Path
) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    network = idgen.fit(
        plan, napkin_data, backend="tabular", backends={"Y": "flaky-tabular"}, workdir=tmp_path, executor="ray"
    )
    assert len(network.sample(100, do={"X": 0}, seed=0)) == 100
    flaky = [task for task in plan.tasks if task.targets == ("Y",)]
    assert len(list(tmp_path.glob("tasks/*.work/raised-once"))) == len(flaky) == 2  # each raised once, then fitted


def test_a_task_that_keeps_failing_fails_the_fit_in_one_line_naming_it(
    cluster: Any, napkin_data: pd.DataFrame, tmp_path: Path
) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    # both models of Y get the broken backend; P(Y | W1, W2, X) fails first (P(Y | X) trains on its D')
    broken = next(task for task in plan.tasks if task.describe() == "P(Y | W1, W2, X)")
    with pytest.raises(IdgenError) as error:
        idgen.fit(
            plan,
            napkin_data,
            backend="tabular",
            backends={"Y": "broken-tabular"},
            workdir=tmp_path,
            executor="ray",
            executor_options={"max_retries": 1},
        )
    message = str(error.value)
    assert "\n" not in message
    assert f"task {broken.id} (P(Y | W1, W2, X)) failed on ray after 2 attempt(s)" in message
    assert "this task always fails" in message


# ---------------------------------------------------------------------- resources and options
def test_resources_come_from_the_option_groups() -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    by_factor = {factor_key(task): {"num_gpus": 0.5} for task in plan.tasks if task.describe() == "P(Y | X)"}
    groups = ({"num_cpus": 2}, {"tabular": {"num_cpus": 3}}, {"X": {"num_cpus": 1}}, by_factor)
    resources = {task.describe(): task_resources(task, "tabular", *groups) for task in plan.tasks}
    assert resources["P(W1)"] == {"num_cpus": 3, "num_gpus": 0}  # backend over plain options
    assert resources["P(X | W1, W2)"] == {"num_cpus": 1, "num_gpus": 0}  # variable over backend
    assert resources["P(Y | X)"] == {"num_cpus": 3, "num_gpus": 0.5}  # factor adds its own


def test_resource_options_never_reach_the_backend(napkin_data: pd.DataFrame, tmp_path: Path) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    # tabular accepts no options at all: num_cpus must be taken out before it is built
    idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path, options_by_backend={"tabular": {"num_cpus": 2}})


def test_bad_resource_value_is_refused_naming_the_task(napkin_data: pd.DataFrame, tmp_path: Path) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    with pytest.raises(IdgenError, match=r"num_gpus of task \w+ \(P\(Y \| X\)\) must be a non-negative number"):
        idgen.fit(
            plan, napkin_data, backend="tabular", workdir=tmp_path, options_by_factor={"P(Y | X)": {"num_gpus": -1}}
        )


@pytest.mark.parametrize(
    ("executor", "options", "message"),
    [
        ("dask", None, "unknown executor 'dask'; choose one of serial, ray"),
        ("ray", {"retries": 2}, "executor 'ray' has no option(s) retries; it accepts address"),
        ("ray", {"max_retries": -1}, "max_retries must be a non-negative integer"),
        ("serial", {"address": "auto"}, "executor 'serial' has no option(s) address; it accepts none"),
    ],
)
def test_bad_executor_settings_are_refused(executor: str, options: Any, message: str) -> None:
    with pytest.raises(IdgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_executor(executor, options)


def test_tasks_and_the_ray_executor_are_exclusive(napkin_data: pd.DataFrame, tmp_path: Path) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    with pytest.raises(IdgenError, match="tasks= fits the named tasks in this process"):
        idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path, tasks=[plan.tasks[0].id], executor="ray")


# ---------------------------------------------------------------------- diffusion tasks (torch in the workers)
def _continuous_outcome(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=rows)
    return {"X": x, "Y": (1.5 * x + rng.normal(size=rows)).astype(np.float32).reshape(-1, 1)}


@pytest.mark.slow
def test_killed_worker_task_reruns_from_its_checkpoint(torch_cluster: Any, tmp_path: Path) -> None:
    plan = idgen.compile(idgen.ADMG(directed=[("X", "Y")]), "P(Y | do(X))")
    network = idgen.fit(
        plan, _continuous_outcome(2000), backends={"Y": "killed-once-mlp"}, workdir=tmp_path, executor="ray",
        **TINY_MLP,
    )  # fmt: skip
    (record,) = json.loads((tmp_path / "fit_log.json").read_text())["tasks"]
    assert list(tmp_path.glob("tasks/*.work/killed-once"))  # the first worker died after its first checkpoint
    assert record["resumed_from"] is not None and record["resumed_from"].endswith("step-00000010")
    assert record["torch_threads"] == 1  # one Ray CPU, one torch thread
    assert len(network.sample(50, do={"X": 1}, seed=0)) == 50


@pytest.mark.slow
def test_ray_and_serial_diffusion_fits_are_identical_with_the_same_thread_count(
    torch_cluster: Any, tmp_path: Path
) -> None:
    import torch

    plan = idgen.compile(idgen.ADMG(directed=[("X", "Y")]), "P(Y | do(X))")
    data = _continuous_outcome(2000)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what each Ray worker gets with num_cpus=1
    try:
        serial = idgen.fit(plan, data, backend="mlp-diffusion", workdir=tmp_path / "serial", **TINY_MLP)
    finally:
        torch.set_num_threads(threads)
    on_ray = idgen.fit(plan, data, backend="mlp-diffusion", workdir=tmp_path / "ray", executor="ray", **TINY_MLP)
    assert _artifacts(tmp_path / "serial") == _artifacts(tmp_path / "ray")
    pd.testing.assert_frame_equal(serial.sample(200, do={"X": 1}, seed=2), on_ray.sample(200, do={"X": 1}, seed=2))
