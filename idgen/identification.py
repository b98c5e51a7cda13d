"""Shpitser–Pearl identification: ID (lines 1–7) and IDC (rule-2 moves, then ID and normalization).

The recursion reads like the paper. Each call works on a node set of the *original* graph (a bitmask;
no graph copies), carries the working :class:`~idgen.distribution.Distribution` explicitly, and returns a
:class:`~idgen.trace.Step` tagged with the line that fired. References: Shpitser & Pearl, "Identification
of Joint Interventional Distributions in Recursive Semi-Markovian Causal Models" (AAAI 2006) and
"Identification of Conditional Interventional Distributions" (UAI 2006); Tian & Pearl (2002) for the
Markov pillows that replace "all predecessors" in the conditioning sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from idgen.distribution import Distribution, Kernel, Observational, restrict
from idgen.errors import NotIdentifiable
from idgen.graph import ADMG, iter_bits
from idgen.query import Query
from idgen.trace import Hedge, Step, Trace

__all__ = ["identify", "is_identifiable"]


def identify(graph: ADMG, query: str | Query) -> Trace:
    """Identify ``query`` in ``graph`` and return the trace of the recursion.

    Parameters
    ----------
    graph : ADMG
    query : str or Query
        ``"P(Y | do(X))"``, ``"P(Y | do(X), W)"``, ``"P(Y)"``, ...

    Raises
    ------
    NotIdentifiable
        With the hedge found at line 5.
    QueryError
        When the query does not fit the graph.

    Examples
    --------
    >>> g = ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
    >>> trace = identify(g, "P(Y | do(X))")
    >>> trace.lines()
    [4, 2, 6, 7, 2, 1]
    >>> print(trace.expression())
    Sum[M](P(M | X) * Sum[X](P(X) * P(Y | M, X)))
    """
    query = Query.coerce(query).validate(graph)
    moved = _rule_2_moves(graph, query)
    treatments = graph.mask(query.treatments) | graph.mask(moved)
    outcomes = graph.mask(query.outcomes) | (graph.mask(query.conditions) & ~graph.mask(moved))
    try:
        root = _identify(graph, outcomes, treatments, graph.all_mask, Observational(frozenset(graph.nodes)))
    except NotIdentifiable as error:
        raise NotIdentifiable(error.hedge, str(query), (*query.treatments, *moved)) from None
    return Trace(graph=graph, query=query, root=root, moved=moved)


def is_identifiable(graph: ADMG, query: str | Query) -> bool:
    """Whether ``query`` is identifiable in ``graph``.

    Examples
    --------
    >>> is_identifiable(ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")]), "P(Y | do(X))")
    False
    """
    try:
        identify(graph, query)
    except NotIdentifiable:
        return False
    return True


# ---------------------------------------------------------------------- IDC
def _rule_2_moves(graph: ADMG, query: Query) -> tuple[str, ...]:
    """IDC: while some ``Z ∈ W`` has ``(Y ⊥ Z | X, W \\ {Z})`` in ``G_{x̄, z̲}``, move it into do(·).

    Rule 2 of do-calculus turns the observation of such a ``Z`` into an intervention on it.
    """
    treatments = set(query.treatments)
    conditions = list(graph.ordered(graph.mask(query.conditions)))
    moved: list[str] = []
    progress = True
    while progress:
        progress = False
        for variable in conditions:
            cut = graph.remove_incoming(treatments).remove_outgoing([variable])
            rest = [w for w in conditions if w != variable]
            if cut.m_separated(query.outcomes, [variable], [*treatments, *rest]):
                treatments.add(variable)
                conditions.remove(variable)
                moved.append(variable)
                progress = True
                break
    return tuple(moved)


# ---------------------------------------------------------------------- ID
def _identify(graph: ADMG, outcomes: int, treatments: int, nodes: int, distribution: Distribution) -> Step:
    """One call of ID(y, x, P, G[nodes]) on bitmasks; returns the step for the line that fires."""
    call = _Call(graph, outcomes, treatments, nodes, distribution)
    if not treatments:
        return _line_1(call)
    ancestors = graph.ancestors_mask(outcomes, within=nodes)
    if ancestors != nodes:
        return _line_2(call, ancestors)
    candidates = nodes & ~treatments & ~outcomes  # W ⊆ V \ X \ Y: nothing to search when that is empty
    if candidates:
        no_effect = candidates & ~graph.ancestors_mask(outcomes, within=nodes, cut_incoming=treatments)
        if no_effect:
            return _line_3(call, no_effect)
    districts_without_treatments = graph.districts_mask(nodes & ~treatments)
    if len(districts_without_treatments) > 1:
        return _line_4(call, districts_without_treatments)
    district = districts_without_treatments[0]
    # the district of G that holds S (S is bidirected-connected, so it lies inside exactly one)
    superset = graph.district_mask((district & -district).bit_length() - 1, nodes)
    if superset == nodes:  # C(G) = {G}
        _line_5(call, district)
    if superset == district:  # S ∈ C(G)
        return _line_6(call, district)
    return _line_7(call, district, superset)


@dataclass(frozen=True)
class _Call:
    """Arguments of one ID call, with helpers to build its step."""

    graph: ADMG
    outcomes: int
    treatments: int
    nodes: int
    distribution: Distribution

    def step(self, line: int, **fields: object) -> Step:
        name_set = self.graph.name_set  # lazy: most steps' node sets are never read by name
        return Step(
            line=line,
            graph=self.graph,
            nodes=name_set(self.nodes),
            outcomes=name_set(self.outcomes),
            treatments=name_set(self.treatments),
            distribution=self.distribution,
            **fields,  # type: ignore[arg-type]
        )

    def chain(self, members: int, within: int | None = None) -> tuple[tuple[str, frozenset[str]], ...]:
        """``P(v_i | pillow_i)`` for ``v_i`` in ``members`` in topological order.

        Pillows are Markov pillows in ``G[within]`` (default: the current nodes) plus fixed context parents.
        """
        context = self.graph.mask(self.distribution.context)
        within = self.nodes if within is None else within
        names = self.graph.names
        return tuple(
            (self.graph.nodes[i], names(self.graph.pillow_mask(i, within, context))) for i in iter_bits(members)
        )


def _line_1(call: _Call) -> Step:
    """Line 1: if x = ∅, return Σ_{v \\ y} P(v).

    ``factors`` record the chain ``P(v_i | pillow_i)`` that samples the outcomes: it runs over the
    ancestors of y only, since the marginal of an ancestral set is Markov to its induced subgraph.
    """
    ancestors = call.graph.ancestors_mask(call.outcomes, within=call.nodes)
    return call.step(1, factors=call.chain(ancestors, within=ancestors))


def _line_2(call: _Call, ancestors: int) -> Step:
    """Line 2: if V ≠ An(Y)_G, return ID(y, x ∩ An(Y), Σ_{V \\ An(Y)} P, G_{An(Y)})."""
    graph = call.graph
    distribution = restrict(call.distribution, graph.name_set(ancestors))
    child = _identify(graph, call.outcomes, call.treatments & ancestors, ancestors, distribution)
    return call.step(2, children=(child,), dropped=graph.name_set(call.nodes & ~ancestors))


def _line_3(call: _Call, no_effect: int) -> Step:
    """Line 3: W = (V \\ X) \\ An(Y)_{G_x̄}; if W ≠ ∅, return ID(y, x ∪ w, P, G)."""
    child = _identify(call.graph, call.outcomes, call.treatments | no_effect, call.nodes, call.distribution)
    return call.step(3, children=(child,), added=call.graph.name_set(no_effect))


def _line_4(call: _Call, districts: list[int]) -> Step:
    """Line 4: if C(G \\ X) = {S_1, ..., S_k}, return Σ_{v \\ (y ∪ x)} Π_i ID(s_i, v \\ s_i, P, G)."""
    children = tuple(
        _identify(call.graph, district, call.nodes & ~district, call.nodes, call.distribution) for district in districts
    )
    return call.step(4, children=children, districts=tuple(call.graph.names(d) for d in districts))


def _line_5(call: _Call, district: int) -> None:
    """Line 5: if C(G) = {G}, throw FAIL(G, G ∩ S): the hedge."""
    raise NotIdentifiable(Hedge(forest=call.graph.names(call.nodes), subforest=call.graph.names(district)))


def _line_6(call: _Call, district: int) -> Step:
    """Line 6: if S ∈ C(G), return Σ_{s \\ y} Π_{V_i ∈ S} P(v_i | v_π^(i-1))."""
    return call.step(6, district=call.graph.names(district), factors=call.chain(district))


def _line_7(call: _Call, district: int, superset: int) -> Step:
    """Line 7: if S ⊂ S' ∈ C(G), return ID(y, x ∩ S', Π_{V_i ∈ S'} P(V_i | V_π^(i-1) ∩ S', v_π^(i-1) \\ S'), G_{S'}).

    The new working distribution is the kernel Q[S'] of the *current* distribution, with the
    treatments outside S' (all of V \\ S') held fixed.
    """
    graph = call.graph
    factors = call.chain(superset)
    kernel = Kernel(
        base=call.distribution,
        factors=factors,
        context=call.distribution.context | graph.names(call.nodes & ~superset),
        variables=graph.names(superset),
    )
    child = _identify(graph, call.outcomes, call.treatments & superset, superset, kernel)
    return call.step(
        7, children=(child,), district=graph.names(district), superset=graph.names(superset), factors=factors
    )
