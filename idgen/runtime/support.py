"""Support (positivity): which parent configurations a network can ask each factor about, vs its training rows.

A factor ``P(targets | parents)`` is only as good as the rows it saw for the parent values it is asked
about. This module answers, without sampling (so the answer does not depend on a seed or a sample size):

* :class:`FactorSupport` — what one factor was trained on: the row count of every configuration of its
  discrete parents, the observed range of each continuous parent dimension within it, and the
  distribution of its discrete targets (used to carry the analysis on to later factors);
* :func:`analyze_network` — push every configuration a network can produce through its factors in
  order (do values, values drawn by upstream factors, rows of the input table of a D′ or IDC joint)
  and record, per factor and parent configuration, its training rows and the share of the network's
  mass that reaches it; a *hole* has no training row, a *thin* cell fewer than ``min_support`` rows, and
  a continuous parent *out of range* lies beyond the observed range;
* :func:`check_rows` — the same test on the rows a sampling run actually feeds a factor, so that
  ``sample`` can count them.

The policy (``"warn"``, ``"error"``, ``"ignore"``) is the caller's; :class:`PositivityWarning` is what
``warn`` emits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compiler.plan import INPUT, Network
from idgen.data import Table, VariableType, num_rows
from idgen.errors import IdgenError, PositivityError, PositivityWarning
from idgen.names import quote

__all__ = [
    "PositivityWarning",
    "FactorSupport",
    "SupportCell",
    "analyze_network",
    "check_rows",
    "POLICIES",
    "MIN_SUPPORT",
    "summarize",
]

POLICIES = ("warn", "error", "ignore")
#: a parent configuration with fewer training rows than this is reported as thin
MIN_SUPPORT = 20
#: stop enumerating a network's configurations beyond this many (the report says it was cut short)
MAX_STATES = 200_000
#: at most this many do/given scenarios are enumerated for a query network
MAX_SCENARIOS = 256
#: a continuous parent may exceed its observed range by this share of the range's width before it counts
RANGE_MARGIN = 0.05


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`POLICIES`, else a one-line error."""
    if policy not in POLICIES:
        raise IdgenError(f"positivity must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}")
    return policy


