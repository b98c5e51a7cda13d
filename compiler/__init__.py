"""The ID-GEN compiler: identification trace → training tasks + sampling-network wiring (a :class:`Plan`).

Reading order: :mod:`compiler.plan` (the printable types), then :mod:`compiler.lower` (line-by-line
lowering of the ID recursion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from compiler.lower import lower_traces
from compiler.plan import Dataset, Network, Node, Plan, QueryNetwork, TrainTask
from idgen.graph import ADMG
from idgen.identification import identify
from idgen.query import Query
from idgen.trace import Trace

__all__ = ["compile", "compile_many", "Plan", "TrainTask", "Dataset", "Network", "Node", "QueryNetwork"]


def compile(  # noqa: A001 - the API's verb
    graph: ADMG | Trace, query: str | Query | Any = None, image_domains: Mapping[str, Iterable[str]] | None = None
) -> Plan:
    """Compile one query into a :class:`Plan`: ``compile(graph, "P(Y | do(X))")`` or ``compile(trace)``.

    ``image_domains`` (``{name: [image variables]}``) adds one autoencoder task per domain, whose latents
    the factors of those variables then train on (see :meth:`Plan.with_image_domains`).
    Raises :class:`~idgen.errors.NotIdentifiable` for a non-identifiable query.

    Examples
    --------
    >>> g = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    >>> plan = compile(g, "P(Y | do(X))")
    >>> [t.describe() for t in plan.tasks]
    ['P(W1)', 'P(X | W1, W2)', 'P(Y | W1, W2, X)', 'P(Y | X)']
    >>> [d.kind for d in plan.datasets]
    ['observed', 'synthetic']
    """
    if isinstance(graph, Trace):
        if query is not None:
            raise TypeError("compile(trace) takes no query: the trace already holds one")
        plan = lower_traces(graph.graph, [graph])
    else:
        if query is None:
            raise TypeError("compile(graph, query) needs a query such as 'P(Y | do(X))'")
        plan = lower_traces(graph, [identify(graph, query)])
    return plan.with_image_domains(image_domains) if image_domains else plan


def compile_many(
    graph: ADMG, queries: Iterable[str | Query], image_domains: Mapping[str, Iterable[str]] | None = None
) -> Plan:
    """Compile several queries on one graph into one plan whose equal tasks are trained once."""
    traces = [identify(graph, q) for q in queries]
    if not traces:
        raise ValueError("compile_many needs at least one query")
    plan = lower_traces(graph, traces)
    return plan.with_image_domains(image_domains) if image_domains else plan
