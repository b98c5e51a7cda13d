"""Compile only: print the plan and write plan.txt / plan.json / plan.png, plus the training stages.

    python experiments/compile.py experiment=napkin_mnist

The printed stages list the task ids that can train in parallel, one hydra job each (see train.py).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from pipeline import compile_plan, output_dir


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    outdir = output_dir()
    plan = compile_plan(cfg, outdir)
    print(plan.as_text())
    for k, stage in enumerate(plan.stages()):
        print(f"stage {k}: task={','.join(stage)}")
    print(f"wrote plan.txt, plan.json and plan.png to {outdir}")


if __name__ == "__main__":
    main()
