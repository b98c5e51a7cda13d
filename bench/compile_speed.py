"""Compile-time benchmark: ``idgen.identify`` (and ``idgen.compile``) against y0's ``identify_outcomes``.

Both tools get the same (graph, query) pairs in one run:

* random sparse ADMGs with 10, 50, 100, 500 and 1,000 nodes (each node draws up to three parents among
  earlier nodes; 0.3 bidirected edges per node);
* latent projections of real Bayesian-network structures (bnlearn networks of 20 to 1,041 nodes, read
  from the ``.bif.gz`` files that pgmpy 1.0 ships; pgmpy ≥ 1.1 downloads them at run time instead).
  About 20 % of the nodes with two or more children become latent and are projected out.

* many-district cases: latent projections of random sparse DAGs of 200, 500 and 1,000 nodes whose
  parents lie among the 30 previous nodes (long ancestral chains), with 5 %, 10 % and 20 % of the
  nodes that have two or more children made latent; the query is the identifiable ``P(Y | do(X))``
  whose line 4 splits into the most districts among candidates with Y of the widest ancestry
  (hundreds of districts: the shape that used to cost ~165 ms);
* a 2,000-node chain ``V0 -> ... -> V1999`` with ``P(V1999 | do(V0))`` (once a RecursionError).

Per graph the queries are ``P(Y | do(X))`` for random ancestor pairs, one joint query
``P(Y1, Y2 | do(X1, X2))`` and one conditional query ``P(Y | do(X), W)`` (many-district graphs and
the chain get their one query). idgen is timed as ``identify`` plus building its estimand expression
(y0 returns an expression too) and as ``compile`` (identify plus lowering to a plan), best of a few
runs in the same process, interleaved with y0 query by query; the first (cold) run is recorded too.
y0 runs under a per-query alarm (``--y0-timeout``, 10 s by default) and a timed-out query counts with
the timeout as a lower bound. Run from the repository root::

    .venv/bin/python bench/compile_speed.py            # full run, table + bench/results/compile_speed.json
    .venv/bin/python bench/compile_speed.py --quick    # small graphs only
    .venv/bin/python bench/compile_speed.py --profile  # also cProfile idgen on the largest graph

Goal: every query at most 25 ms with idgen (identify + estimand, and compile) and idgen at least
100x faster than y0 in total.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import importlib.util
import io
import json
import pstats
import random
import re
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from idgen.errors import NotIdentifiable
from idgen.graph import ADMG
from idgen.identification import identify
from idgen.query import Query

RANDOM_SIZES = (10, 50, 100, 500, 1_000)
#: bnlearn networks between 20 and ~1,000 nodes, smallest first
REAL_NETWORKS = (
    "child",
    "insurance",
    "alarm",
    "hailfinder",
    "hepar2",
    "win95pts",
    "andes",
    "pigs",
    "link",
    "munin",
)
LATENT_FRACTION = 0.2
#: many-district cases: (nodes before projection, latent fraction)
MANY_DISTRICT_CASES = tuple((n, fraction) for n in (200, 500, 1_000) for fraction in (0.05, 0.1, 0.2))
CHAIN_LENGTH = 2_000
IDGEN_GOAL_MS = 25.0
SPEEDUP_GOAL = 100.0
RESULTS = Path(__file__).resolve().parent / "results" / "compile_speed.json"
#: the clock every timing reads: wall time by default; ``--clock cpu`` reads this process's CPU time, which a
#: machine shared with other jobs inflates far less (y0's timeout then counts CPU time too)
CLOCK: Callable[[], float] = time.perf_counter


# ---------------------------------------------------------------------- graphs
def random_sparse_admg(n_nodes: int, seed: int, max_parents: int = 3, bidirected_per_node: float = 0.3) -> ADMG:
    """A sparse random ADMG: each node draws 0..``max_parents`` parents among earlier nodes of a random order.

    About ``bidirected_per_node`` bidirected edges per node join random pairs.
    """
    rng = random.Random(seed)
    order = [f"V{i}" for i in range(n_nodes)]
    rng.shuffle(order)
    directed = []
    for i in range(1, n_nodes):
        for j in rng.sample(range(i), min(i, rng.randint(0, max_parents))):
            directed.append((order[j], order[i]))
    bidirected = set()
    for _ in range(round(bidirected_per_node * n_nodes)):
        a, b = rng.sample(order, 2)
        bidirected.add((a, b) if a < b else (b, a))
    return ADMG(directed=directed, bidirected=sorted(bidirected), nodes=order)


def random_local_dag(
    n_nodes: int, seed: int, max_parents: int = 3, window: int = 30
) -> tuple[list[str], list[tuple[str, str]]]:
    """A random sparse DAG whose node ``V{i}`` draws 1..``max_parents`` parents among the ``window`` previous nodes.

    Local parents make long ancestral chains, so a late node has hundreds of ancestors.

    Examples
    --------
    >>> nodes, edges = random_local_dag(5, seed=0)
    >>> nodes, all(int(a[1:]) < int(b[1:]) for a, b in edges)
    (['V0', 'V1', 'V2', 'V3', 'V4'], True)
    """
    rng = random.Random(seed)
    nodes = [f"V{i}" for i in range(n_nodes)]
    edges = []
    for i in range(1, n_nodes):
        low = max(0, i - window)
        for j in rng.sample(range(low, i), min(i - low, rng.randint(1, max_parents))):
            edges.append((nodes[j], nodes[i]))
    return nodes, edges


def many_district_case(
    n_nodes: int, latent_fraction: float, seed: int, candidates: int = 10
) -> tuple[ADMG, Query | None]:
    """The latent projection of :func:`random_local_dag` and its query with the most districts at line 4.

    ``latent_fraction`` of the nodes (among those with two or more children) are latent. Y ranges over
    the five nodes with the most ancestors and X over ``candidates`` random ancestors of each; the
    identifiable query whose line-4 step has the most districts wins (``None`` when none is identifiable).
    """
    rng = random.Random(seed)
    nodes, edges = random_local_dag(n_nodes, seed)
    n_children = {v: 0 for v in nodes}
    for parent, _ in edges:
        n_children[parent] += 1
    forks = [v for v in nodes if n_children[v] >= 2]
    graph = latent_projection(nodes, edges, rng.sample(forks, min(len(forks), round(latent_fraction * n_nodes))))
    ancestors = {v: graph.ancestors({v}) - {v} for v in graph.nodes}
    best: tuple[int, Query] | None = None
    for y in sorted(graph.nodes, key=lambda v: -len(ancestors[v]))[:5]:
        for x in rng.sample(sorted(ancestors[y]), min(candidates, len(ancestors[y]))):
            query = Query((y,), (x,))
            try:
                districts = line_4_districts(identify(graph, query))
            except NotIdentifiable:
                continue
            if best is None or districts > best[0]:
                best = (districts, query)
    return graph, None if best is None else best[1]


def line_4_districts(trace: Any) -> int:
    """The largest number of districts one line-4 step of ``trace`` splits into (0 without line 4)."""
    return max((len(step.districts) for step in trace.steps() if step.line == 4), default=0)


def chain_graph(n_nodes: int) -> ADMG:
    """``V0 -> V1 -> ... -> V{n-1}``: deep but trivial, once a RecursionError in the lowering."""
    return ADMG(directed=[(f"V{i}", f"V{i + 1}") for i in range(n_nodes - 1)])


def bnlearn_folder() -> Path | None:
    """Where pgmpy 1.0 keeps the bnlearn ``.bif.gz`` files, or ``None`` without pgmpy."""
    spec = importlib.util.find_spec("pgmpy")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "utils" / "example_models"
    return folder if folder.is_dir() else None


_VARIABLE = re.compile(r"^\s*variable\s+(\S+)\s*\{", re.MULTILINE)
_PROBABILITY = re.compile(r"^\s*probability\s*\(\s*([^|)]+?)\s*(?:\|\s*([^)]*))?\)", re.MULTILINE)


def read_bif_structure(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Nodes and directed edges of a (gzipped) BIF file; only the structure is read, not the tables.

    Examples
    --------
    >>> text = "variable a {\\n}\\nvariable b {\\n}\\nprobability ( b | a ) {\\n}\\n"
    >>> _parse_bif(text)
    (['a', 'b'], [('a', 'b')])
    """
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return _parse_bif(handle.read())


