"""Exact numeric evaluation of a y0 estimand against an observational :class:`~idgen.scm.Joint`.

The expression tree is evaluated bottom-up into *factors*: arrays whose axes are named by variables.
``P(A | B)`` becomes ``marginal(A ∪ B) / marginal(B)``; products and fractions broadcast over the union
of their operands' axes; ``Sum`` sums its ranges out (a range the summand does not depend on multiplies
by that variable's cardinality, as the plain sum does). Nothing loops over assignments.

Examples
--------
>>> from idgen.scm import Joint
>>> joint = Joint(["X", "Y"], [[0.125, 0.375], [0.25, 0.25]])
>>> evaluate("P(Y | X)", joint, {"X": 0, "Y": 1})
0.75
>>> evaluate_table("Sum[X](P(Y | X) * P(X))", joint, ["Y"]).tolist()
[0.375, 0.625]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
from y0.dsl import Expression, Fraction, One, Probability, Product, Sum, Variable, Zero

from idgen.errors import DataError, PositivityError, QueryError
from idgen.scm import Joint

__all__ = ["evaluate", "evaluate_table", "free_variables"]


@dataclass(frozen=True)
class _Factor:
    """An array whose ``i``-th axis is the variable ``variables[i]``."""

    variables: tuple[str, ...]
    values: np.ndarray

    def aligned(self, variables: Sequence[str]) -> np.ndarray:
        """The values transposed into ``variables`` order, with length-one axes for absent variables."""
        present = [name for name in variables if name in self.variables]
        transposed = np.transpose(self.values, [self.variables.index(name) for name in present])
        return transposed.reshape(
            [transposed.shape[present.index(name)] if name in present else 1 for name in variables]
        )


def free_variables(expression: Expression | str) -> frozenset[str]:
    """Names the value of ``expression`` formally depends on (those not bound by a ``Sum``).

    An estimand may mention a variable that its value does not actually depend on, for example one
    that line 3 of ID added to the intervention set; pass such variables to :func:`evaluate_table`
    too and check that the table is constant along them.

    Examples
    --------
    >>> sorted(free_variables("Sum[Z](P(Y | X, Z) * P(Z))"))
    ['X', 'Y']
    """
    expression = _parsed(expression)
    if isinstance(expression, (One, Zero)):
        return frozenset()
    if isinstance(expression, Probability):
        return frozenset(variable.name for variable in (*expression.children, *expression.parents))
    if isinstance(expression, Product):
        return frozenset().union(*(free_variables(term) for term in expression.expressions))
    if isinstance(expression, Fraction):
        return free_variables(expression.numerator) | free_variables(expression.denominator)
    if isinstance(expression, Sum):
        return free_variables(expression.expression) - {variable.name for variable in expression.ranges}
    raise QueryError(
        f"cannot find the free variables of {type(expression).__name__} expressions such as {expression.to_text()}"
    )


def evaluate_table(expression: Expression | str, joint: Joint, free: Sequence[str]) -> np.ndarray:
    """Evaluate ``expression`` at every assignment of the ``free`` variables at once.

    Parameters
    ----------
    expression : y0 Expression or str
        Built from observational ``Probability`` (with or without conditioning), ``Product``, ``Sum``,
        ``Fraction``, ``One`` and ``Zero``; a string is parsed with :func:`y0.parser.parse_y0`.
    joint : Joint
        The observational distribution the probabilities refer to.
    free : sequence of str
        Variables of the result's axes, in order; they must include every variable of
        :func:`free_variables` and may include others (the result is constant along them).

    Returns
    -------
    numpy.ndarray
        Array of shape ``(cardinality of free[0], …)``.

    Raises
    ------
    QueryError
        On an unknown variable, an interventional or counterfactual probability, an unsupported
        expression type, or a free variable of the expression missing from ``free``.
    PositivityError
        When a conditional or fraction divides by zero.

    Examples
    --------
    >>> from idgen.scm import Joint
    >>> joint = Joint(["X", "Y"], [[0.125, 0.375], [0.25, 0.25]])
    >>> evaluate_table("P(Y | X)", joint, ["X", "Y"]).tolist()
    [[0.25, 0.75], [0.5, 0.5]]
    """
    if isinstance(free, str):
        free = (free,)
    free = tuple(free)
    if len(set(free)) != len(free):
        raise QueryError(f"free variables must be distinct, got {free}")
    shape = tuple(joint.cardinalities[name] for name in _known(free, joint))
    factor = _evaluate(_parsed(expression), joint)
    unbound = [name for name in factor.variables if name not in free]
    if unbound:
        raise QueryError(f"the expression depends on {unbound}, which are not among the free variables {list(free)}")
    return np.array(np.broadcast_to(factor.aligned(free), shape), dtype=np.float64)


def evaluate(expression: Expression | str, joint: Joint, assignment: Mapping[str, int]) -> float:
    """Evaluate ``expression`` at one assignment of its free variables.

    Parameters
    ----------
    expression : y0 Expression or str
        As for :func:`evaluate_table`.
    joint : Joint
        The observational distribution the probabilities refer to.
    assignment : mapping of str to int
        A value for every free variable of ``expression`` (other variables of ``joint`` are ignored).

    Raises
    ------
    QueryError
        As for :func:`evaluate_table`, or when ``assignment`` leaves a free variable unset.
    DataError
        When a value lies outside its variable's range.

    Examples
    --------
    >>> from idgen.scm import Joint
    >>> joint = Joint(["X", "Y"], [[0.125, 0.375], [0.25, 0.25]])
    >>> evaluate("P(X, Y) / P(X)", joint, {"X": 1, "Y": 0})
    0.5
    """
    _known(assignment, joint)
    factor = _evaluate(_parsed(expression), joint)
    cardinalities = joint.cardinalities
    index = []
    for name in factor.variables:
        if name not in assignment:
            raise QueryError(
                f"the expression depends on {name!r}, which the assignment {dict(assignment)} does not set"
            )
        value = assignment[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < cardinalities[name]:
            raise DataError(f"value {value!r} of {name!r} must be an integer in [0, {cardinalities[name]})")
        index.append(int(value))
    return float(factor.values[tuple(index)])


def _parsed(expression: Expression | str) -> Expression:
    if isinstance(expression, str):
        from y0.parser import parse_y0

        return parse_y0(expression)
    return expression


def _known(names: Sequence[str] | Mapping[str, int], joint: Joint) -> list[str]:
    unknown = [name for name in names if name not in joint.cardinalities]
    if unknown:
        raise QueryError(f"unknown variables {unknown}; the distribution has {list(joint.variables)}")
    return list(names)


def _observed_name(variable: Variable, expression: Expression) -> str:
    if type(variable) is not Variable or variable.star is not None:
        raise QueryError(
            f"{expression.to_text()} is not an observational probability ({variable.to_text()}); "
            "evaluate only handles estimands over the observational distribution"
        )
    return variable.name


def _evaluate(expression: Expression, joint: Joint) -> _Factor:
    if isinstance(expression, One):
        return _Factor((), np.ones(()))
    if isinstance(expression, Zero):
        return _Factor((), np.zeros(()))
    if type(expression) is Probability:
        return _probability(expression, joint)
    if isinstance(expression, Product):
        return reduce(_multiply, (_evaluate(term, joint) for term in expression.expressions))
    if isinstance(expression, Fraction):
        return _divide(_evaluate(expression.numerator, joint), _evaluate(expression.denominator, joint), expression)
    if isinstance(expression, Sum):
        return _sum(_evaluate(expression.expression, joint), expression.ranges, joint)
    raise QueryError(f"cannot evaluate {type(expression).__name__} expressions such as {expression.to_text()}")


def _probability(expression: Probability, joint: Joint) -> _Factor:
    """``P(children | parents) = marginal(children ∪ parents) / marginal(parents)``."""
    children = tuple(_observed_name(variable, expression) for variable in expression.children)
    parents = tuple(_observed_name(variable, expression) for variable in expression.parents)
    if set(children) & set(parents):
        raise QueryError(f"{expression.to_text()} conditions a variable on itself")
    variables = tuple(_known(children + parents, joint))
    numerator = _Factor(variables, joint.marginal(variables).table)
    if not parents:
        return numerator
    return _divide(numerator, _Factor(parents, joint.marginal(parents).table), expression)


def _multiply(left: _Factor, right: _Factor) -> _Factor:
    variables = _union(left, right)
    return _Factor(variables, left.aligned(variables) * right.aligned(variables))


def _divide(numerator: _Factor, denominator: _Factor, expression: Expression) -> _Factor:
    variables = _union(numerator, denominator)
    divisor = denominator.aligned(variables)
    if np.any(divisor == 0):
        raise PositivityError(f"division by zero in {expression.to_text()}: the distribution is not positive there")
    return _Factor(variables, numerator.aligned(variables) / divisor)


def _sum(factor: _Factor, ranges: frozenset[Variable], joint: Joint) -> _Factor:
    names = _known([variable.name for variable in ranges], joint)
    cardinalities = joint.cardinalities
    summed = [name for name in names if name in factor.variables]
    values = factor.values.sum(axis=tuple(factor.variables.index(name) for name in summed))
    for name in names:
        if name not in factor.variables:
            values = values * cardinalities[name]
    return _Factor(tuple(name for name in factor.variables if name not in summed), values)


def _union(left: _Factor, right: _Factor) -> tuple[str, ...]:
    return left.variables + tuple(name for name in right.variables if name not in left.variables)
