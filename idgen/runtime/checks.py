"""Checks of ``fit``'s arguments that run before any work: seeds and sizes by type, options by backend.

Options reach tasks in groups (plain ``**options`` go to every backend but ``tabular``; then
``options_by_backend``, ``options_by_variable``, ``options_by_factor``). The backends a plan uses check
what they receive when ``fit`` builds its models up front; this module checks the rest, so that no option
is ever silently ignored: an option no backend knows is refused with the list of valid ones, and a known
one with a bad value is refused by its backend even when that backend runs no task of this plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from compiler.plan import Plan
from idgen.data import VariableType
from idgen.errors import IdgenError, UsageError
from trainers.base import backend_names, get_backend

__all__ = ["check_integer_argument", "check_fit_arguments", "check_unused_options"]

#: variable types a backend is tried on when it runs no task of the plan, to check the values of its options
_PROBES: tuple[dict[str, VariableType], ...] = (
    {"target": VariableType("image", (1, 256, 256)), "parent": VariableType("continuous", (1,))},
    {"target": VariableType("continuous", (1,)), "parent": VariableType("continuous", (1,))},
)


def check_integer_argument(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int no smaller than ``minimum``; a bool, float or string is refused, not coerced.

    Examples
    --------
    >>> check_integer_argument(3, "seed", 0)
    3
    >>> check_integer_argument(2.5, "synthetic_size", 1)
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: synthetic_size must be an integer >= 1, got 2.5 (float)
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value >= 2**63:
        raise UsageError(f"{name} must be below 2**63, got {value!r}")
    return int(value)


def check_fit_arguments(
    plan: Any, backend: Any, workdir: Any, seed: Any, synthetic_size: Any, tasks: Any, mappings: Mapping[str, Any]
) -> tuple[int, int | None, list[str] | None]:
    """``fit``'s plan, backend, workdir, seed, synthetic size and tasks, refused before any work if malformed.

    ``mappings`` names the keyword arguments that must be mappings (or ``None``).
    """
    for name, value in mappings.items():
        if value is not None and not isinstance(value, Mapping):
            raise UsageError(f"{name} must be a dict, got {type(value).__name__} {value!r:.60}")
    if not isinstance(plan, Plan):
        raise UsageError(f"fit needs a Plan from idgen.compile, got {type(plan).__name__}")
    if not isinstance(backend, str):
        raise UsageError(f"backend must be a backend name such as 'auto' or 'tabular', got {backend!r}")
    if workdir is not None and Path(workdir).exists() and not Path(workdir).is_dir():
        raise UsageError(f"workdir {str(workdir)!r} is an existing file; give a folder")
    seed = check_integer_argument(seed, "seed", 0)
    size = None if synthetic_size is None else check_integer_argument(synthetic_size, "synthetic_size", 1)
    if tasks is None:
        return seed, size, None
    listed = [tasks] if isinstance(tasks, str) else tasks
    if not isinstance(listed, (list, tuple, set, frozenset)) or not all(isinstance(t, str) for t in listed):
        raise UsageError(f"tasks must be a task id or a list of task ids, got {tasks!r}")
    known = {task.id for task in plan.tasks}
    unknown = [t for t in listed if t not in known]
    if unknown:
        raise UsageError(f"plan has no task(s) {', '.join(unknown)}; its tasks: {', '.join(sorted(known))}")
    return seed, size, list(listed)


def check_unused_options(
    used_backends: Iterable[str], options: Mapping[str, Any], options_by_backend: Mapping[str, Mapping[str, Any]]
) -> None:
    """Check the options that reach no task of the plan (the used backends check their own).

    ``options_by_backend`` for a backend the plan does not use is checked against that backend in full.
    Plain ``options`` are checked here only when no used backend receives them (a plan fitted by
    ``tabular`` alone): each must be an option of some backend that takes plain options, and each such
    backend checks the values it knows.
    """
    used = set(used_backends)
    for name, group in options_by_backend.items():
        if not isinstance(group, Mapping):
            raise UsageError(f"options_by_backend[{name!r}] must be a mapping of options, got {type(group).__name__}")
        if name not in used and group and name in backend_names():
            _probe(name, dict(group))
        if name == "autoencoder":  # checked even when the plan has no image domain (a typo is never ignored)
            from trainers.autoencoder import check_autoencoder_options

            check_autoencoder_options(dict(group))
    if not options or used - {"tabular"}:
        return
    takers = [name for name in backend_names() if name != "tabular"]
    known = {key for name in takers for key in get_backend(name).default_options}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(
            f"no backend has option(s) {', '.join(unknown)}; the options of the diffusion backends "
            f"({', '.join(takers)}) are {', '.join(sorted(known))}"
        )
    for name in takers:
        mine = {k: v for k, v in options.items() if k in get_backend(name).default_options}
        if mine:
            _probe(name, mine)


def _probe(name: str, options: dict[str, Any]) -> None:
    """Build ``name`` with ``options`` on the first probe task it can model (so its own checks run)."""
    backend = get_backend(name)
    for types in _PROBES:
        try:
            backend(("target",), ("parent",), types)
        except IdgenError:
            continue  # this backend does not model these types; try the next probe
        backend(("target",), ("parent",), types, **options)
        return
    unknown = sorted(set(options) - set(backend.default_options))
    if unknown:
        raise UsageError(
            f"backend {name!r} has no option(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(sorted(backend.default_options)) or 'none'}"
        )
