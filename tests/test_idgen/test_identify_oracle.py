"""Estimand exactness: every identified estimand equals the truth of explicit-latent SCMs to 1e-9.

The oracle is :class:`idgen.scm.DiscreteSCM`: every bidirected edge is an explicit latent variable, so
``P(v)`` and ``P(y | do(x), w)`` are exact tensor contractions (the truncated factorization). For each
identifiable (graph, query) the estimand of :func:`idgen.identify` is evaluated on the exact
observational table with :func:`idgen.evaluate.evaluate_table`, at *every* value of the query's
variables and of the free variables ID line 3 adds (the truth does not depend on those, so every one
of their values must give the truth), and compared with ``DiscreteSCM.interventional``.

The SCMs are drawn with a low Dirichlet concentration (0.3: near-deterministic mechanisms) and
ternary latents, so a wrong estimand is far from the right one, not 1e-3 away from it. Non-identifiable
queries must raise :class:`idgen.NotIdentifiable` carrying a hedge that has the properties of
Shpitser & Pearl's line-5 failure.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytest

import idgen
from idgen.evaluate import evaluate_table
from idgen.examples import EXAMPLES
from idgen.graph import ADMG
from idgen.query import Query
from idgen.scm import DiscreteSCM, random_admg, random_query

TOLERANCE = 1e-9
CONCENTRATION = 0.3
LATENT_CARDINALITY = 3
EXAMPLE_SEEDS = range(4)

# the random set: fixed candidate budgets, and the minimums the generator must keep producing
CANDIDATES = 2000
MIN_IDENTIFIABLE = 500
MIN_LINE_7 = 50
MIN_CONDITIONAL = 100
MIN_KEPT_CONDITION = 50  # conditional queries with a condition left after IDC's rule-2 moves
SLOW_CANDIDATES = 4000
SLOW_MIN_IDENTIFIABLE = 2000


# ---------------------------------------------------------------------- the oracle
def estimand_error(graph: ADMG, query: str | Query, scm: DiscreteSCM) -> float:
    """Largest ``|estimand − truth|`` over every value of the query's and the free variables."""
    query = Query.coerce(query)
    trace = idgen.identify(graph, query)
    extras = tuple(sorted(trace.free_inputs()))
    axes = query.outcomes + query.treatments + query.conditions + extras
    estimate = evaluate_table(trace.estimand(), scm.observational(), axes)
    cardinalities = scm.cardinalities
    worst = 0.0
    for x in itertools.product(*(range(cardinalities[v]) for v in query.treatments)):
        # P(y, w | do(x)), then condition on w by normalizing over the outcomes
        truth = scm.interventional(
            query.outcomes + query.conditions, do=dict(zip(query.treatments, x, strict=True))
        ).table
        if query.conditions:
            truth = truth / truth.sum(axis=tuple(range(len(query.outcomes))), keepdims=True)
        here = estimate[(slice(None),) * len(query.outcomes) + x]
        worst = max(worst, float(np.abs(here - truth.reshape(truth.shape + (1,) * len(extras))).max()))
    return worst


def example_scm(graph: ADMG, seed: int, ternary: bool) -> DiscreteSCM:
    """A low-concentration SCM; with ``ternary`` every other node (in graph order) takes three values."""
    cardinalities = {v: 3 if ternary and i % 2 else 2 for i, v in enumerate(graph.nodes)}
    return DiscreteSCM.random(
        graph, cardinalities, latent_cardinality=LATENT_CARDINALITY, seed=seed, concentration=CONCENTRATION
    )


# ---------------------------------------------------------------------- the oracle itself
def test_oracle_sees_a_wrong_estimand() -> None:
    """Sanity: on the front-door graph the naive conditional is far from the truth the oracle computes."""
    graph = EXAMPLES["frontdoor"].graph
    scm = example_scm(graph, seed=0, ternary=False)
    naive = evaluate_table("P(Y | X)", scm.observational(), ["Y", "X"])
    truth = np.stack([scm.interventional(["Y"], do={"X": x}).table for x in range(2)], axis=1)
    assert np.abs(naive - truth).max() > 0.01
    assert estimand_error(graph, "P(Y | do(X))", scm) < TOLERANCE


# ---------------------------------------------------------------------- the catalog
IDENTIFIABLE = [
    (name, query) for name, example in EXAMPLES.items() if example.identifiable for query in example.queries
]
NOT_IDENTIFIABLE = [
    (name, query) for name, example in EXAMPLES.items() if not example.identifiable for query in example.queries
]


