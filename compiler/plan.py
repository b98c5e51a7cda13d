"""The compiled plan: training tasks, the datasets they train on, and the sampling networks' wiring.

Two kinds of edge connect the pieces, and every rendering shows both:

*trains-on*
    a task is fitted on a dataset; a synthetic dataset (ID-GEN's D′, or the samples of an IDC joint)
    is produced by sampling a network whose tasks must be fitted first;
*feeds*
    inside a network, a node's sampled value is an input of a later node.

Everything is content-addressed: a task's id hashes its targets, conditioning set and dataset id, and a
synthetic dataset's id hashes the network that produces it, so equal work gets equal ids and
:func:`compiler.compile_many` trains it once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idgen.errors import IdgenError
from idgen.names import quote_all

__all__ = [
    "TrainTask",
    "Dataset",
    "Node",
    "Network",
    "QueryNetwork",
    "Plan",
    "content_id",
    "OBSERVED",
    "FACTOR",
    "AUTOENCODER",
]

OBSERVED = "observed"
INPUT = "input:"


def content_id(payload: Any) -> str:
    """Stable short hash of a JSON-able payload.

    Examples
    --------
    >>> content_id({"a": 1}) == content_id({"a": 1})
    True
    """
    return hashlib.sha256(_SORTED_JSON.encode(payload).encode()).hexdigest()[:12]


#: ``json.dumps(payload, sort_keys=True)`` without building an encoder per call (plans hash thousands of tasks)
_SORTED_JSON = json.JSONEncoder(sort_keys=True)


FACTOR = "factor"
AUTOENCODER = "autoencoder"
TASK_KINDS = (FACTOR, AUTOENCODER)


@dataclass(frozen=True)
class TrainTask:
    """Fit one conditional model ``P(targets | conditioning)`` on the dataset ``source``.

    A task of kind ``"autoencoder"`` instead fits the autoencoder of one image domain on the pooled
    images of its ``targets`` (no conditioning); the latent factors of those variables encode with it.
    """

    targets: tuple[str, ...]
    conditioning: tuple[str, ...]
    source: str
    note: str = field(default="", compare=False)
    kind: str = FACTOR

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise IdgenError(f"unknown task kind {self.kind!r}; expected one of {', '.join(TASK_KINDS)}")

    @functools.cached_property  # the lowering and the plan ask for it many times per task
    def id(self) -> str:
        payload: dict[str, Any] = {"targets": self.targets, "conditioning": self.conditioning, "source": self.source}
        if self.kind != FACTOR:
            payload["kind"] = self.kind
        return content_id(payload)

    def describe(self) -> str:
        if self.kind == AUTOENCODER:
            return f"autoencoder({quote_all(self.targets)})"
        given = f" | {quote_all(self.conditioning)}" if self.conditioning else ""
        return f"P({quote_all(self.targets)}{given})"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "targets": list(self.targets),
            "conditioning": list(self.conditioning),
            "source": self.source,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> TrainTask:
        return cls(
            tuple(spec["targets"]),
            tuple(spec["conditioning"]),
            spec["source"],
            spec.get("note", ""),
            spec.get("kind", FACTOR),
        )


@dataclass(frozen=True)
class Node:
    """One model in a sampling network: samples ``variables`` with the model of ``task``.

    ``inputs`` maps each conditioning variable of the task to the node that feeds it, or to
    ``"input:<variable>"`` for a value given from outside the network.
    """

    name: str
    variables: tuple[str, ...]
    task: str
    inputs: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variables": list(self.variables),
            "task": self.task,
            "inputs": [list(p) for p in self.inputs],
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> Node:
        return cls(spec["name"], tuple(spec["variables"]), spec["task"], tuple((a, b) for a, b in spec["inputs"]))


@dataclass(frozen=True)
class Network:
    """A DAG of :class:`Node` s in sampling order, with external ``inputs`` and named ``outputs``."""

    inputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return content_id(self.to_json())

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise IdgenError(f"network has no node {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "nodes": [n.to_json() for n in self.nodes],
            "outputs": [list(p) for p in self.outputs],
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> Network:
        return cls(
            tuple(spec["inputs"]),
            tuple(Node.from_json(n) for n in spec["nodes"]),
            tuple((a, b) for a, b in spec["outputs"]),
        )


@dataclass(frozen=True)
class Dataset:
    """A dataset tasks train on: the observed data, or samples of ``network`` (a synthetic D′).

    A synthetic dataset's rows start as rows of ``input_source`` (its ``network.inputs`` columns are
    taken from there), then every network node is sampled; ``columns`` are kept.
    """

    kind: str
    columns: tuple[str, ...]
    network: Network | None = None
    input_source: str = ""
    note: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        if self.kind == OBSERVED:
            return OBSERVED
        assert self.network is not None
        return content_id(
            {"kind": self.kind, "columns": self.columns, "network": self.network.to_json(), "from": self.input_source}
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "columns": list(self.columns),
            "network": self.network.to_json() if self.network else None,
            "input_source": self.input_source,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> Dataset:
        network = Network.from_json(spec["network"]) if spec.get("network") else None
        return cls(spec["kind"], tuple(spec["columns"]), network, spec.get("input_source", ""), spec.get("note", ""))


@dataclass(frozen=True)
class QueryNetwork:
    """The final sampling network of one query.

    ``treatments`` are the query's do-variables (values through ``do=``) and ``conditions`` all its
    observed conditions (values through ``given=``), including the ``moved`` ones: those IDC's rule 2
    turned into treatments, which the network therefore takes as plain inputs instead of conditioning
    on them. ``free_inputs`` are network inputs whose value does not change the answer (ID line 3);
    the runtime feeds them values drawn from the data.
    """

    query: str
    network: Network
    treatments: tuple[str, ...]
    conditions: tuple[str, ...]
    moved: tuple[str, ...]
    free_inputs: tuple[str, ...]
    lines: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "network": self.network.to_json(),
            "treatments": list(self.treatments),
            "conditions": list(self.conditions),
            "moved": list(self.moved),
            "free_inputs": list(self.free_inputs),
            "lines": list(self.lines),
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> QueryNetwork:
        return cls(
            spec["query"],
            Network.from_json(spec["network"]),
            tuple(spec["treatments"]),
            tuple(spec["conditions"]),
            tuple(spec["moved"]),
            tuple(spec["free_inputs"]),
            tuple(spec["lines"]),
        )


@dataclass(frozen=True)
class Plan:
    """Everything to train and wire for one or more queries on one graph.

    ``tasks`` and ``datasets`` are keyed by content id and listed in an order that respects their
    dependencies (a dataset after the tasks of the network that produces it; a task after its dataset).
    """

    graph: dict[str, Any]
    tasks: tuple[TrainTask, ...]
    datasets: tuple[Dataset, ...]
    queries: tuple[QueryNetwork, ...]

    # ------------------------------------------------------------------ lookups
    @property
    def network(self) -> Network:
        """The sampling network of a single-query plan."""
        return self.query_network().network

    def query_network(self, query: str | None = None) -> QueryNetwork:
        """The :class:`QueryNetwork` of ``query`` (optional for single-query plans)."""
        if query is None:
            if len(self.queries) != 1:
                raise IdgenError(
                    f"this plan has {len(self.queries)} queries; "
                    f"name one of: {', '.join(q.query for q in self.queries)}"
                )
            return self.queries[0]
        from idgen.query import Query

        wanted = str(Query.coerce(query))
        for item in self.queries:
            if item.query == wanted:
                return item
        raise IdgenError(f"query {wanted} is not in this plan; it has: {', '.join(q.query for q in self.queries)}")

    def task(self, task_id: str) -> TrainTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise IdgenError(f"plan has no task {task_id!r}")

    def dataset(self, dataset_id: str) -> Dataset:
        for dataset in self.datasets:
            if dataset.id == dataset_id:
                return dataset
        raise IdgenError(f"plan has no dataset {dataset_id!r}")

    def autoencoders(self) -> dict[str, TrainTask]:
        """The autoencoder task of each image variable that belongs to an image domain."""
        return {variable: task for task in self.tasks if task.kind == AUTOENCODER for variable in task.targets}

    def autoencoders_of(self, task: TrainTask) -> list[str]:
        """Ids of the autoencoder tasks whose latents a factor task reads or draws (sorted)."""
        if task.kind != FACTOR:
            return []
        by_variable = self.autoencoders()
        return sorted({by_variable[v].id for v in task.targets + task.conditioning if v in by_variable})

    def with_image_domains(self, domains: Mapping[str, Iterable[str]]) -> Plan:
        """This plan plus one autoencoder task per image domain (``{name: [image variables]}``).

        The factors that draw or read a domain's images then train on its latents (the
        ``latent-diffusion`` backend) and depend on its autoencoder. A domain may name variables outside
        the graph (its images still come from the observed data), so that a baseline fitted on a smaller
        graph shares the same autoencoder task.

        Examples
        --------
        >>> from idgen.graph import ADMG
        >>> from compiler import compile
        >>> g = ADMG(directed=[("X", "Y")])
        >>> plan = compile(g, "P(Y | do(X))").with_image_domains({"digits": ["X", "Y"]})
        >>> [t.describe() for t in plan.tasks]
        ['autoencoder(X, Y)', 'P(Y | X)']
        >>> plan.stages() == [[plan.tasks[0].id], [plan.tasks[1].id]]
        True
        """
        if not isinstance(domains, Mapping):
            raise IdgenError(f"image_domains must map a domain name to its image variables, got {domains!r}")
        existing = self.autoencoders()
        tasks: list[TrainTask] = []
        seen: dict[str, str] = {}
        for name, members in domains.items():
            if not isinstance(name, str) or not name:
                raise IdgenError(f"an image domain needs a non-empty name, got {name!r}")
            if isinstance(members, str) or not isinstance(members, Iterable):
                raise IdgenError(f"image domain {name!r} must list its variables, got {members!r}")
            variables = tuple(str(v) for v in members)
            if not variables:
                raise IdgenError(f"image domain {name!r} lists no variables")
            for variable in variables:
                if variable in seen or variable in existing:
                    other = seen.get(variable) or existing[variable].note
                    raise IdgenError(f"variable {variable!r} is in two image domains ({name!r} and {other!r})")
                seen[variable] = name
            # the declared order, not the graph's: a baseline on a smaller graph gets the same task id
            tasks.append(TrainTask(variables, (), OBSERVED, note=f"image domain {name!r}", kind=AUTOENCODER))
        return Plan(self.graph, tuple(tasks) + self.tasks, self.datasets, self.queries)

    def dependencies(self) -> dict[str, list[str]]:
        """``trains-on`` edges: for every task and synthetic dataset, what must exist before it.

        A factor of an image domain's variables also needs that domain's autoencoder task."""
        edges: dict[str, list[str]] = {}
        for task in self.tasks:
            edges[task.id] = [task.source, *self.autoencoders_of(task)]
        for dataset in self.datasets:
            if dataset.network is not None:
                edges[dataset.id] = [dataset.input_source, *sorted({node.task for node in dataset.network.nodes})]
        return edges

    def stages(self) -> list[list[str]]:
        """Task ids grouped in dependency stages: the tasks of one stage can train in parallel jobs.

        Stage ``k`` holds the tasks whose datasets need only tasks of earlier stages.

        Examples
        --------
        >>> from idgen.graph import ADMG
        >>> from compiler import compile
        >>> g = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
        >>> [len(stage) for stage in compile(g, "P(Y | do(X))").stages()]
        [3, 1]
        """
        edges = self.dependencies()
        depth: dict[str, int] = {OBSERVED: -1}
        for key in topological_ids({OBSERVED: [], **edges}):
            if key == OBSERVED:
                continue
            deeper = [depth[d] for d in edges[key]]
            is_task = any(t.id == key for t in self.tasks)
            depth[key] = max(deeper, default=-1) + (1 if is_task else 0)
        stages: list[list[str]] = []
        for task in self.tasks:
            while len(stages) <= depth[task.id]:
                stages.append([])
            stages[depth[task.id]].append(task.id)
        return stages

    # ------------------------------------------------------------------ renderings
    def as_text(self) -> str:
        """A readable dry run: each dataset, each task with its inputs and data, and each network."""
        out = [
            f"plan: {len(self.tasks)} training task(s), {len(self.datasets) - 1} synthetic dataset(s), "
            f"{len(self.queries)} query network(s)"
        ]
        names = {OBSERVED: "D (observed data)"}
        for k, dataset in enumerate(d for d in self.datasets if d.kind != OBSERVED):
            names[dataset.id] = f"D{'′' * (k + 1)} [{dataset.id}]"
        out.append("")
        out.append("datasets:")
        for dataset in self.datasets:
            if dataset.kind == OBSERVED:
                out.append(f"  {names[OBSERVED]}: columns {', '.join(dataset.columns)}")
                continue
            assert dataset.network is not None
            out.append(f"  {names[dataset.id]}: {dataset.kind}; {dataset.note}")
            out.append(
                f"      columns {', '.join(dataset.columns)}; inputs {', '.join(dataset.network.inputs) or 'none'} "
                f"drawn from rows of {names[dataset.input_source]}"
            )
            out.append(f"      produced by sampling: {_chain_text(dataset.network, self)}")
        out.append("")
        out.append("tasks (in training order):")
        for task in self.tasks:
            note = f"  — {task.note}" if task.note else ""
            latents = self.autoencoders_of(task)
            latent = f", in the latents of [{', '.join(latents)}]" if latents else ""
            out.append(f"  [{task.id}] {task.describe()}  trains on {names[task.source]}{latent}{note}")
        for item in self.queries:
            out.append("")
            out.append(f"network for {item.query}  (ID lines {' → '.join(str(k) for k in item.lines)})")
            inputs = (
                [f"do {v}" for v in item.treatments]
                + [f"given {v}" for v in item.conditions]
                + [f"free {v}" for v in item.free_inputs]
            )
            out.append(f"  inputs: {', '.join(inputs) or 'none'}")
            if item.moved:
                out.append(f"  IDC rule 2 moved {', '.join(item.moved)} from the conditions into do(·)")
            for node in item.network.nodes:
                task = self.task(node.task)
                wires = ", ".join(
                    f"{var}←{src.removeprefix(INPUT) if src.startswith(INPUT) else src}" for var, src in node.inputs
                )
                out.append(
                    f"  {node.name}: sample {', '.join(node.variables)} ~ {task.describe()} [{task.id}]"
                    + (f"  feeds: {wires}" if wires else "")
                )
            out.append(f"  outputs: {', '.join(f'{v}={n}' for v, n in item.network.outputs)}")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "idgen-plan/1",
            "graph": self.graph,
            "tasks": [t.to_json() for t in self.tasks],
            "datasets": [d.to_json() for d in self.datasets],
            "queries": [q.to_json() for q in self.queries],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @classmethod
    def from_json(cls, spec: Mapping[str, Any] | str) -> Plan:
        if isinstance(spec, str):
            spec = json.loads(spec)
        assert isinstance(spec, Mapping)
        if spec.get("format") != "idgen-plan/1":
            raise IdgenError(f"not an idgen plan (format {spec.get('format')!r}, expected 'idgen-plan/1')")
        plan = cls(
            graph=dict(spec["graph"]),
            tasks=tuple(TrainTask.from_json(t) for t in spec["tasks"]),
            datasets=tuple(Dataset.from_json(d) for d in spec["datasets"]),
            queries=tuple(QueryNetwork.from_json(q) for q in spec["queries"]),
        )
        for task, raw in zip(plan.tasks, spec["tasks"], strict=True):
            if task.id != raw["id"]:
                raise IdgenError(
                    f"task {raw['id']} does not match its content (id {task.id}); the plan file was edited"
                )
        return plan

    def to_dot(self) -> str:
        """Graphviz DOT of both edge kinds: dashed *trains-on*, solid *feeds*."""
        return _dot_text(self._dot_lines())

    def _dot_lines(self) -> str:
        lines = ["digraph plan {", "  rankdir=LR; node [fontname=Helvetica, fontsize=10];"]
        for dataset in self.datasets:
            label = "D (observed)" if dataset.kind == OBSERVED else f"D′ {dataset.id}\\n{dataset.kind}"
            lines.append(f'  "ds_{dataset.id}" [shape=cylinder, label="{label}"];')
        for task in self.tasks:
            shape = "box3d" if task.kind == AUTOENCODER else "box"
            lines.append(f'  "task_{task.id}" [shape={shape}, label="{task.describe()}\\n[{task.id}]"];')
            lines.append(f'  "ds_{task.source}" -> "task_{task.id}" [style=dashed, label="trains-on"];')
            for autoencoder in self.autoencoders_of(task):
                lines.append(f'  "task_{autoencoder}" -> "task_{task.id}" [style=dashed, label="latents"];')
        for dataset in self.datasets:
            if dataset.network is not None:
                for task_id in sorted({n.task for n in dataset.network.nodes}):
                    lines.append(f'  "task_{task_id}" -> "ds_{dataset.id}" [style=dashed, label="samples"];')
        for k, item in enumerate(self.queries):
            lines.append(f'  subgraph "cluster_{k}" {{ label="{item.query}";')
            for variable in (*item.treatments, *item.conditions, *item.free_inputs):
                lines.append(f'    "q{k}_{INPUT}{variable}" [shape=ellipse, label="{variable}"];')
            for node in item.network.nodes:
                lines.append(
                    f'    "q{k}_{node.name}" [shape=box, style=rounded, '
                    f'label="{", ".join(node.variables)}\\n{self.task(node.task).describe()}"];'
                )
                for variable, source in node.inputs:
                    lines.append(f'    "q{k}_{source}" -> "q{k}_{node.name}" [label="{variable}"];')
            lines.append("  }")
            for node in item.network.nodes:
                lines.append(f'  "task_{node.task}" -> "q{k}_{node.name}" [style=dotted, arrowhead=none];')
        lines.append("}")
        return "\n".join(lines)

    def to_png(self, path: str) -> None:
        """Render the plan with matplotlib: tasks and datasets (trains-on) above, each network (feeds) below."""
        from compiler.render import render_plan

        render_plan(self, path)


def _dot_text(text: str) -> str:
    """Escape the double quotes that quoted variable names put inside DOT's double-quoted labels."""
    out = []
    for line in text.split("\n"):
        if 'label="' in line:
            head, _, rest = line.partition('label="')
            label, _, tail = rest.rpartition('"')
            line = head + 'label="' + label.replace('\\"', '"').replace('"', '\\"') + '"' + tail
        out.append(line)
    return "\n".join(out)


def _chain_text(network: Network, plan: Plan) -> str:
    return (
        " → ".join(f"{', '.join(n.variables)} ~ {plan.task(n.task).describe()}" for n in network.nodes) or "(nothing)"
    )


def topological_ids(edges: Mapping[str, Iterable[str]]) -> list[str]:
    """Order ids so that each comes after everything it depends on (stable)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise IdgenError(f"dependency cycle through {key}")
        state[key] = 1
        for dependency in edges.get(key, ()):
            visit(dependency)
        state[key] = 2
        order.append(key)

    for key in edges:
        visit(key)
    return order
