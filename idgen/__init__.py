"""idgen: sample any identifiable causal effect with conditional generative models (ID-GEN).

The public API is imported lazily so that ``import idgen`` stays light (no torch, no diffusers) and the
package graph has no cycle at import time::

    import idgen
    g = idgen.ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    trace = idgen.identify(g, "P(Y | do(X))")
    print(trace.explain())
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ADMG": "idgen.graph",
    "Query": "idgen.query",
    "identify": "idgen.identification",
    "is_identifiable": "idgen.identification",
    "Trace": "idgen.trace",
    "Step": "idgen.trace",
    "Hedge": "idgen.trace",
    "IdgenError": "idgen.errors",
    "GraphError": "idgen.errors",
    "QueryError": "idgen.errors",
    "NotIdentifiable": "idgen.errors",
    "DataError": "idgen.errors",
    "PositivityError": "idgen.errors",
    "PositivityWarning": "idgen.errors",
    "FitNoiseWarning": "idgen.errors",
    "VariableType": "idgen.data",
    "compile": "compiler",
    "compile_many": "compiler",
    "Plan": "compiler",
    "fit": "idgen.runtime",
    "SamplingNetwork": "idgen.runtime",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'idgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
