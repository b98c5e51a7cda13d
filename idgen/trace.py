"""The inspectable record of an identification: a tree of :class:`Step` s, one per call of ID.

Each step is tagged with the line of Shpitser & Pearl's ID algorithm that fired in that call, the
current graph, outcomes and treatments, and the working distribution. The compiler lowers this tree;
people read it with :meth:`Trace.explain`.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from idgen.distribution import Distribution, conditional, marginal
from idgen.expression import Expr, Ratio, product, summation
from idgen.graph import ADMG
from idgen.names import quote, quote_all
from idgen.query import Query

__all__ = ["Step", "Trace", "Hedge", "LINE_TITLES"]

LINE_TITLES = {
    1: "no treatments: marginalize the working distribution",
    2: "drop non-ancestors of the outcomes",
    3: "intervene on variables that cannot affect the outcomes",
    4: "factorize over the districts of G \\ X",
    5: "hedge: not identifiable",
    6: "district of G \\ X is a district of G: chain of conditionals",
    7: "district of G \\ X lies inside a larger district S': recurse on Q[S']",
}

Factors = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class Hedge:
    """The two c-forests that block identification (line 5): ``forest`` F ⊋ ``subforest`` F'."""

    forest: frozenset[str]
    subforest: frozenset[str]

    def __str__(self) -> str:
        return f"F = {{{quote_all(sorted(self.forest))}}}, F' = {{{quote_all(sorted(self.subforest))}}}"


@dataclass(frozen=True)
class Step:
    """One call ``ID(outcomes, treatments, distribution, G[nodes])`` and the line that fired in it.

    Line-specific fields: ``dropped`` (line 2), ``added`` (line 3), ``districts`` (line 4), ``district``
    and ``factors`` (lines 6 and 7; ``factors`` are ``(variable, conditioning set)`` pairs whose
    conditioning sets are Markov pillows), ``superset`` (line 7's S').
    The node sets are :class:`~idgen.graph.NodeSet` s: bitmasks named only when read.
    """

    line: int
    graph: ADMG = field(repr=False)
    nodes: Set[str]
    outcomes: Set[str]
    treatments: Set[str]
    distribution: Distribution
    children: tuple[Step, ...] = ()
    dropped: Set[str] = frozenset()
    added: Set[str] = frozenset()
    districts: tuple[frozenset[str], ...] = ()
    district: frozenset[str] = frozenset()
    superset: frozenset[str] = frozenset()
    factors: Factors = ()

    @property
    def current_graph(self) -> ADMG:
        """``G[nodes]``, the graph this call works on."""
        return self.graph.subgraph(self.nodes)

    def expression(self) -> Expr:
        """This call's return value as an estimand expression over the observational distribution."""
        if self.line == 1:
            return marginal(self.distribution, frozenset(self.outcomes))
        if self.line in (2, 3, 7):
            return self.children[0].expression()
        if self.line == 4:
            summed = self.nodes - self.outcomes - self.treatments
            return summation(summed, product(child.expression() for child in self.children))
        if self.line == 6:
            chain = product(conditional(self.distribution, target, given) for target, given in self.factors)
            return summation(self.district - self.outcomes, chain)
        raise ValueError(f"line {self.line} has no expression")

    def walk(self) -> list[Step]:
        """This step and all below it, depth first."""
        result = [self]
        for child in self.children:
            result.extend(child.walk())
        return result

    def headline(self) -> str:
        """``line k: ID(y; x) on G[...]`` summary used by :meth:`Trace.explain`."""
        treatments = (
            f"do({quote_all(self.graph.ordered(self.graph.mask(self.treatments)))})" if self.treatments else "no do"
        )
        outcomes = quote_all(self.graph.ordered(self.graph.mask(self.outcomes)))
        nodes = quote_all(self.graph.ordered(self.graph.mask(self.nodes)))
        return f"line {self.line}: P({outcomes} | {treatments}) on {{{nodes}}}"

    def details(self) -> list[str]:
        """Line-specific facts, one per text line."""
        names = self.graph.ordered
        mask = self.graph.mask
        if self.line == 1:
            return [
                f"return Σ over {{{quote_all(names(mask(self.nodes - self.outcomes)))}}} of the working distribution"
            ]
        if self.line == 2:
            return [f"drop {{{quote_all(names(mask(self.dropped)))}}} (not ancestors of the outcomes)"]
        if self.line == 3:
            return [
                f"add {{{quote_all(names(mask(self.added)))}}} to the treatments "
                "(no effect on the outcomes once X is cut)"
            ]
        if self.line == 4:
            return ["districts of G \\ X: " + "; ".join("{" + quote_all(names(mask(d))) + "}" for d in self.districts)]
        lines = []
        if self.line == 7:
            lines.append(
                f"S = {{{quote_all(names(mask(self.district)))}}} ⊂ S' = {{{quote_all(names(mask(self.superset)))}}}"
            )
            lines.append("new working distribution Q[S'] (ID-GEN: train this chain, sample D′ from it, recurse on D′):")
        else:
            lines.append(f"S = {{{quote_all(names(mask(self.district)))}}} is a district of G; chain of conditionals:")
        for target, given in self.factors:
            lines.append(f"  P'({quote(target)} | {quote_all(names(mask(given))) or '∅'})")
        return lines


