"""The ``idgen`` command: explain, compile, fit and sample over files, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idgen.cli import main
from idgen.demo import NAPKIN, napkin_scm


@pytest.fixture
def napkin_file(tmp_path: Path) -> Path:
    path = tmp_path / "napkin.json"
    path.write_text(json.dumps({"directed": NAPKIN.directed, "bidirected": NAPKIN.bidirected}))
    return path


def test_explain_prints_trace_and_estimand(napkin_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "P(Y | do(X))", "--graph", str(napkin_file)]) == 0
    out = capsys.readouterr().out
    assert "lines fired: 3 → 7 → 2 → 6" in out and "LaTeX" in out and "\\frac" in out


def test_explain_reports_the_hedge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bow.yaml"
    path.write_text("directed: [[X, Y]]\nbidirected: [[X, Y]]\n")
    assert main(["explain", "P(Y | do(X))", "--graph", str(path)]) == 1
    assert "hedge" in capsys.readouterr().out


def test_compile_writes_json_dot_and_png(napkin_file: Path, tmp_path: Path) -> None:
    args = ["compile", "P(Y | do(X))", "--graph", str(napkin_file)]
    args += ["--json", str(tmp_path / "p.json"), "--dot", str(tmp_path / "p.dot"), "--png", str(tmp_path / "p.png")]
    assert main(args) == 0
    assert json.loads((tmp_path / "p.json").read_text())["format"] == "idgen-plan/1"
    assert (tmp_path / "p.dot").read_text().startswith("digraph")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_fit_then_sample_over_csv(napkin_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    napkin_scm().sample(5000, seed=0).to_csv(data, index=False)
    workdir = tmp_path / "run"
    assert (
        main(
            [
                "fit",
                "P(Y | do(X))",
                "--graph",
                str(napkin_file),
                "--data",
                str(data),
                "--workdir",
                str(workdir),
                "--backend",
                "tabular",
            ]
        )
        == 0
    )
    out = tmp_path / "samples.csv"
    assert main(["sample", str(workdir / "network"), "-n", "300", "--do", "X=1", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "Y" and len(out.read_text().splitlines()) == 301


def test_bad_query_is_a_one_line_error(napkin_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "P(Y | do(Nope))", "--graph", str(napkin_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Nope" in err and err.count("\n") == 1


def test_missing_graph_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "P(Y | do(X))", "--graph", str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bad_do_assignment_is_an_error(napkin_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", str(tmp_path), "--do", "X"]) == 2
    assert "error:" in capsys.readouterr().err
