"""Estimand expressions: a small immutable algebra over observational probabilities.

The ID recursion builds these cheaply (no y0 objects on the hot path); :meth:`Expr.to_y0` converts the
finished estimand into a y0 ``Expression`` for printing, LaTeX and interoperability.

Nodes: :class:`Prob` ``P(A | B)``, :class:`Sum` ``Σ_V body``, :class:`Product`, :class:`Ratio`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from idgen.names import latex_name, quote_all, y0_symbols

__all__ = ["Expr", "Prob", "Sum", "Product", "Ratio", "ONE", "product", "summation"]


class Expr:
    """Base class of estimand expressions."""

    def free_variables(self) -> frozenset[str]:
        """Variables the value depends on (not bound by a sum)."""
        raise NotImplementedError

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        """The same expression as a y0 ``Expression``.

        ``symbols`` maps each variable name to its y0 symbol (default: :func:`idgen.names.y0_symbols` of the
        expression's variables, which keeps every identifier y0 can carry as it is)."""
        raise NotImplementedError

    def to_latex(self) -> str:
        """LaTeX of the expression with the variables' own names (``\\text{In-game Purchases}``)."""
        raise NotImplementedError

    def all_variables(self) -> frozenset[str]:
        """Every variable the expression mentions, bound or free."""
        raise NotImplementedError

    def size(self) -> int:
        """Number of probability terms (a measure of estimand length)."""
        raise NotImplementedError


def _names(variables: Iterable[str]) -> str:
    return quote_all(sorted(variables))


def _latex_names(variables: Iterable[str]) -> str:
    return ", ".join(latex_name(v) for v in sorted(variables))


def _symbols(expression: Expr, symbols: Mapping[str, str] | None) -> Mapping[str, str]:
    return symbols if symbols is not None else y0_symbols(sorted(expression.all_variables()))


def _y0_variables(variables: Iterable[str], symbols: Mapping[str, str]) -> tuple[Any, ...]:
    from y0.dsl import Variable

    return tuple(Variable(symbols.get(v, v)) for v in sorted(variables))


@dataclass(frozen=True)
class Prob(Expr):
    """Observational ``P(variables | given)``.

    Examples
    --------
    >>> str(Prob(frozenset({"Y"}), frozenset({"X", "W"})))
    'P(Y | W, X)'
    """

    variables: frozenset[str]
    given: frozenset[str] = frozenset()

    def __str__(self) -> str:
        given = f" | {_names(self.given)}" if self.given else ""
        return f"P({_names(self.variables)}{given})"

    def free_variables(self) -> frozenset[str]:
        return self.variables | self.given

    def all_variables(self) -> frozenset[str]:
        return self.variables | self.given

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        from y0.dsl import Distribution, P

        symbols = _symbols(self, symbols)
        return P(
            Distribution(children=_y0_variables(self.variables, symbols), parents=_y0_variables(self.given, symbols))
        )

    def to_latex(self) -> str:
        given = rf" \mid {_latex_names(self.given)}" if self.given else ""
        return f"P({_latex_names(self.variables)}{given})"

    def size(self) -> int:
        return 1


@dataclass(frozen=True)
class Product(Expr):
    """Product of factors (the empty product is one)."""

    factors: tuple[Expr, ...]

    def __str__(self) -> str:
        if not self.factors:
            return "1"
        return " * ".join(f"({f})" if isinstance(f, Ratio) else str(f) for f in self.factors)

    def free_variables(self) -> frozenset[str]:
        return frozenset().union(*(f.free_variables() for f in self.factors))

    def all_variables(self) -> frozenset[str]:
        return frozenset().union(*(f.all_variables() for f in self.factors))

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        from y0.dsl import One
        from y0.dsl import Product as Y0Product

        if not self.factors:
            return One()
        symbols = _symbols(self, symbols)
        return Y0Product.safe([f.to_y0(symbols) for f in self.factors])

    def to_latex(self) -> str:
        if not self.factors:
            return "1"
        return " ".join(
            f"\\left({f.to_latex()}\\right)" if isinstance(f, Ratio) else f.to_latex() for f in self.factors
        )

    def size(self) -> int:
        return sum(f.size() for f in self.factors)


ONE = Product(())


@dataclass(frozen=True)
class Sum(Expr):
    """``Σ_{over} body``."""

    over: frozenset[str]
    body: Expr

    def __str__(self) -> str:
        return f"Sum[{_names(self.over)}]({self.body})"

    def free_variables(self) -> frozenset[str]:
        return self.body.free_variables() - self.over

    def all_variables(self) -> frozenset[str]:
        return self.body.all_variables() | self.over

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        from y0.dsl import Sum as Y0Sum

        symbols = _symbols(self, symbols)
        return Y0Sum.safe(self.body.to_y0(symbols), _y0_variables(self.over, symbols))

    def to_latex(self) -> str:
        return f"\\sum_{{{_latex_names(self.over)}}} {self.body.to_latex()}"

    def size(self) -> int:
        return self.body.size()


@dataclass(frozen=True)
class Ratio(Expr):
    """``numerator / denominator``."""

    numerator: Expr
    denominator: Expr

    def __str__(self) -> str:
        return f"[{self.numerator}] / [{self.denominator}]"

    def free_variables(self) -> frozenset[str]:
        return self.numerator.free_variables() | self.denominator.free_variables()

    def all_variables(self) -> frozenset[str]:
        return self.numerator.all_variables() | self.denominator.all_variables()

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        from y0.dsl import Fraction

        symbols = _symbols(self, symbols)
        return Fraction(self.numerator.to_y0(symbols), self.denominator.to_y0(symbols))

    def to_latex(self) -> str:
        return f"\\frac{{{self.numerator.to_latex()}}}{{{self.denominator.to_latex()}}}"

    def size(self) -> int:
        return self.numerator.size() + self.denominator.size()


def product(factors: Iterable[Expr]) -> Expr:
    """Flattened product; a single factor is returned as is.

    Examples
    --------
    >>> str(product([Prob(frozenset({"X"})), product([Prob(frozenset({"Y"}))])]))
    'P(X) * P(Y)'
    """
    flat: list[Expr] = []
    for factor in factors:
        if isinstance(factor, Product):
            flat.extend(factor.factors)
        else:
            flat.append(factor)
    return flat[0] if len(flat) == 1 else Product(tuple(flat))


def summation(over: Iterable[str], body: Expr) -> Expr:
    """``Σ_over body``, pulling out every factor of a product that mentions no summed variable.

    Examples
    --------
    >>> a, b = Prob(frozenset({"A"})), Prob(frozenset({"B"}), frozenset({"A"}))
    >>> str(summation({"A"}, product([a, b, Prob(frozenset({"C"}))])))
    'P(C) * Sum[A](P(A) * P(B | A))'
    """
    over = frozenset(over) & body.free_variables()
    if not over:
        return body
    factors = body.factors if isinstance(body, Product) else (body,)
    inside = [f for f in factors if f.free_variables() & over]
    outside = [f for f in factors if not f.free_variables() & over]
    summed = Sum(over, product(inside))
    return product([*outside, summed]) if outside else summed
