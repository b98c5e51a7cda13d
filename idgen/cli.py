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
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idgen.errors import IdgenError
from idgen.graph import ADMG

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``idgen`` command; returns the exit status (2 on a user error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except IdgenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idgen", description="ID-GEN: sample identifiable causal effects with conditional generative models"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    explain = commands.add_parser("explain", help="identify a query and print the trace, the estimand or the hedge")
    explain.add_argument("query", help="e.g. 'P(Y | do(X), W)'")
    explain.add_argument("--graph", required=True, help="graph file (.json/.yaml)")
    explain.set_defaults(handler=_explain)

    compile_ = commands.add_parser("compile", help="print the training plan (dry run); optionally save it")
    compile_.add_argument("query", nargs="+", help="one or more queries on the same graph")
    compile_.add_argument("--graph", required=True)
    compile_.add_argument("--png", help="render the plan to this PNG file")
    compile_.add_argument("--json", help="write the plan as JSON")
    compile_.add_argument("--dot", help="write the plan as Graphviz DOT")
    compile_.set_defaults(handler=_compile)

    fit = commands.add_parser("fit", help="fit the plan of a query on CSV data and save the sampling network")
    fit.add_argument("query")
    fit.add_argument("--graph", required=True)
    fit.add_argument("--data", required=True, help="CSV file with a column per variable")
    fit.add_argument(
        "--workdir", required=True, help="artifacts folder (re-running resumes); the network goes to WORKDIR/network"
    )
    fit.add_argument("--backend", default="auto", help="auto, tabular, mlp-diffusion or unet-diffusion")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--synthetic-size", type=int, default=None)
    fit.add_argument(
        "--types", default=None, metavar="VAR=KIND,...", help="variable kinds, e.g. T=discrete,Y=continuous"
    )
    fit.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="backend option, e.g. steps=2000"
    )
    fit.set_defaults(handler=_fit)

    effect = commands.add_parser(
        "effect", help="fit a query on CSV data and print its effect: means or probabilities, contrasts, intervals"
    )
    effect.add_argument("query", help="e.g. 'P(\"In-game Purchases\" | do(\"Side-quest Engagement\"))'")
    effect.add_argument("--graph", required=True)
    effect.add_argument("--data", required=True, help="CSV file with a column per variable")
    effect.add_argument(
        "--do", action="append", default=[], metavar="VAR=V1,V2", help="values to compare, e.g. T=0,1"
    )
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

    sample = commands.add_parser("sample", help="sample a saved network")
    sample.add_argument("network", help="folder written by 'idgen fit' (WORKDIR/network)")
    sample.add_argument("-n", type=int, default=1000)
    sample.add_argument("--do", action="append", default=[], metavar="VAR=VALUE")
    sample.add_argument("--given", action="append", default=[], metavar="VAR=VALUE")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", help="CSV file for the samples (default: print a summary)")
    sample.set_defaults(handler=_sample)
    return parser


def _explain(args: argparse.Namespace) -> int:
    from idgen.errors import NotIdentifiable
    from idgen.identification import identify

    graph = ADMG.load(args.graph)
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

    graph = ADMG.load(args.graph)
    plan = compile_many(graph, args.query)
    print(plan.as_text())
    if args.json:
        Path(args.json).write_text(plan.dumps())
        print(f"wrote {args.json}")
    if args.dot:
        Path(args.dot).write_text(plan.to_dot())
        print(f"wrote {args.dot}")
    if args.png:
        plan.to_png(args.png)
        print(f"wrote {args.png}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    import pandas as pd

    from compiler import compile
    from idgen.data import parse_types
    from idgen.runtime import fit

    graph = ADMG.load(args.graph)
    plan = compile(graph, args.query)
    data = _read_csv(args.data, pd)
    options: dict[str, Any] = dict(_assignment(text, "--option", numeric=True) for text in args.option)
    network = fit(
        plan,
        data,
        variable_types=parse_types(args.types) or None,
        backend=args.backend,
        workdir=args.workdir,
        seed=args.seed,
        synthetic_size=args.synthetic_size,
        progress=True,
        **options,
    )
    target = Path(args.workdir) / "network"
    network.save(target)
    print(plan.as_text())
    _print_support(network)
    print(f"saved the sampling network to {target}")
    return 0


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

    from compiler import compile
    from idgen.data import parse_types
    from idgen.runtime import fit

    graph = ADMG.load(args.graph)
    plan = compile(graph, args.query)
    data = _read_csv(args.data, pd)
    do: dict[str, list[object]] = {}
    for text in args.do:
        key, _, raw = text.rpartition("=")
        if not key.strip() or not raw.strip():
            raise IdgenError(f"--do takes VAR=V1,V2,..., got {text!r}")
        do[key.strip()] = [_assignment(f"{key}={value}", "--do")[1] for value in raw.split(",")]
    options: dict[str, Any] = dict(_assignment(text, "--option", numeric=True) for text in args.option)
    network = fit(
        plan,
        data,
        variable_types=parse_types(args.types) or None,
        backend=args.backend,
        workdir=args.workdir,
        seed=args.seed,
        positivity=args.positivity,
        **options,
    )
    _print_support(network)
    table = network.effect(args.outcome, do, n=args.n, seed=args.seed, bootstrap=args.bootstrap, level=args.level)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    if args.bootstrap:
        print(f"intervals: {100 * args.level:g}% percentile, {args.bootstrap} bootstrap refits")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from idgen.runtime import SamplingNetwork

    network = SamplingNetwork.load(args.network)
    do = dict(_assignment(text, "--do") for text in args.do)
    given = dict(_assignment(text, "--given") for text in args.given)
    samples = network.sample(args.n, do=do, given=given or None, seed=args.seed)
    if not hasattr(samples, "to_csv"):
        raise IdgenError("this network samples images or vectors; use the Python API (SamplingNetwork.sample)")
    if args.out:
        samples.to_csv(args.out, index=False)
        print(f"wrote {len(samples)} samples to {args.out}")
    else:
        for column in samples.columns:
            frequencies = samples[column].value_counts(normalize=True).sort_index()
            print(f"{column}: " + ", ".join(f"{k}: {v:.4f}" for k, v in frequencies.items()))
    return 0


def _assignment(text: str, flag: str, numeric: bool = False) -> tuple[str, object]:
    if "=" not in text:
        raise IdgenError(f"{flag} takes VAR=VALUE, got {text!r}")
    key, _, raw = text.rpartition("=")  # a variable's name may hold '=', a number never does
    key = key.strip()
    raw = raw.strip()
    for convert in (int, float):
        try:
            return key, convert(raw)
        except ValueError:
            continue
    if numeric and raw.lower() in {"true", "false"}:
        return key, raw.lower() == "true"
    if not numeric:
        raise IdgenError(f"{flag} {key}={raw!r}: the value must be a number")
    return key, raw


def _read_csv(path: str, pd: object) -> object:
    if not Path(path).is_file():
        raise IdgenError(f"data file {path!r} does not exist")
    try:
        return pd.read_csv(path)  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - one clear line for any parse failure
        raise IdgenError(f"cannot read CSV {path!r}: {error}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
