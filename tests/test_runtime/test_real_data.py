"""Real tables: any column name end to end, the support (positivity) report, effects with uncertainty."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import idgen
from idgen.cli import main
from idgen.datasets import purchases as game
from idgen.errors import PositivityError
from idgen.runtime.support import PositivityWarning
from idgen.scm import DiscreteSCM

ENGAGED, BOUGHT, FIRST = "Side-quest Engagement", "In-game Purchases", "1st visit"
QUERY = f'P("{BOUGHT}" | do(`{ENGAGED}`))'
SPACED = idgen.ADMG(directed=[(FIRST, ENGAGED), (FIRST, BOUGHT), (ENGAGED, BOUGHT)])


def spaced_table(rows: int = 600, seed: int = 0, drop_hole: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 2, rows)
    engaged = (rng.random(rows) < 0.3 + 0.4 * first).astype(np.int64)
    bought = (rng.random(rows) < 0.2 + 0.3 * engaged + 0.2 * first).astype(np.int64)
    table = pd.DataFrame({FIRST: first, ENGAGED: engaged, BOUGHT: bought})
    if drop_hole:  # no first-time visitor who engaged: P(bought | engaged = 1, 1st visit = 1) is a hole
        table = table[~((table[FIRST] == 1) & (table[ENGAGED] == 1))].reset_index(drop=True)
    return table


# ---------------------------------------------------------------------------------------------- names
def test_spaced_names_compile_fit_sample_save_and_load(tmp_path: Path) -> None:
    plan = idgen.compile(SPACED, QUERY)
    assert f'P("{BOUGHT}" | "{FIRST}", "{ENGAGED}")' in plan.as_text()
    network = idgen.fit(plan, spaced_table(), backend="tabular", workdir=tmp_path / "run", verbose=False)
    drawn = network.sample(300, do={ENGAGED: 1}, seed=0)
    assert list(drawn.columns) == [BOUGHT]
    network.save(tmp_path / "net")
    again = idgen.SamplingNetwork.load(tmp_path / "net")
    assert again.sample(300, do={ENGAGED: 1}, seed=0).equals(drawn)


def test_estimand_text_latex_and_y0_symbols_keep_the_names() -> None:
    trace = idgen.identify(SPACED, QUERY)
    assert f'"{BOUGHT}"' in str(trace.expression())
    assert r"\text{In-game Purchases}" in trace.latex() and r"\text{1st visit}" in trace.latex()
    symbols = trace.y0_symbols()
    assert {symbols[FIRST], symbols[ENGAGED], symbols[BOUGHT]} <= {"V_1", "V_2", "V_3"}
    assert "V_" in str(trace.estimand())


def test_options_by_factor_reads_quoted_names(tmp_path: Path) -> None:
    plan = idgen.compile(SPACED, QUERY)
    factor = f'P("{BOUGHT}" | `{ENGAGED}`, "{FIRST}")'
    with pytest.raises(idgen.IdgenError, match="tabular"):  # found (the tabular backend has no steps option)
        idgen.fit(plan, spaced_table(), backend="tabular", options_by_factor={factor: {"steps": 5}}, verbose=False)


def test_cli_runs_spaced_names_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = tmp_path / "graph.yaml"
    graph.write_text(f'directed: [["{FIRST}", "{ENGAGED}"], ["{FIRST}", "{BOUGHT}"], ["{ENGAGED}", "{BOUGHT}"]]\n')
    data = tmp_path / "data.csv"
    spaced_table().astype(float).to_csv(data, index=False)  # 0.0/1.0 columns, as spreadsheets write them
    assert main(["explain", QUERY, "--graph", str(graph)]) == 0
    assert r"\text{In-game Purchases}" in capsys.readouterr().out
    assert main(["fit", QUERY, "--graph", str(graph), "--data", str(data), "--workdir", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert f'"{ENGAGED}": discrete{{0,1}} (float column of whole numbers with 2 distinct values)' in out
    assert "-> tabular" in out and "support: every factor" in out
    args = ["sample", str(tmp_path / "w" / "network"), "-n", "50", "--do", f"{ENGAGED}=1"]
    assert main(args) == 0
    assert f"{BOUGHT}: 0:" in capsys.readouterr().out


def test_cli_types_override_and_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(SPACED.to_dict()))
    data = tmp_path / "data.csv"
    spaced_table().astype(float).to_csv(data, index=False)
    args = ["effect", QUERY, "--graph", str(graph), "--data", str(data), "--do", f"{ENGAGED}=0,1", "-n", "500"]
    assert main([*args, "--types", f"{BOUGHT}=discrete"]) == 0
    out = capsys.readouterr().out
    assert "contrast" in out and f'P("{BOUGHT}"=1)' in out
    assert main([*args, "--types", f"{BOUGHT}=colour"]) == 2
    assert "is not a kind" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- types
def test_whole_number_float_columns_with_few_values_are_discrete() -> None:
    types = idgen.data.infer_types({"T": np.array([0.0, 1.0] * 20), "Y": np.arange(40.0), "Z": np.full(40, 0.5)})
    assert (types["T"].kind, types["Y"].kind, types["Z"].kind) == ("discrete", "continuous", "continuous")
    overridden = idgen.data.infer_types({"T": np.array([0.0, 1.0] * 20)}, {"T": "continuous"})
    assert overridden["T"].kind == "continuous"


def test_integer_columns_with_many_values_are_quantities_not_categories() -> None:
    fifty = np.arange(200, dtype=np.int64) % 50  # 50 distinct integers: still categories
    assert idgen.data.infer_types({"C": fifty})["C"].kind == "discrete"
    spend = np.arange(500, dtype=np.int64) * 7 + 170  # whole-dollar amounts as pandas reads them: int64
    assert idgen.data.infer_types({"Spend": spend})["Spend"].kind == "continuous"
    assert idgen.data.infer_types({"Spend": spend}, {"Spend": "discrete"})["Spend"].kind == "discrete"


def test_an_integer_amount_column_trains_as_a_continuous_outcome(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    treated = rng.integers(0, 2, 400)
    spend = np.exp(rng.normal(5.0 + 0.5 * treated, 0.5)).astype(np.int64)
    plan = idgen.compile(idgen.ADMG(directed=[("T", "Spend")]), "P(Spend | do(T))")
    net = idgen.fit(plan, {"T": treated, "Spend": spend}, workdir=tmp_path, steps=20)
    assert net.types["Spend"].kind == "continuous"
    drawn = net.sample(50, do={"T": 1}, seed=0)["Spend"]
    assert drawn.dtype.kind == "f" and drawn.shape[0] == 50


def test_fit_prints_each_backend_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idgen.fit(idgen.compile(SPACED, QUERY), spaced_table(), workdir=tmp_path)
    out = capsys.readouterr().out
    assert "every variable is discrete: exact counts" in out and "integer column with 2 distinct values" in out


# ---------------------------------------------------------------------------------------------- support
def test_discrete_hole_is_reported_with_its_exact_mass(tmp_path: Path) -> None:
    data = spaced_table(drop_hole=True)
    with pytest.warns(PositivityWarning, match=f'"{ENGAGED}"=1'):
        network = idgen.fit(idgen.compile(SPACED, QUERY), data, workdir=tmp_path, verbose=False)
    report = network.support_report()
    hole = report[report.status == "hole"].iloc[0]
    assert hole.rows == 0 and hole.scenario == f'"{ENGAGED}"=1'
    assert hole.configuration == f'"{FIRST}"=1, "{ENGAGED}"=1'
    assert hole.mass == pytest.approx((data[FIRST] == 1).mean())  # every first-time visitor under do(engaged=1)
    logged = json.loads((tmp_path / "fit_log.json").read_text())["support"]
    assert logged["policy"] == "warn" and logged["problems"][0]["configuration"] == hole.configuration


def test_the_report_does_not_depend_on_the_seed(tmp_path: Path) -> None:
    reports = []
    for seed in (0, 1):
        network = idgen.fit(
            idgen.compile(SPACED, QUERY), spaced_table(drop_hole=True), seed=seed, positivity="ignore", verbose=False
        )
        reports.append(network.support_report(everything=True))
    pd.testing.assert_frame_equal(reports[0], reports[1])


def test_positivity_error_refuses_and_ignore_is_silent(tmp_path: Path) -> None:
    plan, data = idgen.compile(SPACED, QUERY), spaced_table(drop_hole=True)
    with pytest.raises(PositivityError, match="1 positivity hole"):
        idgen.fit(plan, data, workdir=tmp_path / "a", positivity="error", verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        network = idgen.fit(plan, data, workdir=tmp_path / "b", positivity="ignore", verbose=False)
        network.sample(100, do={ENGAGED: 1})
    with pytest.raises(idgen.IdgenError, match="positivity must be one of"):
        idgen.fit(plan, data, positivity="maybe", verbose=False)


def test_sample_counts_rows_at_a_hole_and_follows_the_policy(tmp_path: Path) -> None:
    data = spaced_table(drop_hole=True)
    network = idgen.fit(idgen.compile(SPACED, QUERY), data, workdir=tmp_path, positivity="ignore", verbose=False)
    network.positivity = "warn"
    with pytest.warns(PositivityWarning, match="row") as caught:
        drawn = network.sample(400, do={ENGAGED: 1}, seed=3)
    assert len(drawn) == 400 and "of 400 rows" in str(caught[0].message)
    with pytest.raises(PositivityError):
        network.sample(400, do={ENGAGED: 1}, seed=3, positivity="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        network.sample(400, do={ENGAGED: 0}, seed=3)  # engaged = 0 has rows for every visitor


def test_a_hole_only_the_synthetic_dataset_reaches(tmp_path: Path) -> None:
    data = game.purchases(3000, seed=0)
    data[game.OUTCOME] = (data[game.OUTCOME] > data[game.OUTCOME].median()).astype(np.int64)  # all tabular
    with pytest.warns(PositivityWarning, match="D′"):
        network = idgen.fit(idgen.compile(game.GRAPH, game.QUERY), data, workdir=tmp_path, verbose=False)
    report = network.support_report()
    assert set(report.status) == {"hole"} and all(report.network.str.startswith("D′"))
    assert all(f'"{game.TREATMENT}"=0, "{game.MEDIATOR}"=1' in c for c in report.configuration)
    # D′ keeps the observed (G, M) rows and draws T ~ P(T | G): the share reaching (G=g, T=0, M=1) is exact
    for row in report.itertuples():
        g = int(row.configuration.split("=")[1][0])
        rows = data[data[game.COVARIATE] == g]
        expected = ((data[game.COVARIATE] == g) & (data[game.MEDIATOR] == 1)).mean() * (
            rows[game.TREATMENT] == 0
        ).mean()
        assert row.mass == pytest.approx(expected)
    assert network.support_report(everything=True).status.eq("ok").any()


def test_continuous_parent_out_of_its_observed_range_is_counted(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, 400)
    data = {"dose level": x, "response": 2 * x + rng.normal(scale=0.1, size=400)}
    graph = idgen.ADMG(directed=[("dose level", "response")])
    network = idgen.fit(
        idgen.compile(graph, 'P(response | do("dose level"))'), data, steps=3, progress=False, verbose=False
    )
    assert network.support_report().empty
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        network.sample(50, do={"dose level": 0.5})
    with pytest.warns(PositivityWarning, match="50 row"):
        network.sample(50, do={"dose level": 5.0})


def test_support_survives_save_and_load(tmp_path: Path) -> None:
    network = idgen.fit(idgen.compile(SPACED, QUERY), spaced_table(drop_hole=True), positivity="ignore", verbose=False)
    network.save(tmp_path / "net")
    again = idgen.SamplingNetwork.load(tmp_path / "net")
    pd.testing.assert_frame_equal(again.support_report(), network.support_report())
    with pytest.raises(PositivityError):
        again.sample(100, do={ENGAGED: 1}, positivity="error")


# ---------------------------------------------------------------------------------------------- effects
BACKDOOR = idgen.ADMG(directed=[("Z", "X"), ("X", "Y"), ("Z", "Y")])


def _coverage(repetitions: int, replicates: int, rows: int) -> int:
    scm = DiscreteSCM.random(BACKDOOR, seed=3)
    truth = [float(scm.interventional(["Y"], {"X": x}).table[1]) for x in (0, 1)]
    covered = 0
    for repetition in range(repetitions):
        data = scm.sample(rows, seed=100 + repetition)
        network = idgen.fit(idgen.compile(BACKDOOR, "P(Y | do(X))"), data, backend="tabular", verbose=False)
        table = network.effect(
            "Y", do={"X": [0, 1]}, n=2000, seed=repetition, bootstrap=replicates, level=0.9, progress=False
        )
        contrast = table[(table.kind == "contrast") & (table.statistic == "P(Y=1)")].iloc[0]
        covered += bool(contrast.low <= truth[1] - truth[0] <= contrast.high)
    return covered


def test_effect_reports_values_contrasts_and_monte_carlo_errors() -> None:
    scm = DiscreteSCM.random(BACKDOOR, seed=3)
    network = idgen.fit(idgen.compile(BACKDOOR, "P(Y | do(X))"), scm.sample(4000, seed=0), verbose=False)
    table = network.effect("Y", do={"X": [0, 1]}, n=20_000)
    assert list(table.kind) == ["value"] * 4 + ["contrast"] * 2
    value = table[(table.do == "X=1") & (table.statistic == "P(Y=1)")].iloc[0]
    assert value.mc_se == pytest.approx(np.sqrt(value.estimate * (1 - value.estimate) / 20_000))
    truth = float(scm.interventional(["Y"], {"X": 1}).table[1])
    assert abs(value.estimate - truth) < 0.04
    with pytest.raises(idgen.IdgenError, match="must give values for X"):
        network.effect("Y", do={"Z": [0, 1]})


def test_bootstrap_intervals_cover_the_truth_fast_form() -> None:
    assert _coverage(repetitions=4, replicates=15, rows=800) >= 3


@pytest.mark.slow
def test_bootstrap_90_percent_intervals_cover_the_truth_in_80_percent_of_50_repetitions() -> None:
    assert _coverage(repetitions=50, replicates=40, rows=800) >= 40


def test_bootstrap_needs_the_fitted_network(tmp_path: Path) -> None:
    network = idgen.fit(
        idgen.compile(BACKDOOR, "P(Y | do(X))"), DiscreteSCM.random(BACKDOOR).sample(500), verbose=False
    )
    network.save(tmp_path / "net")
    with pytest.raises(idgen.IdgenError, match="bootstrap needs the training rows"):
        idgen.SamplingNetwork.load(tmp_path / "net").effect("Y", do={"X": [0, 1]}, bootstrap=2)


def test_bootstrap_adds_the_refits_mean_and_a_tabular_estimate_lies_inside_its_interval() -> None:
    scm = DiscreteSCM.random(BACKDOOR, seed=3)
    network = idgen.fit(idgen.compile(BACKDOOR, "P(Y | do(X))"), scm.sample(2000, seed=1), verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", idgen.FitNoiseWarning)
        table = network.effect("Y", do={"X": [0, 1]}, n=50_000, bootstrap=30, level=0.9, progress=False)
    assert list(table.columns[-4:]) == ["boot_mean", "boot_se", "low", "high"]
    assert ((table.low <= table.boot_mean) & (table.boot_mean <= table.high)).all()


def test_an_estimate_outside_its_own_interval_is_a_fit_noise_warning() -> None:
    from idgen.runtime.effect import _warn_outside

    frame = pd.DataFrame(
        {
            "kind": ["value", "value"],
            "do": ["T=0", "T=1"],
            "statistic": ["mean", "mean"],
            "estimate": [831.9, 1814.3],
            "boot_mean": [860.0, 1790.0],
            "low": [832.2, 1712.2],
            "high": [887.6, 1900.0],
        }
    )
    with pytest.warns(idgen.FitNoiseWarning, match=r"1 of 2 estimate\(s\) lie outside their 90 % bootstrap interval"):
        _warn_outside(frame, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_outside(frame.iloc[1:], 0.9)
