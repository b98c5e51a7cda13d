"""Plan execution and the sampling network: resume, persistence, determinism and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import idgen
from idgen.errors import DataError, IdgenError, PositivityError
from idgen.runtime.support import PositivityWarning
from idgen.scm import DiscreteSCM, Joint
from trainers.tabular import TabularModel

NAPKIN = idgen.ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
LINE_3 = idgen.ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("Z", "X")])


@pytest.fixture(scope="module")
def napkin_data() -> pd.DataFrame:
    return DiscreteSCM.random(NAPKIN, seed=1).sample(20_000, seed=1)


@pytest.fixture
def napkin_network(napkin_data: pd.DataFrame, tmp_path):  # type: ignore[no-untyped-def]
    return idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, backend="tabular", workdir=tmp_path)


def test_same_seed_same_samples(napkin_network) -> None:  # type: ignore[no-untyped-def]
    first = napkin_network.sample(1000, do={"X": 1}, seed=7)
    assert first.equals(napkin_network.sample(1000, do={"X": 1}, seed=7))
    assert not first.equals(napkin_network.sample(1000, do={"X": 1}, seed=8))


def test_batches_do_not_change_the_distribution(napkin_network) -> None:  # type: ignore[no-untyped-def]
    whole = napkin_network.sample(20_000, do={"X": 0}, seed=1)["Y"].mean()
    batched = napkin_network.sample(20_000, do={"X": 0}, seed=1, batch_size=3000)["Y"].mean()
    assert abs(whole - batched) < 0.03


def test_save_load_round_trip_gives_identical_samples(napkin_network, tmp_path) -> None:  # type: ignore[no-untyped-def]
    napkin_network.save(tmp_path / "network")
    loaded = idgen.SamplingNetwork.load(tmp_path / "network")
    assert loaded.sample(500, do={"X": 1}, seed=3).equals(napkin_network.sample(500, do={"X": 1}, seed=3))


def test_saved_network_has_no_pickle(napkin_network, tmp_path) -> None:  # type: ignore[no-untyped-def]
    napkin_network.save(tmp_path / "network")
    suffixes = {p.suffix for p in (tmp_path / "network").rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors"}


def test_loading_a_folder_without_network_fails_clearly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdgenError, match="network.json missing"):
        idgen.SamplingNetwork.load(tmp_path)


def test_interrupted_fit_resumes_without_refitting_finished_tasks(napkin_data, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    calls: list[tuple[str, ...]] = []
    original = TabularModel.fit

    def failing_fit(self, table, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(self.targets + self.conditioning)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process is stopped during the third task
        return original(self, table, **kwargs)

    monkeypatch.setattr(TabularModel, "fit", failing_fit)
    with pytest.raises(KeyboardInterrupt):
        idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    finished = calls[:2]
    calls.clear()
    monkeypatch.setattr(
        TabularModel,
        "fit",
        lambda self, table, **kw: (calls.append(self.targets + self.conditioning), original(self, table, **kw))[1],
    )
    idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    assert not set(finished) & set(calls)
    assert len(calls) == len(plan.tasks) - 2


def test_refit_on_a_finished_workdir_trains_nothing(napkin_data, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    monkeypatch.setattr(TabularModel, "fit", lambda *a, **k: pytest.fail("refitted a finished task"))
    network = idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    assert len(network.sample(10, do={"X": 0})) == 10


def test_new_data_in_the_same_workdir_is_refitted(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    other = napkin_data.assign(Y=1 - napkin_data["Y"])
    network = idgen.fit(plan, other, backend="tabular", workdir=tmp_path)
    flipped = network.sample(5000, do={"X": 0}, seed=0)["Y"].mean()
    assert len(list((tmp_path / "tasks").glob("*/factor.json"))) > len(plan.tasks)
    assert 0 <= flipped <= 1


def test_free_inputs_are_drawn_from_data_and_do_not_bias(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Markov pillows keep line-3 variables out of compiled networks, so wire one by hand: Y ~ P(Y | X, Z)
    # with Z a free input; in this graph Y ⊥ Z | X, so feeding Z from the data must not bias P(Y | do(X)).
    from compiler.plan import INPUT, Network, Node, QueryNetwork
    from idgen.data import as_table, infer_types
    from idgen.runtime import SamplingNetwork

    scm = DiscreteSCM.random(LINE_3, seed=4, concentration=0.5)
    table = as_table(scm.sample(50_000, seed=0))
    types = infer_types(table)
    model = TabularModel(["Y"], ["X", "Z"], types)
    model.fit(table)
    node = Node("Y", ("Y",), "t", (("X", INPUT + "X"), ("Z", INPUT + "Z")))
    item = QueryNetwork("P(Y | do(X))", Network(("X", "Z"), (node,), (("Y", "Y"),)), ("X",), (), (), ("Z",), (3, 6))
    network = SamplingNetwork(item, {"t": model}, types, {"Z": table["Z"][:4096]})
    for x in (0, 1):
        sampled = Joint.from_samples(network.sample(30_000, do={"X": x}, seed=x), ["Y"], {"Y": 2})
        assert sampled.tvd(scm.interventional(["Y"], do={"X": x})) < 0.02


def test_missing_intervention_variable_is_an_error(napkin_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="missing X"):
        napkin_network.sample(10, do={})


def test_extra_intervention_variable_is_an_error(napkin_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="unexpected W1"):
        napkin_network.sample(10, do={"X": 0, "W1": 1})


def test_out_of_support_value_is_an_error(napkin_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="outside its support"):
        napkin_network.sample(10, do={"X": 5})


def test_given_on_a_query_without_conditions_is_an_error(napkin_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="given="):
        napkin_network.sample(10, do={"X": 0}, given={"Y": 1})


def test_per_row_intervention_values(napkin_network) -> None:  # type: ignore[no-untyped-def]
    values = np.array([0, 1] * 50)
    assert len(napkin_network.sample(100, do={"X": values})) == 100
    with pytest.raises(DataError, match="shape"):
        napkin_network.sample(100, do={"X": values[:10]})


def test_bad_sample_count_is_an_error(napkin_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="positive integer"):
        napkin_network.sample(0, do={"X": 0})


def test_missing_column_fails_before_training(napkin_data, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(TabularModel, "fit", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(DataError, match="missing column"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data.drop(columns=["W2"]), workdir=tmp_path)


def test_nan_fails_before_training(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = napkin_data.astype(float)
    data.loc[3, "Y"] = np.nan
    with pytest.raises(DataError, match="NaN"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), data, workdir=tmp_path)


def test_text_column_fails_before_training(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = napkin_data.assign(W1=napkin_data["W1"].map({0: "a", 1: "b"}))
    with pytest.raises(DataError, match="W1"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), data, workdir=tmp_path)


def test_tabular_backend_refuses_continuous_data(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = napkin_data.assign(W1=napkin_data["W1"] + 0.5)
    with pytest.raises(IdgenError, match="discrete variables only"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), data, backend="tabular", workdir=tmp_path)


def test_unknown_backend_is_an_error(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdgenError, match="unknown backend"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, backend="magic", workdir=tmp_path)


def test_positivity_violation_names_variables_and_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    graph = idgen.ADMG(directed=[("Z", "X"), ("X", "Y"), ("Z", "Y")])
    data = pd.DataFrame({"Z": [0, 0, 1, 1] * 50, "X": [0, 1, 0, 0] * 50, "Y": [0, 1, 1, 0] * 50})
    with pytest.warns(PositivityWarning, match="Z=1, X=1"):
        network = idgen.fit(idgen.compile(graph, "P(Y | do(X))"), data, backend="tabular", workdir=tmp_path)
    with pytest.raises(PositivityError, match="Z=1, X=1"):
        network.sample(200, do={"X": 1}, positivity="error")


def test_multi_query_plan_returns_one_network_per_query(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = idgen.compile_many(NAPKIN, ["P(Y | do(X))", "P(Y | do(W2))"])
    networks = idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path)
    assert set(networks) == {"P(Y | do(X))", "P(Y | do(W2))"}
    assert len(networks["P(Y | do(W2))"].sample(10, do={"W2": 1})) == 10


def test_stages_can_be_fitted_as_separate_jobs(napkin_data, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    first, second = plan.stages()
    with pytest.raises(IdgenError, match="run its stage first"):
        idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path, tasks=second)
    for task_id in first:  # one job per task, as a hydra multirun would launch them
        assert idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path, tasks=[task_id]) is None
    idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path, tasks=second)
    monkeypatch.setattr(TabularModel, "fit", lambda *a, **k: pytest.fail("refitted a task a stage job had fitted"))
    assert len(idgen.fit(plan, napkin_data, backend="tabular", workdir=tmp_path).sample(5, do={"X": 1})) == 5


def test_unknown_task_id_is_an_error(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdgenError, match="no task"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, workdir=tmp_path, tasks=["nope"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, [[0.5]] * 3),
        (np.float32(0.5), [[0.5]] * 3),
        ([0.5], [[0.5]] * 3),
        ([1.0, 2.0, 3.0], [[1.0], [2.0], [3.0]]),
    ],
)
def test_one_continuous_value_broadcasts_and_a_column_is_per_row(value, expected) -> None:  # type: ignore[no-untyped-def]
    from idgen.data import VariableType
    from idgen.runtime.network import _broadcast

    assert _broadcast("X", value, VariableType("continuous", (1,)), 3, "do").tolist() == expected


def test_continuous_value_of_the_wrong_length_is_an_error() -> None:
    from idgen.data import VariableType
    from idgen.runtime.network import _broadcast

    with pytest.raises(DataError, match=r"do=\{'X': \.\.\.\} has shape \(2, 1\)"):
        _broadcast("X", [1.0, 2.0], VariableType("continuous", (1,)), 3, "do")


def test_options_by_variable_reach_only_the_tasks_of_that_target(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    data = DiscreteSCM.random(LINE_3, seed=2).sample(200, seed=2)
    plan = idgen.compile(LINE_3, "P(Y | do(X))")
    idgen.fit(plan, data, backend="mlp-diffusion", workdir=tmp_path, steps=2, options_by_variable={"Y": {"steps": 3}})
    log = json.loads((tmp_path / "fit_log.json").read_text())["tasks"]
    steps = {entry["factor"]: entry["steps"] for entry in log}
    assert {factor: count for factor, count in steps.items() if factor.startswith("P(Y")} and all(
        count == (3 if factor.startswith("P(Y") else 2) for factor, count in steps.items()
    )


def test_options_for_an_unknown_variable_are_an_error(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="options_by_variable names unknown variable"):
        idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, workdir=tmp_path, options_by_variable={"Q": {}})


def test_options_by_factor_reach_only_that_factor_and_override_options_by_variable(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(
        plan,
        napkin_data.head(300),
        backend="mlp-diffusion",
        workdir=tmp_path,
        synthetic_size=40,
        steps=2,
        options_by_variable={"Y": {"steps": 3}},
        options_by_factor={"P(Y|X)": {"steps": 4}},
    )
    log = json.loads((tmp_path / "fit_log.json").read_text())["tasks"]
    steps = {entry["factor"]: entry["steps"] for entry in log}
    assert steps == {"P(W1)": 2, "P(X | W1, W2)": 2, "P(Y | W1, W2, X)": 3, "P(Y | X)": 4}


def test_options_for_a_factor_the_plan_does_not_fit_are_an_error(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdgenError, match=r"names 'P\(Y \| W1\)', which the plan does not fit; its factors: P\(W1\)"):
        idgen.fit(
            idgen.compile(NAPKIN, "P(Y | do(X))"), napkin_data, workdir=tmp_path, options_by_factor={"P(Y | W1)": {}}
        )


@pytest.mark.parametrize("text", ["Y | X", "P()", "P(Y | X,)", "P(Y X"])
def test_a_factor_that_cannot_be_read_is_an_error(text: str) -> None:
    from idgen.runtime.fit import parse_factor

    with pytest.raises(IdgenError, match="cannot read factor"):
        parse_factor(text)


@pytest.mark.parametrize(("main", "writes"), [(True, 1), (False, 0)])
def test_only_the_main_rank_of_a_multi_process_launch_writes(monkeypatch, main, writes) -> None:  # type: ignore[no-untyped-def]
    import importlib

    import accelerate

    fit_module = importlib.import_module("idgen.runtime.fit")  # the package re-exports the function as `fit`

    waited = []

    class Rank:
        is_main_process = main

        def wait_for_everyone(self) -> None:
            waited.append(True)

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(accelerate, "PartialState", Rank)
    calls: list[int] = []
    fit_module._on_main_process(lambda: calls.append(1))
    assert len(calls) == writes and waited == [True]


def _refit_napkin(data, workdir, **options):  # type: ignore[no-untyped-def]
    import json

    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(plan, data, backend="mlp-diffusion", workdir=workdir, synthetic_size=40, steps=2, **options)
    resumed = {e["factor"] for e in json.loads((workdir / "fit_log.json").read_text())["tasks"] if e.get("resumed")}
    return resumed, len(list((workdir / "datasets").iterdir()))


def test_a_new_sampler_setting_reuses_the_factors_but_remakes_the_synthetic_data(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = napkin_data.head(300)
    _refit_napkin(data, tmp_path, sampler_steps=4)
    resumed, datasets = _refit_napkin(data, tmp_path, sampler_steps=5)
    # the three factors on the observed data are reused; D' is drawn anew, so P(Y | X) learns from new data
    assert resumed == {"P(W1)", "P(X | W1, W2)", "P(Y | W1, W2, X)"} and datasets == 2


def test_retraining_an_upstream_factor_remakes_the_synthetic_data(napkin_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = napkin_data.head(300)
    _refit_napkin(data, tmp_path)
    resumed, datasets = _refit_napkin(data, tmp_path, options_by_variable={"W1": {"steps": 3}})
    # P(W1) learns anew, so D' and the model trained on it are remade; the other two factors are reused
    assert resumed == {"P(X | W1, W2)", "P(Y | W1, W2, X)"} and datasets == 2


def test_a_table_d_prime_has_eight_times_the_rows_and_uses_every_row_equally(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    from collections import Counter

    from safetensors.numpy import load_file

    data = DiscreteSCM.random(NAPKIN, seed=1).sample(500, seed=1)
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(plan, data, backend="tabular", workdir=tmp_path)
    (dataset_id, folder), *others = json.loads((tmp_path / "fit_log.json").read_text())["datasets"].items()
    assert not others
    drawn = load_file(f"{folder}/data.safetensors")
    inputs = plan.dataset(dataset_id).network.inputs
    assert inputs and len(next(iter(drawn.values()))) == 8 * len(data)
    observed = Counter(zip(*(data[v].to_numpy() for v in inputs), strict=True))
    synthetic = Counter(zip(*(drawn[v] for v in inputs), strict=True))
    assert synthetic == Counter({config: 8 * count for config, count in observed.items()})


def test_synthetic_size_sets_the_rows_of_d_prime(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from safetensors.numpy import load_file

    data = DiscreteSCM.random(NAPKIN, seed=1).sample(500, seed=1)
    idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), data, backend="tabular", workdir=tmp_path, synthetic_size=700)
    (folder,) = json.loads((tmp_path / "fit_log.json").read_text())["datasets"].values()
    assert len(next(iter(load_file(f"{folder}/data.safetensors").values()))) == 700
