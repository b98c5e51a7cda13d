"""Make the experiment scripts' folder importable (it is a folder of scripts, not a package)."""

from __future__ import annotations

import sys
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
CONFIGS = EXPERIMENTS.parent / "configs"
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))
