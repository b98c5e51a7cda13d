"""The stages every experiment shares: data → compile → fit → sample and evaluate, with outputs on disk.

An experiment is a config (``configs/experiment/*.yaml``); its ``data.kind`` names the *scenario* module
that makes the data and evaluates the samples (``frontdoor``, ``napkin_mnist``, ``celeba``). Entry points:
``run.py`` (everything), ``compile.py``, ``train.py`` and ``sample.py`` (one stage each).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import idgen
from compiler import Plan
from idgen.data import parse_types
from idgen.runtime.fit import factor_key, parse_factor

#: data.kind → scenario module (in this folder)
SCENARIOS = {
    "frontdoor_discrete": "frontdoor",
    "frontdoor_continuous": "frontdoor",
    "napkin_mnist": "napkin_mnist",
    "celeba": "celeba",
}


@dataclass
class ScenarioData:
    """What a scenario hands the pipeline: the observed table, type overrides and evaluation context.

    ``hooks`` are ``idgen.fit``'s ``on_autoencoder`` / ``on_dataset`` callbacks: a scenario uses them to
    check an image domain's reconstructions and a synthetic dataset's copy rates while the fit runs."""

    table: Any
    variable_types: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)


def scenario(cfg: DictConfig) -> Any:
    """The scenario module for ``cfg.data.kind``."""
    kind = cfg.data.kind
    if kind not in SCENARIOS:
        raise idgen.IdgenError(f"unknown data.kind {kind!r}; known: {', '.join(sorted(SCENARIOS))}")
    folder = str(Path(__file__).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(SCENARIOS[kind])


def output_dir() -> Path:
    """Hydra's run directory (the current directory when called outside hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return Path.cwd()


def load_graph(cfg: DictConfig) -> idgen.ADMG:
    return idgen.ADMG.from_dict(OmegaConf.to_container(cfg.graph, resolve=True))  # type: ignore[arg-type]


def image_domains(cfg: DictConfig) -> dict[str, list[str]] | None:
    """``cfg.image_domains`` (``{name: [image variables]}``): one shared autoencoder per domain."""
    domains = cfg.get("image_domains")
    return OmegaConf.to_container(domains, resolve=True) if domains else None  # type: ignore[return-value]


def compile_plan(cfg: DictConfig, outdir: Path) -> Plan:
    """Compile the query; write ``plan.txt``, ``plan.json`` and ``plan.png`` to ``outdir``."""
    graph = load_graph(cfg)
    plan = idgen.compile(graph, cfg.query.text, image_domains=image_domains(cfg))
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "plan.txt").write_text(idgen.identify(graph, cfg.query.text).explain() + "\n\n" + plan.as_text() + "\n")
    (outdir / "plan.json").write_text(plan.dumps())
    plan.to_png(str(outdir / "plan.png"))
    return plan


def fit_plan(
    cfg: DictConfig,
    plan: Plan,
    data: ScenarioData,
    workdir: str | Path | None = None,
    tasks: list[str] | None = None,
    only_what_applies: bool = False,
) -> Any:
    """``idgen.fit`` with the backend settings of ``cfg.backend``.

    With ``only_what_applies`` (for a baseline fitted on a smaller graph), ``backend.by_variable`` and
    ``backend.by_factor`` entries that name variables or factors outside ``plan`` are left out instead of
    being refused."""
    backend = OmegaConf.to_container(cfg.backend, resolve=True)
    assert isinstance(backend, dict)
    executor = OmegaConf.to_container(cfg.executor, resolve=True) if "executor" in cfg else {"name": "serial"}
    assert isinstance(executor, dict)
    executor_name = executor.pop("name")
    by_variable = dict(backend.get("by_variable") or {})
    by_factor = dict(backend.get("by_factor") or {})
    types = {**data.variable_types, **parse_types(cfg.data.get("types"))}  # hydra: data.types={T: discrete}
    if only_what_applies:
        types = {v: kind for v, kind in types.items() if v in plan.graph["nodes"]}
        factors = {factor_key(task) for task in plan.tasks}
        by_variable = {v: o for v, o in by_variable.items() if v in plan.graph["nodes"]}
        by_factor = {f: o for f, o in by_factor.items() if parse_factor(f) in factors}
    return idgen.fit(
        plan,
        data.table,
        backend=backend["name"],
        workdir=workdir or cfg.artifacts,
        seed=cfg.seed,
        synthetic_size=backend.get("synthetic_size"),
        variable_types=types or None,
        backends=backend.get("per_variable") or None,
        options_by_backend=backend.get("by_backend") or None,
        options_by_variable=by_variable or None,
        options_by_factor=by_factor or None,
        tasks=tasks,
        progress=True,
        store=cfg.artifacts,
        on_autoencoder=data.hooks.get("on_autoencoder"),
        on_dataset=data.hooks.get("on_dataset"),
        executor="serial" if tasks is not None else executor_name,  # train.py task=...: one job, one task
        executor_options=(executor or None) if tasks is None and executor_name != "serial" else None,
        **(backend.get("common") or {}),
    )