@dataclass
class FactorSupport:
    """What one factor was trained on (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> d = VariableType("discrete", (), (0, 1))
    >>> table = {"X": np.array([0, 0, 1]), "Y": np.array([0, 1, 1])}
    >>> support = FactorSupport.from_table("t", "P(Y | X)", ("Y",), ("X",), table, {"X": d, "Y": d})
    >>> support.count({"X": 1}), support.count({"X": 2})
    (1, 0)
    """

    task: str
    factor: str
    targets: tuple[str, ...]
    discrete: tuple[str, ...]
    continuous: tuple[str, ...]
    configs: np.ndarray
    counts: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rows: int
    #: per configuration index, the discrete targets' values and probabilities (for the analysis)
    target_values: list[np.ndarray] = field(default_factory=list, repr=False)
    target_probabilities: list[np.ndarray] = field(default_factory=list, repr=False)
    #: per configuration index, the continuous targets' (low, high); index -1: over all rows
    target_ranges: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)
    marginal_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64), repr=False)
    marginal_probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @classmethod
    def from_table(
        cls,
        task: str,
        factor: str,
        targets: Sequence[str],
        conditioning: Sequence[str],
        table: Mapping[str, np.ndarray],
        types: Mapping[str, VariableType],
    ) -> FactorSupport:
        """Count ``table``'s rows per configuration of the discrete ``conditioning`` variables."""
        discrete = tuple(v for v in conditioning if types[v].kind == "discrete")
        continuous = tuple(v for v in conditioning if types[v].kind == "continuous")
        n = num_rows(table)
        keys = _stack_discrete(table, discrete, n)
        configs, index, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        index = index.reshape(-1)
        values = _stack_continuous(table, continuous, n)
        low = np.full((len(configs), values.shape[1]), np.inf)
        high = np.full((len(configs), values.shape[1]), -np.inf)
        if values.shape[1]:
            np.minimum.at(low, index, values)
            np.maximum.at(high, index, values)
        support = cls(task, factor, tuple(targets), discrete, continuous, configs, counts, low, high, n)
        discrete_targets = tuple(v for v in targets if types[v].kind == "discrete")
        continuous_targets = tuple(v for v in targets if types[v].kind == "continuous")
        target_keys = _stack_discrete(table, discrete_targets, n)
        target_values = _stack_continuous(table, continuous_targets, n)
        groups = np.split(np.argsort(index, kind="stable"), np.cumsum(counts)[:-1])
        for rows in groups:
            unique, frequency = np.unique(target_keys[rows], axis=0, return_counts=True)
            support.target_values.append(unique)
            support.target_probabilities.append(frequency / frequency.sum())
            support.target_ranges.append(_range(target_values[rows]))
        unique, frequency = np.unique(target_keys, axis=0, return_counts=True)
        support.marginal_values, support.marginal_probabilities = unique, frequency / max(1, frequency.sum())
        support.target_ranges.append(_range(target_values))
        return support

    # -------------------------------------------------------------- lookups
    def index(self, config: Sequence[int]) -> int:
        """Position of a discrete configuration, or -1 when no training row had it."""
        if not self.discrete:
            return 0 if len(self.configs) else -1
        hits = np.flatnonzero((self.configs == np.asarray(config, dtype=np.int64)).all(axis=1))
        return int(hits[0]) if len(hits) else -1

    def count(self, values: Mapping[str, int]) -> int:
        """Training rows with these discrete parent values."""
        position = self.index([values[v] for v in self.discrete])
        return int(self.counts[position]) if position >= 0 else 0

    def describe(self, config: Sequence[int], intervals: Sequence[tuple[float, float]] = ()) -> str:
        """``X=1, Z=0`` (and ``W in [a, b]`` for continuous parents)."""
        parts = [f"{quote(v)}={int(x)}" for v, x in zip(self.discrete, config, strict=True)]
        parts += [
            f"{quote(v)} in [{lo:.4g}, {hi:.4g}]" for v, (lo, hi) in zip(self.continuous, intervals, strict=False)
        ]
        return ", ".join(parts) or "(no parents)"

    # -------------------------------------------------------------- persistence
    def to_json(self) -> dict[str, Any]:
        """What :func:`check_rows` needs at sampling time (and the marginal that fills a tabular hole)."""
        return {
            "task": self.task,
            "factor": self.factor,
            "targets": list(self.targets),
            "discrete": list(self.discrete),
            "continuous": list(self.continuous),
            "configs": self.configs.tolist(),
            "counts": self.counts.tolist(),
            "low": np.where(np.isfinite(self.low), self.low, 0.0).tolist(),
            "high": np.where(np.isfinite(self.high), self.high, 0.0).tolist(),
            "rows": self.rows,
            "marginal_values": self.marginal_values.tolist(),
            "marginal_probabilities": self.marginal_probabilities.tolist(),
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> FactorSupport:
        discrete = tuple(spec["discrete"])
        dims = len(spec["low"][0]) if spec["low"] else 0
        support = cls(
            spec["task"],
            spec["factor"],
            tuple(spec["targets"]),
            discrete,
            tuple(spec["continuous"]),
            np.asarray(spec["configs"], dtype=np.int64).reshape(len(spec["configs"]), len(discrete)),
            np.asarray(spec["counts"], dtype=np.int64),
            np.asarray(spec["low"], dtype=np.float64).reshape(len(spec["low"]), dims),
            np.asarray(spec["high"], dtype=np.float64).reshape(len(spec["high"]), dims),
            int(spec["rows"]),
        )
        width = len(spec["marginal_values"][0]) if spec["marginal_values"] else 0
        support.marginal_values = np.asarray(spec["marginal_values"], dtype=np.int64).reshape(
            len(spec["marginal_values"]), width
        )
        support.marginal_probabilities = np.asarray(spec["marginal_probabilities"], dtype=np.float64)
        return support


@dataclass(frozen=True)
class SupportCell:
    """One parent configuration a factor is asked about, in one network."""

    network: str
    factor: str
    task: str
    configuration: str
    rows: int
    status: str
    mass: float
    scenario: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "factor": self.factor,
            "task": self.task,
            "configuration": self.configuration,
            "rows": self.rows,
            "status": self.status,
            "mass": self.mass,
            "scenario": self.scenario,
        }


# ---------------------------------------------------------------------------------------------- analysis
Slot = tuple[str, str]  # (source: node name or "input:", variable)
Value = Any  # int for discrete, (low, high) tuple of tuples for continuous, None for images


