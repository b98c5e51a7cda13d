"""Bounded resources: plan pictures of large plans and ``idgen sample`` of many rows, timed with peak memory.

Each measurement runs in a fresh subprocess (peak RSS and CPU seconds from ``resource``/``process_time``;
CPU seconds are the figure to compare on a loaded machine), so the figures are per command:

* ``compile --png`` on plans of about 50, 244 and 437 tasks (random 40-node ADMG, many queries): seconds,
  peak RSS and the picture's pixels. Goal: a summary view in at most 10 s and bounded pixels.
* ``sample -n N`` of the tabular napkin network, summarized and streamed to a CSV: seconds and peak RSS
  for N = 10^5 .. 10^7. Goal: peak memory flat in N (chunks of 262,144 rows).

Run from the repository root::

    .venv/bin/python bench/bounded_resources.py            # writes bench/results/bounded_resources.json
    .venv/bin/python bench/bounded_resources.py --quick    # fewer and smaller cases
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "bounded_resources.json"
_MEASURE = """
import resource, sys, time
import compiler.render
start = time.perf_counter()
drawing = [0.0, 0.0]
render_plan = compiler.render.render_plan
def timed(*args, **kwargs):
    begin, cpu = time.perf_counter(), time.process_time()
    render_plan(*args, **kwargs)
    drawing[0] += time.perf_counter() - begin
    drawing[1] += time.process_time() - cpu
compiler.render.render_plan = timed
from idgen.cli import main
status = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("MEASURE", status, time.perf_counter() - start, time.process_time(), peak, *drawing, file=sys.stderr)
"""


def _run(arguments: list[str]) -> dict[str, Any]:
    """Run ``idgen ARGUMENTS`` in a subprocess; its status, seconds and peak RSS (MiB)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *arguments], capture_output=True, text=True, check=False)
    line = next(x for x in done.stderr.splitlines() if x.startswith("MEASURE"))
    _, status, seconds, cpu, rss, drawing, drawing_cpu = line.split()
    measured = {"status": int(status), "seconds": round(float(seconds), 2), "cpu_seconds": round(float(cpu), 2)}
    measured["peak_rss_mb"] = round(int(rss) / 1024, 1)
    return {
        **measured,
        "drawing_seconds": round(float(drawing), 2),
        "drawing_cpu_seconds": round(float(drawing_cpu), 2),
    }


def _plan_queries(target: int, seed: int = 0) -> tuple[dict[str, Any], list[str]]:
    """A random 40-node graph and the shortest list of identifiable queries whose plan has ``target`` tasks or more
    (binary search over prefixes of up to 700 queries, so the plan is compiled about ten times)."""
    from compiler import compile_many
    from idgen.identification import identify
    from idgen.scm import random_admg, random_query

    rng = random.Random(seed)
    graph = random_admg(40, seed=1)
    queries: list[Any] = []
    for _ in range(3000):
        query = random_query(graph, rng, ancestral=False)
        try:
            identify(graph, query)
        except Exception:  # noqa: BLE001 - not identifiable or degenerate: draw another
            continue
        queries.append(query)
        if len(queries) == 700:
            break
    low, high = 1, len(queries)
    while low < high:
        middle = (low + high) // 2
        if len(compile_many(graph, queries[:middle]).tasks) >= target:
            high = middle
        else:
            low = middle + 1
    return graph.to_dict(), [str(q) for q in queries[:low]]


def bench_pictures(folder: Path, targets: list[int]) -> list[dict[str, Any]]:
    from PIL import Image

    from compiler import compile_many
    from idgen.graph import ADMG

    rows = []
    for target in targets:
        spec, queries = _plan_queries(target)
        graph_file = folder / f"graph{target}.json"
        graph_file.write_text(json.dumps(spec))
        tasks = len(compile_many(ADMG.from_dict(spec), queries).tasks)
        png = folder / f"plan{target}.png"
        measured = _run(["compile", *queries, "--graph", str(graph_file), "--png", str(png)])
        width, height = Image.open(png).size if png.is_file() else (0, 0)
        rows.append({"tasks": tasks, "queries": len(queries), **measured, "pixels": [width, height]})
        print(
            f"compile --png  {tasks:4d} tasks {len(queries):4d} queries: {measured['seconds']:6.2f} s "
            f"(drawing {measured['drawing_seconds']:5.2f} s, {measured['drawing_cpu_seconds']:5.2f} s CPU) "
            f"{measured['peak_rss_mb']:7.1f} MiB  {width}x{height} px"
        )
    return rows


def bench_sampling(folder: Path, sizes: list[int]) -> list[dict[str, Any]]:
    import idgen
    from idgen.demo import NAPKIN, napkin_scm

    network = idgen.fit(
        idgen.compile(NAPKIN, "P(Y | do(X))"),
        napkin_scm().sample(5000, seed=0),
        backend="tabular",
        workdir=folder / "run",
    )
    network.save(folder / "network")
    rows = []
    for n in sizes:
        for mode, extra in (("summary", []), ("csv", ["--out", str(folder / "samples.csv")])):
            measured = _run(["sample", str(folder / "network"), "-n", str(n), "--do", "X=1", *extra])
            rows.append({"n": n, "mode": mode, **measured})
            print(
                f"sample -n {n:>10,d} {mode:7s}: {measured['seconds']:7.2f} s ({measured['cpu_seconds']:7.2f} s CPU) "
                f"{measured['peak_rss_mb']:7.1f} MiB"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pictures = bench_pictures(folder, [50, 244] if args.quick else [50, 244, 437])
        sampling = bench_sampling(folder, [100_000, 1_000_000] if args.quick else [100_000, 1_000_000, 10_000_000])
    result = {"pictures": pictures, "sampling": sampling, "seconds": round(time.perf_counter() - start, 1)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
