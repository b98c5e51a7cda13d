"""Sample and evaluate a network fitted by train.py (or run.py): figures and metrics.json.

python experiments/sample.py experiment=napkin_mnist profile=cpu
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig
from pipeline import output_dir, scenario

import idgen


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    module = scenario(cfg)
    network = idgen.SamplingNetwork.load(Path(cfg.artifacts) / "network")
    metrics = module.evaluate(cfg, network, module.make_data(cfg), output_dir())
    (output_dir() / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    print(json.dumps(metrics, indent=1, default=float))


if __name__ == "__main__":
    main()