@dataclass(frozen=True)
class Trace:
    """A successful identification of ``query`` in ``graph``.

    ``root`` is the ID call tree for ``P(outcomes ∪ conditions | do(treatments))``; for a conditional
    query (IDC), ``moved`` lists the conditions moved into the treatments by rule 2 of do-calculus and
    the estimand is ``root / Σ_outcomes root``.
    """

    graph: ADMG = field(repr=False)
    query: Query
    root: Step
    moved: tuple[str, ...] = ()

    @property
    def outcomes(self) -> frozenset[str]:
        return frozenset(self.query.outcomes)

    @property
    def treatments(self) -> frozenset[str]:
        """Treatments after the rule-2 moves."""
        return frozenset(self.query.treatments) | frozenset(self.moved)

    @property
    def conditions(self) -> frozenset[str]:
        """Conditions left after the rule-2 moves (empty for a plain ID query)."""
        return frozenset(self.query.conditions) - frozenset(self.moved)

    def steps(self) -> list[Step]:
        """Every step, depth first."""
        return self.root.walk()

    def lines(self) -> list[int]:
        """The ID line numbers fired, in depth-first order.

        Examples
        --------
        >>> import idgen
        >>> g = idgen.ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
        >>> idgen.identify(g, "P(Y | do(X))").lines()
        [3, 7, 2, 6]
        """
        return [step.line for step in self.steps()]

    def expression(self) -> Expr:
        """The estimand in idgen's own expression algebra."""
        joint = self.root.expression()
        if self.conditions:
            joint = Ratio(joint, summation(self.outcomes, joint))
        return joint

    def estimand(self) -> Any:
        """The estimand as a y0 ``Expression``; numerically correct, including after line 7.

        A variable y0 cannot carry (``"In-game Purchases"``, ``do``) appears as its symbol in
        :meth:`y0_symbols`; :meth:`latex` writes the real names."""
        return self.expression().to_y0(self.y0_symbols())

    def y0_symbols(self) -> dict[str, str]:
        """Variable name → the symbol it has in :meth:`estimand` (the graph's symbols)."""
        return self.graph.y0_symbols()

    def latex(self) -> str:
        """The estimand as LaTeX, with the variables' own names."""
        return self.expression().to_latex()

    def free_inputs(self) -> frozenset[str]:
        """Variables the estimand mentions beyond the query's: their value does not change the answer."""
        return self.expression().free_variables() - frozenset(self.query.variables)

    def explain(self) -> str:
        """Readable text of the recursion, one indented block per call."""
        out = [f"query: {self.query}", f"graph: {self.graph}"]
        if self.query.conditions:
            if self.moved:
                out.append(f"IDC rule 2: move {{{quote_all(self.moved)}}} from the conditions into do(·)")
            if self.conditions:
                out.append(
                    f"IDC: identify P({quote_all(sorted(self.outcomes | self.conditions))} | do(...)) "
                    f"then condition on {{{quote_all(sorted(self.conditions))}}}"
                )

        def visit(step: Step, depth: int) -> None:
            pad = "  " * depth
            out.append(f"{pad}{step.headline()}")
            out.extend(f"{pad}    {text}" for text in step.details())
            for child in step.children:
                visit(child, depth + 1)

        visit(self.root, 0)
        out.append(f"lines fired: {' → '.join(str(k) for k in self.lines())}")
        out.append(f"estimand: {self.expression()}")
        return "\n".join(out)
