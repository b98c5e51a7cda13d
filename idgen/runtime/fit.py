"""Plan execution: fit every task in dependency order, produce the synthetic datasets, bind the networks.

Artifacts live under ``workdir``, keyed by content (task id + backend configuration + a fingerprint of
the data the task trains on), and are written atomically. Running ``fit`` again on the same workdir
skips every finished task and dataset, so an interrupted fit finishes only what is missing.

Layout::

    workdir/plan.json
    workdir/datasets/<dataset id>-<key>/data.safetensors   synthetic datasets (D′, IDC joint samples)
    workdir/tasks/<task id>-<key>/                         fitted factor (factor.json + safetensors)
    workdir/tasks/<task id>-<key>.work/                    checkpoints of a fit in progress

Autoencoder tasks (one per image domain) are fitted first; a ``latent-diffusion`` factor's key names its
autoencoder's folder, so retraining an autoencoder retrains the factors on its latents. ``store`` moves
``tasks/`` and ``datasets/`` to a folder several fits share (a baseline then reuses the autoencoder).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compiler.plan import AUTOENCODER, OBSERVED, Plan, content_id, topological_ids
from idgen.data import (
    Table,
    VariableType,
    as_table,
    check_columns,
    infer_types,
    num_rows,
    spread_rows,
    take_rows,
    type_reason,
)
from idgen.errors import DataError, IdgenError, PositivityError
from idgen.names import quote_all
from idgen.runtime.checks import check_fit_arguments, check_unused_options
from idgen.runtime.executors import RESOURCE_OPTIONS, check_executor, placement, run_plan
from idgen.runtime.network import SamplingNetwork, node_seed, run_network
from idgen.runtime.support import (
    MIN_SUPPORT,
    FactorSupport,
    SupportCell,
    analyze_network,
    check_policy,
    input_states,
    raise_or_warn,
    scenarios,
    summarize,
)
from trainers.base import FactorModel, atomic_folder, backend_names, get_backend, load_factor

__all__ = ["fit", "choose_backend", "backend_for"]

log = logging.getLogger("idgen.fit")
FREE_POOL_ROWS = 4096
#: rows of a synthetic dataset without images per observed row (``synthetic_size=None``): each of its
#: values is one model draw, so a D′ as small as the data adds Monte Carlo noise as large as the data's own
#: sampling noise (≈3 % on the cell means of a log-normal outcome at 10,000 rows); 8× cuts it to a third
SYNTHETIC_ROWS_PER_ROW = 8
#: ... up to this many rows (or the data's own count when that is larger)
SYNTHETIC_MAX_ROWS = 1_000_000

FactorKey = tuple[frozenset[str], frozenset[str]]
"""A factor as (targets, conditioning), so that ``P(Y | X, W)`` and ``P(Y|W,X)`` are the same key."""


def default_synthetic_size(rows: int, images: bool) -> int:
    """Rows of a synthetic dataset drawn for data of ``rows`` rows when ``synthetic_size`` is not given.

    As many as the data when the dataset holds an image, else ``SYNTHETIC_ROWS_PER_ROW`` times as
    many, at most ``SYNTHETIC_MAX_ROWS`` (never fewer than the data's rows).

    Examples
    --------
    >>> default_synthetic_size(10_000, images=False), default_synthetic_size(10_000, images=True)
    (80000, 10000)
    >>> default_synthetic_size(2_000_000, images=False)
    2000000
    """
    if images:
        return rows
    return max(rows, min(SYNTHETIC_ROWS_PER_ROW * rows, SYNTHETIC_MAX_ROWS))


def backend_reason(targets: tuple[str, ...], conditioning: tuple[str, ...], types: Mapping[str, VariableType]) -> str:
    """Why ``auto`` picks :func:`choose_backend`'s answer, in a few words.

    Examples
    --------
    >>> d, c = VariableType("discrete", (), (0, 1)), VariableType("continuous", (1,))
    >>> backend_reason(("Y",), ("X",), {"X": d, "Y": c})
    'Y is continuous'
    """
    if all(types[v].kind == "discrete" for v in targets + conditioning):
        return "every variable is discrete: exact counts"
    images = [v for v in targets if types[v].kind == "image"]
    if images:
        return f"{quote_all(images)} {'is an image' if len(images) == 1 else 'are images'}"
    others = [v for v in targets + conditioning if types[v].kind != "discrete"]
    kinds = sorted({types[v].kind for v in others})
    return f"{quote_all(others)} {'is' if len(others) == 1 else 'are'} {' and '.join(kinds)}"


def choose_backend(
    targets: tuple[str, ...],
    conditioning: tuple[str, ...],
    types: Mapping[str, VariableType],
    latent: frozenset[str] = frozenset(),
) -> str:
    """The backend ``auto`` picks: exact ``tabular`` for all-discrete tasks, else a diffusion model.

    An image target goes to ``latent-diffusion`` when it belongs to an image domain (``latent``: the
    variables that have an autoencoder), else to the pixel-space ``unet-diffusion``.

    Examples
    --------
    >>> d = VariableType("discrete", (), (0, 1))
    >>> choose_backend(("Y",), ("X",), {"X": d, "Y": d})
    'tabular'
    >>> choose_backend(("Y",), ("X",), {"X": VariableType("image", (3, 8, 8)), "Y": d})
    'mlp-diffusion'
    >>> image = VariableType("image", (3, 8, 8))
    >>> choose_backend(("Y",), ("X",), {"X": d, "Y": image}, latent=frozenset({"Y"}))
    'latent-diffusion'
    """
    kinds = {types[v].kind for v in targets + conditioning}
    if kinds == {"discrete"}:
        return "tabular"
    if any(types[v].kind == "image" for v in targets):
        return "latent-diffusion" if all(v in latent for v in targets if types[v].kind == "image") else "unet-diffusion"
    return "mlp-diffusion"


def backend_for(
    targets: tuple[str, ...],
    conditioning: tuple[str, ...],
    types: Mapping[str, VariableType],
    backend: str = "auto",
    per_variable: Mapping[str, str] | None = None,
    latent: frozenset[str] = frozenset(),
) -> str:
    """A task's backend: its target's entry in ``per_variable``, else ``backend`` (``auto``: :func:`choose_backend`).

    Examples
    --------
    >>> d = VariableType("discrete", (), (0, 1))
    >>> backend_for(("Y",), ("X",), {"X": d, "Y": d})
    'tabular'
    >>> backend_for(("Y",), (), {"Y": d}, per_variable={"Y": "mlp-diffusion"})
    'mlp-diffusion'
    """
    for target in targets:
        if per_variable and target in per_variable:
            return per_variable[target]
    if backend == "auto":
        return choose_backend(targets, conditioning, types, latent)
    return backend


def default_image_domains(types: Mapping[str, VariableType], variables: Any) -> dict[str, list[str]]:
    """Group image ``variables`` by shape: one domain ``images_CxHxW`` per shape.

    Examples
    --------
    >>> a, b = VariableType("image", (3, 8, 8)), VariableType("image", (1, 4, 4))
    >>> default_image_domains({"W": a, "X": a, "Z": b}, ["W", "X", "Z"])
    {'images_3x8x8': ['W', 'X'], 'images_1x4x4': ['Z']}
    """
    domains: dict[str, list[str]] = {}
    for variable in variables:
        shape = types[variable].shape
        domains.setdefault(f"images_{'x'.join(str(s) for s in shape)}", []).append(variable)
    return domains


def fit(
    plan: Plan,
    data: Any,
    backend: str = "auto",
    workdir: str | Path | None = None,
    seed: int = 0,
    synthetic_size: int | None = None,
    variable_types: Mapping[str, str | VariableType] | None = None,
    backends: Mapping[str, str] | None = None,
    options_by_backend: Mapping[str, Mapping[str, Any]] | None = None,
    options_by_variable: Mapping[str, Mapping[str, Any]] | None = None,
    options_by_factor: Mapping[str, Mapping[str, Any]] | None = None,
    tasks: Any = None,
    progress: bool = False,
    store: str | Path | None = None,
    on_autoencoder: Callable[[Any, Any], None] | None = None,
    on_dataset: Callable[[Any, Table], None] | None = None,
    executor: str = "serial",
    executor_options: Mapping[str, Any] | None = None,
    verbose: bool = True,
    positivity: str = "warn",
    min_support: int = MIN_SUPPORT,
    **backend_options: Any,
) -> Any:
    """Fit every task of ``plan`` on ``data`` and return the trained sampling network(s).

    Parameters
    ----------
    plan : Plan
        From :func:`idgen.compile` or :func:`idgen.compile_many`.
    data : pandas.DataFrame or dict of arrays/tensors
        Observational data with a column per graph variable the plan uses.
    backend : str
        ``"auto"`` (tabular for all-discrete tasks, ``mlp-diffusion`` for other non-image targets,
        ``unet-diffusion`` for image targets) or one backend name for every task.
    workdir : path, optional
        Where artifacts go; re-running on the same folder resumes. A fresh temporary folder if omitted.
    seed : int
    synthetic_size : int, optional
        Rows of each synthetic dataset (D′, IDC joints). Default: as many as the observed data when the
        dataset holds an image (each image is a diffusion sample), else 8× the observed rows up to
        1,000,000 (:func:`default_synthetic_size`). A dataset of ``k`` times its source's rows uses every
        source row ``k`` times (the remainder without replacement), so the rows themselves add no noise.
    variable_types : mapping, optional
        Overrides of the inferred kind of a variable (``"discrete"``, ``"continuous"``, ``"image"``).
    backends : mapping, optional
        Backend per target variable, overriding ``backend`` (e.g. ``{"Y": "unet-diffusion"}``).
    options_by_backend : mapping, optional
        Options for one backend only, e.g. ``{"unet-diffusion": {"block_out_channels": [32, 64]}}``;
        they add to (and override) ``**backend_options``.
    options_by_variable : mapping, optional
        Options for the tasks whose targets include a variable, e.g. ``{"Y": {"steps": 4000}}`` to train
        the models of Y longer; they add to (and override) the two above.
    options_by_factor : mapping, optional
        Options for the tasks of one factor, written as the plan prints it, e.g.
        ``{"P(Y | X)": {"guidance_scale": 2.0}}`` (spacing and the order of the variables do not matter);
        they add to (and override) all of the above. A factor the plan does not fit is an error.
    tasks : iterable of task ids, optional
        Fit only these tasks (for spreading the tasks of one dependency stage over separate jobs, see
        :meth:`compiler.Plan.stages`); the datasets they train on must already be in ``workdir``.
        Returns ``None`` then, since the networks are not complete.
    progress : bool
        Show progress bars.
    store : path, optional
        Folder of the content-addressed artifacts (``tasks/``, ``datasets/``); default ``workdir``. Fits
        that share a store share every equal task, e.g. an image domain's autoencoder.
    on_autoencoder : callable, optional
        ``on_autoencoder(task, autoencoder)`` right after an image domain's autoencoder is trained or
        loaded, before any factor uses it (e.g. to check its reconstructions).
    on_dataset : callable, optional
        ``on_dataset(dataset, table)`` right after a synthetic dataset (D′, IDC joint) is drawn or loaded,
        before the tasks that train on it (e.g. to check what its images copy).
    executor : str
        ``"serial"`` (every step in this process) or ``"ray"`` (every task and synthetic dataset a Ray
        task, independent ones at once; see :mod:`idgen.runtime.executors`). ``num_cpus`` and
        ``num_gpus`` in any option group place the tasks.
    executor_options : mapping, optional
        For ``"ray"``: ``address``, ``num_cpus`` / ``num_gpus`` of a local cluster, ``max_retries``,
        ``runtime_env``.
    verbose : bool
        Before any training, print each variable's type and each factor's backend, with the reason.
    positivity : {"warn", "error", "ignore"}
        What to do when a factor is asked about parent configurations with no training row (a hole) or
        fewer than ``min_support`` rows (see :mod:`idgen.runtime.support`): ``"warn"`` emits one
        :class:`~idgen.runtime.support.PositivityWarning`, ``"error"`` raises
        :class:`~idgen.errors.PositivityError` (before drawing a D′ that would hit a hole, or at the
        end), ``"ignore"`` only records it. The report is in ``fit_log.json`` and
        ``network.support_report()``; the network's ``sample`` follows the same policy.
    min_support : int
        Training rows below which a parent configuration is reported as thin.
    **backend_options
        Options for the diffusion backends (``steps``, ``batch_size``, ``lr``, ``sampler_steps``, …).

    Returns
    -------
    SamplingNetwork, or dict of query string to SamplingNetwork for a plan with several queries.
    """
    start = time.perf_counter()
    check_policy(positivity)
    if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)) or min_support < 1:
        raise IdgenError(f"min_support must be a positive integer, got {min_support!r}")
    mappings = {"variable_types": variable_types, "backends": backends, "options_by_backend": options_by_backend}
    mappings |= {"options_by_variable": options_by_variable, "options_by_factor": options_by_factor}
    seed, synthetic_size, tasks = check_fit_arguments(plan, backend, workdir, seed, synthetic_size, tasks, mappings)
    executor_settings = check_executor(executor, executor_options)
    if tasks is not None and executor != "serial":
        raise IdgenError(f"tasks= fits the named tasks in this process; executor={executor!r} runs the whole plan")
    table, types = _observed_table(plan, data, variable_types)
    plan = _with_default_domains(plan, table, types, backend, backends)
    if set(_observed_columns(plan)) != set(table):
        table, types = _observed_table(plan, data, variable_types)
    workdir = Path(workdir) if workdir is not None else _temporary_workdir()
    size = int(synthetic_size) if synthetic_size is not None else None
    if size is not None and size <= 0:
        raise DataError(f"synthetic_size must be positive, got {size}")
    per_variable = dict(backends or {})
    unknown_backends = set(per_variable) - set(plan.graph["nodes"])
    if unknown_backends:
        raise DataError(f"backends= names unknown variable(s) {', '.join(sorted(unknown_backends))}")

    unknown_names = set(options_by_backend or {}) - set(backend_names()) - {AUTOENCODER}
    if unknown_names:
        raise IdgenError(f"options_by_backend names unknown backend(s) {', '.join(sorted(unknown_names))}")
    unknown_variables = set(options_by_variable or {}) - set(plan.graph["nodes"])
    if unknown_variables:
        raise DataError(f"options_by_variable names unknown variable(s) {', '.join(sorted(unknown_variables))}")
    by_factor = _match_factors(plan, options_by_factor or {})
    runner = _Runner(
        plan,
        table,
        types,
        workdir,
        seed,
        size,
        backend,
        per_variable,
        backend_options,
        dict(options_by_backend or {}),
        dict(options_by_variable or {}),
        by_factor,
        progress,
        Path(store) if store is not None else workdir,
        on_autoencoder,
        on_dataset,
    )
    check_unused_options(runner.used_backends(), backend_options, dict(options_by_backend or {}))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "plan.json").write_text(plan.dumps())
    runner.positivity, runner.min_support = positivity, int(min_support)
    if verbose:
        print(runner.backend_report(variable_types or {}))
    if tasks is not None:
        runner.run_only(tasks)
        return None
    run_plan(runner, executor, executor_settings)
    networks = {}
    pool = take_rows(table, slice(0, min(FREE_POOL_ROWS, num_rows(table))))
    for item in plan.queries:
        factors = {node.task: runner.factors[node.task] for node in item.network.nodes}
        free = {v: pool[v] for v in item.free_inputs}
        provenance = {task_id: runner.provenance(task_id) for task_id in factors}
        networks[item.query] = SamplingNetwork(item, factors, types, free, provenance=provenance)
        runner.check_query_support(item, networks[item.query], pool)

        def refit(rows: Table, folder: Path, query: str = item.query) -> Any:
            """The same fit on other rows (for ``effect(bootstrap=...)``)."""
            refitted = fit(
                plan,
                rows,
                backend=backend,
                workdir=folder,
                seed=seed,
                synthetic_size=synthetic_size,
                variable_types=variable_types,
                backends=backends,
                options_by_backend=options_by_backend,
                options_by_variable=options_by_variable,
                options_by_factor=options_by_factor,
                verbose=False,
                positivity="ignore",
                min_support=min_support,
                **backend_options,
            )
            return refitted[query] if isinstance(refitted, dict) else refitted

        networks[item.query].refit = refit
        networks[item.query].training_table = table
        networks[item.query].plan_factors = list(runner.factors.values())
        networks[item.query].fit_seconds = time.perf_counter() - start
    datasets = {
        key: str(runner.store / "datasets" / f"{key}-{value}") for key, value in runner.keys.items() if key != OBSERVED
    }
    summary = {"seconds": time.perf_counter() - start, "executor": executor, "tasks": runner.task_log}
    summary.update(datasets=datasets, **({"dataset_steps": runner.dataset_log} if runner.dataset_log else {}))
    summary["support"] = runner.support_log()
    (workdir / "fit_log.json").write_text(json.dumps(summary, indent=1, default=str))
    problems = [cell for cell in runner.support_cells if cell.status != "ok"]
    if problems:
        unsupported = any(cell.status != "thin" for cell in problems)
        policy = positivity if unsupported or positivity != "error" else "warn"  # thin cells only warn
        raise_or_warn(policy, "fit: " + summarize(runner.support_cells, runner.min_support))
    return next(iter(networks.values())) if len(networks) == 1 else networks


def parse_factor(text: str) -> FactorKey:
    """Read a factor written like ``P(Y | X, W)`` as (targets, conditioning).

    Parameters
    ----------
    text : str
        ``P(targets)`` or ``P(targets | conditioning)``, variables separated by commas.

    Returns
    -------
    tuple of frozenset
        The target variables and the conditioning variables.

    Examples
    --------
    >>> parse_factor("P(Y | X, W1)") == parse_factor("P(Y|W1,X)")
    True
    >>> sorted(parse_factor("P(W1)")[0])
    ['W1']
    >>> parse_factor('P("In-game Purchases" | `Side-quest Engagement`)')[1]
    frozenset({'Side-quest Engagement'})
    """
    from idgen.query import Query

    try:
        query = Query.parse(str(text))
    except IdgenError as error:
        raise IdgenError(f"cannot read factor {text!r}: write it as the plan does, e.g. 'P(Y | X)' ({error})") from None
    if query.treatments:
        raise IdgenError(f"cannot read factor {text!r}: a factor has no do(...); write it as the plan does")
    return frozenset(query.outcomes), frozenset(query.conditions)


def factor_key(task: Any) -> FactorKey:
    """The key of a plan task's factor, comparable with :func:`parse_factor`'s result."""
    return frozenset(task.targets), frozenset(task.conditioning)


def _match_factors(
    plan: Plan, options_by_factor: Mapping[str, Mapping[str, Any]]
) -> dict[FactorKey, Mapping[str, Any]]:
    """Key ``options_by_factor`` by factor; a factor the plan does not fit is an error that lists the plan's."""
    known = {factor_key(task) for task in plan.tasks if task.kind != AUTOENCODER}
    matched: dict[FactorKey, Mapping[str, Any]] = {}
    for text, options in options_by_factor.items():
        key = parse_factor(text)
        if key not in known:
            factors = ", ".join(sorted({task.describe() for task in plan.tasks if task.kind != AUTOENCODER}))
            raise IdgenError(f"options_by_factor names {text!r}, which the plan does not fit; its factors: {factors}")
        if key in matched:
            raise IdgenError(f"options_by_factor names the factor {text!r} twice")
        if not isinstance(options, Mapping):
            raise IdgenError(f"options_by_factor[{text!r}] must be a mapping of options, got {type(options).__name__}")
        matched[key] = options
    return matched


def _observed_columns(plan: Plan) -> list[str]:
    needed: set[str] = set()
    for task in plan.tasks:
        if task.source == OBSERVED:
            needed |= set(task.targets) | set(task.conditioning)
    for dataset in plan.datasets:
        if dataset.network is not None and dataset.input_source == OBSERVED:
            needed |= set(dataset.network.inputs)
    for item in plan.queries:
        needed |= set(item.treatments) | set(item.conditions) | set(item.free_inputs)
    nodes = list(plan.graph["nodes"])
    # an image domain may hold variables outside the graph (its autoencoder still trains on them)
    return [v for v in nodes if v in needed] + sorted(needed - set(nodes))


def _observed_table(
    plan: Plan, data: Any, variable_types: Mapping[str, str | VariableType] | None
) -> tuple[Table, dict[str, VariableType]]:
    """The columns of ``data`` the plan uses, and their types (inferred, then overridden)."""
    used_columns = _observed_columns(plan)
    table = as_table(data, required=used_columns)
    table = {c: table[c] for c in used_columns}
    types = infer_types(
        table, {k: v for k, v in (variable_types or {}).items() if k in table} if variable_types else None
    )
    unknown = set(variable_types or {}) - set(table)
    if unknown:
        raise DataError(f"variable_types names column(s) the plan does not use: {', '.join(sorted(unknown))}")
    return table, types


def _with_default_domains(
    plan: Plan, table: Table, types: Mapping[str, VariableType], backend: str, backends: Mapping[str, str] | None
) -> Plan:
    """``plan`` plus image domains grouped by shape when a task is sent to ``latent-diffusion`` but some of its
    image variables have no autoencoder yet (an explicit backend choice needs one)."""
    covered = set(plan.autoencoders())
    uncovered: list[str] = []
    for task in plan.tasks:
        if task.kind == AUTOENCODER:
            continue
        chosen = next((backends[t] for t in task.targets if backends and t in backends), backend)
        if chosen != "latent-diffusion":
            continue
        for variable in task.targets + task.conditioning:
            if types[variable].kind == "image" and variable not in covered and variable not in uncovered:
                uncovered.append(variable)
    return plan.with_image_domains(default_image_domains(types, uncovered)) if uncovered else plan


def _temporary_workdir() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="idgen-"))


