"""Bad command lines: every one ends in exactly one ``error:`` line, status 1 or 2, no traceback, no output file.

Each case is run in this process through :func:`idgen.cli.main`; two are also run as real subprocesses,
to check the installed entry point's exit status and that ``--debug`` adds the traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from idgen.cli import main
from test_fuzz.fuzz_outcomes import TALLY, classify_cli, cli_refused

QUERY = "P(Y | do(X))"


def _cases(graph: Path, data: Path, network: Path, tmp: Path) -> dict[str, list[str]]:
    """Bad command lines by name (in ``tmp``: ``afile`` is a file, ``adir`` a folder, ``bow.yaml`` a bow graph)."""
    g, d, n = str(graph), str(data), str(network)
    afile, adir, missing = str(tmp / "afile"), str(tmp / "adir"), str(tmp / "missing" / "x")
    fit = ["fit", QUERY, "--graph", g, "--data", d, "--workdir", str(tmp / "run"), "--backend", "tabular"]
    cases = {
        # paths
        "png into a missing folder": ["compile", QUERY, "--graph", g, "--png", missing + ".png"],
        "png onto a folder": ["compile", QUERY, "--graph", g, "--png", adir],
        "png with a .txt name": ["compile", QUERY, "--graph", g, "--png", str(tmp / "plan.txt")],
        "json onto a folder": ["compile", QUERY, "--graph", g, "--json", adir],
        "json into a missing folder": ["compile", QUERY, "--graph", g, "--json", missing],
        "dot onto a folder": ["compile", QUERY, "--graph", g, "--dot", adir],
        "json and dot the same file": ["compile", QUERY, "--graph", g, "--json", afile + "2", "--dot", afile + "2"],
        "graph missing": ["explain", QUERY, "--graph", missing],
        "graph is a folder": ["explain", QUERY, "--graph", adir],
        "graph is not JSON": ["explain", QUERY, "--graph", d],
        "workdir is a file": ["fit", QUERY, "--graph", g, "--data", d, "--workdir", afile],
        "workdir under a file": ["fit", QUERY, "--graph", g, "--data", d, "--workdir", afile + "/run"],
        "data missing": ["fit", QUERY, "--graph", g, "--data", missing, "--workdir", str(tmp / "run")],
        "data is a folder": ["fit", QUERY, "--graph", g, "--data", adir, "--workdir", str(tmp / "run")],
        "data is not CSV of numbers": ["fit", QUERY, "--graph", g, "--data", str(graph), "--workdir", str(tmp / "r")],
        "network missing": ["sample", missing],
        "network is a file": ["sample", afile],
        "network is an empty folder": ["sample", adir],
        "out onto a folder": ["sample", n, "--do", "X=1", "--out", adir],
        "out into a missing folder": ["sample", n, "--do", "X=1", "--out", missing],
        # numbers
        "n in scientific notation": ["sample", n, "-n", "1e12", "--do", "X=1"],
        "n zero": ["sample", n, "-n", "0", "--do", "X=1"],
        "n negative": ["sample", n, "-n", "-5", "--do", "X=1"],
        "n too large": ["sample", n, "-n", str(2**64), "--do", "X=1"],
        "n a word": ["sample", n, "-n", "many", "--do", "X=1"],
        "seed a float": ["sample", n, "--seed", "1.5", "--do", "X=1"],
        "seed negative": ["sample", n, "--seed", "-1", "--do", "X=1"],
        "do value huge": ["sample", n, "--do", "X=99999999999999999999999"],
        "do value outside support": ["sample", n, "--do", "X=7"],
        "do value not an integer": ["sample", n, "--do", "X=0.5"],
        "do value nan": ["sample", n, "--do", "X=nan"],
        "do value inf": ["sample", n, "--do", "X=inf"],
        "do value a word": ["sample", n, "--do", "X=one"],
        "do without =": ["sample", n, "--do", "X"],
        "do twice": ["sample", n, "--do", "X=1", "--do", "X=0"],
        "do of an unknown variable": ["sample", n, "--do", "X=1", "--do", "Q=1"],
        "do missing": ["sample", n],
        "given on an unconditional query": ["sample", n, "--do", "X=1", "--given", "W1=0"],
        "synthetic size zero": [*fit, "--synthetic-size", "0"],
        "synthetic size a float": [*fit, "--synthetic-size", "2.5"],
        "fit seed a word": [*fit, "--seed", "abc"],
        # options
        "option nonsense on a tabular plan": [*fit, "--option", "nonsense=1"],
        "option steps=-5 on a tabular plan": [*fit, "--option", "steps=-5"],
        "option sampler unknown on a tabular plan": [*fit, "--option", "sampler=euler"],
        "option without =": [*fit, "--option", "steps"],
        "option twice": [*fit, "--option", "steps=5", "--option", "steps=6"],
        "option bad JSON": [*fit, "--option", "block_out_channels=[32,"],
        "unknown backend": [*fit[:-1], "nonsense"],
        "unknown query variable": ["explain", "P(Y | do(Nope))", "--graph", g],
        "query syntax": ["explain", "P(Y | do(X)", "--graph", g],
        "not identifiable in fit": [
            "fit",
            QUERY,
            "--graph",
            str(tmp / "bow.yaml"),
            "--data",
            d,
            "--workdir",
            str(tmp / "r"),
        ],
        "not identifiable in compile": ["compile", QUERY, "--graph", str(tmp / "bow.yaml")],
        "unknown command": ["frobnicate"],
        "unknown flag": ["sample", n, "--frobnicate"],
        "no arguments": [],
    }
    for name in ("backend", "seed", "variable_types", "tasks", "workdir", "options_by_factor", "progress", "plan"):
        cases[f"option collides with fit's {name}"] = [*fit, "--option", f"{name}=1"]
    return cases


@pytest.fixture
def cases(graph_file: Path, data_file: Path, napkin_folder: Path, tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    (tmp_path / "bow.yaml").write_text("directed: [[X, Y]]\nbidirected: [[X, Y]]\n")
    return _cases(graph_file, data_file, napkin_folder, tmp_path)


def test_every_bad_command_line_is_one_line_and_a_failure_status(cases: dict[str, list[str]], tmp_path: Path) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    outcomes = {name: cli_refused(argv) for name, argv in cases.items()}
    assert {name: o for name, o in outcomes.items() if o != "clear error"} == {}
    assert {p.name for p in tmp_path.iterdir()} == before  # no output, partial file or workdir was left


def test_usage_errors_exit_2_and_model_errors_exit_1(
    graph_file: Path, napkin_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", str(napkin_folder), "-n", "1e12", "--do", "X=1"]) == 2
    assert main(["sample", str(napkin_folder), "--do", "X=1", "--do", "X=0"]) == 2
    assert main(["sample", str(napkin_folder), "--do", "X=7"]) == 1  # the value is outside the data's support
    (tmp_path / "cyclic.json").write_text('{"directed": [["X", "Y"], ["Y", "X"]]}')
    assert main(["explain", QUERY, "--graph", str(tmp_path / "cyclic.json")]) == 1
    capsys.readouterr()


def test_large_n_streams_to_the_file(napkin_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "many.csv"
    assert main(["sample", str(napkin_folder), "-n", "600000", "--do", "X=1", "--out", str(out)]) == 0
    with open(out) as handle:
        assert sum(1 for _ in handle) == 600_001
    TALLY["valid"] += 1


def test_the_entry_point_prints_one_line_and_debug_adds_the_traceback(napkin_folder: Path) -> None:
    command = [sys.executable, "-m", "idgen.cli", "sample", str(napkin_folder), "--do", "X=1", "--do", "X=9"]
    plain = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert classify_cli(plain.returncode, plain.stderr, "subprocess: do twice") == "clear error"
    debug = subprocess.run([*command[:3], "--debug", *command[3:]], capture_output=True, text=True, timeout=120)
    assert debug.returncode == plain.returncode == 2
    assert "Traceback" in debug.stderr and debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()
