"""Runtime: fit a plan's tasks and bind the trained factors into sampling networks (imports torch lazily)."""

from idgen.runtime.fit import choose_backend, fit
from idgen.runtime.network import SamplingNetwork, run_network

__all__ = ["fit", "choose_backend", "SamplingNetwork", "run_network"]
