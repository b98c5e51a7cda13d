"""The merged sampling network: trained factors wired by a plan, sampled ancestrally for any intervention.

:func:`run_network` is the one ancestral-sampling loop; it serves both the final
:class:`SamplingNetwork` and the synthetic datasets (ID-GEN's D′) produced while fitting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from compiler.plan import INPUT, Network, QueryNetwork
from idgen.data import Table, VariableType, num_rows, take_rows
from idgen.errors import DataError, IdgenError
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
    """

    def __init__(
        self,
        query: QueryNetwork,
        factors: Mapping[str, FactorModel],
        types: Mapping[str, VariableType],
        free_pool: Table,
    ) -> None:
        self.query = query
        self.factors = dict(factors)
        self.types = dict(types)
        self.free_pool = dict(free_pool)
        missing = sorted({node.task for node in query.network.nodes} - set(self.factors))
        if missing:
            raise IdgenError(f"no trained factor for task(s) {', '.join(missing)}")
        if query.free_inputs and num_rows(self.free_pool) == 0:
            raise IdgenError(f"free inputs {', '.join(query.free_inputs)} need a pool of observed values")
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
        Same seed, same samples.

        Rows that reach a factor at parent values none of its training rows had are counted and
        handled by ``positivity`` (default: the policy ``fit`` was given): ``"warn"`` (one
        :class:`~idgen.runtime.support.PositivityWarning`; a tabular factor draws such rows from its
        targets' marginal), ``"error"`` (:class:`~idgen.errors.PositivityError`) or ``"ignore"``.
        """
        policy = check_policy(positivity if positivity is not None else self.positivity)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise DataError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        inputs = {
            **self._check_values(do or {}, self.query.treatments, "do", n),
            **self._check_values(given or {}, self.query.conditions, "given", n),
        }
        if self.query.free_inputs:
            rows = np.random.default_rng(node_seed(seed, "free-inputs")).integers(0, num_rows(self.free_pool), size=n)
            inputs.update(take_rows({v: self.free_pool[v] for v in self.query.free_inputs}, rows))
        batch = n if batch_size is None else max(1, int(batch_size))
        parts: list[Table] = []
        hits: dict[str, int] = {}
        for k, start in enumerate(range(0, n, batch)):
            rows_in_batch = min(batch, n - start)
            values = run_network(
                self.query.network,
                self.factors,
                take_rows(inputs, slice(start, start + rows_in_batch)),
                rows_in_batch,
                node_seed(seed, "batch", k),
                supports=self.supports,
                hits=hits,
                fill=policy != "error",
            )
            parts.append({v: values[node][v] for v, node in self.query.network.outputs})
        if hits:
            counted = "; ".join(f"{factor}: {rows:,} row(s)" for factor, rows in sorted(hits.items()))
            raise_or_warn(
                policy,
                f"sample: of {n:,} rows, some reached parent values no training row had ({counted}); "
                "see support_report()",
            )
        result = {v: np.concatenate([p[v] for p in parts]) for v in self.outcomes}
        return _present(result, self.types)

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
        """Write ``network.json``, one folder per factor and the free-input pool (safetensors only)."""
        from safetensors.numpy import save_file

        with atomic_folder(Path(path)) as folder:
            for task_id, factor in self.factors.items():
                factor.save(folder / "factors" / task_id)
            if self.free_pool:
                save_file(
                    {k: np.ascontiguousarray(v) for k, v in self.free_pool.items()},
                    str(folder / "free_inputs.safetensors"),
                )
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

    @classmethod
    def load(cls, path: str | Path) -> SamplingNetwork:
        """Load a network written by :meth:`save`."""
        from safetensors.numpy import load_file

        folder = Path(path)
        header_file = folder / NETWORK_FILE
        if not header_file.is_file():
            raise IdgenError(f"{str(folder)!r} holds no sampling network ({NETWORK_FILE} missing)")
        header = json.loads(header_file.read_text())
        if header.get("format") != "idgen-network/1":
            raise IdgenError(f"{header_file} is not an idgen network (format {header.get('format')!r})")
        factors = {task_id: load_factor(folder / "factors" / task_id) for task_id in header["factors"]}
        pool_file = folder / "free_inputs.safetensors"
        pool = dict(load_file(str(pool_file))) if pool_file.is_file() else {}
        types = {v: VariableType.from_json(t) for v, t in header["types"].items()}
        network = cls(QueryNetwork.from_json(header["query"]), factors, types, pool)
        support_file = folder / SUPPORT_FILE
        if support_file.is_file():
            support = json.loads(support_file.read_text())
            network.attach_support(
                {task: FactorSupport.from_json(spec) for task, spec in support["factors"].items()},
                [SupportCell(**cell) for cell in support["cells"]],
                support["policy"],
                support["min_support"],
            )
        return network


def _broadcast(variable: str, value: Any, kind: VariableType, n: int, role: str) -> np.ndarray:
    """One value for all rows, or one per row, checked against the variable's type and support."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    row_shape = kind.shape
    if kind.kind == "continuous" and kind.shape == (1,):
        # a scalar is one value; a flat column of several values is one value per row
        if array.ndim == 0:
            array = array.reshape(1)
        elif array.ndim == 1 and array.shape[0] != 1:
            array = array.reshape(-1, 1)
    if array.shape == row_shape or (kind.kind == "discrete" and array.ndim == 0):
        array = np.broadcast_to(array, (n, *row_shape)).copy()
    if array.shape != (n, *row_shape):
        raise DataError(
            f"{role}={{{variable!r}: ...}} has shape {array.shape}; expected one {kind.describe()} value or {n} of them"
        )
    if kind.kind == "discrete":
        if array.dtype.kind not in "iub" and not np.array_equal(array, np.round(array)):
            raise DataError(f"{role}={{{variable!r}: ...}} must be integer categories")
        array = array.astype(np.int64)
        outside = np.setdiff1d(np.unique(array), np.asarray(kind.categories, dtype=np.int64))
        if len(outside):
            raise DataError(
                f"{role}={{{variable!r}: {int(outside[0])}}} is outside its support "
                f"{list(kind.categories)} seen in the data"
            )
        return array
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise DataError(f"{role}={{{variable!r}: ...}} contains NaN or infinite values")
    return array


def _present(result: Table, types: Mapping[str, VariableType]) -> Any:
    tabular = all(
        types[v].kind == "discrete" or (types[v].kind == "continuous" and types[v].shape == (1,)) for v in result
    )
    if tabular:
        import pandas as pd

        return pd.DataFrame({v: (a.reshape(-1) if a.ndim > 1 else a) for v, a in result.items()})
    import torch

    return {v: torch.from_numpy(np.ascontiguousarray(a)) for v, a in result.items()}
