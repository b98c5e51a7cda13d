"""Executors: where the steps of a plan run. ``serial`` fits them one after another in this process; ``ray``
makes every step (each training task and each synthetic dataset) a Ray task on a cluster.

A step is the same code under both: a worker gets a copy of the fit's runner (plan, observed table, options)
and fits one task, or samples one dataset, into the shared ``workdir``, with the serial fit's content
addressing, atomic writes and resume. Ray starts a step when the steps it depends on (the plan's
*trains-on* edges) have finished, so independent tasks train at once; their resources (``num_cpus``,
``num_gpus``) come from the fit's option groups, like any other option::

    idgen.fit(plan, data, workdir="/shared/runs/x", executor="ray",
              executor_options={"address": "auto", "max_retries": 2},
              options_by_backend={"unet-diffusion": {"num_gpus": 1, "num_cpus": 4}})

After the last step this process loads every factor from ``workdir`` (all of them resumed) and binds the
networks, so the result is the one a serial fit of the same workdir returns. Each worker limits torch to
as many threads as it has CPUs (``num_cpus``, default 1); with the same thread count the factors and
samples are byte for byte those of the serial fit, and tabular factors always are (``fit_log.json``
records each task's executor, node, pid, wall time and torch threads).
"""

from __future__ import annotations

import copy
import os
import socket
import sys
import time
from collections.abc import Mapping
from typing import Any

from idgen.errors import IdgenError

__all__ = ["EXECUTORS", "RESOURCE_OPTIONS", "check_executor", "run_plan", "placement", "task_resources"]

EXECUTORS = ("serial", "ray")
#: options that place a task rather than change what it learns: never passed to a backend, never in a key
RESOURCE_OPTIONS = frozenset({"num_cpus", "num_gpus"})
#: options of ``executor="ray"`` and their defaults
RAY_OPTIONS: dict[str, Any] = {
    "address": None,  # None: the cluster this process is connected to, else a new local one; "auto": a running one
    "num_cpus": None,  # CPUs of a local cluster this fit starts (default: all of this machine's)
    "num_gpus": None,  # GPUs of such a cluster (default: what Ray finds)
    "max_retries": 2,  # retries of a step that raised or whose worker died, before the fit fails
    "runtime_env": None,  # passed to ray.init when this fit starts or connects to the cluster
}