def test_catalog_covers_the_named_examples() -> None:
    names = {name for name, _ in IDENTIFIABLE}
    required = {
        "backdoor",
        "backdoor_conditional",
        "frontdoor",
        "frontdoor_conditional",
        "napkin",
        "tian_2002",
        "line_1",
        "line_2",
        "line_3",
        "line_4",
        "line_6",
        "line_7",
        "shpitser_pearl_figure_2b",
        "shpitser_pearl_figure_3a",
        "shpitser_pearl_figure_9a",
    }
    assert required <= names
    assert ("frontdoor_conditional", "P(Y | do(X), M)") in IDENTIFIABLE
    assert ("backdoor_conditional", "P(Y | do(X), Z)") in IDENTIFIABLE
    assert len(NOT_IDENTIFIABLE) >= 5


@pytest.mark.parametrize("ternary", [False, True], ids=["binary", "mixed"])
@pytest.mark.parametrize(("name", "query"), IDENTIFIABLE, ids=[f"{n}:{q}" for n, q in IDENTIFIABLE])
def test_example_estimand_is_exact(name: str, query: str, ternary: bool) -> None:
    graph = EXAMPLES[name].graph
    for seed in EXAMPLE_SEEDS:
        error = estimand_error(graph, query, example_scm(graph, seed, ternary))
        assert error < TOLERANCE, f"{name} {query} seed {seed}: |estimand − truth| = {error:.3g}"


def _rule_2_moves(graph: ADMG, query: Query) -> set[str]:
    """IDC's moves, decided here from the definition: Z moves while (Y ⊥ Z | X, W∖Z) in G_{x̄, z̲}."""
    treatments, conditions = set(query.treatments), set(query.conditions)
    moved: set[str] = set()
    moving = True
    while moving:
        moving = False
        for condition in sorted(conditions):
            cut = graph.remove_incoming(treatments).remove_outgoing([condition])
            if cut.m_separated(query.outcomes, [condition], treatments | (conditions - {condition})):
                treatments.add(condition)
                conditions.remove(condition)
                moved.add(condition)
                moving = True
                break
    return moved


def check_hedge(graph: ADMG, query: Query, error: idgen.NotIdentifiable) -> None:
    """The hedge of line 5: c-components F ⊋ F' with F ∩ X ≠ ∅ = F' ∩ X, sinks in An(Y)_{G_x̄}; named in the message.

    ``X`` holds the treatments plus the conditions IDC moved into do(·); ``Y`` the outcomes plus the
    conditions it kept. (F ∖ F' may hold variables that are treatments only of the inner ID call that
    failed, e.g. other districts at line 4, so it is not checked against ``X``.)
    """
    forest, subforest = set(error.hedge.forest), set(error.hedge.subforest)
    moved = _rule_2_moves(graph, query)
    treatments = set(query.treatments) | moved
    outcomes = set(query.outcomes) | (set(query.conditions) - moved)
    assert subforest < forest
    assert forest & treatments
    assert not subforest & treatments
    assert len(graph.subgraph(forest).districts()) == 1
    assert len(graph.subgraph(subforest).districts()) == 1
    sinks = {v for v in forest if not graph.children(v) & forest}
    assert sinks <= set(graph.remove_incoming(treatments).ancestors(outcomes)) - treatments
    message = str(error)
    assert message.startswith(f"{query} is not identifiable")
    assert error.query == str(query)
    for node in forest:
        assert node in message


@pytest.mark.parametrize(("name", "query"), NOT_IDENTIFIABLE, ids=[f"{n}:{q}" for n, q in NOT_IDENTIFIABLE])
def test_non_identifiable_example_raises_its_hedge(name: str, query: str) -> None:
    graph = EXAMPLES[name].graph
    with pytest.raises(idgen.NotIdentifiable) as info:
        idgen.identify(graph, query)
    check_hedge(graph, Query.parse(query), info.value)
    hedge = info.value.hedge
    assert f"F = {{{', '.join(sorted(hedge.forest))}}}" in str(info.value)
    assert f"F' = {{{', '.join(sorted(hedge.subforest))}}}" in str(info.value)


