"""ADMG construction, validation, file loading and the graph operations the ID recursion relies on."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import networkx as nx
import pytest

from idgen.errors import GraphError
from idgen.graph import ADMG, iter_bits
from idgen.scm import random_admg

NAPKIN = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])


# ---------------------------------------------------------------------- construction
def test_empty_graph_has_no_nodes() -> None:
    graph = ADMG()
    assert graph.nodes == ()
    assert len(graph) == 0
    assert graph.districts() == []
    assert graph.directed == [] and graph.bidirected == []
    assert str(graph) == "(empty graph)"


def test_single_node_graph() -> None:
    graph = ADMG(nodes=["A"])
    assert graph.nodes == ("A",)
    assert graph.districts() == [frozenset({"A"})]
    assert graph.ancestors({"A"}) == frozenset({"A"})
    assert graph.markov_pillow("A") == frozenset()
    assert repr(graph) == "ADMG(directed=[], bidirected=[], nodes=['A'])"


def test_nodes_named_in_edges_are_added() -> None:
    graph = ADMG(directed=[("A", "B")], bidirected=[("B", "C")])
    assert set(graph.nodes) == {"A", "B", "C"}


def test_nodes_come_in_topological_order_whatever_the_input_order() -> None:
    graph = ADMG(directed=[("C", "D"), ("B", "C"), ("A", "B")])
    assert graph.nodes == ("A", "B", "C", "D")
    assert graph.topological_order() == graph.nodes


def test_duplicate_edges_collapse() -> None:
    graph = ADMG(directed=[("A", "B"), ("A", "B")], bidirected=[("A", "B"), ("B", "A")])
    assert graph.directed == [("A", "B")]
    assert graph.bidirected == [("A", "B")]


def test_equality_ignores_edge_order_and_bidirected_orientation() -> None:
    first = ADMG(directed=[("A", "B"), ("B", "C")], bidirected=[("A", "C")])
    second = ADMG(directed=[("B", "C"), ("A", "B")], bidirected=[("C", "A")])
    assert first == second
    assert hash(first) == hash(second)
    assert first != ADMG(directed=[("A", "B"), ("B", "C")])


def test_str_lists_every_edge() -> None:
    assert str(ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")])) == "X -> Y; X <-> Y"


@pytest.mark.parametrize(
    ("directed", "cycle"),
    [
        ([("A", "B"), ("B", "A")], {"A", "B"}),
        ([("A", "B"), ("B", "C"), ("C", "A")], {"A", "B", "C"}),
        ([("S", "A"), ("A", "B"), ("B", "C"), ("C", "A"), ("C", "T")], {"A", "B", "C"}),
    ],
)
def test_cycle_is_rejected_and_named(directed: list[tuple[str, str]], cycle: set[str]) -> None:
    with pytest.raises(GraphError, match="directed cycle") as info:
        ADMG(directed=directed)
    message = str(info.value)
    path = message.split("directed cycle ")[1].split(";")[0].split(" -> ")
    assert path[0] == path[-1], message
    assert set(path) == cycle, message
    for parent, child in zip(path, path[1:], strict=False):
        assert (parent, child) in directed, message


def test_directed_self_loop_is_rejected() -> None:
    with pytest.raises(GraphError, match="self-loop on node 'A'"):
        ADMG(directed=[("A", "A")])


def test_bidirected_self_loop_is_rejected() -> None:
    with pytest.raises(GraphError, match="self-loop on node 'A'"):
        ADMG(bidirected=[("A", "A")])


@pytest.mark.parametrize("name", ["", "   ", " X", "X ", "X\nY", "A\tB"])
def test_unusable_name_is_rejected(name: str) -> None:
    with pytest.raises(GraphError, match="node name .*any other text is a usable name"):
        ADMG(nodes=[name])


@pytest.mark.parametrize("name", ["1X", "a b", "X-1", "X.Y", "U[X,Y]", "é", "In-game Purchases", "P", "do", "Sum"])
def test_any_other_name_is_usable(name: str) -> None:
    graph = ADMG(directed=[(name, "Y")])
    assert graph.nodes == (name, "Y")
    assert ADMG.from_dict(graph.to_dict()) == graph


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(GraphError, match="must be strings"):
        ADMG(directed=[(1, 2)])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["P", "PP", "do", "Sum", "In-game Purchases", "Größe"])
def test_names_y0_cannot_carry_round_trip_through_its_symbols(name: str) -> None:
    graph = ADMG(directed=[(name, "Y"), ("V_1", "Y")], bidirected=[(name, "Y")])
    symbols = graph.y0_symbols()
    assert symbols[name] not in graph and symbols["Y"] == "Y" and symbols["V_1"] == "V_1"
    assert ADMG.from_y0(graph.to_y0(), symbols) == graph


@pytest.mark.parametrize("edge", [("A",), ("A", "B", "C"), "AB", None, 3])
def test_malformed_directed_edge_is_rejected(edge: object) -> None:
    with pytest.raises(GraphError, match="a directed edge must be a pair"):
        ADMG(directed=[edge])  # type: ignore[list-item]


def test_malformed_bidirected_edge_is_rejected() -> None:
    with pytest.raises(GraphError, match="a bidirected edge must be a pair"):
        ADMG(bidirected=[("A",)])


def test_nodes_given_as_a_string_is_rejected() -> None:
    with pytest.raises(GraphError, match="got the string"):
        ADMG(nodes="ABC")


# ---------------------------------------------------------------------- dict and file forms
def test_from_dict_round_trip_keeps_isolated_nodes() -> None:
    graph = ADMG(directed=[("A", "B")], bidirected=[("A", "C")], nodes=["Z"])
    assert ADMG.from_dict(graph.to_dict()) == graph
    assert "Z" in ADMG.from_dict(graph.to_dict())


def test_from_dict_with_unknown_key_is_rejected() -> None:
    with pytest.raises(GraphError, match=r"unknown graph keys \['edges'\]"):
        ADMG.from_dict({"edges": [["A", "B"]]})


def test_from_dict_with_non_list_value_is_rejected() -> None:
    with pytest.raises(GraphError, match="'directed' must be a list"):
        ADMG.from_dict({"directed": "A -> B"})


def test_from_dict_with_non_mapping_is_rejected() -> None:
    with pytest.raises(GraphError, match="must be a mapping"):
        ADMG.from_dict([["A", "B"]])  # type: ignore[arg-type]


def test_from_dict_of_empty_mapping_is_the_empty_graph() -> None:
    assert ADMG.from_dict({}) == ADMG()


def test_load_json(tmp_path: Path) -> None:
    path = tmp_path / "napkin.json"
    path.write_text(json.dumps(NAPKIN.to_dict()))
    assert ADMG.load(path) == NAPKIN


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_load_yaml(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"napkin{suffix}"
    path.write_text("directed:\n  - [W1, W2]\n  - [W2, X]\n  - [X, Y]\nbidirected:\n  - [W1, X]\n  - [W1, Y]\n")
    assert ADMG.load(str(path)) == NAPKIN


def test_load_empty_yaml_is_the_empty_graph(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert ADMG.load(path) == ADMG()


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="does not exist"):
        ADMG.load(tmp_path / "missing.json")


def test_load_unparsable_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"directed": [["A", "B"]')
    with pytest.raises(GraphError, match="cannot parse graph file"):
        ADMG.load(path)


def test_load_unparsable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("directed: [[A, B]\nbidirected: {")
    with pytest.raises(GraphError, match="cannot parse graph file"):
        ADMG.load(path)


def test_load_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- [A, B]\n")
    with pytest.raises(GraphError, match="must be a mapping"):
        ADMG.load(path)


def test_load_file_with_a_cycle_names_the_cycle(tmp_path: Path) -> None:
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps({"directed": [["A", "B"], ["B", "A"]]}))
    with pytest.raises(GraphError, match="directed cycle"):
        ADMG.load(path)


# ---------------------------------------------------------------------- y0 interoperability
def test_y0_round_trip() -> None:
    graph = ADMG(directed=[("A", "B"), ("B", "C")], bidirected=[("A", "C")], nodes=["Z"])
    assert ADMG.from_y0(graph.to_y0()) == graph


def test_y0_round_trip_of_random_graphs() -> None:
    for seed in range(20):
        graph = random_admg(6, seed=seed)
        assert ADMG.from_y0(graph.to_y0()) == graph


def test_to_y0_keeps_isolated_nodes() -> None:
    from y0.dsl import Variable

    assert set(ADMG(nodes=["A", "B"]).to_y0().nodes()) == {Variable("A"), Variable("B")}


# ---------------------------------------------------------------------- masks
def test_iter_bits_of_zero_is_empty() -> None:
    assert list(iter_bits(0)) == []


def test_mask_and_names_are_inverse() -> None:
    assert NAPKIN.names(NAPKIN.mask({"W2", "Y"})) == frozenset({"W2", "Y"})
    assert NAPKIN.mask([]) == 0
    assert NAPKIN.mask(NAPKIN.nodes) == NAPKIN.all_mask


def test_mask_accepts_a_single_name() -> None:
    assert NAPKIN.mask("X") == NAPKIN.mask({"X"})


def test_mask_of_unknown_node_names_it() -> None:
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        NAPKIN.mask({"X", "Q"})


@pytest.mark.parametrize("method", ["parents", "children", "siblings", "district_of", "markov_pillow"])
def test_neighbourhood_of_unknown_node_names_it(method: str) -> None:
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        getattr(NAPKIN, method)("Q")


def test_neighbourhoods() -> None:
    assert NAPKIN.parents("X") == frozenset({"W2"})
    assert NAPKIN.children("W1") == frozenset({"W2"})
    assert NAPKIN.siblings("W1") == frozenset({"X", "Y"})
    assert NAPKIN.siblings("W2") == frozenset()


# ---------------------------------------------------------------------- ancestors and districts
def test_ancestors_include_the_nodes_themselves() -> None:
    assert NAPKIN.ancestors({"W2"}) == frozenset({"W1", "W2"})


def test_ancestors_ignore_bidirected_edges() -> None:
    assert NAPKIN.ancestors({"W1"}) == frozenset({"W1"})


def test_ancestors_of_nothing_is_nothing() -> None:
    assert NAPKIN.ancestors([]) == frozenset()


def test_ancestors_of_a_set_is_the_union() -> None:
    graph = ADMG(directed=[("A", "B"), ("C", "D")])
    assert graph.ancestors({"B", "D"}) == frozenset({"A", "B", "C", "D"})


def test_ancestors_mask_within_and_cut() -> None:
    chain = ADMG(directed=[("A", "B"), ("B", "C")])
    c = chain.mask("C")
    assert chain.names(chain.ancestors_mask(c, within=chain.mask({"B", "C"}))) == {"B", "C"}
    assert chain.names(chain.ancestors_mask(c, cut_incoming=chain.mask("B"))) == {"B", "C"}


def _ancestors_by_search(graph: ADMG, targets: int, within: int) -> int:
    """Reference: grow the ancestors of ``targets`` in ``G[within]`` one parent at a time."""
    result = targets & within
    stack = list(iter_bits(result))
    while stack:
        node = stack.pop()
        for parent in iter_bits(graph.parents_of_mask(1 << node) & within & ~result):
            result |= 1 << parent
            stack.append(parent)
    return result


def test_ancestors_in_ancestral_sets_match_a_plain_search() -> None:
    # the shortcut (precomputed ancestor sets, valid inside ancestral sets) against a plain search
    rng = random.Random(3)
    graph = random_admg(40, p_bidirected=0.1, seed=7)
    for _ in range(200):
        targets = graph.mask(rng.sample(graph.nodes, rng.randint(1, 3)))
        ancestral = graph.ancestors_mask(targets)
        assert ancestral == _ancestors_by_search(graph, targets, graph.all_mask)
        inner = graph.mask(rng.sample(sorted(graph.names(ancestral)), 1))
        assert graph.ancestors_mask(inner, within=ancestral) == _ancestors_by_search(graph, inner, ancestral)


def test_ancestors_in_a_non_ancestral_set_stay_inside_it() -> None:
    chain = ADMG(directed=[("A", "B"), ("B", "C")])
    chain.ancestors_mask(chain.mask("C"))  # caches {A, B, C} as ancestral; {B, C} is not
    within = chain.mask({"A", "C"})
    assert chain.names(chain.ancestors_mask(chain.mask("C"), within=within)) == {"C"}


def test_node_set_reads_like_the_frozenset_of_its_names() -> None:
    names = NAPKIN.name_set(NAPKIN.mask({"W1", "Y"}))
    assert names == frozenset({"W1", "Y"}) and frozenset({"W1", "Y"}) == names
    assert hash(names) == hash(frozenset({"W1", "Y"}))
    assert list(names) == ["W1", "Y"] and len(names) == 2
    assert "W1" in names and "X" not in names and 3 not in names
    assert names - {"Y"} == frozenset({"W1"}) and isinstance(names | {"X"}, frozenset)
    assert NAPKIN.mask(names) == NAPKIN.mask({"W1", "Y"})


def test_districts_follow_bidirected_paths_only() -> None:
    graph = ADMG(directed=[("A", "B")], bidirected=[("B", "C"), ("C", "D")], nodes=["E"])
    assert sorted(map(sorted, graph.districts())) == [["A"], ["B", "C", "D"], ["E"]]


def test_districts_partition_the_nodes() -> None:
    graph = random_admg(9, p_bidirected=0.2, seed=4)
    districts = graph.districts()
    assert sorted(v for d in districts for v in d) == sorted(graph.nodes)


def test_district_of() -> None:
    assert NAPKIN.district_of("Y") == frozenset({"W1", "X", "Y"})
    assert NAPKIN.district_of("W2") == frozenset({"W2"})


# ---------------------------------------------------------------------- derived graphs
def test_subgraph_keeps_isolated_nodes() -> None:
    sub = NAPKIN.subgraph({"W1", "W2", "Y"})
    assert set(sub.nodes) == {"W1", "W2", "Y"}
    assert sub.directed == [("W1", "W2")]
    assert sub.bidirected == [("W1", "Y")]


def test_subgraph_of_nothing_is_empty() -> None:
    assert NAPKIN.subgraph([]) == ADMG()


def test_subgraph_of_unknown_node_names_it() -> None:
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        NAPKIN.subgraph({"Q"})


def test_remove_incoming_keeps_every_node() -> None:
    # y0's remove_in_edges drops nodes left without edges; ours must not
    graph = ADMG(directed=[("A", "B")], bidirected=[("B", "C")])
    cut = graph.remove_incoming({"B"})
    assert set(cut.nodes) == {"A", "B", "C"}
    assert cut.directed == [] and cut.bidirected == []


def test_remove_incoming_keeps_outgoing_edges() -> None:
    cut = NAPKIN.remove_incoming({"X"})
    assert ("X", "Y") in cut.directed
    assert ("W2", "X") not in cut.directed
    assert cut.bidirected == [("W1", "Y")]


def test_remove_incoming_of_nothing_is_the_same_graph() -> None:
    assert NAPKIN.remove_incoming([]) == NAPKIN


def test_remove_outgoing_keeps_nodes_and_bidirected_edges() -> None:
    cut = NAPKIN.remove_outgoing({"X", "W1"})
    assert set(cut.nodes) == set(NAPKIN.nodes)
    assert cut.directed == [("W2", "X")]
    assert set(cut.bidirected) == set(NAPKIN.bidirected)


def test_cuts_agree_with_rebuilding_from_edge_lists() -> None:
    rng = random.Random(2)
    for seed in range(100):
        graph = random_admg(rng.randint(0, 8), seed=seed)
        nodes = list(graph.nodes)
        cut_in = {v for v in nodes if rng.random() < 0.3}
        cut_out = {v for v in nodes if rng.random() < 0.3}
        expected = ADMG(
            directed=[(p, c) for p, c in graph.directed if c not in cut_in and p not in cut_out],
            bidirected=[(a, b) for a, b in graph.bidirected if a not in cut_in and b not in cut_in],
            nodes=nodes,
        )
        cut = graph.remove_incoming(cut_in).remove_outgoing(cut_out)
        assert cut == expected
        assert cut.nodes == graph.nodes
        for v in nodes:
            assert (cut.parents(v), cut.children(v), cut.siblings(v)) == (
                expected.parents(v),
                expected.children(v),
                expected.siblings(v),
            )


# ---------------------------------------------------------------------- Markov pillows
def test_markov_pillow_of_a_root_is_empty() -> None:
    assert NAPKIN.markov_pillow("W1") == frozenset()


def test_markov_pillow_includes_district_and_its_parents() -> None:
    assert NAPKIN.markov_pillow("Y") == frozenset({"W1", "W2", "X"})
    assert NAPKIN.markov_pillow("X") == frozenset({"W1", "W2"})


def test_markov_pillow_of_a_dag_is_the_parents() -> None:
    graph = ADMG(directed=[("A", "B"), ("B", "C"), ("A", "D"), ("C", "D")])
    assert graph.markov_pillow("D") == frozenset({"A", "C"})


def test_markov_pillow_depends_on_the_given_order() -> None:
    graph = ADMG(directed=[("A", "C")], bidirected=[("B", "C")])
    assert graph.markov_pillow("C", order=["A", "C", "B"]) == frozenset({"A"})
    assert graph.markov_pillow("C", order=["A", "B", "C"]) == frozenset({"A", "B"})
    assert graph.markov_pillow("B", order=["A", "C", "B"]) == frozenset({"A", "C"})


def test_markov_pillow_rejects_a_non_topological_order() -> None:
    with pytest.raises(GraphError, match="not topological"):
        NAPKIN.markov_pillow("Y", order=["W2", "W1", "X", "Y"])


def test_markov_pillow_rejects_an_incomplete_order() -> None:
    with pytest.raises(GraphError, match="every node"):
        NAPKIN.markov_pillow("Y", order=["W1", "W2", "Y"])


# ---------------------------------------------------------------------- m-separation
def _canonical_dag(graph: ADMG) -> nx.DiGraph:
    """The DAG with one explicit latent parent per bidirected edge."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(graph.directed)
    for a, b in graph.bidirected:
        dag.add_edges_from([(f"U_{a}_{b}", a), (f"U_{a}_{b}", b)])
    return dag


