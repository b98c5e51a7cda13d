"""End-to-end exactness of the ``tabular`` backend: data from an SCM → compile → fit → sample → TVD to truth.

Every case draws observational rows from a discrete SCM whose bidirected edges are explicit latents
(:class:`idgen.scm.DiscreteSCM`; the latents are dropped from the data), runs :func:`idgen.compile`
and :func:`idgen.fit` with ``backend="tabular"`` in a fresh workdir, samples the network at every
intervention value ``x`` (and, for a conditional query, every condition value ``w``), and compares the
empirical ``P̃(outcomes | do(x), w)`` with the exact ``P(outcomes | do(x), w)`` of
:meth:`DiscreteSCM.interventional` in total variation distance.

Where the bound comes from
--------------------------
Fix one intervention value and let ``p`` be the true outcome table (``k`` cells), ``q̂`` the
distribution the fitted network samples from, and ``p̃`` the empirical table of ``m`` samples of it.
Then ``TVD(p̃, p) = ½ Σ_y |e_y|`` with ``e_y = (p̃_y − q̂_y) + (q̂_y − p_y)``, two independent errors:

1. *Sampling.* ``m p̃_y`` is binomial, so ``p̃_y − q̂_y`` has variance ``p_y (1 − p_y) / m``.

2. *Training.* The tabular factors are the empirical conditionals of their training table, so with no
   synthetic stage ``q̂ = f(P̂_n)``: the estimand ``f`` (a smooth function of the observational table
   ``P`` over the ``K`` cells of the variables it mentions) evaluated at the empirical table of the ``n``
   training rows. By the delta method ``q̂_y − p_y ≈ (1/n) Σ_i IF_y(V_i)`` with the influence function
   ``IF_y(c) = d/dε f_y((1 − ε) P + ε δ_c)`` (zero mean under ``P``), so its variance is
   ``σ_y² = (Σ_c P_c IF_y(c)² − (Σ_c P_c IF_y(c))²) / n``. We compute ``IF`` exactly-enough by a
   batched finite difference over all ``K`` cells on the true ``P`` (:func:`training_sd`). Inverse
   propensities enter through ``IF``: a conditional on a rare configuration gets a large ``σ``.
   Each synthetic dataset of the plan (ID line 7's ``D′``, the IDC joint samples; ``L`` of them, each
   of ``n`` rows) re-estimates the downstream factors from ``n`` draws of an estimated distribution,
   which adds at most about one more such variance: we use ``(1 + L) σ_y²``. Where the estimand has
   free inputs (ID line 3) the network mixes the estimates at free values drawn from the data, so its
   error is at most the ``P(free)``-weighted average of theirs: we weight the ``σ_y`` likewise.

Adding the two, ``e_y`` is approximately normal with ``s_y² = p_y (1 − p_y) / m + (1 + L) σ_y²``, hence

    E[TVD] ≈ (1 / sqrt(2π)) Σ_y s_y             (``expected`` below)
    TVD ≤ (z / 2) Σ_y s_y                      (``bound``; every cell within z = 5 sd)

By Cauchy–Schwarz ``Σ_y sqrt(p_y (1 − p_y) / m) ≤ sqrt((k − 1) / m)`` and ``σ_y ≲ c sqrt(K / n)``, so
this is the familiar ``c · sqrt(k / m) + c' · sqrt(K / n)`` with the constants computed per case
instead of guessed. For ``k = 2`` and ``m = 50 000`` the sampling part of the expectation is
``≈ 0.0018``; with ``n = 100 000`` rows and six binary variables the training part is typically a
few thousandths, so the median TVD is ≈ 0.005 and the bound ≈ 0.015–0.06 (more where a rare
configuration is involved). With ``z = 5`` a correct pipeline fails a comparison with probability
below ``10⁻⁵`` per cell; a wrong estimand or a mis-wired network is off by far more (see
:func:`test_naive_conditional_is_far_but_idgen_is_close_on_napkin`).

Every SCM is drawn until its observational table gives each cell an expected count of at least
``MIN_EXPECTED_COUNT`` (positivity: ID needs it, and the tabular sampler refuses configurations it
never saw). Sizes: 100 000 rows and 50 000 samples per intervention value for the named cases; 30 000
rows and 10 000 samples for the ≥ 100 random cases of the default run (the bound scales accordingly),
full size in the ``slow`` variant.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import idgen
from idgen.examples import EXAMPLES
from idgen.expression import Expr, Prob, Product, Ratio, Sum
from idgen.graph import ADMG
from idgen.query import Query
from idgen.scm import DiscreteSCM, Joint, random_admg, random_query

ROWS = 100_000
SAMPLES = 50_000
RANDOM_ROWS = 30_000
RANDOM_SAMPLES = 10_000
Z = 5.0
MIN_EXPECTED_COUNT = 10
CONCENTRATION = 1.0
LATENT_CARDINALITY = 3
FD_STEP = 1e-6

N_RANDOM = 100
MIN_RANDOM_LINE_7 = 25
MIN_RANDOM_IDC = 30
MIN_RANDOM_IDC_KEPT = 10  # conditional queries with a condition left after the rule-2 moves
RANDOM_CANDIDATES = 4000


# ---------------------------------------------------------------------- the bound
def _mentioned(expression: Expr) -> set[str]:
    """Every variable an estimand mentions, bound or free."""
    if isinstance(expression, Prob):
        return set(expression.variables | expression.given)
    if isinstance(expression, Product):
        return set().union(*(_mentioned(f) for f in expression.factors))
    if isinstance(expression, Sum):
        return set(expression.over) | _mentioned(expression.body)
    if isinstance(expression, Ratio):
        return _mentioned(expression.numerator) | _mentioned(expression.denominator)
    raise TypeError(f"unexpected expression {expression!r}")


@dataclass(frozen=True)
class _Batched:
    """Values with a leading batch axis, then one axis per variable in ``names``."""

    names: tuple[str, ...]
    values: np.ndarray

    def aligned(self, names: tuple[str, ...]) -> np.ndarray:
        present = [n for n in names if n in self.names]
        moved = np.transpose(self.values, [0, *(1 + self.names.index(n) for n in present)])
        shape = [moved.shape[0]] + [moved.shape[1 + present.index(n)] if n in present else 1 for n in names]
        return moved.reshape(shape)


def _combine(left: _Batched, right: _Batched, operation: str) -> _Batched:
    names = left.names + tuple(n for n in right.names if n not in left.names)
    a, b = left.aligned(names), right.aligned(names)
    return _Batched(names, a * b if operation == "*" else a / b)


def _evaluate_batched(expression: Expr, tables: np.ndarray, names: tuple[str, ...]) -> _Batched:
    """Evaluate an idgen estimand on a batch of joint tables ``tables[b, v_1, …]`` over ``names``."""
    if isinstance(expression, Prob):
        keep = tuple(n for n in names if n in expression.variables | expression.given)
        joint = tables.sum(axis=tuple(1 + i for i, n in enumerate(names) if n not in keep))
        result = _Batched(keep, joint)
        if expression.given:
            given = tuple(n for n in keep if n in expression.given)
            denominator = joint.sum(axis=tuple(1 + i for i, n in enumerate(keep) if n not in given))
            result = _combine(result, _Batched(given, denominator), "/")
        return result
    if isinstance(expression, Product):
        factors = [_evaluate_batched(f, tables, names) for f in expression.factors]
        result = _Batched((), np.ones((tables.shape[0],)))
        for factor in factors:
            result = _combine(result, factor, "*")
        return result
    if isinstance(expression, Sum):
        body = _evaluate_batched(expression.body, tables, names)
        summed = tuple(n for n in body.names if n in expression.over)
        values = body.values.sum(axis=tuple(1 + body.names.index(n) for n in summed))
        for n in expression.over - set(body.names):
            values = values * tables.shape[1 + names.index(n)]
        return _Batched(tuple(n for n in body.names if n not in summed), values)
    if isinstance(expression, Ratio):
        return _combine(
            _evaluate_batched(expression.numerator, tables, names),
            _evaluate_batched(expression.denominator, tables, names),
            "/",
        )
    raise TypeError(f"unexpected expression {expression!r}")


def training_sd(expression: Expr, observational: Joint, n: int, free: tuple[str, ...]) -> np.ndarray:
    """Delta-method standard deviation of the plug-in estimand from ``n`` rows, axes ``free``.

    ``IF(c) = (f((1 − ε) P + ε δ_c) − f(P)) / ε`` for every cell ``c`` of the table ``P`` of the mentioned
    variables, in one batched evaluation.
    """
    names = tuple(v for v in observational.variables if v in _mentioned(expression))
    table = observational.marginal(names).table
    cells = table.size
    perturbed = (1 - FD_STEP) * np.broadcast_to(table, (cells, *table.shape)) + FD_STEP * np.eye(cells).reshape(
        (cells, *table.shape)
    )
    base = _evaluate_batched(expression, table[None], names)
    moved = _evaluate_batched(expression, perturbed, names)
    influence = (moved.aligned(free) - base.aligned(free)) / FD_STEP  # (cells, free...)
    weights = table.reshape((cells,) + (1,) * len(free))
    mean = (weights * influence).sum(axis=0)
    variance = np.maximum((weights * influence**2).sum(axis=0) - mean**2, 0.0)
    return np.broadcast_to(np.sqrt(variance / n), tuple(observational.cardinalities[v] for v in free))


# ---------------------------------------------------------------------- one end-to-end case
@dataclass
class CaseResult:
    """TVDs of one case, one entry per intervention (and condition) value."""

    name: str
    lines: tuple[int, ...]
    conditional: bool
    kept_conditions: bool
    tvds: list[float] = field(default_factory=list)
    bounds: list[float] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return [
            f"{self.name} at {s}: TVD {t:.4f} > bound {b:.4f} (expected ≈ {e:.4f})"
            for s, t, b, e in zip(self.settings, self.tvds, self.bounds, self.expected, strict=True)
            if t > b
        ]


def positive_scm(graph: ADMG, cardinalities: Mapping[str, int], seed: int, rows: int) -> DiscreteSCM:
    """The first SCM drawn from ``seed`` on whose observational table every cell expects ≥ MIN_EXPECTED_COUNT rows.

    Twenty draws at each concentration, doubling it from ``CONCENTRATION`` (flatter tables fill every cell).
    """
    for attempt in range(100):
        scm = DiscreteSCM.random(
            graph,
            cardinality=dict(cardinalities),
            latent_cardinality=LATENT_CARDINALITY,
            seed=seed * 1000 + attempt,
            concentration=CONCENTRATION * 2 ** (attempt // 20),
        )
        if scm.observational().table.min() * rows >= MIN_EXPECTED_COUNT:
            return scm
    raise AssertionError(f"no positive SCM for {graph} from seed {seed} in 100 draws")


def run_case(
    name: str, graph: ADMG, query: str | Query, scm: DiscreteSCM, rows: int, samples: int, workdir: Path, seed: int = 0
) -> CaseResult:
    """Fit ``query`` on ``rows`` rows drawn from ``scm``; compare ``samples`` draws per setting with the truth."""
    query = Query.coerce(query)
    trace = idgen.identify(graph, query)
    plan = idgen.compile(graph, query)
    data = scm.sample(rows, seed=seed)
    # D′ as large as the data: the tolerance counts each synthetic stage as one more draw of ``rows`` rows
    network = idgen.fit(plan, data, backend="tabular", workdir=workdir, seed=seed, synthetic_size=rows)
    stages = sum(dataset.kind != "observed" for dataset in plan.datasets)
    cardinalities = scm.cardinalities
    extras = tuple(sorted(trace.free_inputs()))
    free = query.outcomes + query.treatments + query.conditions + extras
    observational = scm.observational()
    sd = training_sd(trace.expression(), observational, rows, free)
    if extras:  # the network mixes the estimates at free-input values drawn from the data
        weights = observational.marginal(extras).table
        sd = (sd * weights).sum(axis=tuple(range(len(free) - len(extras), len(free))))
    result = CaseResult(name, tuple(trace.lines()), bool(query.conditions), bool(trace.conditions))
    for x in itertools.product(*(range(cardinalities[v]) for v in query.treatments)):
        for w in itertools.product(*(range(cardinalities[v]) for v in query.conditions)):
            do = dict(zip(query.treatments, x, strict=True))
            given = dict(zip(query.conditions, w, strict=True))
            drawn = network.sample(samples, do=do, given=given, seed=seed + 1)
            empirical = Joint.from_samples(drawn, query.outcomes, cardinalities)
            truth = scm.interventional(query.outcomes, do=do, given=given)
            p = truth.table
            sigma = sd[(slice(None),) * len(query.outcomes) + x + w]
            spread = np.sqrt(p * (1 - p) / samples + (1 + stages) * sigma**2)
            result.tvds.append(empirical.tvd(truth))
            result.bounds.append(float(Z / 2 * spread.sum()))
            result.expected.append(float(spread.sum() / math.sqrt(2 * math.pi)))
            result.settings.append(f"do{do} given{given}")
    return result


def _describe(outcomes: list[CaseResult]) -> str:
    tvds = np.array([t for o in outcomes for t in o.tvds])
    ratio = np.array([t / e for o in outcomes for t, e in zip(o.tvds, o.expected, strict=True)])
    return (
        f"{len(outcomes)} cases, {tvds.size} comparisons: TVD median {np.median(tvds):.4f}, "
        f"90% {np.quantile(tvds, 0.9):.4f}, max {tvds.max():.4f}; TVD / expected median {np.median(ratio):.2f}, "
        f"max {ratio.max():.2f}"
    )


# ---------------------------------------------------------------------- the bound itself
def test_training_sd_matches_the_binomial_formula_for_a_marginal() -> None:
    joint = Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]])
    sd = training_sd(Prob(frozenset({"Y"})), joint, 1000, ("Y",))
    assert sd == pytest.approx([math.sqrt(0.4 * 0.6 / 1000)] * 2, rel=1e-4)


def test_training_sd_matches_the_binomial_formula_for_a_conditional() -> None:
    joint = Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]])
    sd = training_sd(Prob(frozenset({"Y"}), frozenset({"X"})), joint, 1000, ("Y", "X"))
    # P(Y=1 | X=0) = 2/3 estimated from 1000 · 0.3 rows
    assert sd[1, 0] == pytest.approx(math.sqrt(2 / 3 * 1 / 3 / 300), rel=1e-4)


# ---------------------------------------------------------------------- named cases
NAMED: dict[str, tuple[str, str, int | dict[str, int]]] = {
    "backdoor": ("backdoor", "P(Y | do(X))", 2),
    "frontdoor": ("frontdoor", "P(Y | do(X))", 2),
    "napkin": ("napkin", "P(Y | do(X))", 2),
    "napkin-ternary": ("napkin", "P(Y | do(X))", {"W1": 2, "W2": 3, "X": 3, "Y": 2}),
    "napkin-do-w2": ("napkin", "P(Y | do(W2))", 2),
    "tian_2002": ("tian_2002", "P(Y | do(X))", 2),
    "multi-outcome-figure-3a": ("shpitser_pearl_figure_3a", "P(Y1, Y2 | do(X))", 2),
    "multi-outcome-frontdoor": ("frontdoor", "P(Y, M | do(X))", 2),
    "multi-treatment-pearl-5": ("pearl_identifiability_5", "P(Y | do(X1, X2))", 2),
    "multi-treatment-pearl-6": ("pearl_identifiability_6", "P(Y | do(X1, X2))", 2),
    "multi-both-verma-2": ("verma_2", "P(V4, V5 | do(V1, V3))", 2),
    "multi-both-figure-9a": ("shpitser_pearl_figure_9a", "P(Y, Z | do(X, D))", 2),
    "idc-frontdoor-mediator": ("frontdoor", "P(Y | do(X), M)", 2),
    "idc-backdoor-covariate": ("backdoor", "P(Y | do(X), Z)", 2),
    "idc-kept-figure-2b": ("shpitser_pearl_figure_2b", "P(Y | do(X), Z)", 2),
    "idc-kept-verma-1": ("verma_1", "P(V4 | do(V3), V2)", 2),
    "idc-kept-line-7-pearl-3": ("pearl_identifiability_3", "P(Y | do(X), Z1)", 2),
}


@pytest.mark.parametrize("case", sorted(NAMED))
def test_named_case_matches_the_truth(case: str, tmp_path: Path) -> None:
    example, query, cardinality = NAMED[case]
    graph = EXAMPLES[example].graph
    cardinalities = cardinality if isinstance(cardinality, dict) else dict.fromkeys(graph.nodes, cardinality)
    scm = positive_scm(graph, cardinalities, seed=sorted(NAMED).index(case), rows=ROWS)
    outcome = run_case(case, graph, query, scm, ROWS, SAMPLES, tmp_path)
    tvds, bounds = np.round(outcome.tvds, 4).tolist(), np.round(outcome.bounds, 4).tolist()
    print(f"{case}: lines {outcome.lines}; TVDs {tvds}; bounds {bounds}")
    assert not outcome.failures(), outcome.failures()


def test_named_cases_cover_what_they_claim() -> None:
    lines = {case: idgen.identify(EXAMPLES[e].graph, q) for case, (e, q, _) in NAMED.items()}
    assert 7 in lines["napkin"].lines() and 7 in lines["tian_2002"].lines()
    assert lines["idc-frontdoor-mediator"].moved == ("M",)
    assert lines["idc-kept-figure-2b"].conditions == {"Z"}
    assert 7 in lines["idc-kept-line-7-pearl-3"].lines() and lines["idc-kept-line-7-pearl-3"].conditions == {"Z1"}
    assert lines["multi-both-verma-2"].free_inputs() == {"V2"}


# ---------------------------------------------------------------------- naive conditional vs ID-GEN
def napkin_scm() -> DiscreteSCM:
    """A napkin SCM in which the back-door path X ← W2 ← W1 ← U[W1,Y] → Y makes P(Y | X) misleading.

    W1 copies the latent U[W1,Y], W2 copies W1, X copies W2, and Y follows U[W1,Y] while X barely
    matters: P(Y=1 | do(X=x)) ≈ 0.5 + 0.05 x, but P(Y=1 | X=x) tracks U[W1,Y] through X.
    """
    graph = EXAMPLES["napkin"].graph
    noisy_copy = np.array([[0.9, 0.1], [0.1, 0.9]])
    w1 = np.empty((2, 2, 2))  # U[W1,X], U[W1,Y], W1
    w1[:, :, :] = noisy_copy[None, :, :]
    x = np.empty((2, 2, 2))  # W2, U[W1,X], X
    x[:, 0, :] = [[0.9, 0.1], [0.1, 0.9]]
    x[:, 1, :] = [[0.75, 0.25], [0.25, 0.75]]
    y = np.empty((2, 2, 2))  # X, U[W1,Y], Y
    for value_x in range(2):
        for u in range(2):
            one = 0.1 + 0.75 * u + 0.05 * value_x
            y[value_x, u] = [1 - one, one]
    scm = DiscreteSCM(
        graph,
        cpts={"W1": w1, "W2": noisy_copy, "X": x, "Y": y},
        latent_priors={("W1", "X"): [0.5, 0.5], ("W1", "Y"): [0.5, 0.5]},
    )
    assert scm.cpt_variables("W1") == ("U[W1,X]", "U[W1,Y]", "W1")
    assert scm.cpt_variables("X") == ("W2", "U[W1,X]", "X")
    assert scm.cpt_variables("Y") == ("X", "U[W1,Y]", "Y")
    return scm


def test_naive_conditional_is_far_but_idgen_is_close_on_napkin(tmp_path: Path) -> None:
    scm = napkin_scm()
    graph = scm.graph
    data = scm.sample(ROWS, seed=0)
    network = idgen.fit(
        idgen.compile(graph, "P(Y | do(X))"), data, backend="tabular", workdir=tmp_path, seed=0, synthetic_size=ROWS
    )
    observed = Joint.from_samples(data, ["X", "Y"], 2)
    for x in range(2):
        truth = scm.interventional(["Y"], do={"X": x})
        naive = observed.condition({"X": x})
        sampled = Joint.from_samples(network.sample(SAMPLES, do={"X": x}, seed=1), ["Y"], 2)
        print(f"do(X={x}): naive P(Y | X) TVD {naive.tvd(truth):.4f}, idgen TVD {sampled.tvd(truth):.4f}")
        assert naive.tvd(truth) > 0.15
        assert sampled.tvd(truth) < 0.02


# ---------------------------------------------------------------------- random cases
@dataclass(frozen=True)
class RandomCase:
    seed: int
    graph: ADMG
    query: Query
    cardinalities: dict[str, int]
    lines: tuple[int, ...]
    kept_conditions: bool


def _candidate(seed: int) -> tuple[ADMG, Query, dict[str, int]]:
    """A random 5–6 node ADMG and query; odd seeds pick denser graphs and ancestral treatments (line 7 rich)."""
    rng = random.Random(seed)
    n_nodes = rng.randint(5, 6)
    rich = seed % 2 == 1
    graph = random_admg(
        n_nodes,
        p_directed=0.5 if rich else rng.choice([0.3, 0.45]),
        p_bidirected=rng.choice([0.2, 0.3]) if rich else rng.choice([0.2, 0.3, 0.4]),
        seed=seed,
    )
    query = random_query(graph, rng, ancestral=rich)
    # mostly binary, at most one ternary variable so that the tables stay well filled
    cardinalities = dict.fromkeys(graph.nodes, 2)
    if rng.random() < 0.3:
        cardinalities[rng.choice(list(graph.nodes))] = 3
    return graph, query, cardinalities


def random_cases(count: int, line_7: int, candidates: int = RANDOM_CANDIDATES) -> Iterator[RandomCase]:
    """The first ``count`` identifiable candidates, at least ``line_7`` of them through ID line 7."""
    taken = taken_line_7 = 0
    for seed in range(candidates):
        if taken == count:
            return
        graph, query, cardinalities = _candidate(seed)
        try:
            trace = idgen.identify(graph, query)
        except idgen.NotIdentifiable:
            continue
        fires_7 = 7 in trace.lines()
        if not fires_7 and count - taken <= line_7 - taken_line_7:
            continue  # the remaining places are reserved for line-7 cases
        taken += 1
        taken_line_7 += fires_7
        yield RandomCase(seed, graph, query, cardinalities, tuple(trace.lines()), bool(trace.conditions))


def _run_random(count: int, rows: int, samples: int, tmp_path: Path) -> list[CaseResult]:
    cases = list(random_cases(count, MIN_RANDOM_LINE_7))
    assert len(cases) == count, f"only {len(cases)} identifiable candidates in {RANDOM_CANDIDATES} seeds"
    line_7 = sum(7 in case.lines for case in cases)
    conditional = sum(bool(case.query.conditions) for case in cases)
    kept = sum(case.kept_conditions for case in cases)
    assert line_7 >= MIN_RANDOM_LINE_7, line_7
    assert conditional >= MIN_RANDOM_IDC, conditional
    assert kept >= MIN_RANDOM_IDC_KEPT, kept
    outcomes = []
    for case in cases:
        scm = positive_scm(case.graph, case.cardinalities, seed=case.seed, rows=rows)
        name = f"seed {case.seed}: {case.query} on {case.graph}"
        outcomes.append(run_case(name, case.graph, case.query, scm, rows, samples, tmp_path / str(case.seed)))
    both = sum(7 in case.lines and bool(case.query.conditions) for case in cases)
    print(f"random: {line_7} through line 7, {conditional} conditional ({kept} keep a condition, {both} also line 7)")
    print("random:", _describe(outcomes))
    for label, chosen in (
        ("line 7", [o for o in outcomes if 7 in o.lines]),
        ("IDC", [o for o in outcomes if o.conditional]),
    ):
        print(f"random {label}:", _describe(chosen))
    failures = [failure for outcome in outcomes for failure in outcome.failures()]
    assert not failures, "\n".join(failures)
    return outcomes


def _check_calibration(outcomes: list[CaseResult], median_tvd: float) -> None:
    """Collectively the TVDs must look like noise: a small systematic error shifts the whole ratio up."""
    tvds = [t for o in outcomes for t in o.tvds]
    ratios = [t / e for o in outcomes for t, e in zip(o.tvds, o.expected, strict=True)]
    assert np.median(tvds) < median_tvd
    assert np.median(ratios) < 1.5


def test_random_identifiable_queries_match_the_truth(tmp_path: Path) -> None:
    _check_calibration(_run_random(N_RANDOM, RANDOM_ROWS, RANDOM_SAMPLES, tmp_path), median_tvd=0.02)


@pytest.mark.slow
def test_random_identifiable_queries_match_the_truth_at_full_size(tmp_path: Path) -> None:
    _check_calibration(_run_random(N_RANDOM, ROWS, SAMPLES, tmp_path), median_tvd=0.01)
