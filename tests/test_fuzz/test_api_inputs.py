"""Bad arguments to the Python API: each is one clear IdgenError, never a coercion or a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import idgen
from idgen.demo import NAPKIN, napkin_scm
from idgen.runtime import SamplingNetwork
from test_fuzz.fuzz_outcomes import TALLY, refused


@pytest.fixture(scope="module")
def network(napkin_folder: Path) -> SamplingNetwork:
    return SamplingNetwork.load(napkin_folder)


@pytest.fixture(scope="module")
def data() -> Any:
    return napkin_scm().sample(600, seed=2)


def _sampling_cases(network: SamplingNetwork) -> dict[str, Callable[[], object]]:
    def sample(*args: Any, **kwargs: Any) -> Callable[[], object]:
        return lambda: network.sample(*args, **kwargs)

    return {
        "do X None": sample(10, do={"X": None}),
        "do X 2**70": sample(10, do={"X": 2**70}),
        "do X -2**70": sample(10, do={"X": -(2**70)}),
        "do X uint64 max": sample(10, do={"X": np.uint64(2**64 - 1)}),
        "do X 1e300": sample(10, do={"X": 1e300}),
        "do X inf": sample(10, do={"X": float("inf")}),
        "do X nan": sample(10, do={"X": float("nan")}),
        "do X 0.5": sample(10, do={"X": 0.5}),
        "do X a string": sample(10, do={"X": "1"}),
        "do X a list of strings": sample(3, do={"X": ["a", "b", "c"]}),
        "do X ragged": sample(3, do={"X": [[0], [1, 1]]}),
        "do X wrong length": sample(10, do={"X": [0, 1, 0]}),
        "do X an object": sample(10, do={"X": object()}),
        "do X a dict": sample(10, do={"X": {"a": 1}}),
        "do a list": sample(10, do=["X", 1]),
        "do a string": sample(10, do="X=1"),
        "do unknown variable": sample(10, do={"X": 1, "Q": 0}),
        "do missing": sample(10, do={}),
        "given on an unconditional query": sample(10, do={"X": 1}, given={"W1": 0}),
        "n zero": sample(0, do={"X": 1}),
        "n negative": sample(-3, do={"X": 1}),
        "n a float": sample(10.0, do={"X": 1}),
        "n a string": sample("10", do={"X": 1}),
        "n True": sample(True, do={"X": 1}),
        "n 1e12 (memory)": sample(10**12, do={"X": 1}),
        "seed a string": sample(10, do={"X": 1}, seed="1"),
        "seed a float": sample(10, do={"X": 1}, seed=1.5),
        "seed negative": sample(10, do={"X": 1}, seed=-1),
        "seed None": sample(10, do={"X": 1}, seed=None),
        "batch_size zero": sample(10, do={"X": 1}, batch_size=0),
        "batch_size a float": sample(10, do={"X": 1}, batch_size=2.5),
        "iter_samples chunk_size zero": lambda: network.iter_samples(10, do={"X": 1}, chunk_size=0),
        "iter_samples bad do": lambda: network.iter_samples(10, do={"X": 5}),
    }


def test_bad_sampling_arguments_are_clear_errors(network: SamplingNetwork) -> None:
    outcomes = {name: refused(call, name) for name, call in _sampling_cases(network).items()}
    assert {name: o for name, o in outcomes.items() if o != "clear error"} == {}


def _fit_cases(data: Any, tmp_path: Path) -> dict[str, Callable[[], object]]:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")

    def fit(**kwargs: Any) -> Callable[[], object]:
        return lambda: idgen.fit(plan, data, **{"backend": "tabular", "workdir": tmp_path / "w", **kwargs})

    (tmp_path / "afile").write_text("x")
    return {
        "seed a string": fit(seed="1"),
        "seed a float": fit(seed=1.5),
        "seed True": fit(seed=True),
        "seed negative": fit(seed=-1),
        "synthetic_size a float": fit(synthetic_size=2.5),
        "synthetic_size a string": fit(synthetic_size="100"),
        "synthetic_size zero": fit(synthetic_size=0),
        "tasks an int": fit(tasks=5),
        "tasks unknown": fit(tasks=["nope"]),
        "backend None": fit(backend=None),
        "backend unknown": fit(backend="nonsense"),
        "workdir a file": fit(workdir=tmp_path / "afile"),
        "plan a string": lambda: idgen.fit("P(Y | do(X))", data),
        "data None": lambda: idgen.fit(plan, None, workdir=tmp_path / "w"),
        "data missing a column": lambda: idgen.fit(plan, data.drop(columns=["W2"]), workdir=tmp_path / "w"),
        "option unknown, tabular plan": fit(nonsense=1),
        "option steps=-5, tabular plan": fit(steps=-5),
        "option steps a string, tabular plan": fit(steps="many"),
        "option sampler unknown, tabular plan": fit(sampler="euler"),
        "option width=0, tabular plan": fit(width=0),
        "option block_out_channels bad, tabular plan": fit(block_out_channels="wide"),
        "options_by_backend unknown option of an unused backend": fit(
            options_by_backend={"unet-diffusion": {"nonsense": 1}}
        ),
        "options_by_backend bad value of an unused backend": fit(options_by_backend={"mlp-diffusion": {"lr": -1}}),
        "options_by_backend for tabular": fit(options_by_backend={"tabular": {"steps": 5}}),
        "options_by_backend unknown backend": fit(options_by_backend={"nope": {}}),
        "options_by_backend not a mapping": fit(options_by_backend={"mlp-diffusion": 5}),
        "options_by_variable unknown variable": fit(options_by_variable={"Q": {"steps": 5}}),
        "options_by_factor unknown factor": fit(options_by_factor={"P(Q | X)": {"steps": 5}}),
        "variable_types unknown kind": fit(variable_types={"X": "fuzzy"}),
        "variable_types a string": fit(variable_types="discrete"),
        "backends unknown variable": fit(backends={"Q": "tabular"}),
    }


def test_bad_fit_arguments_are_clear_errors_before_any_work(data: Any, tmp_path: Path) -> None:
    outcomes = {name: refused(call, name) for name, call in _fit_cases(data, tmp_path).items()}
    assert {name: o for name, o in outcomes.items() if o != "clear error"} == {}
    assert not (tmp_path / "w").exists()  # nothing was written for any of them


def test_plain_options_for_the_diffusion_backends_pass_on_a_tabular_plan(data: Any, tmp_path: Path) -> None:
    # hydra's backend.common sets them for every experiment; a tabular plan has no task they reach
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    idgen.fit(plan, data, workdir=tmp_path, steps=40, batch_size=32, sampler="ddim", sampler_steps=5)
    TALLY["valid"] += 1


def test_bad_graphs_and_saves_are_clear_errors(network: SamplingNetwork, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "keep.txt").write_text("mine")
    cases: dict[str, Callable[[], object]] = {
        "ADMG(directed=None)": lambda: idgen.ADMG(directed=None),  # type: ignore[arg-type]
        "ADMG(directed=5)": lambda: idgen.ADMG(directed=5),  # type: ignore[arg-type]
        "ADMG(bidirected='XY')": lambda: idgen.ADMG(bidirected="XY"),
        "ADMG(nodes={'X': 1})": lambda: idgen.ADMG(nodes={"X": 1}),  # type: ignore[arg-type]
        "ADMG edge of three": lambda: idgen.ADMG(directed=[("X", "Y", "Z")]),
        "ADMG edge of ints": lambda: idgen.ADMG(directed=[(1, 2)]),  # type: ignore[list-item]
        "save(None)": lambda: network.save(None),  # type: ignore[arg-type]
        "save onto a file": lambda: network.save(tmp_path / "afile"),
        "save over a folder that is not a network": lambda: network.save(tmp_path / "precious"),
        "SamplingNetwork.load(None)": lambda: SamplingNetwork.load(None),  # type: ignore[arg-type]
    }
    outcomes = {name: refused(call, name) for name, call in cases.items()}
    assert {name: o for name, o in outcomes.items() if o != "clear error"} == {}
    assert (tmp_path / "precious" / "keep.txt").read_text() == "mine"
