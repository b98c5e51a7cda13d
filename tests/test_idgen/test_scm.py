"""Tests of the exact ground truth: random graphs, discrete SCMs and probability tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idgen.errors import DataError, GraphError, PositivityError, QueryError
from idgen.graph import ADMG
from idgen.scm import DiscreteSCM, Joint, random_admg

BACKDOOR = ADMG(directed=[("Z", "X"), ("Z", "Y"), ("X", "Y")])
BOW = ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")])
NAPKIN = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])


def _shared_cause_scm(prior: tuple[float, float] = (0.5, 0.5)) -> DiscreteSCM:
    """X = U and Y = U for a coin U: Y copies X observationally but ignores it causally."""
    copy = np.eye(2)
    return DiscreteSCM(BOW, cpts={"X": copy, "Y": np.stack([copy, copy])}, latent_priors={("X", "Y"): prior})


# ---------------------------------------------------------------------- random_admg
def test_random_admg_is_deterministic_per_seed() -> None:
    assert random_admg(8, seed=5) == random_admg(8, seed=5)
    assert any(random_admg(8, seed=5) != random_admg(8, seed=seed) for seed in range(6, 10))


def test_random_admg_names_every_node() -> None:
    graph = random_admg(6, p_directed=0.0, p_bidirected=0.0, seed=1)
    assert sorted(graph.nodes) == [f"V{i}" for i in range(6)]
    assert graph.directed == [] and graph.bidirected == []


def test_random_admg_with_no_nodes_is_empty() -> None:
    assert len(random_admg(0)) == 0


def test_random_admg_rejects_a_probability_outside_the_unit_interval() -> None:
    with pytest.raises(GraphError, match="p_directed"):
        random_admg(3, p_directed=1.5)


# ---------------------------------------------------------------------- DiscreteSCM structure
def test_every_bidirected_edge_is_a_latent() -> None:
    scm = DiscreteSCM.random(NAPKIN, latent_cardinality=3, seed=0)
    assert scm.latents == ("U[W1,X]", "U[W1,Y]")
    assert scm.cpt_variables("Y") == ("X", "U[W1,Y]", "Y")
    assert scm.cpt("U[W1,X]").shape == (3,)


def test_latents_of_edges_whose_names_hold_commas_are_distinct() -> None:
    graph = ADMG(directed=[("A,B", "C")], bidirected=[("A,B", "C"), ("A", "B,C")], nodes=["A", "B,C"])
    scm = DiscreteSCM.random(graph, seed=0)
    assert len(set(scm.latents)) == 2


def test_a_latent_never_takes_an_observed_nodes_name() -> None:
    graph = ADMG(directed=[("X", "Y"), ("U[X,Y]", "Y")], bidirected=[("X", "Y")])
    scm = DiscreteSCM.random(graph, seed=0)
    assert scm.latents == ("U[X,Y]′",)
    assert scm.cpt_variables("Y") == ("X", "U[X,Y]", "U[X,Y]′", "Y")


def test_random_scm_is_deterministic_per_seed() -> None:
    first = DiscreteSCM.random(NAPKIN, seed=4).observational()
    second = DiscreteSCM.random(NAPKIN, seed=4).observational()
    assert first.tvd(second) == 0.0


def test_random_scm_has_a_strictly_positive_observational_joint() -> None:
    scm = DiscreteSCM.random(NAPKIN, cardinality={"W1": 3, "W2": 2, "X": 2, "Y": 3}, seed=2, concentration=0.3)
    joint = scm.observational()
    assert joint.table.shape == (3, 2, 2, 3)
    assert joint.table.min() > 0
    assert joint.table.sum() == pytest.approx(1.0)


def test_constructor_rejects_a_table_of_the_wrong_shape() -> None:
    with pytest.raises(DataError, match="table of Y"):
        DiscreteSCM(
            BOW,
            cpts={"X": np.full((2, 2), 0.5), "Y": np.full((2, 2), 0.5)},
            latent_priors={("X", "Y"): [0.5, 0.5]},
        )


def test_constructor_requires_a_prior_for_every_latent() -> None:
    with pytest.raises(GraphError, match="no prior"):
        DiscreteSCM(BOW, cpts={"X": np.full((2, 2), 0.5), "Y": np.full((2, 2, 2), 0.5)}, latent_priors={})


# ---------------------------------------------------------------------- exact distributions
def test_intervention_equals_conditioning_without_confounding() -> None:
    graph = random_admg(6, p_bidirected=0.0, seed=3)
    scm = DiscreteSCM.random(graph, seed=3)
    child = graph.nodes[-1]
    parents = {parent: 1 for parent in graph.parents(child)}
    assert parents, "the seed should give the last node a parent"
    effect = scm.interventional([child], do=parents)
    conditional = scm.observational().marginal([child, *parents]).condition(parents)
    assert effect.tvd(conditional) < 1e-12


def test_backdoor_adjustment_by_hand_equals_the_intervention() -> None:
    scm = DiscreteSCM.random(BACKDOOR, cardinality={"Z": 3, "X": 2, "Y": 2}, seed=7)
    joint = scm.observational().marginal(["Z", "X", "Y"]).table
    y_given_x_z = joint / joint.sum(axis=2, keepdims=True)
    adjusted = np.einsum("zxy,z->xy", y_given_x_z, joint.sum(axis=(1, 2)))
    for x in range(2):
        np.testing.assert_allclose(scm.interventional(["Y"], do={"X": x}).table, adjusted[x], atol=1e-12)


def test_confounding_separates_intervention_from_conditioning() -> None:
    scm = _shared_cause_scm()
    assert scm.observational().condition({"X": 1}).probability({"Y": 1}) == pytest.approx(1.0)
    assert scm.interventional(["Y"], do={"X": 1}).probability({"Y": 1}) == pytest.approx(0.5)


def test_given_conditions_the_interventional_distribution() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=1)
    joint_effect = scm.interventional(["Y", "W2"], do={"X": 0})
    conditional_effect = scm.interventional(["Y"], do={"X": 0}, given={"W2": 1})
    assert conditional_effect.tvd(joint_effect.condition({"W2": 1})) < 1e-12


def test_an_intervened_outcome_is_a_point_mass() -> None:
    scm = DiscreteSCM.random(BACKDOOR, seed=0)
    assert scm.interventional(["X"], do={"X": 1}).table.tolist() == [0.0, 1.0]


def test_interventional_rejects_an_unknown_node() -> None:
    with pytest.raises(QueryError, match="unknown outcome node 'Q'"):
        DiscreteSCM.random(BOW).interventional(["Q"], do={"X": 0})


def test_interventional_rejects_an_out_of_range_value() -> None:
    with pytest.raises(DataError, match="value 2 of 'X'"):
        DiscreteSCM.random(BOW).interventional(["Y"], do={"X": 2})


def test_conditioning_on_an_impossible_event_raises() -> None:
    with pytest.raises(PositivityError, match="probability zero"):
        _shared_cause_scm(prior=(1.0, 0.0)).interventional(["Y"], do={}, given={"X": 1})


def test_the_empty_graph_has_the_trivial_joint() -> None:
    joint = DiscreteSCM.random(ADMG()).observational()
    assert joint.variables == () and joint.probability({}) == 1.0


# ---------------------------------------------------------------------- sampling
def test_sample_frequencies_approach_the_exact_joint() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=0)
    frame = scm.sample(100_000, seed=1)
    empirical = Joint.from_samples(frame, NAPKIN.nodes, scm.cardinalities)
    assert empirical.tvd(scm.observational()) < 0.02


def test_sample_under_do_approaches_the_interventional_joint() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=0)
    frame = scm.sample(100_000, seed=2, do={"X": 1})
    empirical = Joint.from_samples(frame, ["W1", "Y"], scm.cardinalities)
    assert empirical.tvd(scm.interventional(["W1", "Y"], do={"X": 1})) < 0.02


def test_sample_has_constant_do_columns_and_int64_observed_columns() -> None:
    scm = DiscreteSCM.random(NAPKIN, cardinality=3, seed=0)
    frame = scm.sample(500, seed=0, do={"W2": 2})
    assert list(frame.columns) == list(NAPKIN.nodes)
    assert (frame.dtypes == np.int64).all()
    assert set(frame["W2"]) == {2}
    assert frame.to_numpy().min() >= 0 and frame.to_numpy().max() <= 2


def test_sample_is_deterministic_per_seed() -> None:
    scm = DiscreteSCM.random(BOW, seed=0)
    pd.testing.assert_frame_equal(scm.sample(50, seed=9), scm.sample(50, seed=9))


# ---------------------------------------------------------------------- Joint
def test_joint_marginal_follows_the_requested_order() -> None:
    joint = Joint(["X", "Y", "Z"], np.arange(8).reshape(2, 2, 2) / 28)
    expected = (np.arange(8).reshape(2, 2, 2) / 28).sum(axis=1).T
    np.testing.assert_allclose(joint.marginal(["Z", "X"]).table, expected)


def test_joint_tvd_ignores_axis_order() -> None:
    table = np.array([[0.1, 0.2], [0.3, 0.4]])
    assert Joint(["X", "Y"], table).tvd(Joint(["Y", "X"], table.T)) == 0.0


def test_joint_from_samples_counts_frequencies() -> None:
    frame = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 1, 1]})
    assert Joint.from_samples(frame, ["X", "Y"], 2).table.tolist() == [[0.25, 0.25], [0.0, 0.5]]


def test_joint_from_samples_rejects_out_of_range_codes() -> None:
    with pytest.raises(DataError, match="column 'X'"):
        Joint.from_samples({"X": np.array([0, 3])}, ["X"], 2)


def test_joint_rejects_an_unnormalized_table() -> None:
    with pytest.raises(DataError, match="sums to"):
        Joint(["X"], [0.5, 0.6])


def test_joint_probability_of_a_partial_assignment_sums_the_rest() -> None:
    joint = Joint(["X", "Y"], [[0.1, 0.2], [0.3, 0.4]])
    assert joint.probability({"X": 1}) == pytest.approx(0.7)


def test_joint_rejects_an_unknown_variable() -> None:
    with pytest.raises(QueryError, match="unknown variable 'Q'"):
        Joint(["X"], [0.5, 0.5]).marginal(["Q"])
