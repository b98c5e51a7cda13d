"""Image domains in the plan: one autoencoder task per domain, ahead of the factors that use its latents."""

from __future__ import annotations

import pytest

from compiler import Plan, compile, compile_many
from idgen.errors import IdgenError
from idgen.graph import ADMG

NAPKIN = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
DOMAINS = {"mnist": ["W1", "X", "Y"]}


def napkin_plan() -> Plan:
    return compile(NAPKIN, "P(Y | do(X))", image_domains=DOMAINS)


def test_one_autoencoder_task_comes_first() -> None:
    plan = napkin_plan()
    assert [t.describe() for t in plan.tasks] == [
        "autoencoder(W1, X, Y)",
        "P(W1)",
        "P(X | W1, W2)",
        "P(Y | W1, W2, X)",
        "P(Y | X)",
    ]
    assert plan.tasks[0].kind == "autoencoder" and plan.tasks[0].conditioning == ()


def test_every_image_factor_depends_on_the_autoencoder() -> None:
    plan = napkin_plan()
    autoencoder = plan.tasks[0].id
    dependencies = plan.dependencies()
    assert all(autoencoder in dependencies[task.id] for task in plan.tasks[1:])
    assert plan.stages()[0] == [autoencoder]


def test_factor_ids_do_not_change_with_domains() -> None:
    plain = compile(NAPKIN, "P(Y | do(X))")
    assert [t.id for t in napkin_plan().tasks[1:]] == [t.id for t in plain.tasks]


def test_plan_text_shows_the_autoencoder_and_the_latents() -> None:
    text = napkin_plan().as_text()
    autoencoder = napkin_plan().tasks[0].id
    assert f"[{autoencoder}] autoencoder(W1, X, Y)  trains on D (observed data)  — image domain 'mnist'" in text
    assert "P(Y | X)  trains on D′ [" in text and f"in the latents of [{autoencoder}]" in text


def test_dot_draws_the_autoencoder_and_its_latent_edges() -> None:
    dot = napkin_plan().to_dot()
    assert "shape=box3d" in dot and 'label="latents"' in dot


def test_json_round_trip_keeps_the_kind() -> None:
    plan = napkin_plan()
    again = Plan.from_json(plan.dumps())
    assert again == plan and again.tasks[0].kind == "autoencoder"


def test_png_renders_with_an_autoencoder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    napkin_plan().to_png(str(tmp_path / "plan.png"))
    assert (tmp_path / "plan.png").stat().st_size > 1000


def test_a_domain_shared_by_two_queries_is_one_task() -> None:
    plan = compile_many(NAPKIN, ["P(Y | do(X))", "P(Y | do(W2))"], image_domains=DOMAINS)
    assert sum(task.kind == "autoencoder" for task in plan.tasks) == 1


def test_a_baseline_graph_gets_the_same_autoencoder_task() -> None:
    baseline = compile(ADMG(directed=[("X", "Y")]), "P(Y | do(X))", image_domains=DOMAINS)
    assert baseline.tasks[0].id == napkin_plan().tasks[0].id


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ({"a": ["X"], "b": ["X", "Y"]}, "in two image domains"),
        ({"a": []}, "lists no variables"),
        ({"": ["X"]}, "non-empty name"),
        ({"a": "X"}, "must list its variables"),
        (["X"], "must map a domain name"),
    ],
)
def test_bad_domains_are_one_line_errors(domains: object, message: str) -> None:
    with pytest.raises(IdgenError, match=message):
        compile(NAPKIN, "P(Y | do(X))", image_domains=domains)  # type: ignore[arg-type]