def launch_groups(cfg: DictConfig, plan: Plan, data: ScenarioData) -> list[list[tuple[dict[str, float], list[str]]]]:
    """Per stage of ``plan``, its tasks grouped by the CPUs and GPUs they ask for (``num_cpus`` / ``num_gpus``
    in the backend option groups), each group one launcher sweep (``hydra/launcher=slurm``)."""
    from compiler.plan import AUTOENCODER
    from idgen.data import as_table, infer_types
    from idgen.runtime.executors import task_resources
    from idgen.runtime.fit import backend_for

    backend = OmegaConf.to_container(cfg.backend, resolve=True)
    assert isinstance(backend, dict)
    table = as_table(data.table)
    types = infer_types(table, {k: v for k, v in data.variable_types.items() if k in table} or None)
    by_factor = {parse_factor(text): options for text, options in (backend.get("by_factor") or {}).items()}
    latent = frozenset(plan.autoencoders())
    stages = []
    for stage in plan.stages():
        groups: dict[tuple[float, float], list[str]] = {}
        for task_id in stage:
            task = plan.task(task_id)
            name = (
                AUTOENCODER
                if task.kind == AUTOENCODER
                else backend_for(
                    task.targets, task.conditioning, types, backend["name"], backend.get("per_variable"), latent
                )
            )
            resources = task_resources(
                task,
                name,
                backend.get("common") or {},
                backend.get("by_backend") or {},
                backend.get("by_variable") or {},
                by_factor,
            )
            groups.setdefault((resources["num_cpus"], resources["num_gpus"]), []).append(task_id)
        stages.append([({"num_cpus": c, "num_gpus": g}, ids) for (c, g), ids in sorted(groups.items())])
    return stages


def fit_baseline(cfg: DictConfig, name: str, graph: idgen.ADMG, query: str, data: ScenarioData) -> Any:
    """Fit a baseline (e.g. the conditional model P(Y | X)) with the same backend and budget.

    It compiles with the experiment's image domains and shares the artifact store, so it trains on the
    very autoencoder idgen's factors use (trained once)."""
    plan = idgen.compile(graph, query, image_domains=image_domains(cfg))
    domain_variables = {v for task in plan.tasks if task.kind == "autoencoder" for v in task.targets}
    types = {v: t for v, t in data.variable_types.items() if v in graph.nodes or v in domain_variables}
    narrowed = ScenarioData(data.table, variable_types=types, context=data.context)
    return fit_plan(cfg, plan, narrowed, workdir=Path(cfg.artifacts) / "baselines" / name, only_what_applies=True)


def run(cfg: DictConfig) -> dict[str, Any]:
    """All stages; returns (and writes to ``metrics.json``) the scenario's metrics plus timings."""
    outdir = output_dir()
    module = scenario(cfg)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = module.make_data(cfg)
    timings["data_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    plan = compile_plan(cfg, outdir)
    timings["compile_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    network = fit_plan(cfg, plan, data)
    timings["fit_seconds"] = time.perf_counter() - started
    network.save(Path(cfg.artifacts) / "network")
    started = time.perf_counter()
    metrics = module.evaluate(cfg, network, data, outdir)
    timings["evaluate_seconds"] = time.perf_counter() - started
    fit_log = Path(cfg.artifacts) / "fit_log.json"
    result = {
        "experiment": cfg.name,
        "profile": cfg.profile.name,
        "query": cfg.query.text,
        "lines": list(plan.query_network().lines),
        "tasks": len(plan.tasks),
        **metrics,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "fit_log": json.loads(fit_log.read_text()) if fit_log.is_file() else None,
    }
    (outdir / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({k: v for k, v in result.items() if k != "fit_log"}, indent=1, default=float))
    print(f"outputs in {outdir}")
    return result
