"""Lowering an identification trace into training tasks and sampling networks, line by line (ID-GEN).

Every ID call becomes a network *fragment*: models sampling the call's outcomes from its treatments
(external inputs). The lowering of each line follows Rahman & Kocaoglu's ID-GEN:

==== ===========================================================================================
line fragment
==== ===========================================================================================
1    chain of ``P(v_i | pillow_i)`` over the current graph, trained on the current dataset; keep y
2    the child's fragment; the dropped columns are simply never used (no training)
3    the child's fragment; the added treatments become inputs (free inputs at the top level)
4    the children's fragments **merged per variable**: an input ``v`` of one fragment is wired to the
     node that samples ``v`` in the fragment whose district holds ``v``
6    chain of ``P(v_i | pillow_i)`` for ``v_i ∈ S``; treatments in the pillows are inputs
7    chain for ``S'`` trained on the current dataset, **sampled into a synthetic dataset D′** (rows of
     the current dataset supply its inputs, the treatments outside ``S'``), and the child is lowered
     on D′: the dataset D′ *is* the working distribution ``Q[S']``
IDC  the joint network for ``P_x'(y, w)`` is sampled into a dataset, and one conditional model of
     ``y`` given ``w`` and the treatments is fitted on it
==== ===========================================================================================
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from operator import attrgetter

from compiler.plan import INPUT, OBSERVED, Dataset, Network, Node, Plan, QueryNetwork, TrainTask, topological_ids
from idgen.errors import IdgenError
from idgen.graph import ADMG
from idgen.trace import Step, Trace

__all__ = ["lower_traces"]


@dataclass(eq=False)
class _Node:
    """A node under construction; ``inputs`` map a variable to its feeding node or to an external name."""

    task: TrainTask
    inputs: dict[str, _Node | str] = field(default_factory=dict)
    #: position of the first target in the graph's topological order (the order networks list nodes in)
    rank: int = 0


_rank = attrgetter("rank")


@dataclass
class _Fragment:
    nodes: list[_Node]
    outputs: dict[str, _Node]


class _Lowering:
    """Lowers traces of one graph, sharing datasets (by content id) across queries."""

    def __init__(self, graph: ADMG) -> None:
        self.graph = graph
        self.position = {v: i for i, v in enumerate(graph.nodes)}
        self.datasets: dict[str, Dataset] = {OBSERVED: Dataset(OBSERVED, graph.nodes)}
        self.tasks: dict[str, TrainTask] = {}

    def task(self, task: TrainTask) -> TrainTask:
        """Register ``task`` (the first registration of an id wins, so shared work keeps one note)."""
        return self.tasks.setdefault(task.id, task)

    # ------------------------------------------------------------------ per line
    def lower(self, step: Step, source: str) -> _Fragment:
        if step.line == 1:
            return self.chain(step.factors, source, step.outcomes, note="line 1")
        if step.line in (2, 3):
            return self.lower(step.children[0], source)
        if step.line == 4:
            return self.merge([self.lower(child, source) for child in step.children], step.outcomes)
        if step.line == 6:
            return self.chain(step.factors, source, step.outcomes, note="line 6")
        if step.line == 7:
            return self.lower(step.children[0], self.synthetic_dataset(step, source))
        raise IdgenError(f"cannot lower a step of line {step.line}")

    def chain(
        self, factors: tuple[tuple[str, frozenset[str]], ...], source: str, outcomes: Set[str], note: str
    ) -> _Fragment:
        """Models ``P(v_i | given_i)`` in order; earlier targets feed later ones, the rest are inputs."""
        produced: dict[str, _Node] = {}
        nodes = []
        for target, given in factors:
            conditioning = self.graph.ordered(self.graph.mask(given))
            task = self.task(TrainTask((target,), conditioning, source, note=note))
            node = _Node(task, {v: produced.get(v, v) for v in conditioning}, self.position[target])
            produced[target] = node
            nodes.append(node)
        return _Fragment(nodes, {v: produced[v] for v in self.graph.ordered(self.graph.mask(outcomes))})

    def merge(self, fragments: list[_Fragment], outcomes: Set[str]) -> _Fragment:
        """Line 4: merge per variable (merging whole c-factors could deadlock)."""
        producer: dict[str, _Node] = {}
        for fragment in fragments:
            producer.update(fragment.outputs)
        nodes = []
        for fragment in fragments:
            for node in fragment.nodes:
                for variable, source in node.inputs.items():
                    if isinstance(source, str) and source in producer:
                        node.inputs[variable] = producer[source]
                nodes.append(node)
        return _Fragment(nodes, {v: producer[v] for v in self.graph.ordered(self.graph.mask(outcomes))})

    def synthetic_dataset(self, step: Step, source: str) -> str:
        """Line 7: the chain for S', sampled into D′ with the treatments outside S' taken from ``source``."""
        fragment = self.chain(step.factors, source, step.superset, note="line 7, S'")
        network = self.finish(fragment)
        columns = self.graph.ordered(self.graph.mask(step.superset | frozenset(network.inputs)))
        dataset = Dataset(
            "synthetic",
            columns,
            network,
            source,
            note=f"Q[{', '.join(self.graph.ordered(self.graph.mask(step.superset)))}] (ID line 7)",
        )
        self.datasets.setdefault(dataset.id, dataset)
        return dataset.id

    # ------------------------------------------------------------------ fragments -> networks
    def finish(self, fragment: _Fragment) -> Network:
        """Prune what the outputs do not need, order nodes topologically, name them, list the inputs."""
        position = self.position
        order: list[_Node] = []
        state: dict[int, int] = {}

        def visit(root: _Node) -> None:
            # depth-first post-order with an explicit stack: a chain of thousands of nodes is one deep path
            stack: list[tuple[_Node, list[_Node]]] = []

            def enter(node: _Node) -> None:
                if state.get(id(node)) == 1:
                    raise IdgenError(f"internal error: the merged network has a cycle through {node.task.describe()}")
                state[id(node)] = 1
                sources = sorted(
                    (s for s in node.inputs.values() if isinstance(s, _Node)),
                    key=_rank,
                    reverse=True,
                )
                stack.append((node, sources))

            if state.get(id(root)) != 2:
                enter(root)
            while stack:
                node, pending = stack[-1]
                if pending:
                    source = pending.pop()
                    if state.get(id(source)) != 2:
                        enter(source)
                    continue
                stack.pop()
                state[id(node)] = 2
                order.append(node)

        for node in sorted(fragment.outputs.values(), key=_rank):
            visit(node)
        names: dict[int, str] = {}
        used: dict[str, int] = {}
        for node in order:
            base = "+".join(node.task.targets)
            used[base] = used.get(base, 0) + 1
            names[id(node)] = base if used[base] == 1 else f"{base}#{used[base]}"
        inputs: set[str] = set()
        built = []
        for node in order:
            wires = []
            for variable in node.task.conditioning:
                source = node.inputs[variable]
                if isinstance(source, str):
                    inputs.add(source)
                    wires.append((variable, INPUT + source))
                else:
                    wires.append((variable, names[id(source)]))
            built.append(Node(names[id(node)], node.task.targets, node.task.id, tuple(wires)))
        outputs = tuple((v, names[id(n)]) for v, n in fragment.outputs.items())
        return Network(tuple(sorted(inputs, key=position.__getitem__)), tuple(built), outputs)


def lower_traces(graph: ADMG, traces: list[Trace]) -> Plan:
    """Lower one or more traces of ``graph`` into a single :class:`~compiler.plan.Plan` sharing equal work."""
    lowering = _Lowering(graph)
    queries: list[QueryNetwork] = []
    for trace in traces:
        fragment = lowering.lower(trace.root, OBSERVED)
        conditions = graph.ordered(graph.mask(trace.conditions))
        if conditions:
            treatments = graph.ordered(graph.mask(trace.treatments))
            fragment = _conditional_fragment(lowering, trace, fragment, treatments, conditions)
        network = lowering.finish(fragment)
        given = set(trace.query.treatments) | set(trace.query.conditions)
        queries.append(
            QueryNetwork(
                query=str(trace.query),
                network=network,
                treatments=trace.query.treatments,
                conditions=trace.query.conditions,
                moved=trace.moved,
                free_inputs=tuple(v for v in network.inputs if v not in given),
                lines=tuple(trace.lines()),
            )
        )
    all_tasks = lowering.tasks
    used_tasks = {node.task for q in queries for node in q.network.nodes}
    used_datasets: set[str] = {OBSERVED}
    frontier = [all_tasks[t].source for t in used_tasks]
    while frontier:
        dataset_id = frontier.pop()
        if dataset_id in used_datasets:
            continue
        used_datasets.add(dataset_id)
        dataset = lowering.datasets[dataset_id]
        assert dataset.network is not None
        used_tasks |= {node.task for node in dataset.network.nodes}
        frontier.extend(all_tasks[node.task].source for node in dataset.network.nodes)
        frontier.append(dataset.input_source)
    tasks = {t: all_tasks[t] for t in used_tasks}
    datasets = {d: lowering.datasets[d] for d in used_datasets}
    edges: dict[str, list[str]] = {}
    for task in sorted(tasks.values(), key=lambda t: (lowering.position[t.targets[0]], t.id)):
        edges[task.id] = [task.source]
    for dataset in datasets.values():
        needs = [dataset.input_source] if dataset.network is not None else []
        needs += sorted({node.task for node in dataset.network.nodes}) if dataset.network is not None else []
        edges[dataset.id] = needs
    order = topological_ids({OBSERVED: [], **edges})
    return Plan(
        graph=graph.to_dict(),
        tasks=tuple(tasks[k] for k in order if k in tasks),
        datasets=tuple(datasets[k] for k in order if k in datasets),
        queries=tuple(queries),
    )


def _conditional_fragment(
    lowering: _Lowering, trace: Trace, joint: _Fragment, treatments: tuple[str, ...], conditions: tuple[str, ...]
) -> _Fragment:
    """IDC: sample the joint network of ``P_x(y, w)`` into a dataset and fit ``P(y | w, x)`` on it."""
    graph = lowering.graph
    joint_network = lowering.finish(joint)
    columns = graph.ordered(graph.mask(trace.outcomes | frozenset(conditions) | frozenset(joint_network.inputs)))
    dataset = Dataset(
        "joint-samples",
        columns,
        joint_network,
        OBSERVED,
        note=f"samples of P({', '.join(graph.ordered(graph.mask(trace.outcomes | frozenset(conditions))))} "
        "| do(...)) (IDC)",
    )
    lowering.datasets.setdefault(dataset.id, dataset)
    conditioning = graph.ordered(
        graph.mask(frozenset(conditions) | (frozenset(treatments) & frozenset(joint_network.inputs)))
    )
    task = lowering.task(
        TrainTask(graph.ordered(graph.mask(trace.outcomes)), conditioning, dataset.id, note="IDC conditional")
    )
    node = _Node(task, {v: v for v in conditioning}, lowering.position[task.targets[0]])
    return _Fragment([node], {v: node for v in task.targets})
