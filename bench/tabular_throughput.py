"""Benchmark: tabular sampling throughput (rows/s) of the napkin network, and fit time.

Usage: ``.venv/bin/python bench/tabular_throughput.py [--rows 100000] [--samples 1000000]``
Prints the figures and writes ``bench/results/tabular_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import idgen
from idgen.demo import NAPKIN, napkin_scm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = napkin_scm().sample(args.rows, seed=0)
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        network = idgen.fit(plan, data, backend="tabular", workdir=workdir)
        fit_seconds = time.perf_counter() - start
        timings = []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            network.sample(args.samples, do={"X": repeat % 2}, seed=repeat)
            timings.append(time.perf_counter() - start)
    best = min(timings)
    result = {
        "rows": args.rows,
        "samples": args.samples,
        "fit_seconds": round(fit_seconds, 3),
        "sample_seconds": [round(t, 4) for t in timings],
        "rows_per_second": round(args.samples / best),
    }
    print(f"fit on {args.rows:,} rows (4 tasks + D′ of {args.rows:,} rows): {fit_seconds:.2f} s")
    print(f"sampling {args.samples:,} rows of P(Y | do(X)): best {best:.3f} s → {result['rows_per_second']:,} rows/s")
    out = Path(__file__).parent / "results" / "tabular_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
