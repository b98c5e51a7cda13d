"""Discrete structural causal models with exact answers: the numeric ground truth of every test.

Every bidirected edge ``a <-> b`` of the :class:`~idgen.graph.ADMG` becomes an explicit latent variable
``U[a,b]`` with its own prior, and every observed node ``V`` gets a conditional probability table
``P(v | parents(v), latents touching v)``. Observational and interventional distributions are then
computed exactly by one tensor contraction over all observed and latent axes (the truncated
factorization), which is practical up to roughly ten observed plus ten latent binary variables.

:class:`Joint` is the small named probability table that these exact answers, empirical frequencies
and :mod:`idgen.evaluate` all share.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from idgen.errors import DataError, GraphError, IdgenError, PositivityError, QueryError
from idgen.graph import ADMG
from idgen.names import quote
from idgen.query import Query

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Joint", "DiscreteSCM", "random_admg", "random_query", "latent_name", "latent_names"]

#: ``numpy.einsum`` names axes with letters, so one contraction can hold at most this many variables
_MAXIMUM_CONTRACTION_AXES = 52
#: tolerance for "sums to one" checks on probability tables
_NORMALIZATION_TOLERANCE = 1e-6
#: floor applied to Dirichlet draws so that every conditional probability is strictly positive
_MINIMUM_PROBABILITY = 1e-9


def latent_name(first: str, second: str) -> str:
    """Name of the latent variable behind the bidirected edge ``first <-> second``.

    Endpoints are written as the query grammar quotes them, so two edges never share a latent name
    (``"A,B" <-> C`` and ``A <-> "B,C"`` differ); :func:`latent_names` also keeps latents apart from
    observed nodes whose names look like latents.

    Examples
    --------
    >>> latent_name("X", "Y")
    'U[X,Y]'
    >>> latent_name("Side quests", "Y")
    'U["Side quests",Y]'
    """
    return f"U[{quote(first)},{quote(second)}]"


def latent_names(graph: ADMG) -> dict[tuple[str, str], str]:
    """The latent name of every bidirected edge of ``graph``, distinct from every observed node.

    A latent whose :func:`latent_name` is already an observed node's name gets primes (``U[X,Y]′``).

    Examples
    --------
    >>> graph = ADMG(nodes=["X", "Y", "U[X,Y]"], bidirected=[("X", "Y")])
    >>> latent_names(graph)
    {('X', 'Y'): 'U[X,Y]′'}
    """
    taken = set(graph.nodes)
    names: dict[tuple[str, str], str] = {}
    for first, second in graph.bidirected:
        name = latent_name(first, second)
        while name in taken:
            name += "′"
        taken.add(name)
        names[(first, second)] = name
    return names


def random_admg(n_nodes: int, p_directed: float = 0.4, p_bidirected: float = 0.3, seed: int = 0) -> ADMG:
    """Draw a random ADMG over nodes ``V0 … V{n_nodes-1}``, deterministic per ``seed``.

    A random permutation of the nodes is the causal order (so names are not sorted topologically);
    each forward pair gets a directed edge with probability ``p_directed`` and, independently, a
    bidirected edge with probability ``p_bidirected``.

    Parameters
    ----------
    n_nodes : int
        Number of nodes (zero gives the empty graph).
    p_directed, p_bidirected : float
        Edge probabilities in ``[0, 1]``.
    seed : int
        Seed of the ``numpy`` generator.

    Examples
    --------
    >>> graph = random_admg(5, seed=3)
    >>> sorted(graph.nodes)
    ['V0', 'V1', 'V2', 'V3', 'V4']
    >>> graph == random_admg(5, seed=3)
    True
    """
    if n_nodes < 0:
        raise GraphError(f"n_nodes must be non-negative, got {n_nodes}")
    for name, value in (("p_directed", p_directed), ("p_bidirected", p_bidirected)):
        if not 0.0 <= value <= 1.0:
            raise GraphError(f"{name} must lie in [0, 1], got {value}")
    generator = np.random.default_rng(seed)
    order = [f"V{i}" for i in generator.permutation(n_nodes)]
    directed = []
    bidirected = []
    for i, earlier in enumerate(order):
        for later in order[i + 1 :]:
            if generator.random() < p_directed:
                directed.append((earlier, later))
            if generator.random() < p_bidirected:
                bidirected.append((earlier, later))
    return ADMG(directed=directed, bidirected=bidirected, nodes=sorted(order, key=lambda name: int(name[1:])))


def random_query(graph: ADMG, rng: random.Random, *, ancestral: bool) -> Query:
    """Draw a random query on ``graph``: 1–2 outcomes, 1–2 treatments and 0–2 conditions.

    Parameters
    ----------
    graph : ADMG
        A graph with at least two nodes.
    rng : random.Random
        The generator to draw from (the caller's stream continues after the draw).
    ancestral : bool
        Draw the outcomes from the later half of the causal order and the treatments among their
        ancestors (where ID's line 7 fires); otherwise any disjoint outcomes and treatments.

    Examples
    --------
    >>> graph = random_admg(5, p_directed=0.5, seed=1)
    >>> query = random_query(graph, random.Random(1), ancestral=True)
    >>> query == random_query(graph, random.Random(1), ancestral=True)
    True
    >>> set(query.outcomes).isdisjoint(query.treatments)
    True
    """
    if len(graph.nodes) < 2:
        raise GraphError(f"a random query needs at least two nodes, the graph has {len(graph.nodes)}")
    n_nodes = len(graph.nodes)
    order = list(graph.topological_order())
    n_outcomes, n_treatments, n_conditions = rng.randint(1, 2), rng.randint(1, 2), rng.choice([0, 1, 1, 2])
    n_outcomes = min(n_outcomes, n_nodes - 1)
    n_treatments = min(n_treatments, n_nodes - n_outcomes)
    if ancestral:
        outcomes = rng.sample(order[n_nodes // 2 :], min(n_outcomes, len(order[n_nodes // 2 :])))
        ancestors = sorted(graph.ancestors(outcomes) - set(outcomes))
        others = [v for v in order if v not in outcomes]
        treatments = rng.sample(ancestors if len(ancestors) >= n_treatments else others, n_treatments)
    else:
        shuffled = rng.sample(order, n_nodes)
        outcomes, treatments = shuffled[:n_outcomes], shuffled[n_outcomes : n_outcomes + n_treatments]
    rest = [v for v in order if v not in outcomes and v not in treatments]
    conditions = rng.sample(rest, min(n_conditions, len(rest)))
    return Query(tuple(outcomes), tuple(treatments), tuple(conditions))


class Joint:
    """A probability table over named discrete variables.

    Parameters
    ----------
    variables : sequence of str
        Distinct variable names; the ``i``-th axis of ``table`` belongs to ``variables[i]``.
    table : array_like
        Non-negative probabilities summing to one; value ``k`` of a variable is index ``k`` on its axis.

    Examples
    --------
    >>> joint = Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]])
    >>> joint.cardinalities
    {'X': 2, 'Y': 2}
    >>> joint.marginal(["Y"]).table.round(3).tolist()
    [0.4, 0.6]
    >>> joint.probability({"X": 1, "Y": 0})
    0.3
    """

    __slots__ = ("_variables", "_table")

    def __init__(self, variables: Sequence[str], table: Any) -> None:
        if isinstance(variables, str):
            raise DataError(f"variables must be a sequence of names, got the string {variables!r}")
        names = tuple(variables)
        if len(set(names)) != len(names):
            raise DataError(f"variables must be distinct, got {names}")
        array = np.array(table, dtype=np.float64)
        if array.ndim != len(names):
            raise DataError(f"table has {array.ndim} axes but {len(names)} variables {names} were named")
        if np.any(array < 0) or not np.all(np.isfinite(array)):
            raise DataError("probability table entries must be finite and non-negative")
        if abs(array.sum() - 1.0) > _NORMALIZATION_TOLERANCE:
            raise DataError(f"probability table sums to {array.sum():.6g}, not 1")
        array.flags.writeable = False
        self._variables = names
        self._table = array

    # ------------------------------------------------------------------ views
    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names, one per axis of :attr:`table`."""
        return self._variables

    @property
    def table(self) -> np.ndarray:
        """The read-only probability array, axes in :attr:`variables` order."""
        return self._table

    @property
    def cardinalities(self) -> dict[str, int]:
        """Number of values of each variable."""
        return dict(zip(self._variables, self._table.shape, strict=True))

    def __repr__(self) -> str:
        return f"Joint(variables={self._variables!r}, cardinalities={self._table.shape!r})"

    def __str__(self) -> str:
        return self.as_series().to_string()

    def as_series(self) -> pd.Series:
        """The table as a ``pandas.Series`` indexed by every assignment (for printing).

        Examples
        --------
        >>> print(Joint(["X"], [0.25, 0.75]).as_series().to_string())
        X
        0    0.25
        1    0.75
        """
        import pandas as pd

        if not self._variables:
            return pd.Series([float(self._table)], name="probability")
        index = pd.MultiIndex.from_product([range(size) for size in self._table.shape], names=self._variables)
        return pd.Series(self._table.ravel(), index=index, name="probability")

    # ------------------------------------------------------------------ operations
    def axes(self, variables: Sequence[str]) -> tuple[int, ...]:
        """Axis index of each of ``variables``; raises :class:`QueryError` naming an unknown one.

        Examples
        --------
        >>> Joint(["X", "Y"], [[0.25, 0.25], [0.25, 0.25]]).axes(["Y", "X"])
        (1, 0)
        """
        result = []
        for name in variables:
            if name not in self._variables:
                raise QueryError(f"unknown variable {name!r}; this table has {list(self._variables)}")
            result.append(self._variables.index(name))
        return tuple(result)

    def marginal(self, variables: Sequence[str]) -> Joint:
        """The marginal over ``variables``, with axes in the order given.

        Examples
        --------
        >>> joint = Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]])
        >>> joint.marginal(["Y", "X"]).table.tolist()
        [[0.1, 0.3], [0.2, 0.4]]
        """
        if isinstance(variables, str):
            variables = (variables,)
        keep = self.axes(variables)
        if len(set(keep)) != len(keep):
            raise QueryError(f"variables must be distinct, got {tuple(variables)}")
        dropped = tuple(axis for axis in range(len(self._variables)) if axis not in keep)
        summed = self._table.sum(axis=dropped)
        remaining = [axis for axis in range(len(self._variables)) if axis in keep]
        return Joint(tuple(variables), np.transpose(summed, [remaining.index(axis) for axis in keep]))

    def condition(self, evidence: Mapping[str, int]) -> Joint:
        """The conditional table of the other variables given ``evidence``.

        Raises
        ------
        PositivityError
            When the evidence has probability zero.

        Examples
        --------
        >>> joint = Joint(["X", "Y"], [[0.125, 0.375], [0.25, 0.25]])
        >>> joint.condition({"X": 0}).table.tolist()
        [0.25, 0.75]
        """
        index = self._index(evidence)
        sliced = self._table[index]
        total = sliced.sum()
        if total <= 0:
            raise PositivityError(f"cannot condition on {dict(evidence)}: it has probability zero")
        return Joint(tuple(name for name in self._variables if name not in evidence), sliced / total)

    def probability(self, assignment: Mapping[str, int]) -> float:
        """Probability of the event ``assignment`` (a partial assignment sums over the rest).

        Examples
        --------
        >>> round(Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]]).probability({"Y": 1}), 12)
        0.6
        """
        return float(self._table[self._index(assignment)].sum())

    def tvd(self, other: Joint) -> float:
        """Total variation distance ``½ Σ |p − q|`` to a table over the same variables, in any order.

        Examples
        --------
        >>> left = Joint(["X", "Y"], [[0.5, 0.0], [0.0, 0.5]])
        >>> right = Joint(["Y", "X"], [[0.25, 0.25], [0.25, 0.25]])
        >>> left.tvd(right)
        0.5
        """
        if set(other.variables) != set(self._variables):
            raise DataError(f"tvd needs the same variables, got {self._variables} and {other.variables}")
        if other.cardinalities != self.cardinalities:
            raise DataError(f"tvd needs the same cardinalities, got {self.cardinalities} and {other.cardinalities}")
        aligned = np.transpose(other.table, other.axes(self._variables))
        return float(0.5 * np.abs(self._table - aligned).sum())

    def _index(self, assignment: Mapping[str, int]) -> tuple[Any, ...]:
        index: list[Any] = [slice(None)] * len(self._variables)
        for axis, (name, value) in zip(self.axes(list(assignment)), assignment.items(), strict=True):
            index[axis] = _checked_value(name, value, self._table.shape[axis])
        return tuple(index)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_samples(
        cls,
        data: pd.DataFrame | Mapping[str, Any],
        variables: Sequence[str],
        cardinalities: int | Mapping[str, int],
    ) -> Joint:
        """The empirical distribution of ``variables`` in ``data``.

        Parameters
        ----------
        data : pandas.DataFrame or mapping of name to array
            One row per sample; the named columns hold integer codes ``0 … cardinality − 1``.
        variables : sequence of str
            Columns to tabulate, in the order of the table's axes.
        cardinalities : int or mapping of str to int
            Number of values of every variable (one int for all of them).

        Examples
        --------
        >>> Joint.from_samples({"X": [0, 1, 1, 1]}, ["X"], 2).table.tolist()
        [0.25, 0.75]
        """
        if isinstance(variables, str):
            variables = (variables,)
        if not variables:
            raise DataError("from_samples needs at least one variable")
        sizes = []
        codes = []
        for name in variables:
            size = cardinalities if isinstance(cardinalities, int) else cardinalities.get(name)
            if size is None:
                raise DataError(f"no cardinality given for variable {name!r}")
            if name not in data:
                raise DataError(f"data has no column {name!r}")
            column = np.asarray(data[name])
            if column.size and (
                not np.issubdtype(column.dtype, np.integer) or column.min() < 0 or column.max() >= size
            ):
                raise DataError(f"column {name!r} must hold integer codes in [0, {size}), got values outside")
            sizes.append(int(size))
            codes.append(column.astype(np.int64))
        count = len(codes[0])
        if count == 0:
            raise DataError("cannot estimate a distribution from zero samples")
        flat = np.ravel_multi_index(codes, sizes)
        frequencies = np.bincount(flat, minlength=int(np.prod(sizes))) / count
        return cls(tuple(variables), frequencies.reshape(sizes))