def input_states(
    table: Mapping[str, np.ndarray], variables: Sequence[str], types: Mapping[str, VariableType]
) -> dict[tuple[Value, ...], float]:
    """The distribution of ``variables`` over the rows of ``table``: discrete ones exactly, continuous ones
    as the observed range within each discrete configuration, images as unknown."""
    n = num_rows(table)
    discrete = [v for v in variables if types[v].kind == "discrete"]
    keys = _stack_discrete(table, tuple(discrete), n)
    configs, index, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    index = index.reshape(-1)
    states: dict[tuple[Value, ...], float] = {}
    for k, config in enumerate(configs):
        by_name = dict(zip(discrete, (int(x) for x in config), strict=True))
        rows = index == k
        state: list[Value] = []
        for variable in variables:
            kind = types[variable].kind
            if kind == "discrete":
                state.append(by_name[variable])
            elif kind == "continuous":
                values = np.asarray(table[variable], dtype=np.float64).reshape(n, -1)[rows]
                state.append((tuple(values.min(axis=0)), tuple(values.max(axis=0))))
            else:
                state.append(None)
        states[tuple(state)] = states.get(tuple(state), 0.0) + float(counts[k]) / n
    return states


def scenario_values(variable: str, kind: VariableType, observed: Mapping[str, np.ndarray]) -> list[Value]:
    """The values a network can be asked to take for an input: every category, or the observed range."""
    if kind.kind == "discrete":
        return list(kind.categories)
    if kind.kind == "continuous" and variable in observed:
        values = np.asarray(observed[variable], dtype=np.float64).reshape(len(observed[variable]), -1)
        return [(tuple(values.min(axis=0)), tuple(values.max(axis=0)))]
    return [None]


def analyze_network(
    network: Network,
    supports: Mapping[str, FactorSupport],
    types: Mapping[str, VariableType],
    start: Iterable[tuple[str, Mapping[tuple[Value, ...], float]]],
    label: str,
    min_support: int = MIN_SUPPORT,
) -> tuple[list[SupportCell], str]:
    """Every parent configuration each node of ``network`` can be asked about, with its support.

    Parameters
    ----------
    network : Network
    supports : mapping of task id to FactorSupport
    types : mapping of variable to VariableType
    start : iterable of (scenario label, distribution of ``network.inputs``)
        One distribution per scenario (a do/given value, or the rows of a D′'s input table), each a
        mapping of input-value tuples (in ``network.inputs`` order) to probability.
    label : str
        How the report names this network.
    min_support : int

    Returns
    -------
    (cells, note) : list of SupportCell, str
        One cell per (factor, configuration), with the largest mass over the scenarios; ``note`` is
        non-empty when the enumeration had to stop early.
    """
    best: dict[tuple[str, str], SupportCell] = {}
    note = ""
    reads = _reads(network)
    for scenario, distribution in start:
        slots: list[Slot] = [(INPUT, v) for v in network.inputs]
        states = {tuple(state): mass for state, mass in distribution.items()}
        for position, node in enumerate(network.nodes):
            support = supports[node.task]
            where = {var: slots.index(_slot(var, src)) for var, src in node.inputs}
            grouped: dict[tuple[Value, ...], float] = {}
            for state, mass in states.items():
                key = tuple(state[where[v]] for v in support.discrete + support.continuous)
                grouped[key] = grouped.get(key, 0.0) + mass
            outcome: dict[tuple[Value, ...], int] = {}
            for key, mass in grouped.items():
                cell, config_index = _classify(support, key, min_support)
                outcome[key] = config_index
                intervals = [
                    (float(min(value[0])), float(max(value[1]))) if value is not None else (np.nan, np.nan)
                    for value in key[len(support.discrete) :]
                ]
                described = support.describe(key[: len(support.discrete)], intervals)
                previous = best.get((support.task, described))
                if previous is None or mass > previous.mass:
                    best[(support.task, described)] = SupportCell(
                        label, support.factor, support.task, described, cell[0], cell[1], float(mass), scenario
                    )
            # carry the states on: each node's targets drawn from its training rows in that configuration
            new_slots = slots + [(node.name, v) for v in node.variables]
            expanded: dict[tuple[Value, ...], float] = {}
            for state, mass in states.items():
                key = tuple(state[where[v]] for v in support.discrete + support.continuous)
                for draw, probability in _target_draws(support, outcome[key], node.variables, types):
                    extended = state + draw
                    expanded[extended] = expanded.get(extended, 0.0) + mass * probability
            keep = [i for i, slot in enumerate(new_slots) if slot in reads.get(position + 1, set())]
            slots = [new_slots[i] for i in keep]
            states = {}
            for state, mass in expanded.items():
                pruned = tuple(state[i] for i in keep)
                states[pruned] = states.get(pruned, 0.0) + mass
            if len(states) > MAX_STATES:
                note = f"{label}: more than {MAX_STATES:,} configurations after {node.name}; the analysis stopped there"
                break
    return sorted(best.values(), key=lambda c: (c.network, c.factor, -c.mass)), note


