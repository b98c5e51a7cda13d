"""Acyclic directed mixed graphs (ADMGs): directed edges plus bidirected edges for latent confounding.

The recursion in :mod:`idgen.identification` works on *node sets* of one fixed graph rather than on copies of
it, so every set operation here exists twice: a public one over node names and a private one over
bitmasks (Python ints, bit ``i`` = the ``i``-th node of the graph's topological order). That keeps
``identify`` fast on graphs of thousands of nodes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idgen.errors import GraphError
from idgen.names import Y0_RESERVED, invert, name_problem, quote, quote_all, y0_symbols

if TYPE_CHECKING:  # pragma: no cover
    from y0.graph import NxMixedGraph

__all__ = ["ADMG", "NodeSet", "iter_bits"]

#: how many mask -> name-set conversions one graph remembers (the recursion asks for the same masks often)
_NAME_CACHE_SIZE = 4096
#: names y0 cannot carry as they are; kept for callers, they are usable node names (see :mod:`idgen.names`)
RESERVED_NAMES = Y0_RESERVED


def iter_bits(mask: int) -> Iterator[int]:
    """Iterate over the indices of the set bits of ``mask`` in increasing order.

    Sparse masks peel off their lowest bit one at a time; dense ones (at least one bit in eight set) scan
    the binary string in C, which is several times faster on masks of hundreds of nodes.

    Examples
    --------
    >>> list(iter_bits(0b10110))
    [1, 2, 4]
    >>> list(iter_bits(0))
    []
    """
    if not mask & (mask - 1):  # empty or one node: the commonest masks in ID's many small calls
        return iter((mask.bit_length() - 1,) if mask else ())
    if mask.bit_count() * 8 >= mask.bit_length():
        return iter([i for i, bit in enumerate(bin(mask)[:1:-1]) if bit == "1"])
    return _peel_bits(mask)


def _peel_bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class NodeSet(Set[str]):
    """A read-only set of node names of one graph, held as a bitmask and named only when read.

    The ID recursion records the node sets of every call; a line 4 with hundreds of districts makes
    hundreds of calls on sets of hundreds of nodes that nobody may ever read by name. ``NodeSet``
    compares, hashes and combines like the ``frozenset`` of its names (``&``, ``|``, ``-`` give
    frozensets).

    Examples
    --------
    >>> g = ADMG(directed=[("A", "B"), ("B", "C")])
    >>> s = g.name_set(g.mask(["A", "C"]))
    >>> "A" in s, "B" in s, len(s)
    (True, False, 2)
    >>> s == frozenset({"A", "C"}), sorted(s - {"A"})
    (True, ['C'])
    """

    __slots__ = ("graph", "mask")

    def __init__(self, graph: ADMG, mask: int) -> None:
        self.graph = graph
        self.mask = mask

    def __contains__(self, name: object) -> bool:
        index = self.graph._index.get(name) if isinstance(name, str) else None
        return index is not None and bool((self.mask >> index) & 1)

    def __iter__(self) -> Iterator[str]:
        return iter(self.graph.ordered(self.mask))

    def __len__(self) -> int:
        return self.mask.bit_count()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeSet) and other.graph is self.graph:
            return other.mask == self.mask
        return super().__eq__(other)

    def __hash__(self) -> int:  # equal to the hash of the frozenset of the same names
        return hash(self.graph.names(self.mask))

    def __repr__(self) -> str:
        return repr(self.graph.names(self.mask))

    @classmethod
    def _from_iterable(cls, iterable: Iterable[str]) -> frozenset[str]:  # type: ignore[override]
        return frozenset(iterable)


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise GraphError(f"node names must be strings, got {name!r} of type {type(name).__name__}")
    problem = name_problem(name)
    if problem:
        raise GraphError(f"node name {problem}; any other text is a usable name")
    return name


def _pair(edge: object, kind: str) -> tuple[str, str]:
    if not isinstance(edge, (tuple, list)) or len(edge) != 2:
        raise GraphError(f"a {kind} edge must be a pair of node names, got {edge!r}")
    return _check_name(edge[0]), _check_name(edge[1])


class ADMG:
    """An acyclic directed mixed graph, validated on construction.

    Parameters
    ----------
    directed : iterable of (str, str)
        Directed edges ``a -> b``.
    bidirected : iterable of (str, str)
        Bidirected edges ``a <-> b`` (an unobserved common cause of ``a`` and ``b``).
    nodes : iterable of str, optional
        Extra nodes (e.g. isolated ones); nodes named in edges are added automatically.

    Raises
    ------
    GraphError
        On a directed cycle, a self-loop, an unusable name or a malformed edge.

    Examples
    --------
    >>> g = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    >>> g.nodes
    ('W1', 'W2', 'X', 'Y')
    >>> sorted(g.ancestors({"X"}))
    ['W1', 'W2', 'X']
    >>> [sorted(d) for d in g.districts()]
    [['W1', 'X', 'Y'], ['W2']]
    """

    __slots__ = (
        "_names",
        "_index",
        "_parents",
        "_children",
        "_siblings",
        "_all",
        "_name_sets",
        "_directed_edges",
        "_bidirected_edges",
        "_ancestor_closure",
        "_ancestral_sets",
    )

    def __init__(
        self,
        directed: Iterable[Sequence[str]] = (),
        bidirected: Iterable[Sequence[str]] = (),
        nodes: Iterable[str] = (),
    ) -> None:
        for key, value in (("nodes", nodes), ("directed", directed), ("bidirected", bidirected)):
            if isinstance(value, str):
                raise GraphError(f"{key} must be a list of names, got the string {value!r}")
            if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
                raise GraphError(f"{key} must be a list, got {value!r} of type {type(value).__name__}")
        directed_pairs = [_pair(e, "directed") for e in directed]
        bidirected_pairs = [_pair(e, "bidirected") for e in bidirected]
        order: dict[str, None] = {}
        for name in nodes:
            order[_check_name(name)] = None
        for a, b in directed_pairs + bidirected_pairs:
            if a == b:
                raise GraphError(f"self-loop on node {a!r} is not allowed in an ADMG")
            order.setdefault(a, None)
            order.setdefault(b, None)
        names = list(order)
        position = {name: i for i, name in enumerate(names)}
        parents: list[set[int]] = [set() for _ in names]
        for a, b in directed_pairs:
            parents[position[b]].add(position[a])
        topological = _topological_sort(names, parents)
        self._names: tuple[str, ...] = tuple(names[i] for i in topological)
        self._index: dict[str, int] = {name: i for i, name in enumerate(self._names)}
        n = len(self._names)
        self._parents = [0] * n
        self._children = [0] * n
        self._siblings = [0] * n
        for a, b in directed_pairs:
            ia, ib = self._index[a], self._index[b]
            self._parents[ib] |= 1 << ia
            self._children[ia] |= 1 << ib
        for a, b in bidirected_pairs:
            ia, ib = self._index[a], self._index[b]
            self._siblings[ia] |= 1 << ib
            self._siblings[ib] |= 1 << ia
        self._all = (1 << n) - 1
        self._name_sets: dict[int, frozenset[str]] = {}
        self._directed_edges: tuple[tuple[str, str], ...] | None = None
        self._bidirected_edges: tuple[tuple[str, str], ...] | None = None
        self._ancestor_closure: list[int] | None = None
        self._ancestral_sets: set[int] = set()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_y0(cls, graph: NxMixedGraph, symbols: Mapping[str, str] | None = None) -> ADMG:
        """Build from a y0 ``NxMixedGraph`` (its ``undirected`` part holds the bidirected edges).

        ``symbols`` (name → y0 symbol, as :meth:`y0_symbols` gives) maps the symbols back to names."""
        names = invert(symbols or {})

        def name(variable: Any) -> str:
            return names.get(str(variable), str(variable))

        return cls(
            directed=[(name(a), name(b)) for a, b in graph.directed.edges()],
            bidirected=[(name(a), name(b)) for a, b in graph.undirected.edges()],
            nodes=[name(v) for v in list(graph.directed.nodes()) + list(graph.undirected.nodes())],
        )

    def y0_symbols(self) -> dict[str, str]:
        """Node name → the symbol it has in y0 (itself unless y0 cannot carry it; see :mod:`idgen.names`)."""
        return y0_symbols(self._names)

    def to_y0(self) -> NxMixedGraph:
        """Return the same graph as a y0 ``NxMixedGraph`` (isolated nodes included).

        Names y0 cannot carry become the symbols of :meth:`y0_symbols`; ``from_y0(g, symbols)`` maps back."""
        from y0.dsl import Variable
        from y0.graph import NxMixedGraph

        symbols = self.y0_symbols()
        graph = NxMixedGraph()
        for name in self._names:
            graph.add_node(Variable(symbols[name]))
        for a, b in self.directed:
            graph.add_directed_edge(Variable(symbols[a]), Variable(symbols[b]))
        for a, b in self.bidirected:
            graph.add_undirected_edge(Variable(symbols[a]), Variable(symbols[b]))
        return graph

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ADMG:
        """Build from ``{"directed": [[a, b], ...], "bidirected": [...], "nodes": [...]}``.

        Examples
        --------
        >>> ADMG.from_dict({"directed": [["X", "Y"]], "bidirected": [["X", "Y"]]})
        ADMG(directed=[('X', 'Y')], bidirected=[('X', 'Y')])
        """
        if not isinstance(spec, Mapping):
            raise GraphError(
                f"a graph spec must be a mapping with 'directed'/'bidirected' lists, got {type(spec).__name__}"
            )
        unknown = set(spec) - {"directed", "bidirected", "nodes"}
        if unknown:
            raise GraphError(f"unknown graph keys {sorted(unknown)}; expected 'directed', 'bidirected', 'nodes'")
        for key in ("directed", "bidirected", "nodes"):
            if not isinstance(spec.get(key, []), list):
                raise GraphError(f"graph key {key!r} must be a list")
        return cls(
            directed=spec.get("directed", []), bidirected=spec.get("bidirected", []), nodes=spec.get("nodes", [])
        )

    def to_dict(self) -> dict[str, list[Any]]:
        """The JSON/YAML form read by :meth:`from_dict` and :meth:`load`."""
        return {
            "nodes": list(self._names),
            "directed": [list(e) for e in self.directed],
            "bidirected": [list(e) for e in self.bidirected],
        }

    @classmethod
    def load(cls, path: str | Path) -> ADMG:
        """Read a graph from a ``.json``, ``.yaml`` or ``.yml`` file in the :meth:`from_dict` format."""
        path = Path(path)
        if not path.is_file():
            raise GraphError(f"graph file {str(path)!r} does not exist")
        try:
            text = path.read_text()
            if path.suffix.lower() in {".yaml", ".yml"}:
                spec = _load_yaml(text)
            else:
                spec = json.loads(text, object_pairs_hook=_unique_keys)
        except GraphError as exc:
            raise GraphError(f"graph file {str(path)!r}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any parser failure becomes one clear line
            detail = " ".join(str(exc).split())
            raise GraphError(f"cannot parse graph file {str(path)!r}: {detail}") from None
        return cls.from_dict(spec if spec is not None else {})

    # ------------------------------------------------------------------ basic views
    @property
    def nodes(self) -> tuple[str, ...]:
        """All nodes, in a fixed topological order of the directed part."""
        return self._names

    @property
    def directed(self) -> list[tuple[str, str]]:
        """Directed edges ``(parent, child)``, sorted by the topological order."""
        if self._directed_edges is None:  # the graph is immutable: list the edges once
            names = self._names
            self._directed_edges = tuple(
                (names[p], names[c]) for c in range(len(names)) for p in iter_bits(self._parents[c])
            )
        return list(self._directed_edges)

    @property
    def bidirected(self) -> list[tuple[str, str]]:
        """Bidirected edges ``(a, b)`` with ``a`` before ``b`` in the topological order."""
        if self._bidirected_edges is None:
            names = self._names
            self._bidirected_edges = tuple(
                (names[a], names[a + 1 + b]) for a in range(len(names)) for b in iter_bits(self._siblings[a] >> (a + 1))
            )
        return list(self._bidirected_edges)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, node: object) -> bool:
        return node in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ADMG):
            return NotImplemented
        return (set(self._names), set(self.directed), {frozenset(e) for e in self.bidirected}) == (
            set(other._names),
            set(other.directed),
            {frozenset(e) for e in other.bidirected},
        )

    def __hash__(self) -> int:
        return hash(
            (frozenset(self._names), frozenset(self.directed), frozenset(frozenset(e) for e in self.bidirected))
        )

    def __repr__(self) -> str:
        isolated = [
            v
            for v in self._names
            if not (self._parents[self._index[v]] | self._children[self._index[v]] | self._siblings[self._index[v]])
        ]
        extra = f", nodes={isolated!r}" if isolated else ""
        return f"ADMG(directed={self.directed!r}, bidirected={self.bidirected!r}{extra})"

    def __str__(self) -> str:
        parts = [f"{quote(a)} -> {quote(b)}" for a, b in self.directed]
        parts += [f"{quote(a)} <-> {quote(b)}" for a, b in self.bidirected]
        return "; ".join(parts) if parts else quote_all(self._names) or "(empty graph)"

    # ------------------------------------------------------------------ name <-> mask
    def mask(self, nodes: Iterable[str]) -> int:
        """Bitmask of ``nodes``; raises :class:`GraphError` naming an unknown node."""
        if isinstance(nodes, NodeSet) and nodes.graph is self:
            return nodes.mask
        if isinstance(nodes, str):
            nodes = (nodes,)
        result = 0
        for name in nodes:
            try:
                result |= 1 << self._index[name]
            except (KeyError, TypeError):
                raise GraphError(f"unknown node {name!r}; the graph has {_preview(self._names)}") from None
        return result

    def names(self, mask: int) -> frozenset[str]:
        """Node names of a bitmask (memoized: ID asks for the same node sets in many calls)."""
        cached = self._name_sets.get(mask)
        if cached is None:
            if len(self._name_sets) >= _NAME_CACHE_SIZE:
                self._name_sets.clear()
            cached = self._name_sets[mask] = frozenset(map(self._names.__getitem__, iter_bits(mask)))
        return cached

    def name_set(self, mask: int) -> NodeSet:
        """The node names of a bitmask as a lazy :class:`NodeSet` (named only when read)."""
        return NodeSet(self, mask)

    def ordered(self, mask: int) -> tuple[str, ...]:
        """Node names of a bitmask in topological order."""
        return tuple(self._names[i] for i in iter_bits(mask))

    @property
    def all_mask(self) -> int:
        """Bitmask of every node."""
        return self._all

    # ------------------------------------------------------------------ neighbourhoods
    def parents(self, node: str) -> frozenset[str]:
        """Parents of ``node`` (tails of its incoming directed edges)."""
        return self.names(self._parents[self._index_of(node)])

    def children(self, node: str) -> frozenset[str]:
        """Children of ``node``."""
        return self.names(self._children[self._index_of(node)])

    def siblings(self, node: str) -> frozenset[str]:
        """Nodes joined to ``node`` by a bidirected edge."""
        return self.names(self._siblings[self._index_of(node)])

    def _index_of(self, node: str) -> int:
        try:
            return self._index[node]
        except (KeyError, TypeError):
            raise GraphError(f"unknown node {node!r}; the graph has {_preview(self._names)}") from None

    def parents_of_mask(self, mask: int) -> int:
        """Union of the parents of the nodes in ``mask``."""
        result = 0
        for i in iter_bits(mask):
            result |= self._parents[i]
        return result

    # ------------------------------------------------------------------ set operations (masks)
    def ancestors_mask(self, targets: int, within: int | None = None, cut_incoming: int = 0) -> int:
        """Ancestors of ``targets`` (inclusive) in ``G[within]`` with the in-edges of ``cut_incoming`` removed.

        When ``within`` is an ancestral set of the whole graph (closed under parents: the whole graph, or
        an earlier answer of this method on an ancestral set) the answer is the union of the precomputed
        ancestor sets of the targets, one OR per target; ID asks this for hundreds of districts at once.

        Examples
        --------
        >>> g = ADMG(directed=[("A", "B"), ("B", "C"), ("D", "C")])
        >>> g.ordered(g.ancestors_mask(g.mask(["C"])))
        ('A', 'B', 'D', 'C')
        >>> g.ordered(g.ancestors_mask(g.mask(["C"]), within=g.mask(["B", "C", "D"])))
        ('B', 'D', 'C')
        >>> g.ordered(g.ancestors_mask(g.mask(["C"]), cut_incoming=g.mask(["B"])))
        ('B', 'D', 'C')
        """
        within = self._all if within is None else within
        targets &= within
        ancestral = not cut_incoming and (within == self._all or within in self._ancestral_sets)
        if ancestral:
            closure = self._ancestor_closure if self._ancestor_closure is not None else self._close_ancestors()
            result = 0
            for i in iter_bits(targets):
                result |= closure[i]
        else:
            result = targets
            frontier = targets
            parents = self._parents
            while frontier:
                grow = 0
                for i in iter_bits(frontier & ~cut_incoming):
                    grow |= parents[i]
                grow &= within & ~result
                result |= grow
                frontier = grow
        if ancestral:  # the ancestors of anything in an ancestral set are an ancestral set
            if len(self._ancestral_sets) >= _NAME_CACHE_SIZE:
                self._ancestral_sets.clear()
            self._ancestral_sets.add(result)
        return result

    def _close_ancestors(self) -> list[int]:
        """Every node's ancestor set (itself included), in one pass over the topological order."""
        closure: list[int] = []
        for i, parents in enumerate(self._parents):
            ancestors = 1 << i
            for p in iter_bits(parents):
                ancestors |= closure[p]
            closure.append(ancestors)
        self._ancestor_closure = closure
        return closure

    def district_mask(self, node: int, within: int) -> int:
        """The district (c-component) of node index ``node`` in ``G[within]``."""
        result = 1 << node
        frontier = result
        while frontier:
            grow = 0
            for i in iter_bits(frontier):
                grow |= self._siblings[i]
            grow &= within & ~result
            result |= grow
            frontier = grow
        return result

    def districts_mask(self, within: int) -> list[int]:
        """Districts of ``G[within]`` as bitmasks, ordered by their first node in topological order."""
        remaining = within
        result = []
        siblings = self._siblings
        while remaining:
            first = (remaining & -remaining).bit_length() - 1
            # most nodes of a sparse graph have no sibling in ``within``: skip the search for those
            district = self.district_mask(first, within) if siblings[first] & within else 1 << first
            result.append(district)
            remaining &= ~district
        return result

    def pillow_mask(self, node: int, within: int, context: int = 0) -> int:
        """Markov pillow of node index ``node`` in ``G[within ∩ pred(node)]`` plus fixed ``context`` parents.

        The pillow is the district of the node among its predecessors (in topological order) plus the
        parents of that district; parents that lie in ``context`` (fixed, intervened variables whose
        in-edges are cut) are included, other parents outside ``within`` are not.
        """
        predecessors = within & ((1 << (node + 1)) - 1)
        district = self.district_mask(node, predecessors)
        return (district | (self.parents_of_mask(district) & (predecessors | context))) & ~(1 << node)

    # ------------------------------------------------------------------ set operations (names)
    def ancestors(self, nodes: Iterable[str]) -> frozenset[str]:
        """Ancestors of ``nodes``, the nodes themselves included."""
        return self.names(self.ancestors_mask(self.mask(nodes)))

    def districts(self) -> list[frozenset[str]]:
        """The districts (c-components): classes of nodes joined by bidirected paths."""
        return [self.names(d) for d in self.districts_mask(self._all)]

    def district_of(self, node: str) -> frozenset[str]:
        """The district that contains ``node``."""
        return self.names(self.district_mask(self._index_of(node), self._all))

    def markov_pillow(self, node: str, order: Sequence[str] | None = None) -> frozenset[str]:
        """Markov pillow of ``node`` among its predecessors (Tian–Pearl).

        ``P(v_i | v_π^(<i)) = P(v_i | pillow)``; the pillow is the district of ``v_i`` in
        ``G[V_π^(≤i)]`` together with the parents of that district.

        Examples
        --------
        >>> g = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
        >>> sorted(g.markov_pillow("Y"))
        ['W1', 'W2', 'X']
        >>> sorted(g.markov_pillow("W2"))
        ['W1']
        """
        if order is None:
            return self.names(self.pillow_mask(self._index_of(node), self._all))
        order = list(order)
        if sorted(order) != sorted(self._names):
            raise GraphError("order must list every node of the graph exactly once")
        position = {name: i for i, name in enumerate(order)}
        for child, parent in ((c, p) for p, c in self.directed):
            if position[parent] > position[child]:
                raise GraphError(f"order is not topological: {parent!r} -> {child!r} but {child!r} comes first")
        node_index = position[self._names[self._index_of(node)]]
        predecessors = self.mask(order[: node_index + 1])
        index = self._index[node]
        district = self.district_mask(index, predecessors)
        return self.names((district | (self.parents_of_mask(district) & predecessors)) & ~(1 << index))

    def topological_order(self) -> tuple[str, ...]:
        """A topological order of the directed part (the one every method here uses)."""
        return self._names

    def subgraph(self, nodes: Iterable[str]) -> ADMG:
        """The induced subgraph ``G[nodes]`` (isolated nodes are kept)."""
        keep = self.mask(nodes)
        return self._from_mask(keep)

    def subgraph_mask(self, keep: int) -> ADMG:
        """The induced subgraph on a bitmask of nodes."""
        return self._from_mask(keep)

    def remove_incoming(self, nodes: Iterable[str]) -> ADMG:
        """``G_{x̄}``: drop directed edges into ``nodes`` and bidirected edges at them; keep every node."""
        cut = self.mask(nodes)
        return self._from_mask(self._all, cut_incoming=cut)

    def remove_outgoing(self, nodes: Iterable[str]) -> ADMG:
        """``G_{x̲}``: drop directed edges out of ``nodes``; keep every node and bidirected edge."""
        cut = self.mask(nodes)
        return self._from_mask(self._all, cut_outgoing=cut)

    def _from_mask(self, keep: int, cut_incoming: int = 0, cut_outgoing: int = 0) -> ADMG:
        graph = ADMG.__new__(ADMG)
        graph._name_sets = {}
        graph._directed_edges = graph._bidirected_edges = None
        graph._ancestor_closure = None
        graph._ancestral_sets = set()
        if keep == self._all:
            # same nodes, same indices: cut the edges with whole-mask operations (IDC does this per condition)
            graph._names, graph._index, graph._all = self._names, self._index, self._all
            graph._parents = [
                0 if (cut_incoming >> i) & 1 else parents & ~cut_outgoing for i, parents in enumerate(self._parents)
            ]
            graph._children = [
                0 if (cut_outgoing >> i) & 1 else children & ~cut_incoming for i, children in enumerate(self._children)
            ]
            graph._siblings = [
                0 if (cut_incoming >> i) & 1 else siblings & ~cut_incoming for i, siblings in enumerate(self._siblings)
            ]
            return graph
        remap = {old: new for new, old in enumerate(iter_bits(keep))}
        graph._names = tuple(self._names[i] for i in remap)
        graph._index = {name: i for i, name in enumerate(graph._names)}
        n = len(graph._names)
        graph._parents = [0] * n
        graph._children = [0] * n
        graph._siblings = [0] * n
        for old, new in remap.items():
            if not (cut_incoming >> old) & 1:
                for p in iter_bits(self._parents[old] & keep & ~cut_outgoing):
                    graph._parents[new] |= 1 << remap[p]
                    graph._children[remap[p]] |= 1 << new
                for s in iter_bits(self._siblings[old] & keep & ~cut_incoming):
                    graph._siblings[new] |= 1 << remap[s]
        graph._all = (1 << n) - 1
        return graph

    # ------------------------------------------------------------------ separation
    def m_separated(self, left: Iterable[str], right: Iterable[str], given: Iterable[str] = ()) -> bool:
        """Whether ``left`` and ``right`` are m-separated given ``given``.

        Uses the augmented (moral) graph of the ancestral set: two nodes are joined when they lie in
        ``D ∪ pa(D)`` of one district ``D`` of ``G[An(left ∪ right ∪ given)]`` (Richardson 2003).

        Examples
        --------
        >>> g = ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
        >>> g.m_separated({"X"}, {"Y"}, {"M"})
        False
        >>> ADMG(directed=[("X", "M"), ("M", "Y")]).m_separated({"X"}, {"Y"}, {"M"})
        True
        """
        return self.m_separated_mask(self.mask(left), self.mask(right), self.mask(given))

    def m_separated_mask(self, left: int, right: int, given: int) -> bool:
        """Mask form of :meth:`m_separated`."""
        if left & right:
            return False
        anc = self.ancestors_mask(left | right | given)
        districts = self.districts_mask(anc)
        district_of: dict[int, int] = {}
        closure: list[int] = []
        for k, d in enumerate(districts):
            closure.append(d | (self.parents_of_mask(d) & anc))
            for i in iter_bits(d):
                district_of[i] = k
        seen_district: set[int] = set()
        reached = left
        frontier = left
        while frontier:
            grow = 0
            for i in iter_bits(frontier & ~given):
                for k in {district_of[i], *(district_of[c] for c in iter_bits(self._children[i] & anc))}:
                    if k not in seen_district:
                        seen_district.add(k)
                        grow |= closure[k]
            grow &= ~reached
            if grow & right:
                return False
            reached |= grow
            frontier = grow
        return True


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` hook: a key given twice is an error (JSON itself would keep the last silently)."""
    spec: dict[str, Any] = {}
    for key, value in pairs:
        if key in spec:
            raise GraphError(f"the key {key!r} appears twice")
        spec[key] = value
    return spec


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses a mapping key given twice (PyYAML keeps the last silently)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise GraphError(f"the key {key!r} appears twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _topological_sort(names: list[str], parents: list[set[int]]) -> list[int]:
    """Kahn's algorithm, ties broken by first appearance; raises GraphError naming a cycle."""
    n = len(names)
    children: list[list[int]] = [[] for _ in range(n)]
    indegree = [len(p) for p in parents]
    for child, ps in enumerate(parents):
        for p in ps:
            children[p].append(child)
    import heapq

    ready = [i for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in children[i]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, c)
    if len(order) < n:
        cycle = _find_cycle([i for i in range(n) if indegree[i] > 0], parents)
        raise GraphError("directed cycle " + " -> ".join(names[i] for i in cycle) + "; an ADMG must be acyclic")
    return order


def _find_cycle(candidates: list[int], parents: list[set[int]]) -> list[int]:
    remaining = set(candidates)
    node = candidates[0]
    path: list[int] = []
    position: dict[int, int] = {}
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = next(p for p in sorted(parents[node]) if p in remaining)
    cycle = path[position[node] :] + [node]
    return cycle[::-1]


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}] ({len(names)} nodes)"
