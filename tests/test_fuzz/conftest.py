"""Fixtures of the fuzz suite (small fitted networks on disk) and its end-of-run tally.

The tally is printed after the test summary and written to ``bench/results/fuzz_counts.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import idgen
from idgen.demo import NAPKIN, napkin_scm
from test_fuzz.fuzz_outcomes import TALLY, summary, write_summary

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "fuzz_counts.json"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY:
        return
    counts = summary()
    terminalreporter.section("fuzz suite")
    for key, value in counts.items():
        if key != "first failure per outcome":
            terminalreporter.write_line(f"{key}: {value}")
    for outcome, case in counts["first failure per outcome"].items():
        terminalreporter.write_line(f"first {outcome}: {case}")
    if os.access(RESULTS.parents[1], os.W_OK):
        write_summary(RESULTS)


@pytest.fixture(scope="session")
def napkin_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tabular napkin network for P(Y | do(X)) saved to disk (with a synthetic dataset upstream)."""
    root = tmp_path_factory.mktemp("napkin")
    data = napkin_scm().sample(3000, seed=0)
    network = idgen.fit(idgen.compile(NAPKIN, "P(Y | do(X))"), data, backend="tabular", workdir=root / "run")
    network.save(root / "network")
    return root / "network"


@pytest.fixture(scope="session")
def free_input_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A network with a free input Z (wired by hand: Y ~ P(Y | X, Z)), so its folder holds a free-input pool."""
    import numpy as np

    from compiler.plan import INPUT, Network, Node, QueryNetwork
    from idgen.data import infer_types
    from idgen.runtime import SamplingNetwork
    from trainers.tabular import TabularModel

    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 2000)
    x = (z ^ (rng.random(2000) < 0.2)).astype(np.int64)
    table = {"Z": z, "X": x, "Y": (x ^ (rng.random(2000) < 0.3)).astype(np.int64)}
    types = infer_types(table)
    model = TabularModel(["Y"], ["X", "Z"], types)
    model.fit(table)
    node = Node("Y", ("Y",), "t0", (("X", INPUT + "X"), ("Z", INPUT + "Z")))
    item = QueryNetwork("P(Y | do(X))", Network(("X", "Z"), (node,), (("Y", "Y"),)), ("X",), (), (), ("Z",), (3, 6))
    folder = tmp_path_factory.mktemp("free") / "network"
    SamplingNetwork(item, {"t0": model}, types, {"Z": z[:500]}).save(folder)
    return folder


@pytest.fixture(scope="session")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "napkin.json"
    path.write_text(json.dumps({"directed": NAPKIN.directed, "bidirected": NAPKIN.bidirected}))
    return path


@pytest.fixture(scope="session")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "napkin.csv"
    napkin_scm().sample(2000, seed=1).to_csv(path, index=False)
    return path