def _parse_bif(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    nodes = _VARIABLE.findall(text)
    edges = []
    for child, parents in _PROBABILITY.findall(text):
        for parent in (p.strip() for p in parents.split(",")) if parents else ():
            if parent:
                edges.append((parent, child.strip()))
    return nodes, edges


def _safe_names(names: Iterable[str]) -> dict[str, str]:
    """Map BIF names to ADMG-legal identifiers (letters, digits, '_'; prefixed so none is reserved)."""
    result: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        safe = "v_" + re.sub(r"\W", "_", name)
        while safe in used:
            safe += "_"
        used.add(safe)
        result[name] = safe
    return result


def latent_projection(nodes: Sequence[str], directed: Sequence[tuple[str, str]], latent: Iterable[str]) -> ADMG:
    """Project the ``latent`` nodes out of a DAG, giving an ADMG over the others (Verma & Pearl).

    ``a -> b`` when a directed path from ``a`` to ``b`` has only latent nodes inside; ``a <-> b`` when
    a latent node reaches both ``a`` and ``b`` by directed paths with only latent nodes inside.

    Examples
    --------
    >>> g = latent_projection(["A", "L", "B", "C"], [("A", "L"), ("L", "B"), ("L", "C")], {"L"})
    >>> g.directed, g.bidirected
    ([('A', 'B'), ('A', 'C')], [('B', 'C')])
    """
    latent = set(latent)
    children: dict[str, list[str]] = {v: [] for v in nodes}
    has_latent_parent: set[str] = set()
    for parent, child in directed:
        children[parent].append(child)
        if parent in latent:
            has_latent_parent.add(child)
    reach: dict[str, frozenset[str]] = {}

    def observed_reach(node: str) -> frozenset[str]:
        """Observed nodes reached from latent ``node`` through latent nodes only (iterative DFS, memoized)."""
        stack = [node]
        while stack:
            top = stack[-1]
            pending = [c for c in children[top] if c in latent and c not in reach]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if top in reach:
                continue
            found: set[str] = set()
            for c in children[top]:
                found |= reach[c] if c in latent else {c}
            reach[top] = frozenset(found)
        return reach[node]

    projected_directed = set()
    for parent in nodes:
        if parent in latent:
            continue
        for child in children[parent]:
            for target in observed_reach(child) if child in latent else (child,):
                projected_directed.add((parent, target))
    projected_bidirected = set()
    for node in nodes:
        if node in latent and node not in has_latent_parent:  # a latent under another latent adds nothing new
            reached = sorted(observed_reach(node))
            for i, a in enumerate(reached):
                for b in reached[i + 1 :]:
                    projected_bidirected.add((a, b))
    observed = [v for v in nodes if v not in latent]
    return ADMG(directed=sorted(projected_directed), bidirected=sorted(projected_bidirected), nodes=observed)


def real_network(name: str, folder: Path, seed: int) -> tuple[ADMG, int]:
    """The latent projection of bnlearn network ``name``; also returns its original node count."""
    raw_nodes, raw_edges = read_bif_structure(folder / f"{name}.bif.gz")
    names = _safe_names(raw_nodes)
    nodes = [names[v] for v in raw_nodes]
    edges = [(names[a], names[b]) for a, b in raw_edges]
    n_children: dict[str, int] = {v: 0 for v in nodes}
    for parent, _ in edges:
        n_children[parent] += 1
    candidates = [v for v in nodes if n_children[v] >= 2]
    rng = random.Random(seed)
    latent = rng.sample(candidates, min(len(candidates), round(LATENT_FRACTION * len(nodes))))
    return latent_projection(nodes, edges, latent), len(nodes)


# ---------------------------------------------------------------------- queries
def pick_queries(graph: ADMG, seed: int, n_pairs: int = 3) -> list[Query]:
    """``n_pairs`` queries P(Y | do(X)) with X a proper ancestor of Y, one joint and one conditional query."""
    rng = random.Random(seed)
    ancestors = {v: sorted(graph.ancestors({v}) - {v}) for v in graph.nodes}
    deep = [v for v in graph.nodes if len(ancestors[v]) >= 2] or [v for v in graph.nodes if ancestors[v]]
    if not deep:
        return []
    queries: list[Query] = []
    for _ in range(10 * n_pairs):  # distinct pairs, as long as the graph has enough
        y = rng.choice(deep)
        query = Query((y,), (rng.choice(ancestors[y]),))
        if query not in queries:
            queries.append(query)
        if len(queries) == n_pairs:
            break
    if len(deep) >= 2:
        y1, y2 = rng.sample(deep, 2)
        pool = sorted((set(ancestors[y1]) | set(ancestors[y2])) - {y1, y2})
        if len(pool) >= 2:
            queries.append(Query((y1, y2), tuple(rng.sample(pool, 2))))
    y = rng.choice(deep)
    if len(ancestors[y]) >= 2:
        x, w = rng.sample(ancestors[y], 2)
        queries.append(Query((y,), (x,), (w,)))
    return queries


# ---------------------------------------------------------------------- timing
class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Timeout` after ``seconds`` of the benchmark's clock (wall, or this process's CPU time)."""
    timer, signum = (signal.ITIMER_REAL, signal.SIGALRM) if CLOCK is time.perf_counter else _CPU_ALARM

    def handler(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signum, handler)
    signal.setitimer(timer, seconds)
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, previous)


#: an alarm on user CPU time, for ``--clock cpu``: y0 gets the same CPU budget however loaded the machine is
_CPU_ALARM = (signal.ITIMER_VIRTUAL, signal.SIGVTALRM)


def time_idgen(graph: ADMG, query: Query, repeat: int = 3) -> tuple[float, float, bool, int]:
    """Best and first of ``repeat`` runs of identify + estimand expression, in ms; the verdict; line-4 districts."""
    timings = []
    identifiable = True
    districts = 0
    for _ in range(repeat):
        start = CLOCK()
        try:
            trace = identify(graph, query)
            trace.expression()
        except NotIdentifiable:
            identifiable = False
        timings.append((CLOCK() - start) * 1000)
        if identifiable:
            districts = line_4_districts(trace)
    return min(timings), timings[0], identifiable, districts


def _compile_function() -> Callable[..., Any] | None:
    try:
        from compiler import compile as compile_plan
    except ImportError:
        return None
    return compile_plan


def time_compile(
    compile_plan: Callable[..., Any] | None, graph: ADMG, query: Query, identifiable: bool
) -> float | None:
    """``compiler.compile(graph, query)`` (identify + lowering) in ms.

    ``None`` when the compiler is missing or the query is not identifiable.
    """
    if compile_plan is None or not identifiable:
        return None
    timings = []
    for _ in range(3):
        start = CLOCK()
        compile_plan(graph, query)
        timings.append((CLOCK() - start) * 1000)
    return min(timings)


def time_y0(graph: ADMG, query: Query, timeout: float) -> tuple[float, str]:
    """y0's ``identify_outcomes`` in ms (graph conversion excluded) and its outcome:
    ``identifiable``, ``not identifiable``, ``timeout`` or ``error: ...``."""
    from y0.algorithm.identify import identify_outcomes
    from y0.dsl import Variable

    y0_graph = graph.to_y0()
    treatments = {Variable(v) for v in query.treatments}
    outcomes = {Variable(v) for v in query.outcomes}
    conditions = {Variable(v) for v in query.conditions} or None
    start = CLOCK()
    try:
        with _time_limit(timeout):
            estimand = identify_outcomes(y0_graph, treatments, outcomes, conditions)
    except _Timeout:
        return (CLOCK() - start) * 1000, "timeout"  # what y0 spent before the alarm: a lower bound
    except Exception as error:  # noqa: BLE001 - y0 0.2.11 crashes on some graphs; record and go on
        return (CLOCK() - start) * 1000, f"error: {type(error).__name__}"
    elapsed = (CLOCK() - start) * 1000
    return elapsed, "identifiable" if estimand is not None else "not identifiable"


@dataclass
class Row:
    graph: str
    kind: str
    nodes: int
    directed: int
    bidirected: int
    query: str
    idgen_ms: float
    idgen_first_ms: float
    compile_ms: float | None
    y0_ms: float
    y0_outcome: str
    identifiable: bool
    districts: int

    @property
    def ratio(self) -> float:
        return self.y0_ms / self.idgen_ms if self.idgen_ms > 0 else float("inf")

    @property
    def agrees(self) -> bool | None:
        if self.y0_outcome == "identifiable":
            return self.identifiable
        if self.y0_outcome == "not identifiable":
            return not self.identifiable
        return None


def benchmark_graph(
    name: str,
    kind: str,
    graph: ADMG,
    seed: int,
    timeout: float,
    compile_plan: Any,
    queries: list[Query] | None = None,
) -> list[Row]:
    rows = []
    for query in pick_queries(graph, seed) if queries is None else queries:
        idgen_ms, idgen_first_ms, identifiable, districts = time_idgen(graph, query)
        compile_ms = time_compile(compile_plan, graph, query, identifiable)
        y0_ms, outcome = time_y0(graph, query, timeout)
        rows.append(
            Row(
                name,
                kind,
                len(graph),
                len(graph.directed),
                len(graph.bidirected),
                str(query),
                idgen_ms,
                idgen_first_ms,
                compile_ms,
                y0_ms,
                outcome,
                identifiable,
                districts,
            )
        )
        print(_format_row(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------- report
_HEADER = (
    f"{'graph':<16}{'nodes':>6}  {'query':<46}{'districts':>10}{'idgen ms':>10}{'compile ms':>11}{'y0 ms':>11}"
    f"{'ratio':>9}  identifiable"
)


def _format_row(row: Row) -> str:
    query = row.query if len(row.query) <= 45 else row.query[:42] + "..."
    compile_ms = f"{row.compile_ms:.2f}" if row.compile_ms is not None else "-"
    y0 = (
        f"{row.y0_ms:.1f}"
        if row.y0_outcome in ("identifiable", "not identifiable")
        else (f">{row.y0_ms:.0f}" if row.y0_outcome == "timeout" else "error")
    )
    ratio = f"{row.ratio:.0f}x" if not row.y0_outcome.startswith("error") else "-"
    mismatch = "" if row.agrees in (True, None) else "  (y0 disagrees)"
    note = f"  [y0 {row.y0_outcome}]" if row.y0_outcome.startswith(("error", "timeout")) else ""
    return (
        f"{row.graph:<16}{row.nodes:>6}  {query:<46}{row.districts:>10}{row.idgen_ms:>10.2f}{compile_ms:>11}{y0:>11}"
        f"{ratio:>9}  {'yes' if row.identifiable else 'no'}{mismatch}{note}"
    )


def summarize(rows: list[Row]) -> dict[str, Any]:
    """Worst and total times of idgen (identify + estimand; compile) against y0 over ``rows``.

    Totals leave out the queries y0 crashed on; a y0 timeout counts as the timeout (a lower bound).
    Compile totals are over the identifiable queries (a refused query has no plan), against y0 on the same.
    """
    timed = [r for r in rows if not r.y0_outcome.startswith("error")]
    total_idgen = sum(r.idgen_ms for r in timed)
    total_y0 = sum(r.y0_ms for r in timed)
    compiled = [r for r in timed if r.compile_ms is not None]
    total_compile = sum(r.compile_ms for r in compiled if r.compile_ms is not None)
    total_y0_compiled = sum(r.y0_ms for r in compiled)
    worst = max((max(r.idgen_ms, r.compile_ms or 0.0) for r in rows), default=0.0)
    return {
        "queries": len(rows),
        "queries_timed_against_y0": len(timed),
        "y0_timeouts": sum(r.y0_outcome == "timeout" for r in rows),
        "y0_errors": sum(r.y0_outcome.startswith("error") for r in rows),
        "verdict_disagreements": [asdict(r) for r in rows if r.agrees is False],
        "idgen_max_ms": max((r.idgen_ms for r in rows), default=0.0),
        "idgen_first_run_max_ms": max((r.idgen_first_ms for r in rows), default=0.0),
        "idgen_median_ms": statistics.median([r.idgen_ms for r in rows]) if rows else 0.0,
        "compile_max_ms": max((r.compile_ms for r in rows if r.compile_ms is not None), default=None),
        "worst_ms": worst,
        "idgen_total_ms": total_idgen,
        "compile_total_ms": total_compile,
        "y0_total_ms_lower_bound": total_y0,
        "speedup_total": total_y0 / total_idgen if total_idgen else None,
        "compile_speedup_total": total_y0_compiled / total_compile if total_compile else None,
        "max_districts": max((r.districts for r in rows), default=0),
    }


def _print_summary(title: str, summary: dict[str, Any]) -> None:
    compile_max = "-" if summary["compile_max_ms"] is None else f"{summary['compile_max_ms']:.2f}"
    print(
        f"{title}: {summary['queries']} queries (max {summary['max_districts']} districts at line 4); "
        f"worst {summary['worst_ms']:.2f} ms (identify + estimand {summary['idgen_max_ms']:.2f}, first run "
        f"{summary['idgen_first_run_max_ms']:.2f}; compile {compile_max}); "
        f"total {summary['idgen_total_ms']:.1f} ms vs y0 >= {summary['y0_total_ms_lower_bound']:.0f} ms: "
        f"{summary['speedup_total'] or 0:.0f}x (compile {summary['compile_speedup_total'] or 0:.0f}x); "
        f"{summary['y0_timeouts']} y0 timeouts, {summary['y0_errors']} y0 errors left out"
    )


def profile_idgen(graph: ADMG, queries: list[Query], top: int = 25) -> str:
    """cProfile of identify + expression over ``queries`` (ten rounds), sorted by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        for query in queries:
            try:
                identify(graph, query).expression()
            except NotIdentifiable:
                pass
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--y0-timeout", type=float, default=10.0, help="seconds per y0 query (default 10)")
    parser.add_argument("--quick", action="store_true", help="only graphs up to 100 nodes")
    parser.add_argument("--profile", action="store_true", help="cProfile idgen on the largest graph")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (shared machines)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    compile_plan = _compile_function()
    if compile_plan is None:
        print("compiler.compile not found: compile times are skipped")
    #: (name, kind, graph, queries or None for pick_queries)
    graphs: list[tuple[str, str, ADMG, list[Query] | None]] = []
    for n in RANDOM_SIZES:
        if not args.quick or n <= 100:
            graphs.append((f"random-{n}", "random", random_sparse_admg(n, seed=args.seed + n), None))
    folder = bnlearn_folder()
    if folder is None:
        print("pgmpy 1.0 not installed (pip install '.[bench]'): real networks are skipped")
    else:
        for name in REAL_NETWORKS:
            if not (folder / f"{name}.bif.gz").is_file():
                print(f"{name}.bif.gz missing from {folder}: skipped")
                continue
            graph, original = real_network(name, folder, seed=args.seed)
            if not args.quick or original <= 100:
                graphs.append((f"{name}-{original}", "bnlearn latent projection", graph, None))
    for n, fraction in MANY_DISTRICT_CASES:
        if not args.quick or n <= 200:
            graph, query = many_district_case(n, fraction, seed=args.seed + n)
            if query is not None:
                graphs.append((f"districts-{n}-{fraction:g}", "many districts", graph, [query]))
    if not args.quick:
        graphs.append(
            (f"chain-{CHAIN_LENGTH}", "chain", chain_graph(CHAIN_LENGTH), [Query((f"V{CHAIN_LENGTH - 1}",), ("V0",))])
        )

    print(f"clock: {args.clock} time")
    print(_HEADER)
    rows: list[Row] = []
    for index, (name, kind, graph, queries) in enumerate(graphs):
        rows.extend(benchmark_graph(name, kind, graph, args.seed + index, args.y0_timeout, compile_plan, queries))
    groups = {
        "all": rows,
        "all but the chain": [r for r in rows if r.kind != "chain"],
        "many districts": [r for r in rows if r.kind == "many districts"],
        "chain": [r for r in rows if r.kind == "chain"],
    }
    summaries = {title: summarize(group) for title, group in groups.items() if group}
    print()
    for title, summary in summaries.items():
        _print_summary(title, summary)
    bounded = summaries["all but the chain"]
    overall = summaries["all"]
    goal_latency = bounded["worst_ms"] <= IDGEN_GOAL_MS
    goal_speedup = min(overall["speedup_total"] or 0.0, overall["compile_speedup_total"] or 0.0) >= SPEEDUP_GOAL
    print(
        f"goals: every query (chain apart) <= {IDGEN_GOAL_MS:g} ms: {'met' if goal_latency else 'MISSED'}; "
        f">= {SPEEDUP_GOAL:g}x y0 in total (identify + estimand and compile): {'met' if goal_speedup else 'MISSED'}"
    )
    disagreements = overall["verdict_disagreements"]
    if disagreements:
        print(f"verdict disagreements with y0: {len(disagreements)} (see the JSON)")

    if args.profile and graphs:
        name, _, graph, queries = max(graphs, key=lambda item: len(item[2]))
        print(f"\ncProfile of idgen on {name}:")
        print(profile_idgen(graph, queries or pick_queries(graph, args.seed)))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "summary": summaries,
                "goals": {
                    "every_query_under_ms": IDGEN_GOAL_MS,
                    "met_latency": goal_latency,
                    "speedup": SPEEDUP_GOAL,
                    "met_speedup": goal_speedup,
                },
                "y0_timeout_s": args.y0_timeout,
                "clock": args.clock,
                "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