def test_m_separation_of_a_bidirected_collider() -> None:
    # A -> C <-> B: separated marginally, connected given the collider C
    graph = ADMG(directed=[("A", "C")], bidirected=[("C", "B")])
    assert graph.m_separated({"A"}, {"B"})
    assert not graph.m_separated({"A"}, {"B"}, {"C"})


def test_m_separation_of_overlapping_sets_is_false() -> None:
    assert not NAPKIN.m_separated({"X"}, {"X", "Y"})


def test_m_separation_with_empty_side_is_true() -> None:
    assert NAPKIN.m_separated([], {"Y"})


def test_m_separation_of_isolated_nodes() -> None:
    assert ADMG(nodes=["A", "B"]).m_separated({"A"}, {"B"})


def test_m_separation_agrees_with_d_separation_on_the_canonical_dag() -> None:
    rng = random.Random(0)
    checked = 0
    for seed in range(60):
        graph = random_admg(rng.randint(2, 8), p_directed=rng.choice([0.2, 0.4]), p_bidirected=0.25, seed=seed)
        dag = _canonical_dag(graph)
        for _ in range(10):
            nodes = list(graph.nodes)
            rng.shuffle(nodes)
            a = rng.randint(1, max(1, len(nodes) // 3))
            b = rng.randint(1, max(1, (len(nodes) - a) // 2))
            left, right = set(nodes[:a]), set(nodes[a : a + b])
            given = {v for v in nodes[a + b :] if rng.random() < 0.5}
            if not right:
                continue
            expected = nx.is_d_separator(dag, left, right, given)
            assert graph.m_separated(left, right, given) == expected, (str(graph), left, right, given)
            checked += 1
    assert checked > 300


# ---------------------------------------------------------------------- scale
def test_two_thousand_node_graph_builds_and_answers_quickly() -> None:
    rng = random.Random(1)
    n = 2_000
    names = [f"V{i}" for i in range(n)]
    directed = [(names[j], names[i]) for i in range(1, n) for j in rng.sample(range(i), min(i, 2))]
    bidirected = [(names[i], names[rng.randrange(n)]) for i in range(0, n, 7)]
    bidirected = [(a, b) for a, b in bidirected if a != b]
    start = time.perf_counter()
    graph = ADMG(directed=directed, bidirected=bidirected)
    ancestors = graph.ancestors({names[-1]})
    districts = graph.districts()
    elapsed = time.perf_counter() - start
    assert len(graph) == n
    assert names[-1] in ancestors and len(ancestors) > 100
    assert sum(len(d) for d in districts) == n
    assert elapsed < 10.0  # sanity bound only; real timings live in bench/compile_speed.py
