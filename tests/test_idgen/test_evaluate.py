"""Tests of the numeric evaluation of y0 expressions against exact observational tables."""

from __future__ import annotations

import numpy as np
import pytest
from y0.dsl import One, P, Product, Sum, Variable, Zero

from idgen.errors import PositivityError, QueryError
from idgen.evaluate import evaluate, evaluate_table, free_variables
from idgen.graph import ADMG
from idgen.scm import DiscreteSCM, Joint

X, Y, Z = Variable("X"), Variable("Y"), Variable("Z")
FRONTDOOR = ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
NAPKIN = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])


@pytest.fixture(scope="module")
def joint() -> Joint:
    """A strictly positive joint over X (2 values), Y (3 values) and Z (2 values)."""
    table = np.random.default_rng(0).dirichlet(np.ones(12)).reshape(2, 3, 2)
    return Joint(["X", "Y", "Z"], table)


def test_conditional_is_the_ratio_of_marginals(joint: Joint) -> None:
    pair = joint.marginal(["X", "Y"]).table
    expected = pair / pair.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(evaluate_table(P(Y | X), joint, ["X", "Y"]), expected)


def test_axes_follow_the_free_order(joint: Joint) -> None:
    forward = evaluate_table(P(Y | X), joint, ["X", "Y"])
    np.testing.assert_allclose(evaluate_table(P(Y | X), joint, ["Y", "X"]), forward.T)


def test_sum_of_a_product_marginalizes(joint: Joint) -> None:
    expression = Sum.safe(Product.safe([P(Y | X), P(X)]), [X])
    np.testing.assert_allclose(evaluate_table(expression, joint, ["Y"]), joint.marginal(["Y"]).table)


def test_fraction_divides(joint: Joint) -> None:
    ratio = evaluate_table(P(X, Y) / P(X), joint, ["X", "Y"])
    np.testing.assert_allclose(ratio, evaluate_table(P(Y | X), joint, ["X", "Y"]))


def test_one_and_zero_are_constants(joint: Joint) -> None:
    assert evaluate(One(), joint, {}) == 1.0
    assert evaluate(Zero(), joint, {}) == 0.0


def test_sum_over_an_absent_variable_multiplies_by_its_cardinality(joint: Joint) -> None:
    assert evaluate(Sum.safe(One(), [Y]), joint, {}) == 3.0


def test_free_variables_not_in_the_expression_broadcast(joint: Joint) -> None:
    table = evaluate_table(P(X), joint, ["X", "Z"])
    np.testing.assert_allclose(table[:, 0], table[:, 1])


def test_scalar_evaluation_matches_the_table(joint: Joint) -> None:
    expression = "Sum[Z](P(Y | X, Z) * P(Z))"
    table = evaluate_table(expression, joint, ["X", "Y"])
    assert evaluate(expression, joint, {"X": 1, "Y": 2}) == pytest.approx(table[1, 2])


def test_frontdoor_formula_equals_the_exact_intervention() -> None:
    scm = DiscreteSCM.random(FRONTDOOR, cardinality={"X": 2, "M": 3, "Y": 2}, seed=11)
    # the inner sum rebinds X, as in the estimands y0 writes
    formula = "Sum[M](P(M | X) * Sum[X](P(X) * P(Y | X, M)))"
    table = evaluate_table(formula, scm.observational(), ["X", "Y"])
    for x in range(2):
        np.testing.assert_allclose(table[x], scm.interventional(["Y"], do={"X": x}).table, atol=1e-9)


def test_napkin_formula_equals_the_exact_intervention_for_every_w2() -> None:
    scm = DiscreteSCM.random(NAPKIN, cardinality={"W1": 3, "W2": 2, "X": 2, "Y": 2}, seed=5)
    formula = "Sum[W1](P(X, Y | W1, W2) * P(W1)) / Sum[W1](P(X | W1, W2) * P(W1))"
    table = evaluate_table(formula, scm.observational(), ["X", "Y", "W2"])
    for x in range(2):
        truth = scm.interventional(["Y"], do={"X": x}).table
        for w2 in range(2):
            np.testing.assert_allclose(table[x, :, w2], truth, atol=1e-9)


def test_unknown_variable_in_the_expression_raises(joint: Joint) -> None:
    with pytest.raises(QueryError, match="unknown variables \\['Q'\\]"):
        evaluate_table("P(Q | X)", joint, ["X", "Q"])


def test_unknown_free_variable_raises(joint: Joint) -> None:
    with pytest.raises(QueryError, match="unknown variables"):
        evaluate_table(P(X), joint, ["X", "Q"])


def test_interventional_probability_raises(joint: Joint) -> None:
    with pytest.raises(QueryError, match="not an observational probability"):
        evaluate_table(P(Y @ X), joint, ["X", "Y"])


def test_free_variable_missing_from_free_raises(joint: Joint) -> None:
    with pytest.raises(QueryError, match="depends on \\['X'\\]"):
        evaluate_table(P(Y | X), joint, ["Y"])


def test_assignment_missing_a_free_variable_raises(joint: Joint) -> None:
    with pytest.raises(QueryError, match="does not set"):
        evaluate(P(Y | X), joint, {"Y": 0})


def test_division_by_zero_raises() -> None:
    degenerate = Joint(["X", "Y"], [[0.5, 0.5], [0.0, 0.0]])
    with pytest.raises(PositivityError, match="division by zero"):
        evaluate_table(P(Y | X), degenerate, ["X", "Y"])


def test_free_variables_drop_summed_ranges() -> None:
    assert free_variables(Sum.safe(P(Y | X, Z) * P(Z), [Z]) / P(X)) == {"X", "Y"}