def check_executor(executor: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``executor`` and its options before anything runs; returns the options with defaults.

    Examples
    --------
    >>> check_executor("ray", {"max_retries": 0})["max_retries"]
    0
    >>> check_executor("dask", None)
    Traceback (most recent call last):
    ...
    idgen.errors.IdgenError: unknown executor 'dask'; choose one of serial, ray
    """
    if executor not in EXECUTORS:
        raise IdgenError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    given = dict(options or {})
    known = RAY_OPTIONS if executor == "ray" else {}
    unknown = set(given) - set(known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise IdgenError(f"executor {executor!r} has no option(s) {', '.join(sorted(unknown))}; it accepts {accepted}")
    resolved = {**known, **given}
    if executor == "ray":
        retries = resolved["max_retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise IdgenError(f"executor option max_retries must be a non-negative integer, got {retries!r}")
    return resolved


def placement(executor: str) -> dict[str, Any]:
    """Where a step runs, for ``fit_log.json``: executor, node, pid and the torch thread count (if torch is in use)."""
    torch = sys.modules.get("torch")
    return {
        "executor": executor,
        "node": socket.gethostname(),
        "pid": os.getpid(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }


def task_resources(
    task: Any,
    backend: str,
    options: Mapping[str, Any],
    options_by_backend: Mapping[str, Mapping[str, Any]],
    options_by_variable: Mapping[str, Mapping[str, Any]],
    options_by_factor: Mapping[Any, Mapping[str, Any]],
) -> dict[str, float]:
    """``num_cpus`` (default 1) and ``num_gpus`` (default 0) of ``task``, trained with ``backend``.

    They come from the fit's option groups and override each other as any option does: plain options <
    backend < variable < factor (``options_by_factor`` keyed by :func:`~idgen.runtime.fit.factor_key`).

    Examples
    --------
    >>> from compiler.plan import TrainTask
    >>> task = TrainTask(("Y",), ("X",), "observed")
    >>> task_resources(task, "unet-diffusion", {"num_cpus": 2}, {"unet-diffusion": {"num_gpus": 1}}, {}, {})
    {'num_cpus': 2, 'num_gpus': 1}
    """
    from idgen.runtime.fit import factor_key

    groups = [options, options_by_backend.get(backend, {})]
    groups += [options_by_variable.get(target, {}) for target in task.targets]
    groups.append(options_by_factor.get(factor_key(task), {}))
    resources: dict[str, float] = {"num_cpus": 1, "num_gpus": 0}
    for group in groups:
        resources.update({k: v for k, v in group.items() if k in RESOURCE_OPTIONS})
    for key, value in resources.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise IdgenError(
                f"{key} of task {task.id} ({task.describe()}) must be a non-negative number, got {value!r}"
            )
    if resources["num_cpus"] == 0 and resources["num_gpus"] == 0:
        raise IdgenError(f"task {task.id} ({task.describe()}) asks for no CPU and no GPU: give it num_cpus or num_gpus")
    return resources


def runner_resources(runner: Any, task: Any) -> dict[str, float]:
    """:func:`task_resources` of ``task`` under the options of a fit's runner."""
    return task_resources(
        task,
        _backend_of(runner, task),
        runner.options,
        runner.options_by_backend,
        runner.options_by_variable,
        runner.options_by_factor,
    )


def run_plan(runner: Any, executor: str, options: Mapping[str, Any]) -> None:
    """Run every step of ``runner``'s plan with ``executor``; afterwards ``runner`` holds every factor."""
    for task in runner.plan.tasks:  # refuse a bad num_cpus / num_gpus before anything trains
        runner_resources(runner, task)
    if executor == "serial":
        runner.run()
        return
    _run_on_ray(runner, options)


# ---------------------------------------------------------------------- ray
def _run_on_ray(runner: Any, options: Mapping[str, Any]) -> None:
    from compiler.plan import OBSERVED, topological_ids

    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a declared dependency
        raise IdgenError("executor='ray' needs the ray package: pip install ray") from None
    plan = runner.plan
    tasks = {task.id: task for task in plan.tasks}
    resources = {task_id: runner_resources(runner, task) for task_id, task in tasks.items()}
    dependencies = plan.dependencies()
    for dataset in plan.datasets:  # a dataset is sampled with its producers' models: it needs what they need
        if dataset.network is not None:
            producers = [resources[node.task] for node in dataset.network.nodes]
            resources[dataset.id] = {k: max(r[k] for r in producers) for k in ("num_cpus", "num_gpus")}
    _connect(ray, options)
    step = ray.remote(_run_step)
    shipped = copy.copy(runner)  # the fit's callbacks run here, when the factors and datasets are loaded back
    shipped.on_autoencoder = shipped.on_dataset = None
    shared = ray.put(shipped)  # plan, observed table and options: one copy in the object store for every step
    references: dict[str, Any] = {}
    names: dict[Any, str] = {}
    for key in topological_ids({OBSERVED: [], **dependencies}):
        if key == OBSERVED:
            continue
        upstream = [references[d] for d in dependencies[key] if d != OBSERVED]
        reference = step.options(
            num_cpus=resources[key]["num_cpus"],
            num_gpus=resources[key]["num_gpus"],
            max_retries=options["max_retries"],
            retry_exceptions=True,
            name=f"idgen {_describe(plan, key)}",
        ).remote(shared, key, resources[key]["num_cpus"], *upstream)
        references[key] = reference
        names[reference] = key
    records = _wait_all(ray, plan, references, names, options["max_retries"])
    runner.run()  # every step is in the workdir now: this loads the factors and datasets and binds nothing new
    runner.task_log = [records[task.id] for task in plan.tasks]
    runner.dataset_log = [records[dataset.id] for dataset in plan.datasets if dataset.id in records]


def _connect(ray: Any, options: Mapping[str, Any]) -> None:
    """Use the cluster this process is connected to, else connect to ``address`` or start a local one."""
    if ray.is_initialized():
        return
    arguments: dict[str, Any] = {"address": options["address"], "include_dashboard": False}
    if options["address"] is None:  # a new local cluster: its size is ours to choose
        arguments.update(num_cpus=options["num_cpus"], num_gpus=options["num_gpus"])
    if options["runtime_env"] is not None:
        arguments["runtime_env"] = dict(options["runtime_env"])
    try:
        ray.init(**arguments)
    except Exception as error:  # noqa: BLE001 - any failure to reach a cluster is one line
        where = options["address"] or "a new local cluster"
        raise IdgenError(f"cannot start ray on {where}: {type(error).__name__}: {_first_line(error)}") from None


def _wait_all(ray: Any, plan: Any, references: dict[str, Any], names: dict[Any, str], retries: int) -> dict[str, Any]:
    """The record of every step; the first step to fail for good fails the fit, naming it, and cancels the rest."""
    records: dict[str, Any] = {}
    pending = list(references.values())
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        reference = done[0]
        try:
            records[names[reference]] = ray.get(reference)
        except Exception as error:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...: reported in one line
            for other in pending:
                ray.cancel(other, force=True)
            key = getattr(getattr(error, "cause", None), "step", None) or names[reference]
            cause = getattr(error, "cause", None) or error
            raise IdgenError(
                f"{_describe(plan, key)} failed on ray after {retries + 1} attempt(s): "
                f"{type(cause).__name__}: {_first_line(cause)}"
            ) from None
    return records


class StepFailed(Exception):
    """A step's error, carrying which step raised it (downstream steps re-raise their upstream's)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step

    def __reduce__(self) -> tuple[Any, ...]:
        return (StepFailed, (self.step, str(self)))


def _run_step(runner: Any, key: str, num_cpus: float, *upstream: Any) -> dict[str, Any]:
    """One step in a Ray worker: fit task ``key`` or sample dataset ``key`` into the shared workdir."""
    import ray

    is_task = any(task.id == key for task in runner.plan.tasks)
    threads = _limit_torch_threads(runner, key, is_task, num_cpus)
    start = time.perf_counter()
    runner.executor = "ray"
    try:
        if is_task:
            runner.run_only([key])
            record = dict(runner.task_log[-1])
        else:
            runner._require_source(key)
            record = {"dataset": key, **placement("ray")}
    except Exception as error:
        raise StepFailed(key, f"{type(error).__name__}: {_first_line(error)}") from error
    record["wall_s"] = record.get("wall_s", time.perf_counter() - start)
    record["torch_threads"] = threads
    record["ray_node_id"] = ray.get_runtime_context().get_node_id()
    return record


def _limit_torch_threads(runner: Any, key: str, is_task: bool, num_cpus: float) -> int | None:
    """Give torch as many threads as the step has CPUs (at least one) when the step uses torch."""
    if is_task:
        backends = {_backend_of(runner, runner.plan.task(key))}
    else:
        network = runner.plan.dataset(key).network
        backends = {_backend_of(runner, runner.plan.task(node.task)) for node in network.nodes}
    if backends == {"tabular"} and "torch" not in sys.modules:
        return None
    import torch

    threads = max(1, int(num_cpus))
    torch.set_num_threads(threads)
    return threads


def _backend_of(runner: Any, task: Any) -> str:
    """The backend name whose option group places ``task`` (an image domain's autoencoder: ``autoencoder``)."""
    from compiler.plan import AUTOENCODER

    return AUTOENCODER if task.kind == AUTOENCODER else runner._backend_for(task.targets, task.conditioning)


def _describe(plan: Any, key: str) -> str:
    for task in plan.tasks:
        if task.id == key:
            return f"task {key} ({task.describe()})"
    return f"dataset {key}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"