class DiscreteSCM:
    """A discrete SCM over an ADMG in which every bidirected edge is an explicit latent variable.

    Parameters
    ----------
    graph : ADMG
        The causal graph over the observed nodes.
    cpts : mapping of str to array
        For each observed node ``V``, the table ``P(v | parents, latents)`` with axes: the parents of
        ``V`` in ``graph.nodes`` order, then the latents touching ``V`` in ``graph.bidirected`` order,
        then ``V`` itself (see :meth:`cpt_variables`); each slice along the last axis sums to one.
    latent_priors : mapping of (str, str) to array
        For each bidirected edge ``(a, b)`` (either orientation), the prior of its latent ``U[a,b]``.

    Examples
    --------
    >>> graph = ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")])
    >>> scm = DiscreteSCM.random(graph, seed=1)
    >>> scm.latents
    ('U[X,Y]',)
    >>> scm.cpt_variables("Y")
    ('X', 'U[X,Y]', 'Y')
    >>> round(float(scm.observational().table.sum()), 12)
    1.0
    """

    __slots__ = ("_graph", "_cpts", "_latent_priors", "_latent_endpoints")

    def __init__(self, graph: ADMG, cpts: Mapping[str, Any], latent_priors: Mapping[tuple[str, str], Any]) -> None:
        self._graph = graph
        latents = latent_names(graph)
        self._latent_endpoints: dict[str, tuple[str, str]] = {name: edge for edge, name in latents.items()}
        self._latent_priors: dict[str, np.ndarray] = {}
        edges = {frozenset(edge): name for edge, name in latents.items()}
        for edge, prior in latent_priors.items():
            name = edges.get(frozenset(edge))
            if name is None:
                raise GraphError(f"latent prior given for {edge!r}, which is not a bidirected edge of the graph")
            self._latent_priors[name] = _checked_distribution(f"prior of {name}", prior)
            if self._latent_priors[name].ndim != 1:
                raise DataError(f"prior of {name} must be a vector, got shape {self._latent_priors[name].shape}")
        missing_latents = set(self._latent_endpoints) - set(self._latent_priors)
        if missing_latents:
            raise GraphError(f"no prior given for latents {sorted(missing_latents)}")
        self._latent_priors = {name: self._latent_priors[name] for name in self._latent_endpoints}
        unknown = set(cpts) - set(graph.nodes)
        if unknown:
            raise GraphError(f"tables given for unknown nodes {sorted(unknown)}; the graph has {list(graph.nodes)}")
        missing = [node for node in graph.nodes if node not in cpts]
        if missing:
            raise GraphError(f"no conditional probability table given for nodes {missing}")
        self._cpts: dict[str, np.ndarray] = {}
        for node in graph.nodes:
            table = _checked_distribution(f"table of {node}", cpts[node])
            expected = tuple(self._cardinality(name) for name in self.cpt_variables(node)[:-1])
            if table.shape[:-1] != expected:
                raise DataError(
                    f"table of {node} has shape {table.shape}; its conditioning variables "
                    f"{self.cpt_variables(node)[:-1]} need leading shape {expected}"
                )
            self._cpts[node] = table

    @classmethod
    def random(
        cls,
        graph: ADMG,
        cardinality: int | Mapping[str, int] = 2,
        latent_cardinality: int = 2,
        seed: int = 0,
        concentration: float = 1.0,
    ) -> DiscreteSCM:
        """Draw every table from a symmetric Dirichlet; all probabilities are strictly positive.

        Parameters
        ----------
        graph : ADMG
            The causal graph.
        cardinality : int or mapping of str to int
            Number of values of each observed node (one int for all, or one per node).
        latent_cardinality : int
            Number of values of each latent.
        seed : int
            Seed of the ``numpy`` generator; the same seed gives the same SCM.
        concentration : float
            Dirichlet concentration; small values give near-deterministic mechanisms.

        Examples
        --------
        >>> graph = ADMG(directed=[("Z", "X"), ("X", "Y"), ("Z", "Y")])
        >>> scm = DiscreteSCM.random(graph, cardinality={"Z": 3, "X": 2, "Y": 2}, seed=0)
        >>> scm.cardinalities
        {'Z': 3, 'X': 2, 'Y': 2}
        """
        if concentration <= 0:
            raise DataError(f"concentration must be positive, got {concentration}")
        if isinstance(cardinality, int):
            cardinalities = {node: cardinality for node in graph.nodes}
        else:
            cardinalities = dict(cardinality)
            missing = [node for node in graph.nodes if node not in cardinalities]
            if missing:
                raise DataError(f"no cardinality given for nodes {missing}")
        for name, size in [*cardinalities.items(), ("latent_cardinality", latent_cardinality)]:
            if not isinstance(size, (int, np.integer)) or size < 1:
                raise DataError(f"cardinality of {name} must be a positive integer, got {size!r}")
        generator = np.random.default_rng(seed)

        def draw(condition_shape: tuple[int, ...], size: int) -> np.ndarray:
            table = generator.dirichlet(np.full(size, concentration), size=condition_shape)
            table = np.maximum(table, _MINIMUM_PROBABILITY)
            return table / table.sum(axis=-1, keepdims=True)

        latent_priors = {edge: draw((), latent_cardinality) for edge in graph.bidirected}
        cpts = {}
        for node in graph.nodes:
            parents = [parent for parent in graph.nodes if parent in graph.parents(node)]
            touching = [edge for edge in graph.bidirected if node in edge]
            shape = tuple(cardinalities[parent] for parent in parents) + (latent_cardinality,) * len(touching)
            cpts[node] = draw(shape, cardinalities[node])
        return cls(graph, cpts, latent_priors)

    # ------------------------------------------------------------------ views
    @property
    def graph(self) -> ADMG:
        """The causal graph over the observed nodes."""
        return self._graph

    @property
    def cardinalities(self) -> dict[str, int]:
        """Number of values of each observed node, in topological order."""
        return {node: self._cpts[node].shape[-1] for node in self._graph.nodes}

    @property
    def latents(self) -> tuple[str, ...]:
        """Names of the latent variables, one per bidirected edge."""
        return tuple(self._latent_endpoints)

    def cpt_variables(self, variable: str) -> tuple[str, ...]:
        """Axes of :meth:`cpt` for ``variable``: conditioning variables first, the variable itself last.

        Examples
        --------
        >>> graph = ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")])
        >>> DiscreteSCM.random(graph).cpt_variables("U[X,Y]")
        ('U[X,Y]',)
        """
        if variable in self._latent_endpoints:
            return (variable,)
        if variable not in self._graph:
            raise QueryError(
                f"unknown variable {variable!r}; the SCM has {list(self._graph.nodes) + list(self.latents)}"
            )
        parents = self._graph.parents(variable)
        touching = [name for name, endpoints in self._latent_endpoints.items() if variable in endpoints]
        return (*[node for node in self._graph.nodes if node in parents], *touching, variable)

    def cpt(self, variable: str) -> np.ndarray:
        """The conditional table of an observed node, or the prior of a latent (axes: :meth:`cpt_variables`).

        Examples
        --------
        >>> graph = ADMG(directed=[("X", "Y")])
        >>> DiscreteSCM.random(graph, cardinality=3).cpt("Y").shape
        (3, 3)
        """
        if variable in self._latent_priors:
            return self._latent_priors[variable]
        if variable not in self._cpts:
            raise QueryError(
                f"unknown variable {variable!r}; the SCM has {list(self._graph.nodes) + list(self.latents)}"
            )
        return self._cpts[variable]

    def __repr__(self) -> str:
        return f"DiscreteSCM(graph={self._graph!r}, cardinalities={self.cardinalities!r})"

    def _cardinality(self, variable: str) -> int:
        if variable in self._latent_priors:
            return self._latent_priors[variable].shape[0]
        return self._cpts[variable].shape[-1]

    # ------------------------------------------------------------------ exact distributions
    def observational(self) -> Joint:
        """The exact joint distribution of all observed nodes (latents summed out).

        Examples
        --------
        >>> scm = DiscreteSCM.random(ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")]), seed=0)
        >>> scm.observational().variables
        ('X', 'Y')
        """
        return self.interventional(self._graph.nodes, do={})

    def interventional(
        self,
        outcomes: Sequence[str] | str,
        do: Mapping[str, int],
        given: Mapping[str, int] | None = None,
    ) -> Joint:
        """The exact ``P(outcomes | do(x), given)`` by the truncated factorization.

        The tables of the intervened nodes are replaced by indicators of their values, the evidence
        ``given`` multiplies in as indicators, and the result is normalized by ``P(given | do(x))``.

        Parameters
        ----------
        outcomes : sequence of str or str
            Observed nodes of the returned table, in its axis order (may include intervened nodes,
            which then are point masses; empty gives the trivial table over no variables).
        do : mapping of str to int
            Intervened nodes and their values (empty for the observational distribution).
        given : mapping of str to int, optional
            Observed nodes to condition on, disjoint from ``outcomes`` and ``do``.

        Raises
        ------
        QueryError
            On an unknown or repeated node, or overlapping ``outcomes``/``do``/``given``.
        PositivityError
            When ``given`` has probability zero under the intervention.

        Examples
        --------
        >>> graph = ADMG(directed=[("X", "Y")])
        >>> scm = DiscreteSCM.random(graph, seed=0)
        >>> joint = scm.observational()
        >>> effect = scm.interventional(["Y"], do={"X": 1})
        >>> bool(np.allclose(effect.table, joint.condition({"X": 1}).table))
        True
        """
        if isinstance(outcomes, str):
            outcomes = (outcomes,)
        outcomes = tuple(outcomes)
        given = dict(given or {})
        for role, names in (("outcome", outcomes), ("do", list(do)), ("given", list(given))):
            for name in names:
                if name not in self._graph:
                    raise QueryError(f"unknown {role} node {name!r}; the graph has {list(self._graph.nodes)}")
        if len(set(outcomes)) != len(outcomes):
            raise QueryError(f"outcomes must be distinct, got {outcomes}")
        if set(given) & (set(outcomes) | set(do)):
            raise QueryError(
                f"given nodes {sorted(set(given) & (set(outcomes) | set(do)))} also appear as outcomes or do"
            )
        indicators = {
            name: _indicator(name, value, self._cardinality(name)) for name, value in [*do.items(), *given.items()]
        }
        table = self._contract(replaced=set(do), indicators=indicators, output=outcomes)
        total = table.sum()
        if total <= 0:
            raise PositivityError(f"cannot condition on {given} under do({dict(do)}): it has probability zero")
        return Joint(outcomes, table / total)

    def _contract(self, replaced: set[str], indicators: Mapping[str, np.ndarray], output: Sequence[str]) -> np.ndarray:
        """Sum the product of all tables (but those of ``replaced``) and ``indicators`` onto ``output``."""
        names = [*self._graph.nodes, *self.latents]
        if len(names) > _MAXIMUM_CONTRACTION_AXES:
            raise IdgenError(
                f"exact enumeration handles at most {_MAXIMUM_CONTRACTION_AXES} observed plus latent "
                "variables, "
                f"this SCM has {len(names)}; use sample() instead"
            )
        label = {name: position for position, name in enumerate(names)}
        operands: list[Any] = []
        for latent, prior in self._latent_priors.items():
            operands += [prior, [label[latent]]]
        for node, table in self._cpts.items():
            if node not in replaced:
                operands += [table, [label[name] for name in self.cpt_variables(node)]]
        for node, indicator in indicators.items():
            operands += [indicator, [label[node]]]
        if not operands:  # the empty graph: the empty product is one
            return np.ones(())
        return np.einsum(*operands, [label[name] for name in output], optimize="greedy")

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, seed: int = 0, do: Mapping[str, int] | None = None) -> pd.DataFrame:
        """Draw ``n`` samples of the observed nodes by ancestral sampling (latents are dropped).

        Parameters
        ----------
        n : int
            Number of rows.
        seed : int
            Seed of the ``numpy`` generator.
        do : mapping of str to int, optional
            Intervened nodes; their columns are constant.

        Returns
        -------
        pandas.DataFrame
            One ``int64`` column per observed node, in topological order.

        Examples
        --------
        >>> scm = DiscreteSCM.random(ADMG(directed=[("X", "Y")]), seed=0)
        >>> frame = scm.sample(5, seed=1, do={"X": 1})
        >>> frame["X"].tolist()
        [1, 1, 1, 1, 1]
        """
        import pandas as pd

        if n < 0:
            raise DataError(f"n must be non-negative, got {n}")
        do = dict(do or {})
        for name, value in do.items():
            if name not in self._graph:
                raise QueryError(f"unknown do node {name!r}; the graph has {list(self._graph.nodes)}")
            _checked_value(name, value, self._cardinality(name))
        generator = np.random.default_rng(seed)
        values: dict[str, np.ndarray] = {}
        for latent, prior in self._latent_priors.items():
            values[latent] = _draw_rows(generator, np.broadcast_to(prior, (n, prior.shape[0])))
        for node in self._graph.nodes:
            if node in do:
                values[node] = np.full(n, do[node], dtype=np.int64)
            else:
                conditioning = tuple(values[name] for name in self.cpt_variables(node)[:-1])
                rows = (
                    self._cpts[node][conditioning]
                    if conditioning
                    else np.broadcast_to(self._cpts[node], (n, self._cardinality(node)))
                )
                values[node] = _draw_rows(generator, rows)
        return pd.DataFrame({node: values[node] for node in self._graph.nodes}, columns=list(self._graph.nodes))


def _draw_rows(generator: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row of probabilities (inverse CDF)."""
    cumulative = np.cumsum(rows, axis=-1)
    uniform = generator.random(rows.shape[0]) * cumulative[:, -1]
    drawn = (uniform[:, None] >= cumulative).sum(axis=-1)
    return np.minimum(drawn, rows.shape[-1] - 1).astype(np.int64)


def _indicator(name: str, value: int, size: int) -> np.ndarray:
    vector = np.zeros(size)
    vector[_checked_value(name, value, size)] = 1.0
    return vector


def _checked_value(name: str, value: Any, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise DataError(f"value {value!r} of {name!r} must be an integer in [0, {size})")
    return int(value)


def _checked_distribution(what: str, table: Any) -> np.ndarray:
    array = np.array(table, dtype=np.float64)
    if array.ndim == 0:
        raise DataError(f"{what} must have at least one axis")
    if np.any(array < 0) or not np.all(np.isfinite(array)):
        raise DataError(f"{what} must hold finite non-negative probabilities")
    if not np.allclose(array.sum(axis=-1), 1.0, atol=_NORMALIZATION_TOLERANCE):
        raise DataError(f"{what} must sum to one along its last axis")
    array.flags.writeable = False
    return array
