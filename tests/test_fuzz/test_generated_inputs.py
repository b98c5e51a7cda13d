"""Property-based fuzzing (hypothesis) of graphs, queries and data tables against small oracles.

Each generated input is judged twice: an *oracle* written here says whether it is valid, and idgen must
agree. A valid input must work and give a checked answer (the same graph back; a query that mentions
exactly the variables of its text; samples inside the data's support). An invalid one must be one clear
error. Every example counts in the suite's tally; the ``_long`` variants run many more (``-m slow``).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import idgen
from idgen.demo import NAPKIN
from idgen.graph import ADMG, RESERVED_NAMES
from idgen.query import Query
from test_fuzz.fuzz_outcomes import TALLY, refused

SHORT = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _judge(valid: bool, call: Callable[[], Any], check: Callable[[Any], None], case: str) -> None:
    """A valid input must work and pass ``check``; an invalid one must be one clear error."""
    if valid:
        check(call())
        TALLY["valid"] += 1
    else:
        assert refused(call, case) == "clear error"


# ---------------------------------------------------------------------------------------------- graphs
names = st.one_of(
    st.sampled_from(["X", "Y", "Z", "W1", "W2", "a_b", "_u"]),
    st.sampled_from(["", "1X", "P", "do", "Sum", "a b", "X-Y", "é", "X\n"]),
    st.none(),
    st.integers(-2, 3),
)
edges = st.one_of(st.lists(names, min_size=2, max_size=2), st.lists(names, max_size=3), st.just("XY"), st.none())
edge_lists = st.one_of(st.lists(edges, max_size=6), st.none(), st.integers(), st.text(max_size=3))
good_names = st.sampled_from(["X", "Y", "Z", "W1", "W2", "V"])
good_edges = st.lists(st.lists(good_names, min_size=2, max_size=2), max_size=7)
specs = st.one_of(
    st.fixed_dictionaries({"directed": good_edges, "bidirected": good_edges}, optional={"nodes": st.lists(good_names)}),
    st.fixed_dictionaries(
        {},
        optional={
            "directed": edge_lists,
            "bidirected": edge_lists,
            "nodes": st.one_of(st.lists(names, max_size=4), st.text(max_size=3)),
            "edges": st.just([]),
        },
    ),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.text(max_size=5),
)


def _valid_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_NAME.match(name)) and name not in RESERVED_NAMES


def _graph_oracle(spec: Any) -> bool:
    """Whether ``spec`` is a valid ADMG spec, decided independently of idgen (acyclicity by networkx)."""
    if not isinstance(spec, dict) or set(spec) - {"directed", "bidirected", "nodes"}:
        return False
    if not all(isinstance(spec.get(key, []), list) for key in ("directed", "bidirected", "nodes")):
        return False
    pairs = spec.get("directed", []) + spec.get("bidirected", [])
    if not all(isinstance(e, list) and len(e) == 2 and all(_valid_name(v) for v in e) and e[0] != e[1] for e in pairs):
        return False
    if not all(_valid_name(v) for v in spec.get("nodes", [])):
        return False
    return nx.is_directed_acyclic_graph(nx.DiGraph([tuple(e) for e in spec.get("directed", [])]))


def _same_graph(spec: dict[str, Any]) -> Callable[[ADMG], None]:
    def check(graph: ADMG) -> None:
        named = {v for e in spec.get("directed", []) + spec.get("bidirected", []) for v in e} | set(
            spec.get("nodes", [])
        )
        assert set(graph.nodes) == named
        assert set(graph.directed) == {tuple(e) for e in spec.get("directed", [])}
        assert {frozenset(e) for e in graph.bidirected} == {frozenset(e) for e in spec.get("bidirected", [])}

    return check


def _graph_specs(spec: Any) -> None:
    _judge(
        _graph_oracle(spec),
        lambda: ADMG.from_dict(spec),
        _same_graph(spec if isinstance(spec, dict) else {}),
        f"graph {spec!r}",
    )


def _graph_files(spec: Any, suffix: str, duplicate: bool) -> None:
    """The same spec through a JSON or YAML file; ``duplicate`` repeats the first key (must be refused)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"graph{suffix}"
        text = json.dumps(spec) if suffix == ".json" else yaml.safe_dump(spec, default_flow_style=True)
        repeated = duplicate and isinstance(spec, dict) and bool(spec)
        if repeated:
            key = next(iter(spec))
            entry = f'"{key}": {json.dumps(spec[key])}' if suffix == ".json" else f"{key}: {json.dumps(spec[key])}"
            text = "{" + entry + ", " + text.strip()[1:] if text.strip().startswith("{") else text
        path.write_text(text)
        valid = (spec is None or _graph_oracle(spec)) and not repeated  # an empty file is the empty graph
        _judge(
            valid, lambda: ADMG.load(path), _same_graph(spec if isinstance(spec, dict) else {}), f"{suffix} {text!r}"
        )


@SHORT
@given(specs)
def test_graph_specs(spec: Any) -> None:
    _graph_specs(spec)


@pytest.mark.slow
@LONG
@given(specs)
def test_graph_specs_long(spec: Any) -> None:
    _graph_specs(spec)


