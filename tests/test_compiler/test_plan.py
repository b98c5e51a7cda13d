"""Golden tests of the lowering: what each ID line becomes in the plan, and the plan's renderings."""

from __future__ import annotations

import json

import pytest

import idgen
from compiler import Plan, compile, compile_many
from compiler.plan import INPUT, OBSERVED
from idgen.errors import IdgenError

NAPKIN = idgen.ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
FRONTDOOR = idgen.ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
BACKDOOR = idgen.ADMG(directed=[("Z", "X"), ("X", "Y"), ("Z", "Y")])


def test_napkin_lowers_to_line_7_then_2_then_6_with_a_synthetic_dataset() -> None:
    plan = compile(NAPKIN, "P(Y | do(X))")
    assert plan.query_network().lines == (3, 7, 2, 6)
    assert [d.kind for d in plan.datasets] == [OBSERVED, "synthetic"]
    synthetic = plan.datasets[1]
    assert synthetic.network is not None
    assert [n.variables for n in synthetic.network.nodes] == [("W1",), ("X",), ("Y",)]
    assert synthetic.network.inputs == ("W2",)
    assert synthetic.input_source == OBSERVED
    (node,) = plan.network.nodes
    task = plan.task(node.task)
    assert (task.targets, task.conditioning, task.source) == (("Y",), ("X",), synthetic.id)


def test_line_7_chain_uses_markov_pillows() -> None:
    plan = compile(NAPKIN, "P(Y | do(X))")
    chain = {plan.task(n.task).targets[0]: plan.task(n.task).conditioning for n in plan.datasets[1].network.nodes}
    assert chain == {"W1": (), "X": ("W1", "W2"), "Y": ("W1", "W2", "X")}


def test_frontdoor_merges_per_variable() -> None:
    plan = compile(FRONTDOOR, "P(Y | do(X))")
    nodes = {n.name: n for n in plan.network.nodes}
    assert list(nodes) == ["M", "Y"]
    assert nodes["M"].inputs == (("X", INPUT + "X"),)
    assert nodes["Y"].inputs == (("M", "M"),)
    assert plan.task(nodes["M"].task).source == OBSERVED
    assert plan.task(nodes["Y"].task).source != OBSERVED


def test_merge_per_variable_has_no_cycle_where_c_factors_would_deadlock() -> None:
    # districts {A, C} and {B} of G \ X need each other: A feeds B, B feeds C
    graph = idgen.ADMG(directed=[("X", "A"), ("A", "B"), ("B", "C")], bidirected=[("A", "C")])
    plan = compile(graph, "P(C | do(X))")
    order = [n.variables[0] for n in plan.network.nodes]
    assert order.index("A") < order.index("B") < order.index("C")


def test_compile_many_trains_shared_tasks_once() -> None:
    queries = ["P(Y | do(X))", "P(Y)", "P(Y | do(X), Z)"]
    shared = compile_many(BACKDOOR, queries)
    separate = sum(len(compile(BACKDOOR, q).tasks) for q in queries)
    assert len(shared.tasks) < separate
    assert len({t.id for t in shared.tasks}) == len(shared.tasks)
    assert len(shared.queries) == 3


def test_task_ids_are_content_ids() -> None:
    first = compile(BACKDOOR, "P(Y | do(X))")
    second = compile(BACKDOOR, "P(Y | do(X))")
    assert [t.id for t in first.tasks] == [t.id for t in second.tasks]


def test_idc_rule_2_move_makes_the_condition_an_input() -> None:
    plan = compile(FRONTDOOR, "P(Y | do(X), M)")
    item = plan.query_network()
    assert item.moved == ("M",)
    assert set(plan.network.inputs) == {"M"}


def test_idc_without_rule_2_fits_a_conditional_on_samples_of_the_joint() -> None:
    # Z is a child of Y: observing it cannot become an intervention
    graph = idgen.ADMG(directed=[("X", "Y"), ("Y", "Z")])
    plan = compile(graph, "P(Y | do(X), Z)")
    item = plan.query_network()
    assert item.moved == ()
    (node,) = plan.network.nodes
    task = plan.task(node.task)
    assert task.targets == ("Y",) and set(task.conditioning) == {"X", "Z"}
    assert plan.dataset(task.source).kind == "joint-samples"


def test_tasks_come_after_the_datasets_they_train_on() -> None:
    plan = compile(NAPKIN, "P(Y | do(X))")
    dataset_position = {d.id: k for k, d in enumerate(plan.datasets)}
    assert all(dataset_position[t.source] >= 0 for t in plan.tasks)
    synthetic = plan.datasets[1]
    producing = {n.task for n in synthetic.network.nodes}
    positions = [k for k, t in enumerate(plan.tasks) if t.id in producing]
    consumer = [k for k, t in enumerate(plan.tasks) if t.source == synthetic.id]
    assert max(positions) < min(consumer)


def test_json_round_trip() -> None:
    plan = compile_many(NAPKIN, ["P(Y | do(X))", "P(Y | do(X, W2))"])
    assert Plan.from_json(plan.dumps()) == plan
    assert Plan.from_json(json.loads(plan.dumps())).to_json() == plan.to_json()


def test_edited_plan_json_is_refused() -> None:
    spec = compile(BACKDOOR, "P(Y | do(X))").to_json()
    spec["tasks"][0]["conditioning"] = ["Q"]
    with pytest.raises(IdgenError, match="does not match its content"):
        Plan.from_json(spec)


def test_text_lists_tasks_datasets_and_network() -> None:
    text = compile(NAPKIN, "P(Y | do(X))").as_text()
    assert "P(Y | X)" in text and "synthetic" in text and "inputs: do X" in text and "3 → 7 → 2 → 6" in text


def test_dot_has_both_edge_kinds() -> None:
    dot = compile(FRONTDOOR, "P(Y | do(X))").to_dot()
    assert dot.startswith("digraph") and "trains-on" in dot and "style=dashed" in dot and '[label="M"]' in dot


def test_png_rendering_writes_an_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.png"
    compile(NAPKIN, "P(Y | do(X))").to_png(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_non_identifiable_query_is_not_compiled() -> None:
    with pytest.raises(idgen.NotIdentifiable):
        compile(idgen.ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")]), "P(Y | do(X))")


def test_query_network_lookup_by_name() -> None:
    plan = compile_many(BACKDOOR, ["P(Y | do(X))", "P(Y)"])
    assert plan.query_network("P(Y)").query == "P(Y)"
    with pytest.raises(IdgenError, match="name one of"):
        plan.query_network()
    with pytest.raises(IdgenError, match="not in this plan"):
        plan.query_network("P(X)")


def test_a_2000_node_chain_compiles_without_recursion_error() -> None:
    # the lowering once walked the network recursively, one Python frame per node of the chain
    n = 2_000
    chain = idgen.ADMG(directed=[(f"V{i}", f"V{i + 1}") for i in range(n - 1)])
    plan = compile(chain, f"P(V{n - 1} | do(V0))")
    (query,) = plan.queries
    assert len(plan.tasks) == n - 1
    assert query.network.inputs == ("V0",)
    assert [node.variables for node in query.network.nodes][-1] == (f"V{n - 1}",)
