"""Ray executor benchmark: two equal independent tasks, serial fit against ``executor="ray"`` on a local
2-CPU cluster, in one process, interleaved round by round.

The plan is ``P(A, B)`` on two unconnected continuous variables: two ``mlp-diffusion`` tasks of the same
size that depend on nothing but the observed data. The serial fit runs them one after the other with one
torch thread; the Ray fit runs each in its own worker (``num_cpus=1``, so one torch thread too). The Ray
cluster is started once before the first round and not timed; each Ray fit's time includes handing the
plan and data to the workers, the workers' first torch import (first round only: workers are reused) and
the driver loading the factors back. Run from the repository root::

    .venv/bin/python bench/ray_executor.py                 # 2 rounds, table + bench/results/ray_executor.json
    .venv/bin/python bench/ray_executor.py --steps 400     # shorter tasks

Goal: the Ray fit takes at most 0.65x the serial fit's wall time. Two cores are needed; on a machine whose
cores are busy with other work, say so next to the figure (the script prints the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import idgen

GOAL = 0.65
RESULTS = Path(__file__).resolve().parent / "results" / "ray_executor.json"


def two_independent_tasks(rows: int) -> tuple[object, dict[str, np.ndarray]]:
    """The plan of ``P(A, B)`` with A and B unconnected, and data for it: two equal, independent tasks."""
    graph = idgen.ADMG(nodes=["A", "B"])
    plan = idgen.compile(graph, "P(A, B)")
    rng = np.random.default_rng(0)
    data = {name: rng.normal(size=(rows, 1)).astype(np.float32) for name in ("A", "B")}
    return plan, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="training steps of each task (default 1500)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import ray
    import torch

    plan, data = two_independent_tasks(args.rows)
    assert len(plan.tasks) == 2 and all(task.source == "observed" for task in plan.tasks)
    options = {"steps": args.steps, "width": 128, "depth": 2, "batch_size": 128, "checkpoint_every": 10**9}
    torch.set_num_threads(1)  # the serial fit gets what each Ray worker gets
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    cluster_start = time.perf_counter() - started
    root = Path(tempfile.mkdtemp(prefix="idgen-ray-bench-"))
    serial_times, ray_times = [], []
    try:
        for round_index in range(args.rounds):
            for executor, times in (("serial", serial_times), ("ray", ray_times)):
                workdir = root / f"{executor}-{round_index}"
                start = time.perf_counter()
                idgen.fit(plan, data, backend="mlp-diffusion", workdir=workdir, executor=executor, **options)
                times.append(time.perf_counter() - start)
                log = json.loads((workdir / "fit_log.json").read_text())
                pids = sorted({task["pid"] for task in log["tasks"]})
                print(f"round {round_index}: {executor:<6} {times[-1]:7.2f} s  (tasks in pid(s) {pids})", flush=True)
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    ratios = [r / s for r, s in zip(ray_times, serial_times, strict=True)]
    load = os.getloadavg()
    summary = {
        "cores": os.cpu_count(),
        "load_average_1_5_15": load,
        "steps_per_task": args.steps,
        "cluster_start_s": cluster_start,
        "serial_s": serial_times,
        "ray_s": ray_times,
        "ratio_per_round": ratios,
        "ratio_median": statistics.median(ratios),
        "ratio_best": min(ratios),
        "goal": GOAL,
        "goal_met": statistics.median(ratios) <= GOAL,
    }
    print(
        f"ray / serial wall time: median {summary['ratio_median']:.2f}, best {summary['ratio_best']:.2f} "
        f"(goal <= {GOAL}: {'met' if summary['goal_met'] else 'MISSED'}); cluster start {cluster_start:.1f} s "
        f"(not counted); {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
