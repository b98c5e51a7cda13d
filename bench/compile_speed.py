"""Compile-time benchmark: ``idgen.identify`` (and ``idgen.compile``) against y0's ``identify_outcomes``.

Both tools get the same (graph, query) pairs in one run:

* random sparse ADMGs with 10, 50, 100, 500 and 1,000 nodes (each node draws up to three parents among
  earlier nodes; 0.3 bidirected edges per node);
* latent projections of real Bayesian-network structures (bnlearn networks of 20 to 1,041 nodes, read
  from the ``.bif.gz`` files that pgmpy 1.0 ships; pgmpy ≥ 1.1 downloads them at run time instead).
  About 20 % of the nodes with two or more children become latent and are projected out.

Per graph the queries are ``P(Y | do(X))`` for random ancestor pairs, one joint query
``P(Y1, Y2 | do(X1, X2))`` and one conditional query ``P(Y | do(X), W)``. idgen is timed as
``identify`` plus building its estimand expression (y0 returns an expression too); y0 runs under a
per-query alarm (``--y0-timeout``, 10 s by default) and a timed-out query counts with the timeout as a
lower bound. Run from the repository root::

    .venv/bin/python bench/compile_speed.py            # full run, table + bench/results/compile_speed.json
    .venv/bin/python bench/compile_speed.py --quick    # small graphs only
    .venv/bin/python bench/compile_speed.py --profile  # also cProfile idgen on the largest graph

Goal: every query at most 100 ms with idgen and idgen at least 20x faster than y0 in total.
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
IDGEN_GOAL_MS = 100.0
SPEEDUP_GOAL = 20.0
RESULTS = Path(__file__).resolve().parent / "results" / "compile_speed.json"


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
    def handler(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def time_idgen(graph: ADMG, query: Query, repeat: int = 3) -> tuple[float, bool]:
    """Best of ``repeat`` runs of identify + estimand expression, in ms; and the verdict."""
    timings = []
    identifiable = True
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            identify(graph, query).expression()
        except NotIdentifiable:
            identifiable = False
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings), identifiable


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
    for _ in range(2):
        start = time.perf_counter()
        compile_plan(graph, query)
        timings.append((time.perf_counter() - start) * 1000)
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
    start = time.perf_counter()
    try:
        with _time_limit(timeout):
            estimand = identify_outcomes(y0_graph, treatments, outcomes, conditions)
    except _Timeout:
        return timeout * 1000, "timeout"
    except Exception as error:  # noqa: BLE001 - y0 0.2.11 crashes on some graphs; record and go on
        return (time.perf_counter() - start) * 1000, f"error: {type(error).__name__}"
    elapsed = (time.perf_counter() - start) * 1000
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
    compile_ms: float | None
    y0_ms: float
    y0_outcome: str
    identifiable: bool

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


def benchmark_graph(name: str, kind: str, graph: ADMG, seed: int, timeout: float, compile_plan: Any) -> list[Row]:
    rows = []
    for query in pick_queries(graph, seed):
        idgen_ms, identifiable = time_idgen(graph, query)
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
                compile_ms,
                y0_ms,
                outcome,
                identifiable,
            )
        )
        print(_format_row(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------- report
_HEADER = (
    f"{'graph':<16}{'nodes':>6}  {'query':<46}{'idgen ms':>10}{'compile ms':>11}{'y0 ms':>11}{'ratio':>9}  identifiable"
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
        f"{row.graph:<16}{row.nodes:>6}  {query:<46}{row.idgen_ms:>10.2f}{compile_ms:>11}{y0:>11}{ratio:>9}  "
        f"{'yes' if row.identifiable else 'no'}{mismatch}{note}"
    )


def summarize(rows: list[Row]) -> dict[str, Any]:
    timed = [r for r in rows if not r.y0_outcome.startswith("error")]
    total_idgen = sum(r.idgen_ms for r in timed)
    total_y0 = sum(r.y0_ms for r in timed)
    compiled = [r.compile_ms for r in rows if r.compile_ms is not None]
    return {
        "queries": len(rows),
        "queries_timed_against_y0": len(timed),
        "y0_timeouts": sum(r.y0_outcome == "timeout" for r in rows),
        "y0_errors": sum(r.y0_outcome.startswith("error") for r in rows),
        "verdict_disagreements": [asdict(r) for r in rows if r.agrees is False],
        "idgen_max_ms": max((r.idgen_ms for r in rows), default=0.0),
        "idgen_median_ms": statistics.median([r.idgen_ms for r in rows]) if rows else 0.0,
        "compile_max_ms": max(compiled, default=None),
        "idgen_total_ms": total_idgen,
        "y0_total_ms_lower_bound": total_y0,
        "speedup_total": total_y0 / total_idgen if total_idgen else None,
        "goal_every_query_under_ms": IDGEN_GOAL_MS,
        "goal_met_latency": all(r.idgen_ms <= IDGEN_GOAL_MS for r in rows),
        "goal_speedup": SPEEDUP_GOAL,
        "goal_met_speedup": bool(total_idgen) and total_y0 / total_idgen >= SPEEDUP_GOAL,
    }


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
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    compile_plan = _compile_function()
    if compile_plan is None:
        print("compiler.compile not found: compile times are skipped")
    graphs: list[tuple[str, str, ADMG]] = []
    for n in RANDOM_SIZES:
        if not args.quick or n <= 100:
            graphs.append((f"random-{n}", "random", random_sparse_admg(n, seed=args.seed + n)))
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
                graphs.append((f"{name}-{original}", "bnlearn latent projection", graph))

    print(_HEADER)
    rows: list[Row] = []
    for index, (name, kind, graph) in enumerate(graphs):
        rows.extend(benchmark_graph(name, kind, graph, args.seed + index, args.y0_timeout, compile_plan))
    summary = summarize(rows)

    print()
    print(
        f"queries: {summary['queries']} ({summary['y0_timeouts']} y0 timeouts at {args.y0_timeout:g} s, "
        f"{summary['y0_errors']} y0 errors left out of the totals)"
    )
    print(
        f"idgen: max {summary['idgen_max_ms']:.2f} ms, median {summary['idgen_median_ms']:.2f} ms, "
        f"total {summary['idgen_total_ms']:.1f} ms; y0 total >= {summary['y0_total_ms_lower_bound']:.0f} ms"
    )
    if summary["compile_max_ms"] is not None:
        print(f"compile (identify + lowering): max {summary['compile_max_ms']:.2f} ms")
    print(
        f"speedup in total: {summary['speedup_total']:.0f}x (goal {SPEEDUP_GOAL:g}x: "
        f"{'met' if summary['goal_met_speedup'] else 'MISSED'}); every query <= {IDGEN_GOAL_MS:g} ms: "
        f"{'met' if summary['goal_met_latency'] else 'MISSED'}"
    )
    if summary["verdict_disagreements"]:
        print(f"verdict disagreements with y0: {len(summary['verdict_disagreements'])} (see the JSON)")

    if args.profile and graphs:
        name, _, graph = max(graphs, key=lambda item: len(item[2]))
        print(f"\ncProfile of idgen on {name}:")
        print(profile_idgen(graph, pick_queries(graph, args.seed)))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "summary": summary,
                "y0_timeout_s": args.y0_timeout,
                "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