class _Runner:
    """Executes the tasks and datasets of a plan in dependency order, resuming from finished artifacts."""

    def __init__(
        self,
        plan: Plan,
        table: Table,
        types: dict[str, VariableType],
        workdir: Path,
        seed: int,
        size: int | None,
        backend: str,
        per_variable: dict[str, str],
        options: dict[str, Any],
        options_by_backend: dict[str, Mapping[str, Any]],
        options_by_variable: dict[str, Mapping[str, Any]],
        options_by_factor: dict[FactorKey, Mapping[str, Any]],
        progress: bool,
        store: Path,
        on_autoencoder: Callable[[Any, Any], None] | None,
        on_dataset: Callable[[Any, Table], None] | None,
    ) -> None:
        self.plan = plan
        self.types = types
        self.workdir = workdir
        self.seed = seed
        self.size = size
        self.backend = backend
        self.per_variable = per_variable
        self.options = options
        self.options_by_backend = options_by_backend
        self.options_by_variable = options_by_variable
        self.options_by_factor = options_by_factor
        self.progress = progress
        self.store = store
        self.on_autoencoder = on_autoencoder
        self.on_dataset = on_dataset
        self.tables: dict[str, Table] = {OBSERVED: table}
        self.keys: dict[str, str] = {OBSERVED: _fingerprint(table)}
        self.factors: dict[str, FactorModel] = {}
        self.autoencoders: dict[str, Any] = {}
        self._autoencoder_folders: dict[str, Path] = {}
        self.task_log: list[dict[str, Any]] = []
        self.dataset_log: list[dict[str, Any]] = []
        self.executor = "serial"  # set by an executor's worker; recorded per task in fit_log.json
        self.supports: dict[str, FactorSupport] = {}
        self.support_cells: list[SupportCell] = []
        self.support_notes: list[str] = []
        self.positivity, self.min_support = "warn", MIN_SUPPORT
        self._check_types()

    # -------------------------------------------------------------- support (positivity)
    def _record_support(self, task: Any) -> None:
        """What ``task``'s factor was trained on, for the support report and for sampling."""
        if task.id not in self.supports:
            self.supports[task.id] = FactorSupport.from_table(
                task.id, task.describe(), task.targets, task.conditioning, self.tables[task.source], self.types
            )

    def _check_support(self, network: Any, start: Any, label: str) -> None:
        cells, note = analyze_network(network, self.supports, self.types, start, label, self.min_support)
        self.support_cells.extend(cells)
        if note:
            self.support_notes.append(note)
        holes = [cell for cell in cells if cell.status == "hole"]
        if holes and self.positivity == "error":
            raise PositivityError(f"before drawing {label}: " + summarize(cells, self.min_support))

    def check_query_support(self, item: Any, network: SamplingNetwork, pool: Table) -> None:
        """Analyze a query network's support and hand the network what it needs to check its samples."""
        observed = self.tables[OBSERVED]
        fixed = tuple(item.treatments) + tuple(item.conditions)
        start = scenarios(item.network.inputs, fixed, self.types, observed, pool)
        self._check_support(item.network, start, item.query)
        # the report of this query: its own network and every D′ its factors were trained on, recursively
        labels, tasks = {item.query}, [node.task for node in item.network.nodes]
        while tasks:
            source = self.plan.task(tasks.pop()).source
            if source != OBSERVED and f"D′ [{source}]" not in labels:
                labels.add(f"D′ [{source}]")
                dataset = self.plan.dataset(source)
                tasks.extend(node.task for node in dataset.network.nodes) if dataset.network else None
        network.attach_support(
            {node.task: self.supports[node.task] for node in item.network.nodes},
            [cell for cell in self.support_cells if cell.network in labels],
            self.positivity,
            self.min_support,
        )

    def support_log(self) -> dict[str, Any]:
        """The ``support`` entry of ``fit_log.json``: policy, threshold and every hole or thin cell."""
        return {
            "policy": self.positivity,
            "min_support": self.min_support,
            "problems": [cell.as_dict() for cell in self.support_cells if cell.status != "ok"],
            "configurations_checked": len(self.support_cells),
            "notes": self.support_notes,
        }

    def _check_types(self) -> None:
        from trainers.autoencoder import check_autoencoder_options, check_image_shape

        for task in self.plan.tasks:
            if task.kind == AUTOENCODER:
                not_images = [v for v in task.targets if self.types[v].kind != "image"]
                if not_images:
                    raise DataError(f"image domain {task.note} holds non-image variable(s) {', '.join(not_images)}")
                shapes = {self.types[v].shape for v in task.targets}
                if len(shapes) != 1:
                    raise DataError(f"image domain {task.note} mixes image shapes {sorted(shapes)}; split it")
                resolved = check_autoencoder_options(self.options_by_backend.get(AUTOENCODER, {}))
                check_image_shape(self.types[task.targets[0]].shape, resolved["channels"])
                continue
            name = self._backend_for(task.targets, task.conditioning)
            cls = get_backend(name)
            options = self._options_for(name, task)
            cls(task.targets, task.conditioning, self.types, **options)  # validates types and options up front

    def used_backends(self) -> set[str]:
        """The backend names this plan's tasks are fitted with."""
        return {self._backend_for(t.targets, t.conditioning) for t in self.plan.tasks if t.kind != AUTOENCODER}

    def provenance(self, task_id: str) -> dict[str, Any]:
        """Where a fitted factor came from, for the network's manifest: its task, seed and training data."""
        task = self.plan.task(task_id)
        spec = {"targets": list(task.targets), "conditioning": list(task.conditioning), "source": task.source}
        spec["kind"] = task.kind
        return {"task": spec, "seed": self.seed, "data": self.keys[task.source]}

    def backend_report(self, overrides: Mapping[str, Any]) -> str:
        """Each variable's type and each factor's backend, with the reason for each."""
        table = self.tables[OBSERVED]
        lines = ["idgen fit: variables"]
        for name, kind in self.types.items():
            lines.append(f"  {quote_all([name])}: {kind.describe()} ({type_reason(name, table[name], overrides)})")
        lines.append("idgen fit: factors")
        for task in self.plan.tasks:
            if task.kind == AUTOENCODER:
                lines.append(f"  {task.describe()} -> autoencoder ({task.note}, shared by its factors)")
                continue
            name = self._backend_for(task.targets, task.conditioning)
            if any(target in self.per_variable for target in task.targets):
                why = "chosen by backends="
            elif self.backend != "auto":
                why = f"backend={self.backend!r} for every factor"
            else:
                why = backend_reason(task.targets, task.conditioning, self.types)
            lines.append(f"  {task.describe()} -> {name} ({why})")
        return "\n".join(lines)

    def _backend_for(self, targets: tuple[str, ...], conditioning: tuple[str, ...]) -> str:
        latent = frozenset(self.plan.autoencoders())
        return backend_for(targets, conditioning, self.types, self.backend, self.per_variable, latent)

    def _options_for(self, name: str, task: Any) -> dict[str, Any]:
        common = {} if name == "tabular" else dict(self.options)
        options = {**common, **dict(self.options_by_backend.get(name, {}))}
        for target in task.targets:
            options.update(self.options_by_variable.get(target, {}))
        options.update(self.options_by_factor.get(factor_key(task), {}))
        return {k: v for k, v in options.items() if k not in RESOURCE_OPTIONS}  # placement, not learning

    def run(self) -> None:
        order = topological_ids({OBSERVED: [], **self.plan.dependencies()})
        steps = [key for key in order if key != OBSERVED]
        bar = _progress(steps, self.progress)
        for key in bar:
            if any(task.id == key for task in self.plan.tasks):
                self._fit_task(key)
            else:
                self._make_dataset(key)

    # -------------------------------------------------------------- autoencoders
    def _autoencoder_folder(self, task: Any) -> Path:
        """The artifact folder of an autoencoder task, keyed by its options, seed and its own images (hashed
        once per fit: every latent factor's and synthetic dataset's key names this folder)."""
        if task.id not in self._autoencoder_folders:
            self._autoencoder_folders[task.id] = self._autoencoder_key(task)
        return self._autoencoder_folders[task.id]

    def _autoencoder_key(self, task: Any) -> Path:
        from trainers.autoencoder import AUTOENCODER_RUNTIME_OPTIONS, check_autoencoder_options

        resolved = check_autoencoder_options(self.options_by_backend.get(AUTOENCODER, {}))
        learned = {k: v for k, v in resolved.items() if k not in AUTOENCODER_RUNTIME_OPTIONS}
        data = _fingerprint({v: self.tables[OBSERVED][v] for v in task.targets})
        key = content_id({"task": task.id, "options": learned, "seed": self.seed, "data": data})
        return self.store / "tasks" / f"{task.id}-{key}"

    def _fit_autoencoder(self, task: Any) -> None:
        from trainers.autoencoder import AUTOENCODER_FILE, fit_autoencoder, load_autoencoder, save_autoencoder

        folder = self._autoencoder_folder(task)
        start = time.perf_counter()
        if (folder / AUTOENCODER_FILE).is_file():
            model, report = load_autoencoder(folder)
            self.task_log.append({"task": task.id, "factor": task.describe(), "backend": AUTOENCODER, "resumed": True})
        else:
            options = {"progress": self.progress, **self.options_by_backend.get(AUTOENCODER, {})}
            images = {v: self.tables[OBSERVED][v] for v in task.targets}
            log.info("fitting %s on %s", task.describe(), task.source)
            model, report = fit_autoencoder(
                images, options, seed=node_seed(self.seed, task.id), workdir=folder.with_name(folder.name + ".work")
            )
            _on_main_process(lambda: save_autoencoder(model, folder, report))
            self.task_log.append(
                {"task": task.id, "factor": task.describe(), "backend": AUTOENCODER, "source": task.source, **report}
            )
        self.task_log[-1].update(placement(self.executor), wall_s=time.perf_counter() - start)
        self.autoencoders[task.id] = model
        if self.on_autoencoder is not None:
            self.on_autoencoder(task, model)

    def _require_autoencoders(self, task: Any) -> dict[str, tuple[str, Any]]:
        """``{variable: (autoencoder task id, model)}`` for the image variables of a factor task."""
        from trainers.autoencoder import AUTOENCODER_FILE

        attached = {}
        for variable, owner in self.plan.autoencoders().items():
            if variable not in task.targets + task.conditioning:
                continue
            if owner.id not in self.autoencoders:
                if not (self._autoencoder_folder(owner) / AUTOENCODER_FILE).is_file():
                    raise IdgenError(
                        f"task {task.id} ({task.describe()}) needs the autoencoder task {owner.id}; run its stage first"
                    )
                self._fit_autoencoder(owner)
            attached[variable] = (owner.id, self.autoencoders[owner.id])
        return attached

    def run_only(self, task_ids: list[str]) -> None:
        """Fit just ``task_ids``; the datasets they train on must have been made by earlier jobs."""
        known = {t.id for t in self.plan.tasks}
        unknown = [t for t in task_ids if t not in known]
        if unknown:
            raise IdgenError(f"plan has no task(s) {', '.join(unknown)}; its tasks: {', '.join(sorted(known))}")
        for task_id in task_ids:
            self._require_source(self.plan.task(task_id).source)
            if self.plan.task(task_id).kind != AUTOENCODER:
                self._require_autoencoders(self.plan.task(task_id))
            self._fit_task(task_id)

    def _require_source(self, dataset_id: str) -> None:
        """Load (or, when all its producing tasks are fitted, make) the dataset a task trains on."""
        if dataset_id in self.tables:
            return
        dataset = self.plan.dataset(dataset_id)
        assert dataset.network is not None
        self._require_source(dataset.input_source)
        for node in dataset.network.nodes:
            if node.task not in self.factors:
                self._load_finished(node.task)
        self._make_dataset(dataset_id)

    def _load_finished(self, task_id: str) -> None:
        task = self.plan.task(task_id)
        self._require_source(task.source)
        folder = self._task_folder(task)
        if not (folder / "factor.json").is_file():
            raise IdgenError(
                f"task {task_id} ({task.describe()}) must be fitted before the dataset it feeds; run its stage first"
            )
        self.factors[task_id] = self._load_factor(task)
        self._record_support(task)

    def _load_factor(self, task: Any) -> FactorModel:
        """The saved factor of ``task``, with this run's sampling options (they are not part of its key)."""
        factor = load_factor(self._task_folder(task))
        factor.options.update(self._runtime_options(task))
        return factor

    def _split_options(self, task: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """``(backend name, learned options, runtime options)`` of ``task``, defaults included.

        The backend's defaults are part of a factor's key (a release that changes a default retrains, never
        loads a factor built for the old one); its runtime options (sampling, reporting) are not."""
        name = self._backend_for(task.targets, task.conditioning)
        backend = get_backend(name)
        resolved = {**backend.default_options, **self._options_for(name, task)}
        resolved.pop("progress", None)
        learned = {k: v for k, v in resolved.items() if k not in backend.runtime_options}
        runtime = {k: v for k, v in resolved.items() if k in backend.runtime_options}
        return name, learned, runtime

    def _runtime_options(self, task: Any) -> dict[str, Any]:
        return self._split_options(task)[2]

    def _task_folder(self, task: Any) -> Path:
        if task.kind == AUTOENCODER:
            return self._autoencoder_folder(task)
        name, learned, _ = self._split_options(task)
        payload = {
            "task": task.id,
            "backend": name,
            "options": learned,
            "seed": self.seed,
            "data": self.keys[task.source],
        }
        if hasattr(get_backend(name), "attach_autoencoders"):
            # the latents it learns on: retraining an autoencoder retrains its factors
            payload["autoencoders"] = [
                self._autoencoder_folder(self.plan.task(a)).name for a in self.plan.autoencoders_of(task)
            ]
        return self.store / "tasks" / f"{task.id}-{content_id(payload)}"

    def _fit_task(self, task_id: str) -> None:
        task = self.plan.task(task_id)
        if task.kind == AUTOENCODER:
            self._fit_autoencoder(task)
            return
        name = self._backend_for(task.targets, task.conditioning)
        options = self._options_for(name, task)
        folder = self._task_folder(task)
        start = time.perf_counter()
        if (folder / "factor.json").is_file():
            self.factors[task.id] = self._load_factor(task)
            self._record_support(task)
            self.task_log.append({"task": task.id, "factor": task.describe(), "backend": name, "resumed": True})
            self.task_log[-1].update(placement(self.executor), wall_s=time.perf_counter() - start)
            return
        table = self.tables[task.source]
        columns = task.targets + task.conditioning
        check_columns(table, self.types, columns)
        if name != "tabular":
            options = {"progress": self.progress, **options}  # fit(progress=False) silences the trainers too
        model = get_backend(name)(task.targets, task.conditioning, self.types, **options)
        if hasattr(model, "attach_autoencoders"):
            model.attach_autoencoders(self._require_autoencoders(task))
        log.info("fitting %s on %s with %s", task.describe(), task.source, name)
        work = folder.with_name(folder.name + ".work")
        record = model.fit({c: table[c] for c in columns}, seed=node_seed(self.seed, task.id), workdir=work)
        _on_main_process(lambda: model.save(folder))
        self.factors[task.id] = model
        self._record_support(task)
        self.task_log.append(
            {"task": task.id, "factor": task.describe(), "backend": name, "source": task.source, **record}
        )
        self.task_log[-1].update(placement(self.executor), wall_s=time.perf_counter() - start)

    def dataset_size(self, columns: Sequence[str]) -> int:
        """Rows of a synthetic dataset with these columns: ``synthetic_size``, else the default."""
        if self.size is not None:
            return self.size
        rows = num_rows(self.tables[OBSERVED])
        return default_synthetic_size(rows, any(self.types[c].kind == "image" for c in columns))

    def _make_dataset(self, dataset_id: str) -> None:
        from safetensors.numpy import load_file, save_file

        dataset = self.plan.dataset(dataset_id)
        network = dataset.network
        if network is None:
            raise IdgenError(f"internal error: dataset {dataset_id} has no producing network")
        size = self.dataset_size(dataset.columns)
        # the producing factors (their folders name what they learned) and how they sample
        producers = sorted(
            content_id(
                {
                    "folder": self._task_folder(self.plan.task(node.task)).name,
                    "sampling": self._runtime_options(self.plan.task(node.task)),
                }
            )
            for node in network.nodes
        )
        key = content_id(
            {
                "dataset": dataset.id,
                "size": size,
                "rows": "spread",  # spread_rows, not a bootstrap draw
                "seed": self.seed,
                "from": self.keys[dataset.input_source],
                "producers": producers,
            }
        )
        folder = self.store / "datasets" / f"{dataset.id}-{key}"
        self.keys[dataset.id] = key
        source_table = self.tables[dataset.input_source]
        self._check_support(
            network,
            [("", input_states(source_table, network.inputs, self.types))],
            f"D′ [{dataset.id}]",
        )
        if (folder / "data.safetensors").is_file():
            self.tables[dataset.id] = dict(load_file(str(folder / "data.safetensors")))
            if self.on_dataset is not None:
                self.on_dataset(dataset, self.tables[dataset.id])
            return
        source = self.tables[dataset.input_source]
        rows = spread_rows(num_rows(source), size, np.random.default_rng(node_seed(self.seed, dataset.id, "rows")))
        inputs = take_rows({v: source[v] for v in network.inputs}, rows)
        values = run_network(
            network,
            self.factors,
            inputs,
            size,
            node_seed(self.seed, dataset.id),
            supports=self.supports,
            fill=self.positivity != "error",
        )
        produced: Table = dict(inputs)
        for variable, node in network.outputs:
            produced[variable] = values[node][variable]
        table = {c: np.ascontiguousarray(produced[c]) for c in dataset.columns}

        def write() -> None:
            with atomic_folder(folder) as tmp:
                save_file(table, str(tmp / "data.safetensors"))

        _on_main_process(write)
        self.tables[dataset.id] = table
        if self.on_dataset is not None:
            self.on_dataset(dataset, table)


def _on_main_process(write: Callable[[], None]) -> None:
    """Call ``write()`` once per launch: under a multi-process launch (``WORLD_SIZE`` > 1, as torchrun and
    ``accelerate launch`` set it) every rank holds the same trained model or dataset, so only the main
    process writes it and the others wait until it has."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        write()
        return
    from accelerate import PartialState

    state = PartialState()
    if state.is_main_process:
        write()
    state.wait_for_everyone()


def _fingerprint(table: Table) -> str:
    """Content hash of a table (column names, dtypes, shapes and bytes)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(table):
        column = np.ascontiguousarray(table[name])
        digest.update(f"{name}:{column.dtype}:{column.shape}".encode())
        digest.update(column.tobytes())
    return digest.hexdigest()[:16]


def _progress(items: list[str], enabled: bool) -> Any:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="idgen fit", unit="step")