def _reads(network: Network) -> dict[int, set[Slot]]:
    """For each node position k, the slots any node at position >= k reads."""
    reads: dict[int, set[Slot]] = {}
    needed: set[Slot] = set()
    for position in range(len(network.nodes) - 1, -1, -1):
        node = network.nodes[position]
        reads[position + 1] = set(needed)
        for var, src in node.inputs:
            needed.add(_slot(var, src))
    reads[0] = needed
    return reads


def _slot(variable: str, source: str) -> Slot:
    """Where a node input comes from: a network input, or one variable of an earlier node."""
    return (INPUT, source[len(INPUT) :]) if source.startswith(INPUT) else (source, variable)


def _classify(support: FactorSupport, key: tuple[Value, ...], min_support: int) -> tuple[tuple[int, str], int]:
    """((training rows, status), configuration index) of one requested parent configuration."""
    discrete = key[: len(support.discrete)]
    config_index = support.index([int(x) for x in discrete])
    if config_index < 0:
        return (0, "hole"), -1
    rows = int(support.counts[config_index])
    dims = 0
    for value in key[len(support.discrete) :]:
        if value is None:
            continue
        low, high = np.asarray(value[0]), np.asarray(value[1])
        seen_low = support.low[config_index, dims : dims + len(low)]
        seen_high = support.high[config_index, dims : dims + len(low)]
        margin = RANGE_MARGIN * np.maximum(seen_high - seen_low, 1e-12)
        dims += len(low)
        if (low < seen_low - margin).any() or (high > seen_high + margin).any():
            return (rows, "out of range"), config_index
    return (rows, "thin" if rows < min_support else "ok"), config_index


def _target_draws(
    support: FactorSupport, config_index: int, variables: Sequence[str], types: Mapping[str, VariableType]
) -> list[tuple[tuple[Value, ...], float]]:
    """The node's output values with their probabilities (a hole draws from the targets' marginal)."""
    if config_index >= 0:
        values, probabilities = support.target_values[config_index], support.target_probabilities[config_index]
        low, high = support.target_ranges[config_index]
    else:
        values, probabilities = support.marginal_values, support.marginal_probabilities
        low, high = support.target_ranges[-1]
    discrete = [v for v in support.targets if types[v].kind == "discrete"]
    continuous = [v for v in support.targets if types[v].kind == "continuous"]
    draws = []
    for row, probability in zip(values, probabilities, strict=True):
        by_name: dict[str, Value] = {v: int(x) for v, x in zip(discrete, row, strict=True)}
        offset = 0
        for variable in continuous:
            width = types[variable].shape[0]
            by_name[variable] = (tuple(low[offset : offset + width]), tuple(high[offset : offset + width]))
            offset += width
        draws.append((tuple(by_name.get(v) for v in variables), float(probability)))
    return draws or [(tuple(None for _ in variables), 1.0)]


def scenarios(
    inputs: Sequence[str],
    fixed: Sequence[str],
    types: Mapping[str, VariableType],
    observed: Mapping[str, np.ndarray],
    pool: Mapping[str, np.ndarray],
) -> list[tuple[str, dict[tuple[Value, ...], float]]]:
    """Scenarios of a query network: every combination of do/given values, free inputs from the pool."""
    choices = [scenario_values(v, types[v], observed) for v in fixed]
    free = [v for v in inputs if v not in fixed]
    free_states = input_states(pool, free, types) if free else {(): 1.0}
    result = []
    for combination in itertools.islice(itertools.product(*choices), MAX_SCENARIOS):
        values = dict(zip(fixed, combination, strict=True))
        label = ", ".join(f"{quote(v)}={x}" for v, x in values.items() if isinstance(x, int)) or "any input"
        distribution: dict[tuple[Value, ...], float] = {}
        for free_state, mass in free_states.items():
            by_name = {**values, **dict(zip(free, free_state, strict=True))}
            distribution[tuple(by_name[v] for v in inputs)] = mass
        result.append((label, distribution))
    return result


