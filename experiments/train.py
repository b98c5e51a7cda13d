"""Fit the plan's tasks: all of them, or the ones named by ``task=`` (one hydra multirun job each).

    python experiments/train.py experiment=napkin_mnist profile=cpu                 # every task, in order
    python experiments/train.py --multirun experiment=napkin_mnist task=<id1>,<id2>   # one stage, in parallel
    accelerate launch --multi_gpu experiments/train.py experiment=napkin_mnist profile=paper task=<id>
    python experiments/train.py --multirun hydra/launcher=slurm launch.num_gpus=1 task=<id1>,<id2>  # SLURM jobs

Run the stages printed by compile.py in order; a task whose dataset is not made yet is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

EXPERIMENTS = str(Path(__file__).resolve().parent)


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    # imported here, not above: a launcher (submitit) runs this function in a job that only knows its path
    if EXPERIMENTS not in sys.path:
        sys.path.insert(0, EXPERIMENTS)
    from pipeline import compile_plan, fit_plan, output_dir, scenario

    data = scenario(cfg).make_data(cfg)
    plan = compile_plan(cfg, output_dir())
    tasks = None if cfg.task is None else [t.strip() for t in str(cfg.task).split(",") if t.strip()]
    network = fit_plan(cfg, plan, data, tasks=tasks)
    if network is not None:
        network.save(Path(cfg.artifacts) / "network")
        print(f"saved the sampling network to {Path(cfg.artifacts) / 'network'}")
    else:
        print(f"fitted task(s) {', '.join(tasks or [])} in {cfg.artifacts}")


if __name__ == "__main__":
    main()
