"""Command line: ``idgen explain | compile | fit | sample`` — the Python API over files.

Graphs are JSON or YAML files ``{"directed": [["A", "B"], ...], "bidirected": [["A", "C"], ...]}``
(optional ``"nodes"`` for isolated nodes); data are CSV files with one column per variable.

Examples::

    idgen explain "P(Y | do(X))" --graph napkin.json
    idgen compile "P(Y | do(X))" --graph napkin.json --png plan.png --json plan.json
    idgen fit "P(Y | do(X))" --graph napkin.json --data data.csv --workdir runs/napkin
    idgen sample runs/napkin/network -n 1000 --do X=1 --out samples.csv
    idgen effect 'P("In-game Purchases" | do("Side-quest Engagement"))' --graph g.json --data d.csv \
        --do "Side-quest Engagement=0,1" --bootstrap 200

Errors: every bad input ends in one line on stderr (``error: ...``) and exit status 2 for a malformed
request (flags, paths, numbers, options, query) or 1 for a problem with the data, the graph or a saved
network; ``--debug`` prints the traceback as well. Paths are checked before any work starts, outputs are
written atomically, and ``sample`` streams its rows to ``--out`` in chunks (bounded memory for any ``-n``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from idgen.errors import IdgenError, QueryError, UsageError
from idgen.files import atomic_open, atomic_write, input_file, input_folder, output_file, output_folder
from idgen.graph import ADMG

__all__ = ["main"]

#: rows per chunk that ``idgen sample`` draws and writes at a time
SAMPLE_CHUNK_ROWS = 262_144
#: arguments of :func:`idgen.fit` that ``--option`` may not set (flags set some of them)
FIT_ARGUMENTS = {
    "plan": None,
    "data": "--data",
    "backend": "--backend",
    "workdir": "--workdir",
    "seed": "--seed",
    "synthetic_size": "--synthetic-size",
    "variable_types": None,
    "backends": None,
    "options_by_backend": None,
    "options_by_variable": None,
    "options_by_factor": None,
    "tasks": None,
    "progress": None,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``idgen`` command; returns the exit status (0, 1 data/model error, 2 usage error)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        args = _parser().parse_args(arguments)
        return int(args.handler(args) or 0)
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one error path: one line, a status, --debug for more
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2 if isinstance(error, (UsageError, QueryError)) else 1


def _one_line(error: BaseException) -> str:
    if isinstance(error, IdgenError):
        text = str(error)
    elif isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        text = f"{error.strerror or error}{where}"
    elif isinstance(error, MemoryError):
        text = "out of memory (ask for fewer samples or rows)"
    else:
        text = f"internal error, please report it: {type(error).__name__}: {error} (run with --debug for the traceback)"
    return " ".join(text.split()) or type(error).__name__


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises :class:`UsageError` (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _integer(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or value >= 2**63:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum} (and below 2**63), got {text}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="idgen", description="ID-GEN: sample identifiable causal effects with conditional generative models"
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="print the traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    explain = commands.add_parser(
        "explain", parents=[common], help="identify a query and print the trace, the estimand or the hedge"
    )
    explain.add_argument("query", help="e.g. 'P(Y | do(X), W)'")
    explain.add_argument("--graph", required=True, help="graph file (.json/.yaml)")
    explain.set_defaults(handler=_explain)

    compile_ = commands.add_parser(
        "compile", parents=[common], help="print the training plan (dry run); optionally save it"
    )
    compile_.add_argument("query", nargs="+", help="one or more queries on the same graph")
    compile_.add_argument("--graph", required=True)
    compile_.add_argument("--png", help="render the plan to this PNG file (a summary for large plans)")
    compile_.add_argument("--json", help="write the plan as JSON")
    compile_.add_argument("--dot", help="write the plan as Graphviz DOT")
    compile_.set_defaults(handler=_compile)

    fit = commands.add_parser(
        "fit", parents=[common], help="fit the plan of a query on CSV data and save the sampling network"
    )
    fit.add_argument("query")
    fit.add_argument("--graph", required=True)
    fit.add_argument("--data", required=True, help="CSV file with a column per variable")
    fit.add_argument(
        "--workdir", required=True, help="artifacts folder (re-running resumes); the network goes to WORKDIR/network"
    )
    fit.add_argument("--backend", default="auto", help="auto, tabular, mlp-diffusion or unet-diffusion")
    fit.add_argument("--seed", type=_integer(0), default=0)
    fit.add_argument(
        "--synthetic-size",
        type=_integer(1),
        default=None,
        help="rows of each synthetic dataset (default: 8x the data's rows up to 1,000,000; as many as the data "
        "when it holds images)",
    )
    fit.add_argument(
        "--types", default=None, metavar="VAR=KIND,...", help="variable kinds, e.g. T=discrete,Y=continuous"
    )
    fit.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="backend option, e.g. steps=2000 or block_out_channels=[32,64] (JSON lists)",
    )
    fit.set_defaults(handler=_fit)

    effect = commands.add_parser(
        "effect",
        parents=[common],
        help="fit a query on CSV data and print its effect: means or probabilities, contrasts, intervals",
    )
    effect.add_argument("query", help='e.g. \'P("In-game Purchases" | do("Side-quest Engagement"))\'')
    effect.add_argument("--graph", required=True)
    effect.add_argument("--data", required=True, help="CSV file with a column per variable")
    effect.add_argument("--do", action="append", default=[], metavar="VAR=V1,V2", help="values to compare, e.g. T=0,1")
    effect.add_argument("--outcome", default=None, help="the outcome to summarize (default: the query's only one)")
    effect.add_argument("--workdir", default=None, help="artifacts folder (default: a temporary one)")
    effect.add_argument("--types", default=None, metavar="VAR=KIND,...")
    effect.add_argument("--backend", default="auto")
    effect.add_argument("--bootstrap", type=int, default=0, help="refits on resampled rows for intervals")
    effect.add_argument("--level", type=float, default=0.95)
    effect.add_argument("-n", type=int, default=10_000, help="samples per intervention value")
    effect.add_argument("--seed", type=int, default=0)
    effect.add_argument("--positivity", default="warn", help="warn, error or ignore")
    effect.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    effect.set_defaults(handler=_effect)

    sample = commands.add_parser("sample", parents=[common], help="sample a saved network")
    sample.add_argument("network", help="folder written by 'idgen fit' (WORKDIR/network)")
    sample.add_argument("-n", type=_integer(1), default=1000, help="number of samples (streamed to --out)")
    sample.add_argument("--do", action="append", default=[], metavar="VAR=VALUE")
    sample.add_argument("--given", action="append", default=[], metavar="VAR=VALUE")
    sample.add_argument("--seed", type=_integer(0), default=0)
    sample.add_argument("--out", help="CSV file for the samples (default: print a summary)")
    sample.set_defaults(handler=_sample)
    return parser


def _explain(args: argparse.Namespace) -> int:
    from idgen.errors import NotIdentifiable
    from idgen.identification import identify

    graph = ADMG.load(_graph_file(args.graph))
    try:
        trace = identify(graph, args.query)
    except NotIdentifiable as error:
        print(f"not identifiable: {error}")
        print(f"hedge: {error.hedge}")
        return 1
    print(trace.explain())
    print(f"estimand (LaTeX): {trace.latex()}")
    free = trace.free_inputs()
    if free:
        print(f"free inputs (any value gives the same answer): {', '.join(sorted(free))}")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from compiler import compile_many

    graph_file = _graph_file(args.graph)
    outputs = {
        flag: output_file(path, f"--{flag}", suffix=".png" if flag == "png" else None)
        for flag, path in (("json", args.json), ("dot", args.dot), ("png", args.png))
        if path is not None
    }
    _distinct(outputs.values())
    plan = compile_many(ADMG.load(graph_file), args.query)
    print(plan.as_text())
    if "json" in outputs:
        atomic_write(outputs["json"], lambda path: path.write_text(plan.dumps()))
    if "dot" in outputs:
        atomic_write(outputs["dot"], lambda path: path.write_text(plan.to_dot()))
    if "png" in outputs:
        atomic_write(outputs["png"], lambda path: plan.to_png(str(path)))
    for path in outputs.values():
        print(f"wrote {path}")
    return 0


def _fit(args: argparse.Namespace) -> int:

    graph_file = _graph_file(args.graph)
    data_file = input_file(args.data, "--data")
    workdir = output_folder(args.workdir, "--workdir")
    options = _options(args.option)
    types = _types(args.types)
    plan, network = _compile_and_fit(
        args, graph_file, data_file, workdir, types, synthetic_size=args.synthetic_size, progress=True, **options
    )
    target = workdir / "network"
    network.save(target)
    print(plan.as_text())
    _print_support(network)
    print(f"saved the sampling network to {target}")
    return 0


def _compile_and_fit(
    args: argparse.Namespace, graph_file: Path, data_file: Path, workdir: Path | None, types: Any, **extra: Any
) -> tuple[Any, Any]:
    """Compile ``args.query`` on the graph file and fit it on the CSV (``fit`` and ``effect`` share this)."""
    import pandas as pd

    from compiler import compile
    from idgen.runtime import fit

    plan = compile(ADMG.load(graph_file), args.query)
    data = _read_csv(data_file, pd)
    network = fit(plan, data, variable_types=types, backend=args.backend, workdir=workdir, seed=args.seed, **extra)
    return plan, network


def _print_support(network: Any) -> None:
    report = network.support_report()
    if report.empty:
        print(f"support: every factor has at least {network.min_support} training rows where it is asked")
        return
    print(f"support: {len(report)} hole(s) or thin cell(s) (< {network.min_support} training rows):")
    for row in report.itertuples():
        where = f" under {row.scenario}" if row.scenario else ""
        print(
            f"  [{row.status}] {row.factor} at {row.configuration}: {row.rows} row(s), "
            f"{100 * row.mass:.1f}% of {row.network}{where}"
        )


def _effect(args: argparse.Namespace) -> int:
    import pandas as pd

    graph_file = _graph_file(args.graph)
    data_file = input_file(args.data, "--data")
    workdir = output_folder(args.workdir, "--workdir") if args.workdir else None
    options = _options(args.option)
    types = _types(args.types)
    do: dict[str, list[float | int]] = {}
    for text in args.do:
        key, raw = _split(text, "--do")
        if key in do:
            raise UsageError(f"--do {key} is given twice")
        if not raw:
            raise UsageError(f"--do takes VAR=V1,V2,..., got {text!r}")
        do[key] = [_number(value.strip(), f"--do {key}") for value in raw.split(",")]
    _, network = _compile_and_fit(args, graph_file, data_file, workdir, types, positivity=args.positivity, **options)
    _print_support(network)
    table = network.effect(args.outcome, do, n=args.n, seed=args.seed, bootstrap=args.bootstrap, level=args.level)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    if args.bootstrap:
        print(f"intervals: {100 * args.level:g}% percentile, {args.bootstrap} bootstrap refits")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from idgen.runtime import SamplingNetwork

    folder = input_folder(args.network, "network")
    out = output_file(args.out, "--out") if args.out else None
    do = _assignments(args.do, "--do")
    given = _assignments(args.given, "--given")
    network = SamplingNetwork.load(folder)
    if not network.is_tabular:
        raise UsageError("this network samples images or vectors; use the Python API (SamplingNetwork.sample)")
    chunks = network.iter_samples(args.n, do=do, given=given or None, seed=args.seed, chunk_size=SAMPLE_CHUNK_ROWS)
    if out is not None:
        _write_csv(out, chunks, args.n)
        print(f"wrote {args.n} samples to {out}")
        return 0
    summary = _Summary()
    for chunk in chunks:
        summary.add(chunk)
    print(summary.text(), end="")
    return 0


def _write_csv(out: Path, chunks: Iterable[Any], n: int) -> None:
    """Stream ``chunks`` of a DataFrame to ``out``; refuse up front when the file would not fit on the disk."""
    iterator = iter(chunks)
    first = next(iterator)
    text = first.to_csv(index=False)
    header, _, _ = text.partition("\n")
    estimate = len(header) + 1 + (len(text) - len(header) - 1) * (n / len(first))
    free = shutil.disk_usage(out.parent).free
    if estimate > free:
        raise UsageError(
            f"--out {str(out)!r}: {n} samples need about {estimate / 2**30:.2f} GiB but {free / 2**30:.2f} GiB "
            "are free on that disk; ask for fewer (-n) or write elsewhere"
        )
    with atomic_open(out) as handle:
        handle.write(text)
        for chunk in iterator:
            chunk.to_csv(handle, index=False, header=False)


class _Summary:
    """Running frequencies of discrete columns and moments of continuous ones, in bounded memory."""

    def __init__(self) -> None:
        self.counts: dict[str, Any] = {}
        self.moments: dict[str, list[float]] = {}
        self.rows = 0

    def add(self, chunk: Any) -> None:
        self.rows += len(chunk)
        for column in chunk.columns:
            values = chunk[column]
            if values.dtype.kind in "iub":
                counts = values.value_counts()
                self.counts[column] = (
                    counts if column not in self.counts else self.counts[column].add(counts, fill_value=0)
                )
            else:
                total, squares, low, high = self.moments.get(column, [0.0, 0.0, math.inf, -math.inf])
                self.moments[column] = [
                    total + float(values.sum()),
                    squares + float((values.astype("float64") ** 2).sum()),
                    min(low, float(values.min())),
                    max(high, float(values.max())),
                ]

    def text(self) -> str:
        lines = []
        for column, counts in self.counts.items():
            shares = (counts / self.rows).sort_index()
            lines.append(f"{column}: " + ", ".join(f"{k}: {v:.4f}" for k, v in shares.items()))
        for column, (total, squares, low, high) in self.moments.items():
            mean = total / self.rows
            std = math.sqrt(max(squares / self.rows - mean**2, 0.0))
            lines.append(f"{column}: mean {mean:.4f}, std {std:.4f}, min {low:.4f}, max {high:.4f}")
        return "".join(line + "\n" for line in lines)


def _graph_file(path: str) -> Path:
    checked = Path(path)
    if not checked.exists():
        raise UsageError(f"graph file {path!r} does not exist")
    return input_file(path, "--graph")


def _distinct(paths: Iterable[Path]) -> None:
    seen: set[Path] = set()
    for path in paths:
        resolved = path.resolve()
        if resolved in seen:
            raise UsageError(f"{str(path)!r} is given for two outputs")
        seen.add(resolved)


def _options(texts: Sequence[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs: numbers, booleans, JSON lists/objects or plain strings."""
    options: dict[str, Any] = {}
    for text in texts:
        key, raw = _split(text, "--option")
        if key in FIT_ARGUMENTS:
            flag = FIT_ARGUMENTS[key]
            instead = f"use {flag}" if flag else "use the Python API (idgen.fit) for it"
            raise UsageError(f"--option {key}=...: {key!r} is an argument of fit, not a backend option; {instead}")
        if key in options:
            raise UsageError(f"--option {key} is given twice")
        options[key] = _option_value(raw)
    return options


