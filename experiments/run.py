"""Run an experiment end to end: data → compile → fit → sample → evaluate.

    python experiments/run.py experiment=frontdoor_discrete
    python experiments/run.py experiment=napkin_mnist profile=cpu

Outputs (plan, figures, metrics.json) go to hydra's run directory; fitted artifacts go to
``runs/<experiment>-<profile>`` so that re-running after an interruption resumes.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from pipeline import run


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
