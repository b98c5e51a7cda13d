"""``tabular``: the exact empirical conditional sampler for discrete variables.

Fitting counts every (conditioning configuration, target configuration) pair; sampling draws targets
from the empirical conditional of each row's configuration. It is a *perfect* conditional model of its
data, so a plan fitted with it has no error left but the sampling noise and the compiler's own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from idgen.data import Table, VariableType, num_rows
from idgen.errors import DataError, PositivityError
from trainers.base import FactorModel, register_backend

__all__ = ["TabularModel"]


@register_backend
class TabularModel(FactorModel):
    """Empirical ``P(targets | conditioning)`` over discrete columns.

    Examples
    --------
    >>> import numpy as np
    >>> from idgen.data import infer_types
    >>> table = {"X": np.array([0, 0, 1, 1]), "Y": np.array([0, 0, 1, 0])}
    >>> model = TabularModel(["Y"], ["X"], infer_types(table))
    >>> _ = model.fit(table)
    >>> model.sample({"X": np.array([0, 0, 0])}, 3, seed=0)["Y"].tolist()
    [0, 0, 0]
    """

    backend = "tabular"
    default_options: dict[str, Any] = {}

    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        continuous = [v for v, t in types.items() if t.kind != "discrete"]
        if continuous:
            return (
                f"it models discrete variables only, but {', '.join(continuous)} are not discrete "
                "(use 'mlp-diffusion' or 'unet-diffusion')"
            )
        return None

    def fit(self, table: Table, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
        start = time.perf_counter()
        target_rows = _stack(table, self.targets)
        if self.conditioning:
            configs, config_index = np.unique(_stack(table, self.conditioning), axis=0, return_inverse=True)
        else:
            configs, config_index = np.zeros((1, 0), dtype=np.int64), np.zeros(len(target_rows), dtype=np.int64)
        pairs = np.concatenate([config_index.reshape(-1, 1), target_rows], axis=1)
        entries, counts = np.unique(pairs, axis=0, return_counts=True)
        entry_config = entries[:, 0]
        totals = np.bincount(entry_config, weights=counts, minlength=len(configs))
        # cumulative probabilities within each configuration's segment, each segment ending at exactly 1
        running = np.cumsum(counts)
        first = np.r_[True, entry_config[1:] != entry_config[:-1]]
        last = np.r_[entry_config[1:] != entry_config[:-1], True]
        offset = np.maximum.accumulate(np.where(first, running - counts, 0))
        cumulative = (running - offset) / totals[entry_config]
        cumulative[last] = 1.0
        self._configs = configs.astype(np.int64)
        self._entry_config = entry_config.astype(np.int64)
        self._entry_targets = entries[:, 1:].astype(np.int64)
        self._cumulative = cumulative
        return {
            "backend": self.backend,
            "rows": int(num_rows(table)),
            "configurations": int(len(configs)),
            "seconds": time.perf_counter() - start,
        }

    def sample(self, conditioning: Table, n: int, *, seed: int) -> Table:
        if not hasattr(self, "_configs"):
            raise DataError(f"tabular model {self.describe()} is not fitted")
        generator = np.random.default_rng(seed)
        if self.conditioning:
            rows = _stack(conditioning, self.conditioning)
            if len(rows) != n:
                raise DataError(f"{self.describe()}: got {len(rows)} conditioning rows for {n} samples")
            config = self._lookup(rows)
        else:
            config = np.zeros(n, dtype=np.int64)
        # global search key: configuration index + uniform draw, against configuration index + cumulative
        keys = self._entry_config + self._cumulative
        draws = config + generator.random(n)
        chosen = np.searchsorted(keys, draws, side="right")
        chosen = np.minimum(chosen, len(keys) - 1)
        wrong = self._entry_config[chosen] != config  # only when a draw lands exactly on a boundary
        chosen[wrong] -= 1
        values = self._entry_targets[chosen]
        return {v: values[:, j].copy() for j, v in enumerate(self.targets)}

    def _lookup(self, rows: np.ndarray) -> np.ndarray:
        """Index of each row's configuration; raise PositivityError for one never seen in training."""
        configs = self._configs
        together = np.concatenate([configs, rows], axis=0)
        unique, inverse = np.unique(together, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        position_of_unique = np.full(len(unique), -1, dtype=np.int64)
        position_of_unique[inverse[: len(configs)]] = np.arange(len(configs))
        found = position_of_unique[inverse[len(configs) :]]
        missing = np.flatnonzero(found < 0)
        if len(missing):
            example = rows[missing[0]]
            described = ", ".join(f"{v}={int(x)}" for v, x in zip(self.conditioning, example, strict=True))
            raise PositivityError(
                f"{self.describe()} was never trained on {described} ({len(missing)} of {len(rows)} rows "
                f"have unseen configurations): positivity is violated for this input"
            )
        return found

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {
            "configs": self._configs,
            "entry_config": self._entry_config,
            "entry_targets": self._entry_targets,
            "cumulative": self._cumulative,
        }

    def load_state(self, metadata: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
        """Restore the counts' tables after checking them: a tampered or corrupt state never samples.

        Configurations and targets must be categories of their variables, every entry must point at a
        configuration in range (in order, each configuration with at least one entry), and each
        configuration's cumulative probabilities must rise within [0, 1] and end at exactly 1.
        """
        missing = [name for name in ("configs", "entry_config", "entry_targets", "cumulative") if name not in arrays]
        if missing:
            raise DataError(f"saved tabular state lacks tensor(s) {', '.join(missing)}")
        integer = {name: np.asarray(arrays[name]) for name in ("configs", "entry_config", "entry_targets")}
        for name, array in integer.items():
            if array.dtype.kind not in "iu":
                raise DataError(f"saved tabular state: {name!r} must hold integers, got {array.dtype}")
        configs = integer["configs"].astype(np.int64)
        entry_config = integer["entry_config"].astype(np.int64)
        entry_targets = integer["entry_targets"].astype(np.int64)
        cumulative = np.asarray(arrays["cumulative"], dtype=np.float64)
        m = len(entry_config)
        if (
            configs.ndim != 2
            or configs.shape[1] != len(self.conditioning)
            or entry_targets.shape != (m, len(self.targets))
            or entry_config.ndim != 1
            or cumulative.shape != (m,)
            or m == 0
        ):
            raise DataError(f"saved tabular state does not match {self.describe()} (array shapes)")
        for j, variable in enumerate(self.conditioning):
            _check_categories(configs[:, j], variable, self.types[variable], "configuration")
        for j, variable in enumerate(self.targets):
            _check_categories(entry_targets[:, j], variable, self.types[variable], "target")
        if entry_config.min() < 0 or entry_config.max() >= max(len(configs), 1) or np.any(np.diff(entry_config) < 0):
            raise DataError("saved tabular state: entry indices are out of range or out of order")
        if len(np.unique(entry_config)) != max(len(configs), 1):
            raise DataError("saved tabular state: a configuration has no entries")
        last = np.r_[entry_config[1:] != entry_config[:-1], True]
        first = np.r_[True, last[:-1]]
        steps = np.diff(np.r_[0.0, cumulative])
        steps[first] = cumulative[first]
        if (
            not np.isfinite(cumulative).all()
            or np.any(steps < 0)
            or np.any(cumulative > 1)
            or np.any(cumulative[last] != 1)
        ):
            raise DataError(
                "saved tabular state: probabilities must lie in [0, 1] and each configuration's must sum to 1"
            )
        self._configs, self._entry_config, self._entry_targets, self._cumulative = (
            configs,
            entry_config,
            entry_targets,
            cumulative,
        )


def _check_categories(values: np.ndarray, variable: str, kind: VariableType, role: str) -> None:
    outside = np.setdiff1d(np.unique(values), np.asarray(kind.categories, dtype=np.int64))
    if len(outside):
        raise DataError(
            f"saved tabular state: {role} value {int(outside[0])} of {variable} is not one of {list(kind.categories)}"
        )


def _stack(table: Mapping[str, np.ndarray], columns: tuple[str, ...]) -> np.ndarray:
    if not columns:
        n = num_rows(table)
        return np.zeros((n, 0), dtype=np.int64)
    for column in columns:
        if column not in table:
            raise DataError(f"missing column {column!r}")
    return np.stack([np.asarray(table[c]).astype(np.int64).reshape(-1) for c in columns], axis=1)
