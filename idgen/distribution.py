"""The working distribution ``P`` that the ID recursion carries, and its marginals and conditionals.

ID's lines 6 and 7 read conditionals ``P(v_i | v_π^(i-1))`` of the *current* distribution, which after
line 7 is no longer the observational one but the kernel ``Q[S'] = Π_{V_i ∈ S'} P(v_i | v_π^(i-1))``
with the treatments outside ``S'`` held fixed. Writing observational conditionals there instead is the
bug that makes y0 0.2.11 wrong on the napkin graph. Here the invariant is explicit: every step owns a
:class:`Distribution`, and conditionals are always computed *from it*:

:class:`Observational`
    the data's joint, marginalized to ``variables`` (line 2 only shrinks ``variables``);
:class:`Kernel`
    ``Π_i base(target_i | given_i)`` over the targets, with ``context`` variables held at fixed values
    (line 7). In ID-GEN this is exactly the synthetic dataset D′ sampled from the trained sub-network.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from idgen.expression import Expr, Prob, Ratio, product, summation

__all__ = ["Distribution", "Observational", "Kernel", "marginal", "conditional"]


@dataclass(frozen=True)
class Observational:
    """The observational joint of the data, marginalized to ``variables``.

    Examples
    --------
    >>> str(conditional(Observational(frozenset({"X", "Y"})), "Y", frozenset({"X"})))
    'P(Y | X)'
    """

    variables: Set[str]
    context: frozenset[str] = frozenset()

    def describe(self) -> str:
        return f"P({', '.join(sorted(self.variables))})"


@dataclass(frozen=True)
class Kernel:
    """``Π_i base(target_i | given_i)``: a distribution over ``variables`` given fixed ``context``.

    ``factors`` are ``(target, given)`` pairs in topological order; each ``given`` holds earlier targets
    and context variables only. ``variables`` starts as every target and shrinks at line 2 (the dropped
    targets are summed out).
    """

    base: Distribution
    factors: tuple[tuple[str, frozenset[str]], ...]
    context: frozenset[str]
    variables: Set[str]

    def describe(self) -> str:
        fixed = f"; fixed {', '.join(sorted(self.context))}" if self.context else ""
        chain = " ".join(f"P'({t}|{','.join(sorted(g))})" if g else f"P'({t})" for t, g in self.factors)
        dropped = frozenset(t for t, _ in self.factors) - self.variables
        summed = f"; summed over {', '.join(sorted(dropped))}" if dropped else ""
        return f"Q[{', '.join(t for t, _ in self.factors)}] = {chain}{fixed}{summed}"

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.factors)


Distribution = Observational | Kernel


def restrict(distribution: Distribution, variables: Set[str]) -> Distribution:
    """Line 2's ``Σ_{V \\ variables} P``: the same distribution over fewer variables."""
    if isinstance(distribution, Observational):  # written out: dataclasses.replace costs more than the call
        return Observational(variables, distribution.context)
    return Kernel(distribution.base, distribution.factors, distribution.context, variables)


def marginal(distribution: Distribution, keep: frozenset[str]) -> Expr:
    """Expression of ``Σ_{variables \\ keep} P`` (a function of ``keep`` and the context).

    Examples
    --------
    >>> base = Observational(frozenset({"A", "B", "C"}))
    >>> kernel = Kernel(base, (("A", frozenset()), ("B", frozenset({"A"})), ("C", frozenset({"B"}))),
    ...                 frozenset(), frozenset({"A", "B", "C"}))
    >>> str(marginal(kernel, frozenset({"B"})))
    'Sum[A](P(A) * P(B | A))'
    """
    if isinstance(distribution, Observational):
        return Prob(keep)
    summed, factors = _kernel_terms(distribution, keep)
    return summation(summed, product(factors))


def conditional(distribution: Distribution, target: str, given: frozenset[str]) -> Expr:
    """Expression of ``P(target | given)`` under ``distribution`` (context variables may be in ``given``).

    For a kernel the ratio of two marginals is simplified by cancelling the factors the two share, so
    a factor of the kernel's own chain comes back as that factor.
    """
    if isinstance(distribution, Observational):
        return Prob(frozenset({target}), given - distribution.context)
    random_given = given - distribution.context
    numerator_summed, numerator = _kernel_terms(distribution, random_given | {target})
    denominator_summed, denominator = _kernel_terms(distribution, random_given)
    top = summation(numerator_summed, product(numerator))
    bottom = summation(denominator_summed, product(denominator))
    top_factors = list(_factors(top))
    bottom_factors = list(_factors(bottom))
    for factor in list(bottom_factors):
        if factor in top_factors:
            top_factors.remove(factor)
            bottom_factors.remove(factor)
    if not bottom_factors:
        return product(top_factors)
    return Ratio(product(top_factors), product(bottom_factors))


def _factors(expression: Expr) -> tuple[Expr, ...]:
    from idgen.expression import Product

    return expression.factors if isinstance(expression, Product) else (expression,)


def _kernel_terms(kernel: Kernel, keep: frozenset[str]) -> tuple[frozenset[str], list[Expr]]:
    """Factors needed for the marginal of ``kernel`` on ``keep``, and the variables to sum.

    Walking the chain backwards, a factor is needed when its target is kept or appears in the
    conditioning set of a needed later factor; unneeded trailing factors sum to one.
    """
    needed = set(keep)
    chosen: list[tuple[str, frozenset[str]]] = []
    for target, given in reversed(kernel.factors):
        if target in needed:
            chosen.append((target, given))
            needed |= given - kernel.context
    chosen.reverse()
    summed = frozenset(t for t, _ in chosen) - keep
    return summed, [conditional(kernel.base, t, g) for t, g in chosen]