@SHORT
@given(specs, st.sampled_from([".json", ".yaml"]), st.booleans())
def test_graph_files(spec: Any, suffix: str, duplicate: bool) -> None:
    _graph_files(spec, suffix, duplicate)


@pytest.mark.slow
@LONG
@given(specs, st.sampled_from([".json", ".yaml"]), st.booleans())
def test_graph_files_long(spec: Any, suffix: str, duplicate: bool) -> None:
    _graph_files(spec, suffix, duplicate)


# ---------------------------------------------------------------------------------------------- queries
tokens = st.sampled_from(
    ["P", "(", ")", "|", ",", "do", "do(", "X", "Y", "W1", "W2", "Q", " ", "[", "]", "1", "=", "∅", "\n", "P(", "))"]
)
query_texts = st.one_of(
    st.lists(tokens, max_size=14).map("".join),
    st.text(max_size=20),
    st.sampled_from(["P(Y | do(X))", "P(Y | do(X), W2)", "P(W2, Y | do(X))", "P(Y)"]).flatmap(
        lambda q: st.integers(0, len(q)).flatmap(
            lambda k: st.sampled_from(["", "(", ")", "|", ",", "Q", "do", "Y", " ,"]).map(lambda t: q[:k] + t + q[k:])
        )
    ),
)


def _query_checks(text: str) -> Callable[[Any], None]:
    def check(trace: Any) -> None:
        query = Query.parse(text)
        mentioned = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - {"P", "do"}
        assert set(query.variables) == mentioned, f"{text!r} parsed as {query}: a variable was ignored"
        assert Query.parse(str(query)) == query

    return check


def _queries(text: str) -> None:
    """Random text on the napkin graph: a clear error (syntax, variables, not identifiable) or a checked query."""
    try:
        query = Query.parse(text)
        query.validate(NAPKIN)
        idgen.identify(NAPKIN, query)
        valid = True
    except idgen.IdgenError:
        valid = False
    _judge(valid, lambda: idgen.identify(NAPKIN, text), _query_checks(text), f"query {text!r}")


@SHORT
@given(query_texts)
def test_query_texts(text: str) -> None:
    _queries(text)


@pytest.mark.slow
@LONG
@given(query_texts)
def test_query_texts_long(text: str) -> None:
    _queries(text)


# ---------------------------------------------------------------------------------------------- tables
PLAN = idgen.compile(idgen.ADMG(directed=[("X", "Y")]), "P(Y | do(X))")
good_column = st.lists(st.integers(0, 2), min_size=1, max_size=40)
columns = st.one_of(
    good_column.map(lambda v: ("good", np.asarray(v, dtype=np.int64))),
    good_column.map(lambda v: ("good", np.asarray(v, dtype=bool))),
    good_column.map(lambda v: ("float", np.asarray(v, dtype=np.float64) + 0.5)),
    good_column.map(lambda v: ("nan", np.where(np.arange(len(v)) == 0, np.nan, np.asarray(v, dtype=float)))),
    good_column.map(lambda v: ("text", np.asarray([str(x) for x in v], dtype=object))),
    good_column.map(lambda v: ("none", np.asarray([None, *v], dtype=object))),
    good_column.map(lambda v: ("2-D", np.asarray(v, dtype=np.int64).reshape(-1, 1).repeat(2, axis=1))),
    st.just(("empty", np.zeros(0, dtype=np.int64))),
    st.just(("scalar", np.int64(1))),
    st.just(("missing", None)),
)


def _tables(x: tuple[str, Any], y: tuple[str, Any], frame: bool) -> None:
    """Fit ``P(Y | do(X))`` (tabular) on a generated table; sampled values must lie in the data's support."""
    table = {name: column for name, (_, column) in (("X", x), ("Y", y)) if column is not None}
    lengths = {len(c) for c in table.values() if np.ndim(c) > 0}
    valid = x[0] == y[0] == "good" and len(lengths) == 1
    if frame and valid:
        import pandas as pd

        table = pd.DataFrame(table)

    def fit_and_sample() -> tuple[Any, Any]:
        with tempfile.TemporaryDirectory() as workdir:
            network = idgen.fit(PLAN, table, backend="tabular", workdir=workdir)
            value = int(np.asarray(x[1])[0])
            return value, network.sample(200, do={"X": value}, seed=0)

    def check(result: tuple[Any, Any]) -> None:
        value, samples = result
        xs, ys = np.asarray(x[1]).astype(np.int64), np.asarray(y[1]).astype(np.int64)
        assert set(samples["Y"]) <= set(ys[xs == value]), "sampled a Y never seen with this X"

    _judge(valid, fit_and_sample, check, f"table X={x[0]} Y={y[0]} lengths {sorted(lengths)}")


@SHORT
@given(columns, columns, st.booleans())
def test_tables(x: tuple[str, Any], y: tuple[str, Any], frame: bool) -> None:
    _tables(x, y, frame)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(columns, columns, st.booleans())
def test_tables_long(x: tuple[str, Any], y: tuple[str, Any], frame: bool) -> None:
    _tables(x, y, frame)