# ---------------------------------------------------------------------- napkin regression
def test_napkin_estimand_is_not_the_naive_conditional_and_is_right() -> None:
    """y0 0.2.11 answers P(Y | do(X)) = P(Y | X) on the napkin; idgen's estimand must differ, and be exact.

    The SCM is the first low-concentration one (seeds 0–49) on which the two differ by more than 0.05.
    """
    graph = EXAMPLES["napkin"].graph
    trace = idgen.identify(graph, "P(Y | do(X))")
    assert str(trace.estimand()) != "P(Y | X)"
    for seed in range(50):
        scm = example_scm(graph, seed, ternary=False)
        joint = scm.observational()
        truth = np.stack([scm.interventional(["Y"], do={"X": x}).table for x in range(2)], axis=1)
        naive = evaluate_table("P(Y | X)", joint, ["Y", "X"])
        if np.abs(naive - truth).max() > 0.05:
            break
    else:
        raise AssertionError("no napkin SCM in seeds 0–49 separates P(Y | X) from P(Y | do(X))")
    ours = evaluate_table(trace.estimand(), joint, ["Y", "X", "W2"])
    assert np.abs(ours - naive[:, :, None]).max() > 0.05
    assert np.abs(ours - truth[:, :, None]).max() < TOLERANCE
    assert estimand_error(graph, "P(Y | do(X))", scm) < TOLERANCE


# ---------------------------------------------------------------------- random cases
@dataclass(frozen=True)
class Candidate:
    seed: int
    graph: ADMG
    query: Query
    cardinalities: Mapping[str, int]


def candidate(seed: int) -> Candidate:
    """A random 5–7 node ADMG with a query of 1–2 outcomes, 1–2 treatments and 0–2 conditions.

    Two of three seeds draw denser graphs (p_directed 0.5) and treatments among the outcomes'
    ancestors, which is where line 7 fires; the others draw any query on sparser graphs with more
    bidirected edges. About a third of the nodes are ternary.
    """
    rng = random.Random(seed)
    n_nodes = rng.randint(5, 7)
    rich = seed % 3 != 0
    graph = random_admg(
        n_nodes,
        p_directed=0.5 if rich else rng.choice([0.3, 0.45]),
        p_bidirected=rng.choice([0.2, 0.3]) if rich else rng.choice([0.2, 0.3, 0.4]),
        seed=seed,
    )
    query = random_query(graph, rng, ancestral=rich)
    cardinalities = {v: rng.choice([2, 2, 3]) for v in graph.nodes}
    return Candidate(seed, graph, query, cardinalities)


@dataclass
class Tally:
    identifiable: int = 0
    line_7: int = 0
    conditional: int = 0
    kept_condition: int = 0
    not_identifiable: int = 0
    worst: float = 0.0


def run_random(candidates: int) -> Tally:
    """Check every identifiable candidate against the oracle and every hedge; return the counts."""
    tally = Tally()
    failures = []
    for seed in range(candidates):
        case = candidate(seed)
        try:
            trace = idgen.identify(case.graph, case.query)
        except idgen.NotIdentifiable as error:
            tally.not_identifiable += 1
            check_hedge(case.graph, case.query, error)
            continue
        tally.identifiable += 1
        tally.line_7 += 7 in trace.lines()
        tally.conditional += bool(case.query.conditions)
        tally.kept_condition += bool(trace.conditions)
        scm = DiscreteSCM.random(
            case.graph,
            dict(case.cardinalities),
            latent_cardinality=LATENT_CARDINALITY,
            seed=seed,
            concentration=CONCENTRATION,
        )
        error = estimand_error(case.graph, case.query, scm)
        tally.worst = max(tally.worst, error)
        if not error < TOLERANCE:
            failures.append(f"seed {seed}: {case.query} on {case.graph} (lines {trace.lines()}): error {error:.3g}")
    print(f"random oracle: {tally}")
    assert not failures, "\n".join(failures)
    return tally


def test_random_identifiable_estimands_are_exact() -> None:
    tally = run_random(CANDIDATES)
    assert tally.identifiable >= MIN_IDENTIFIABLE, tally
    assert tally.line_7 >= MIN_LINE_7, tally
    assert tally.conditional >= MIN_CONDITIONAL, tally
    assert tally.kept_condition >= MIN_KEPT_CONDITION, tally


@pytest.mark.slow
def test_random_identifiable_estimands_are_exact_on_2000_cases() -> None:
    tally = run_random(SLOW_CANDIDATES)
    assert tally.identifiable >= SLOW_MIN_IDENTIFIABLE, tally
    assert tally.line_7 >= 3 * MIN_LINE_7, tally
    assert tally.conditional >= 4 * MIN_CONDITIONAL, tally
    assert tally.kept_condition >= 4 * MIN_KEPT_CONDITION, tally