# ---------------------------------------------------------------------------------------------- sampling
def check_rows(support: FactorSupport, conditioning: Table) -> np.ndarray:
    """Boolean mask of the rows whose parent values no training row supports (a hole or out of range)."""
    n = num_rows(conditioning) if conditioning else 0
    if n == 0:
        return np.zeros(0, dtype=bool)
    keys = _stack_discrete(conditioning, support.discrete, n)
    if support.discrete:
        together = np.concatenate([support.configs, keys], axis=0)
        _, inverse = np.unique(together, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        position = np.full(inverse.max() + 1, -1, dtype=np.int64)
        position[inverse[: len(support.configs)]] = np.arange(len(support.configs))
        found = position[inverse[len(support.configs) :]]
    else:
        found = np.zeros(n, dtype=np.int64) if len(support.configs) else np.full(n, -1, dtype=np.int64)
    bad = found < 0
    if support.continuous and support.low.shape[1]:
        values = _stack_continuous(conditioning, support.continuous, n)
        safe = np.maximum(found, 0)
        low, high = support.low[safe], support.high[safe]
        margin = RANGE_MARGIN * np.maximum(high - low, 1e-12)
        bad |= ((values < low - margin) | (values > high + margin)).any(axis=1)
    return bad


def fill_from_marginal(support: FactorSupport, n: int, seed: int) -> Table:
    """Draws of a tabular factor's targets from their training marginal, for rows at a hole."""
    generator = np.random.default_rng(seed)
    chosen = generator.choice(len(support.marginal_probabilities), size=n, p=support.marginal_probabilities)
    values = support.marginal_values[chosen]
    return {v: values[:, j].copy() for j, v in enumerate(support.targets)}


def summarize(cells: Sequence[SupportCell], min_support: int = MIN_SUPPORT, limit: int = 5) -> str:
    """One paragraph naming the worst holes and thin cells (by mass)."""
    problems = sorted((c for c in cells if c.status != "ok"), key=lambda c: -c.mass)
    if not problems:
        return f"every factor has at least {min_support} training rows for every configuration it is asked about"
    holes = sum(c.status == "hole" for c in problems)
    head = (
        f"{holes} positivity hole(s) and {len(problems) - holes} thin or out-of-range cell(s) (< {min_support} rows): "
    )
    parts = [
        f"{c.factor} at {c.configuration}: {c.rows} row(s), {100 * c.mass:.1f}% of {c.network}"
        + (f" under do/given {c.scenario}" if c.scenario and c.scenario != "any input" else "")
        + f" [{c.status}]"
        for c in problems[:limit]
    ]
    more = f"; and {len(problems) - limit} more (net.support_report())" if len(problems) > limit else ""
    return head + "; ".join(parts) + more


def raise_or_warn(policy: str, message: str) -> None:
    """Apply a positivity ``policy`` to ``message``."""
    import warnings

    if policy == "error":
        raise PositivityError(message)
    if policy == "warn":
        warnings.warn(message, PositivityWarning, stacklevel=3)


def _stack_discrete(table: Mapping[str, np.ndarray], columns: Sequence[str], n: int) -> np.ndarray:
    if not columns:
        return np.zeros((n, 0), dtype=np.int64)
    return np.stack([np.asarray(table[c]).astype(np.int64).reshape(-1) for c in columns], axis=1)


def _stack_continuous(table: Mapping[str, np.ndarray], columns: Sequence[str], n: int) -> np.ndarray:
    if not columns:
        return np.zeros((n, 0), dtype=np.float64)
    return np.concatenate([np.asarray(table[c], dtype=np.float64).reshape(n, -1) for c in columns], axis=1)


def _range(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if values.shape[1] == 0 or len(values) == 0:
        return np.zeros(values.shape[1]), np.zeros(values.shape[1])
    return values.min(axis=0), values.max(axis=0)
