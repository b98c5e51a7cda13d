"""The merged sampling network: trained factors wired by a plan, sampled ancestrally for any intervention.

:func:`run_network` is the one ancestral-sampling loop; it serves both the final
:class:`SamplingNetwork` and the synthetic datasets (ID-GEN's D′) produced while fitting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from compiler.plan import FACTOR, INPUT, Network, QueryNetwork, TrainTask
from idgen.data import Table, VariableType, num_rows, take_rows
from idgen.errors import ArtifactError, DataError, IdgenError, UsageError
from idgen.runtime.checks import check_integer_argument
from idgen.runtime.manifest import MANIFEST_FILE, inside, read_manifest, verify_files, write_manifest
from idgen.runtime.support import (
    FactorSupport,
    SupportCell,
    check_policy,
    check_rows,
    fill_from_marginal,
    raise_or_warn,
)
from trainers.base import FactorModel, atomic_folder, load_factor

__all__ = ["SamplingNetwork", "run_network", "node_seed"]

NETWORK_FILE = "network.json"
POOL_FILE = "free_inputs.safetensors"
#: rows per chunk of :meth:`SamplingNetwork.iter_samples` unless told otherwise
CHUNK_ROWS = 65_536
#: rough multiple of the sampled values' bytes that sampling holds at its peak (inputs, lookups, copies)
_WORKING_FACTOR = 6
SUPPORT_FILE = "support.json"


def node_seed(seed: int, *parts: object) -> int:
    """A seed for one node (and batch) derived from the run's seed, stable across processes.

    Examples
    --------
    >>> node_seed(0, "Y", 1) == node_seed(0, "Y", 1) != node_seed(1, "Y", 1)
    True
    """
    digest = hashlib.sha256(json.dumps([seed, *[str(p) for p in parts]]).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def run_network(
    network: Network,
    factors: Mapping[str, FactorModel],
    inputs: Table,
    n: int,
    seed: int,
    supports: Mapping[str, FactorSupport] | None = None,
    hits: dict[str, int] | None = None,
    fill: bool = False,
) -> dict[str, Table]:
    """Sample every node of ``network`` in order for ``n`` rows; ``inputs`` holds the external columns.

    With ``supports`` (task id → :class:`~idgen.runtime.support.FactorSupport`), the rows each factor
    gets at parent values no training row had are counted into ``hits`` (factor → rows); with ``fill``,
    a tabular factor draws those rows from its targets' training marginal instead of refusing them.

    Returns the sampled values per node name (each a table of that node's variables).
    """
    missing = [v for v in network.inputs if v not in inputs]
    if missing:
        raise DataError(f"network inputs {', '.join(missing)} were not given")
    values: dict[str, Table] = {}
    for node in network.nodes:
        conditioning: Table = {}
        for variable, source in node.inputs:
            if source.startswith(INPUT):
                conditioning[variable] = inputs[source[len(INPUT) :]]
            else:
                conditioning[variable] = values[source][variable]
        support = supports.get(node.task) if supports else None
        if support is not None and conditioning:
            unsupported = check_rows(support, conditioning)
            count = int(unsupported.sum())
            if count and hits is not None:
                hits[support.factor] = hits.get(support.factor, 0) + count
            if count and fill and factors[node.task].backend == "tabular":
                values[node.name] = _sample_filling_holes(
                    factors[node.task], support, conditioning, unsupported, node_seed(seed, node.name)
                )
                continue
        values[node.name] = factors[node.task].sample(conditioning, n, seed=node_seed(seed, node.name))
    return values


def _sample_filling_holes(
    factor: FactorModel, support: FactorSupport, conditioning: Table, unsupported: np.ndarray, seed: int
) -> Table:
    """Supported rows from ``factor``, the others from its targets' training marginal."""
    supported = np.flatnonzero(~unsupported)
    filled = fill_from_marginal(support, int(unsupported.sum()), node_seed(seed, "holes"))
    out = {v: np.empty((len(unsupported), *filled[v].shape[1:]), dtype=filled[v].dtype) for v in filled}
    for v in filled:
        out[v][unsupported] = filled[v]
    if len(supported):
        drawn = factor.sample(take_rows(conditioning, supported), len(supported), seed=seed)
        for v in filled:
            out[v][supported] = drawn[v]
    return out


class SamplingNetwork:
    """Trained factors merged into one network answering one query; sample it for any ``do`` value.

    Parameters
    ----------
    query : QueryNetwork
        The compiled wiring and the query's roles (treatments, conditions, free inputs).
    factors : mapping of task id to FactorModel
    types : mapping of variable to VariableType
    free_pool : Table
        Observed rows of the free inputs (their values do not change the answer; any observed value
        is valid, and drawing them from data keeps every model inside its training support).
    provenance : mapping of task id to dict, optional
        Where each factor came from (``{"task": {targets, conditioning, source}, "seed": ..., "data": <fingerprint
        of its training data>}``, as :func:`idgen.fit` records it); written to the folder's manifest.
        ``factors`` may hold more models than the network's nodes use (an artifact a factor needs, such as
        an autoencoder); every one is saved, hashed and checked alike.
    """

    def __init__(
        self,
        query: QueryNetwork,
        factors: Mapping[str, FactorModel],
        types: Mapping[str, VariableType],
        free_pool: Table,
        provenance: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.query = query
        self.factors = dict(factors)
        self.types = dict(types)
        self.free_pool = dict(free_pool)
        self.provenance = {k: dict(v) for k, v in (provenance or {}).items()}
        missing = sorted({node.task for node in query.network.nodes} - set(self.factors))
        if missing:
            raise IdgenError(f"no trained factor for task(s) {', '.join(missing)}")
        if query.free_inputs and num_rows(self.free_pool) == 0:
            raise IdgenError(f"free inputs {', '.join(query.free_inputs)} need a pool of observed values")
        _check_wiring(query, self.factors, self.types)
        self.supports: dict[str, FactorSupport] = {}
        self.support_cells: list[SupportCell] = []
        self.positivity = "warn"
        self.min_support = 20
        # set by fit, for effect(bootstrap=...): refit the same plan on other rows, the rows it was fitted on
        self.refit: Any = None
        self.training_table: Table | None = None
        self.plan_factors: list[FactorModel] = list(self.factors.values())
        self.fit_seconds: float | None = None

    # ------------------------------------------------------------------ effects
    def effect(
        self,
        outcome: str | None = None,
        do: Mapping[str, Any] | None = None,
        *,
        given: Mapping[str, Any] | None = None,
        n: int = 10_000,
        seed: int = 0,
        bootstrap: int = 0,
        level: float = 0.95,
        progress: bool = True,
    ) -> Any:
        """Interventional means or probabilities per ``do`` value, contrasts, Monte Carlo standard errors
        and, with ``bootstrap=B``, percentile intervals from ``B`` refits; see :func:`idgen.runtime.effect.effect`.

        >>> # net.effect("Y", do={"T": [0, 1]}, bootstrap=200, level=0.9)  # doctest: +SKIP
        """
        from idgen.runtime.effect import effect

        return effect(
            self, outcome, do, given=given, n=n, seed=seed, bootstrap=bootstrap, level=level, progress=progress
        )

    # ------------------------------------------------------------------ support (positivity)
    def attach_support(
        self, supports: Mapping[str, FactorSupport], cells: list[SupportCell], policy: str, min_support: int
    ) -> None:
        """Hand the network its factors' training support and the fit's report (``fit`` calls this)."""
        self.supports = dict(supports)
        self.support_cells = list(cells)
        self.positivity = check_policy(policy)
        self.min_support = int(min_support)

    def support_report(self, everything: bool = False) -> Any:
        """The support report as a DataFrame: one row per (factor, parent configuration) it is asked about.

        Columns: ``network``, ``factor``, ``configuration``, ``rows`` (training rows), ``status`` (``hole``,
        ``thin``, ``out of range`` or ``ok``), ``mass`` (largest share of the network's draws reaching it,
        over its do/given values), ``scenario`` (where that share is reached) and ``task``. Only the
        problems unless ``everything``; the worst first.
        """
        import pandas as pd

        columns = ["network", "factor", "configuration", "rows", "status", "mass", "scenario", "task"]
        rows = [c.as_dict() for c in self.support_cells if everything or c.status != "ok"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values(["mass"], ascending=False, kind="stable").reset_index(drop=True)

    def __repr__(self) -> str:
        return f"SamplingNetwork({self.query.query}, {len(self.query.network.nodes)} node(s))"

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.query.network.outputs)

    @property
    def is_tabular(self) -> bool:
        """Whether :meth:`sample` returns a DataFrame (every outcome discrete or scalar continuous)."""
        return all(_is_column(self.types[v]) for v in self.outcomes)

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        do: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        positivity: str | None = None,
    ) -> Any:
        """Draw ``n`` samples of the outcomes under ``do`` (and ``given`` for a conditional query).

        Values in ``do``/``given`` are one value for all rows or one per row. Returns a pandas
        DataFrame when every outcome is discrete or scalar continuous, else a dict of torch tensors.
        Same seed, same samples. A draw that would not fit in the memory available is refused up front
        with the estimate; :meth:`iter_samples` draws it in chunks instead.

        Rows that reach a factor at parent values none of its training rows had are counted and
        handled by ``positivity`` (default: the policy ``fit`` was given): ``"warn"`` (one
        :class:`~idgen.runtime.support.PositivityWarning`; a tabular factor draws such rows from its
        targets' marginal), ``"error"`` (:class:`~idgen.errors.PositivityError`) or ``"ignore"``.
        """
        policy = check_policy(positivity if positivity is not None else self.positivity)
        n = _count(n)
        batch = n if batch_size is None else check_integer_argument(batch_size, "batch_size", 1)
        needed = self.memory_estimate(n, batch)
        available = _available_memory()
        if available is not None and needed > available:
            raise DataError(
                f"sample(n={n}) needs about {needed / 2**30:.1f} GiB of memory but {available / 2**30:.1f} GiB are "
                "available; draw it in chunks with SamplingNetwork.iter_samples (idgen sample --out streams to a file)"
            )
        parts = list(self._chunks(n, do, given, seed, batch, policy))
        result = {v: np.concatenate([p[v] for p in parts]) for v in self.outcomes}
        return _present(result, self.types)

    def iter_samples(
        self,
        n: int,
        do: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        seed: int = 0,
        chunk_size: int = CHUNK_ROWS,
    ) -> Iterator[Any]:
        """Draw ``n`` samples in chunks of at most ``chunk_size`` rows, in bounded memory.

        The chunks, concatenated, are ``sample(n, do, given, seed, batch_size=chunk_size)``. Every input is
        checked before the first chunk is drawn.
        """
        n = _count(n)
        chunk_size = check_integer_argument(chunk_size, "chunk_size", 1)
        chunks = self._chunks(n, do, given, seed, chunk_size, self.positivity)
        return (_present(part, self.types) for part in chunks)

    def memory_estimate(self, n: int, batch_size: int) -> int:
        """Rough peak bytes of ``sample(n, batch_size=batch_size)``: the outputs plus one batch's work."""
        every = {v for node in self.query.network.nodes for v in node.variables} | set(self.query.network.inputs)
        working = sum(_row_bytes(self.types[v]) for v in every if v in self.types) * _WORKING_FACTOR
        outputs = sum(_row_bytes(self.types[v]) for v in self.outcomes) * 3  # parts, concatenation, DataFrame
        return n * outputs + min(n, batch_size) * working

    def _chunks(
        self,
        n: int,
        do: Mapping[str, Any] | None,
        given: Mapping[str, Any] | None,
        seed: int,
        chunk: int,
        policy: str = "warn",
    ) -> Iterator[Table]:
        """Check every input, then return a generator of the outcome tables of each chunk of rows."""
        seed = check_integer_argument(seed, "seed", 0)
        inputs = {
            **self._check_values({} if do is None else do, self.query.treatments, "do", n),
            **self._check_values({} if given is None else given, self.query.conditions, "given", n),
        }
        free = {v: self.free_pool[v] for v in self.query.free_inputs}
        return self._draw(n, inputs, free, seed, chunk, policy)

    def _draw(self, n: int, inputs: Table, free: Table, seed: int, chunk: int, policy: str) -> Iterator[Table]:
        rows_of = np.random.default_rng(node_seed(seed, "free-inputs"))
        hits: dict[str, int] = {}
        for k, start in enumerate(range(0, n, chunk)):
            rows = min(chunk, n - start)
            batch = {v: np.ascontiguousarray(a[start : start + rows]) for v, a in inputs.items()}
            if free:
                batch.update(take_rows(free, rows_of.integers(0, num_rows(free), size=rows)))
            values = run_network(
                self.query.network,
                self.factors,
                batch,
                rows,
                node_seed(seed, "batch", k),
                supports=self.supports,
                hits=hits,
                fill=policy != "error",
            )
            yield {v: values[node][v] for v, node in self.query.network.outputs}
        if hits:
            counted = "; ".join(f"{factor}: {rows:,} row(s)" for factor, rows in sorted(hits.items()))
            raise_or_warn(
                policy,
                f"sample: of {n:,} rows, some reached parent values no training row had ({counted}); "
                "see support_report()",
            )

    def _check_values(self, values: Mapping[str, Any], expected: tuple[str, ...], role: str, n: int) -> Table:
        if not isinstance(values, Mapping):
            raise DataError(f"{role}= must be a dict of variable to value, got {type(values).__name__}")
        missing = [v for v in expected if v not in values]
        extra = [v for v in values if v not in expected]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if extra:
                problems.append(f"unexpected {', '.join(map(str, extra))}")
            wanted = ", ".join(expected) or "nothing"
            raise DataError(f"{role}= for {self.query.query}: {'; '.join(problems)} (it takes {wanted})")
        checked: Table = {}
        for variable in expected:
            checked[variable] = _broadcast(variable, values[variable], self.types[variable], n, role)
        return checked

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write ``network.json``, one folder per factor, the free-input pool and ``manifest.json``.

        safetensors and JSON only. The manifest (see :mod:`idgen.runtime.manifest`) holds the sha256 of every
        file and where each factor came from; :meth:`load` checks all of it. The folder is written under a
        temporary name and renamed into place; an existing folder is replaced only if it is a network.
        """
        from safetensors.numpy import save_file

        target = _folder_argument(path, "save")
        if target.exists() and not target.is_dir():
            raise UsageError(f"cannot save a network to {str(target)!r}: it is an existing file")
        if target.is_dir() and any(target.iterdir()) and not (target / NETWORK_FILE).is_file():
            raise UsageError(f"refusing to replace {str(target)!r}: it is a folder with files but not a saved network")
        with atomic_folder(target) as folder:
            for task_id, factor in self.factors.items():
                factor.save(inside(folder, "factors", task_id))
            if self.free_pool:
                save_file({k: np.ascontiguousarray(v) for k, v in self.free_pool.items()}, str(folder / POOL_FILE))
            header = {
                "format": "idgen-network/1",
                "query": self.query.to_json(),
                "types": {v: t.to_json() for v, t in self.types.items()},
                "factors": sorted(self.factors),
            }
            (folder / NETWORK_FILE).write_text(json.dumps(header, indent=1))
            if self.supports:
                support = {
                    "policy": self.positivity,
                    "min_support": self.min_support,
                    "factors": {task: s.to_json() for task, s in self.supports.items()},
                    "cells": [cell.as_dict() for cell in self.support_cells],
                }
                (folder / SUPPORT_FILE).write_text(json.dumps(support))
            write_manifest(
                folder,
                network={"query": self.query.query, "id": self.query.network.id},
                tasks={k: self.provenance.get(k, {}).get("task") for k in sorted(self.factors)},
                factors={k: _factor_record(k, f, self.provenance.get(k, {})) for k, f in sorted(self.factors.items())},
            )

    @classmethod
    def load(cls, path: str | Path) -> SamplingNetwork:
        """Load a network written by :meth:`save`, after checking the folder against its manifest.

        Every file must hash to its manifest entry before any is parsed; then the factors must be the
        manifest's (task ids, backends, options), the wiring its content id, the variable types those the
        factors were trained on, and every loaded tensor well-formed. Any mismatch is one
        :class:`~idgen.errors.ArtifactError` naming the file.
        """
        folder = _folder_argument(path, "load")
        if not folder.is_dir():
            raise ArtifactError(f"{str(folder)!r} holds no sampling network (no such folder)")
        if not (folder / NETWORK_FILE).is_file():
            raise ArtifactError(f"{str(folder)!r} holds no sampling network ({NETWORK_FILE} missing)")
        manifest = read_manifest(folder)
        verify_files(folder, manifest)
        header_file = folder / NETWORK_FILE
        query, types, factor_ids = _read_header(header_file)
        if sorted(factor_ids) != sorted(manifest["factors"]):
            raise ArtifactError(
                f"{header_file} lists factors {factor_ids} but {MANIFEST_FILE} lists {sorted(manifest['factors'])}"
            )
        recorded = manifest["network"]
        if recorded.get("id") != query.network.id or recorded.get("query") != query.query:
            raise ArtifactError(f"{header_file}: the wiring does not match its content id in {MANIFEST_FILE}")
        factors = {}
        for task_id in factor_ids:
            factor_folder = inside(folder, "factors", task_id)
            factor = load_factor(factor_folder)
            _check_factor(factor_folder, task_id, factor, manifest)
            factors[task_id] = factor
        pool = _load_pool(folder / POOL_FILE, query, types)
        provenance = {
            k: {"task": manifest["tasks"].get(k), **{f: v.get(f) for f in ("seed", "data")}}
            for k, v in manifest["factors"].items()
        }
        try:
            network = cls(query, factors, types, pool, provenance=provenance)
        except ArtifactError:
            raise
        except IdgenError as error:
            raise ArtifactError(f"{header_file}: {error}") from None
        support_file = folder / SUPPORT_FILE
        if support_file.is_file():  # covered by the manifest's checksums, verified above
            try:
                support = json.loads(support_file.read_text())
                network.attach_support(
                    {task: FactorSupport.from_json(spec) for task, spec in support["factors"].items()},
                    [SupportCell(**cell) for cell in support["cells"]],
                    support["policy"],
                    support["min_support"],
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ArtifactError(f"{support_file} is malformed ({type(error).__name__}: {error})") from None
        return network


def _count(n: Any) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise DataError(f"n must be a positive integer, got {n!r}")
    return int(n)


def _is_column(kind: VariableType) -> bool:
    return kind.kind == "discrete" or (kind.kind == "continuous" and kind.shape == (1,))


def _row_bytes(kind: VariableType) -> int:
    return 8 if kind.kind == "discrete" else 4 * int(np.prod(kind.shape))


def _available_memory() -> int | None:
    """Bytes of memory the system can give this process now (Linux ``MemAvailable``), or ``None``."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _folder_argument(path: Any, verb: str) -> Path:
    if not isinstance(path, (str, Path)) or not str(path):
        raise UsageError(f"SamplingNetwork.{verb} needs a folder path, got {path!r}")
    return Path(path)


def _normalized(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists), for comparing saved options."""
    return json.loads(json.dumps(value, default=str))


def _factor_record(task_id: str, factor: FactorModel, provenance: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "folder": f"factors/{task_id}",
        "backend": factor.backend,
        "targets": list(factor.targets),
        "conditioning": list(factor.conditioning),
        "options": _normalized(factor.options),
        "seed": provenance.get("seed"),
        "data": provenance.get("data"),
    }


def _read_header(header_file: Path) -> tuple[QueryNetwork, dict[str, VariableType], list[str]]:
    """The query wiring, variable types and factor ids of ``network.json``; malformed is an ArtifactError."""
    try:
        header = json.loads(header_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{header_file} is not readable JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") != "idgen-network/1":
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ArtifactError(f"{header_file} is not an idgen network (format {found!r})")
    factor_ids = header.get("factors")
    if not isinstance(factor_ids, list) or not all(isinstance(t, str) for t in factor_ids):
        raise ArtifactError(f"{header_file} has no list of factor ids under 'factors'")
    try:
        query = QueryNetwork.from_json(header["query"])
        types = {str(v): VariableType.from_json(t) for v, t in header["types"].items()}
    except IdgenError as error:
        raise ArtifactError(f"{header_file}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ArtifactError(f"{header_file} is malformed ({type(error).__name__}: {error})") from None
    return query, types, factor_ids


def _check_factor(folder: Path, task_id: str, factor: FactorModel, manifest: Mapping[str, Any]) -> None:
    """The loaded factor is the one the manifest recorded: backend, variables, options and task id."""
    record = manifest["factors"][task_id]
    where = folder / "factor.json"
    if not isinstance(record, dict):
        raise ArtifactError(f"{MANIFEST_FILE} has no valid record of factor {task_id}")
    for key, value in (
        ("backend", factor.backend),
        ("targets", list(factor.targets)),
        ("conditioning", list(factor.conditioning)),
        ("options", _normalized(factor.options)),
    ):
        if record.get(key) != value:
            raise ArtifactError(f"{where}: its {key} {value!r} differ from {MANIFEST_FILE}'s {record.get(key)!r}")
    spec = manifest["tasks"].get(task_id)
    if spec is not None:
        try:
            kind = str(spec.get("kind", FACTOR))
            task = TrainTask(tuple(spec["targets"]), tuple(spec["conditioning"]), str(spec["source"]), kind=kind)
        except (KeyError, TypeError, IdgenError) as error:
            raise ArtifactError(f"{MANIFEST_FILE}: malformed task {task_id} ({error})") from None
        if task.id != task_id or (task.targets, task.conditioning) != (factor.targets, factor.conditioning):
            raise ArtifactError(f"{where} is not the factor of task {task_id} (its content id differs)")


def _check_wiring(query: QueryNetwork, factors: Mapping[str, FactorModel], types: Mapping[str, VariableType]) -> None:
    """Each node's factor samples the node's variables from its wired inputs, with the network's types."""
    network = query.network
    roles = (*query.treatments, *query.conditions, *query.free_inputs, *network.inputs)
    named = set(roles) | {v for node in network.nodes for v in node.variables} | {v for v, _ in network.outputs}
    untyped = sorted(v for v in named if v not in types)
    if untyped:
        raise IdgenError(f"the network has no variable type for {', '.join(untyped)}")
    produced = {node.name for node in network.nodes}
    for node in network.nodes:
        factor = factors[node.task]
        if not set(node.variables) <= set(factor.targets):
            raise IdgenError(
                f"node {node.name} samples {node.variables} but factor {node.task} models {factor.describe()}"
            )
        wired = {v for v, _ in node.inputs}
        if wired != set(factor.conditioning):
            raise IdgenError(f"node {node.name} feeds {sorted(wired)} to factor {node.task} ({factor.describe()})")
        for variable, source in node.inputs:
            outside = source.startswith(INPUT) and source[len(INPUT) :] not in network.inputs
            if outside or (not source.startswith(INPUT) and source not in produced):
                raise IdgenError(f"node {node.name} takes {variable} from {source!r}, which the network does not have")
    for output, node_name in network.outputs:
        if node_name not in produced:
            raise IdgenError(f"output {output} comes from node {node_name!r}, which the network does not have")
    for task_id, factor in factors.items():
        for variable, kind in factor.types.items():
            if variable in types and types[variable] != kind:
                raise IdgenError(
                    f"variable {variable} is {types[variable].describe()} in the network but factor {task_id} "
                    f"({factor.describe()}) was trained on it as {kind.describe()}"
                )


def _load_pool(path: Path, query: QueryNetwork, types: Mapping[str, VariableType]) -> Table:
    """The free-input pool, checked against the variables' types (finite values, categories in support)."""
    from safetensors.numpy import load_file

    if not path.is_file():
        return {}
    try:
        pool = dict(load_file(str(path)))
    except Exception as error:  # noqa: BLE001 - a corrupt file is one clear line
        raise ArtifactError(f"cannot read {path}: {type(error).__name__}: {error}") from None
    if set(pool) != set(query.free_inputs):
        raise ArtifactError(f"{path} holds {sorted(pool)} but the network's free inputs are {list(query.free_inputs)}")
    for variable, column in pool.items():
        try:
            _check_column(variable, column, types[variable])
        except DataError as error:
            raise ArtifactError(f"{path}: {error}") from None
    if len({len(c) for c in pool.values()}) > 1:
        raise ArtifactError(f"{path}: its columns have different lengths")
    return pool


def _check_column(variable: str, column: np.ndarray, kind: VariableType) -> None:
    shape = tuple(column.shape[1:])
    if kind.kind == "continuous" and shape == ():
        shape = (1,)
    if column.ndim == 0 or shape != kind.shape:
        raise DataError(f"column {variable!r} has shape {column.shape}; expected rows of {kind.describe()}")
    if kind.kind == "discrete":
        outside = np.setdiff1d(np.unique(column), np.asarray(kind.categories))
        if column.dtype.kind not in "iu" or len(outside):
            raise DataError(f"column {variable!r} holds values outside {kind.describe()}")
    elif column.dtype.kind != "f" or not np.isfinite(column).all():
        raise DataError(f"column {variable!r} holds NaN, infinite or non-float values")


def _broadcast(variable: str, value: Any, kind: VariableType, n: int, role: str) -> np.ndarray:
    """One value for all rows, or one per row, checked against the variable's type and support."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise DataError(f"{role}={{{variable!r}: ...}} is not an array of numbers ({error})") from None
    if array.dtype.kind not in "biuf":
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise DataError(f"{role}={{{variable!r}: {shown}}} must be {kind.describe()} values, not {array.dtype} ones")
    row_shape = kind.shape
    if kind.kind == "continuous" and kind.shape == (1,):
        # a scalar is one value; a flat column of several values is one value per row
        if array.ndim == 0:
            array = array.reshape(1)
        elif array.ndim == 1 and array.shape[0] != 1:
            array = array.reshape(-1, 1)
    single = array.shape == row_shape or (kind.kind == "discrete" and array.ndim == 0)
    if not single and array.shape != (n, *row_shape):
        raise DataError(
            f"{role}={{{variable!r}: ...}} has shape {array.shape}; expected one {kind.describe()} value or {n} of them"
        )
    checked = _checked_values(variable, array, kind, role)
    # one value for every row stays one value (a read-only view), so a large n costs no memory here
    return np.broadcast_to(checked, (n, *row_shape)) if single else checked


def _checked_values(variable: str, array: np.ndarray, kind: VariableType, role: str) -> np.ndarray:
    if kind.kind == "discrete":
        values = np.unique(array)
        outside = values[~np.isin(values, np.asarray(kind.categories, dtype=np.int64))]
        if len(outside) and array.dtype.kind == "f" and not float(outside[0].item()).is_integer():
            raise DataError(f"{role}={{{variable!r}: {outside[0].item()!r}}} must be an integer category")
        if len(outside):
            raise DataError(
                f"{role}={{{variable!r}: {outside[0].item()!r}}} is outside its support "
                f"{list(kind.categories)} seen in the data"
            )
        return array.astype(np.int64)
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise DataError(f"{role}={{{variable!r}: ...}} contains NaN or infinite values")
    return array


def _present(result: Table, types: Mapping[str, VariableType]) -> Any:
    if all(_is_column(types[v]) for v in result):
        import pandas as pd

        return pd.DataFrame({v: (a.reshape(-1) if a.ndim > 1 else a) for v, a in result.items()})
    import torch

    return {v: torch.from_numpy(np.ascontiguousarray(a)) for v, a in result.items()}
