"""Compile only: print the plan and write plan.txt / plan.json / plan.png, plus the training stages.

    python experiments/compile.py experiment=napkin_mnist
    python experiments/compile.py experiment=napkin_mnist launch.commands=true   # + one SLURM sweep per group

The printed stages list the task ids that can train in parallel, one hydra job each (see train.py). With
``launch.commands=true`` (which makes the data, to pick each task's backend) every stage is split into
groups of tasks asking for the same CPUs and GPUs, each printed as a ``hydra/launcher=slurm`` sweep.
"""

from __future__ import annotations

import shlex

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from pipeline import compile_plan, launch_groups, output_dir, scenario


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    outdir = output_dir()
    plan = compile_plan(cfg, outdir)
    print(plan.as_text())
    for k, stage in enumerate(plan.stages()):
        print(f"stage {k}: task={','.join(stage)}")
    if cfg.launch.commands:
        kept = [o for o in HydraConfig.get().overrides.task if not o.lstrip("+~").startswith(("launch.", "hydra"))]
        overrides = " ".join(shlex.quote(o) for o in kept)
        for k, groups in enumerate(launch_groups(cfg, plan, scenario(cfg).make_data(cfg))):
            for resources, task_ids in groups:
                print(
                    f"stage {k}, {resources['num_cpus']:g} CPU(s), {resources['num_gpus']:g} GPU(s): "
                    f"python experiments/train.py --multirun hydra/launcher=slurm {overrides} "
                    f"launch.num_cpus={resources['num_cpus']:g} launch.num_gpus={resources['num_gpus']:g} "
                    f"task={','.join(task_ids)}"
                )
    print(f"wrote plan.txt, plan.json and plan.png to {outdir}")


if __name__ == "__main__":
    main()