def _types(text: str | None) -> dict[str, str] | None:
    """``--types VAR=KIND,...``, checked before any work (a bad kind is a usage error)."""
    from idgen.data import parse_types

    try:
        return parse_types(text) or None
    except IdgenError as error:
        raise UsageError(f"--types: {error}") from None


def _option_value(raw: str) -> Any:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            continue
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    if raw.startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise UsageError(f"--option value {raw!r} is not valid JSON: {error}") from None
    return raw


def _assignments(texts: Sequence[str], flag: str) -> dict[str, float | int]:
    """``VAR=NUMBER`` pairs; a variable given twice is an error (the last would win silently)."""
    values: dict[str, float | int] = {}
    for text in texts:
        key, raw = _split(text, flag)
        if key in values:
            raise UsageError(f"{flag} {key} is given twice ({key}={values[key]} and {key}={raw})")
        values[key] = _number(raw, f"{flag} {key}")
    return values


def _split(text: str, flag: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"{flag} takes KEY=VALUE, got {text!r}")
    key, _, raw = text.rpartition("=")  # a variable's name may hold '=' (any column name), a number never does
    key, raw = key.strip(), raw.strip()
    if not key:
        raise UsageError(f"{flag} {text!r}: the name before '=' is empty")
    return key, raw


def _number(raw: str, what: str) -> float | int:
    try:
        value = int(raw)
    except ValueError:
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"{what}={raw!r}: the value must be a number") from None
        if not math.isfinite(number):
            raise UsageError(f"{what}={raw!r}: the value must be a finite number") from None
        return number
    if not -(2**63) <= value < 2**63:
        raise UsageError(f"{what}={raw}: the value is too large")
    return value


def _read_csv(path: Path, pd: Any) -> Any:
    try:
        return pd.read_csv(path)
    except Exception as error:  # noqa: BLE001 - one clear line for any parse failure
        raise IdgenError(f"cannot read CSV {str(path)!r}: {' '.join(str(error).split())}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
