"""Causal effects with uncertainty: interventional means or probabilities, contrasts, Monte Carlo and bootstrap errors.

:func:`effect` samples a fitted network once per intervention value and reports, for a continuous
outcome, the interventional mean, and for a discrete one the probability of each category; then the
contrast of every value against the first. Each figure carries its Monte Carlo standard error (the
error of sampling the fitted network, which shrinks with ``n``). With ``bootstrap=B`` the whole plan is
refitted on ``B`` resamples of the training rows and the figures get percentile intervals (the error of
having finite data, which does not): instant for tabular plans; a diffusion plan retrains every model
``B`` times, which :func:`effect` states before it starts and shows with a progress bar.

A refit differs from the fit by its rows and also by its own noise (the Monte Carlo draw, and for a
diffusion plan its training), so the interval holds both; ``boot_mean``, the refits' average, averages
that noise out. When an estimate falls outside its own interval that noise rivals the data's error,
and :func:`effect` says so with a :class:`~idgen.errors.FitNoiseWarning` instead of leaving a point
estimate that its interval contradicts (raise ``n`` or the training steps, or read ``boot_mean``).
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from idgen.data import Table, num_rows, take_rows
from idgen.errors import DataError, FitNoiseWarning, IdgenError
from idgen.names import quote

__all__ = ["effect", "Refit"]

Refit = Callable[[Table, Path], Any]
"""Refit the same plan with the same options on other rows, in a given workdir (``fit`` provides it)."""


def effect(
    network: Any,
    outcome: str | None = None,
    do: Mapping[str, Sequence[Any] | Any] | None = None,
    *,
    given: Mapping[str, Any] | None = None,
    n: int = 10_000,
    seed: int = 0,
    bootstrap: int = 0,
    level: float = 0.95,
    progress: bool = True,
) -> Any:
    """Interventional means (or probabilities), contrasts, Monte Carlo errors and bootstrap intervals.

    Parameters
    ----------
    network : SamplingNetwork
    outcome : str, optional
        The outcome to summarize (default: the query's only outcome).
    do : mapping of treatment to a list of values (or one value)
        Every combination is one row group, e.g. ``{"T": [0, 1]}``; the first is the reference.
    given : mapping, optional
        Values of the query's observed conditions (a conditional query).
    n : int
        Samples per intervention value.
    seed : int
    bootstrap : int
        Refits on resampled training rows (0: none). Needs a network returned by ``fit``.
    level : float
        Coverage of the percentile intervals.
    progress : bool
        Show the bootstrap's progress bar.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``value`` or ``contrast``), ``do``, ``statistic`` (``mean`` or ``P(Y=c)``),
        ``estimate``, ``mc_se``, and with ``bootstrap``: ``boot_mean``, ``boot_se``, ``low``, ``high``.

    Warns
    -----
    FitNoiseWarning
        With ``bootstrap``, when an estimate lies outside its own interval.
    """
    import pandas as pd

    outcome = _outcome(network, outcome)
    settings = _settings(network, do or {})
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise DataError(f"n must be an integer of at least 2, got {n!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise DataError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    if not 0.0 < float(level) < 1.0:
        raise DataError(f"level must lie strictly between 0 and 1, got {level!r}")
    labels, estimates, errors = _estimates(network, outcome, settings, given, int(n), seed)
    frame = pd.DataFrame(labels, columns=["kind", "do", "statistic"])
    frame["estimate"] = estimates
    frame["mc_se"] = errors
    if bootstrap:
        replicates = _bootstrap(network, outcome, settings, given, int(n), seed, int(bootstrap), progress)
        tail = (1.0 - float(level)) / 2.0
        frame["boot_mean"] = replicates.mean(axis=0)
        frame["boot_se"] = replicates.std(axis=0, ddof=1)
        frame["low"] = np.quantile(replicates, tail, axis=0)
        frame["high"] = np.quantile(replicates, 1.0 - tail, axis=0)
        frame.attrs["level"] = float(level)
        frame.attrs["bootstrap"] = int(bootstrap)
        _warn_outside(frame, float(level))
    return frame


def _warn_outside(frame: Any, level: float) -> None:
    """A :class:`FitNoiseWarning` naming the estimates that lie outside their own interval."""
    outside = frame[(frame.estimate < frame.low) | (frame.estimate > frame.high)]
    if outside.empty:
        return
    first = outside.iloc[0]
    warnings.warn(
        f"effect: {len(outside)} of {len(frame)} estimate(s) lie outside their {100 * level:g} % bootstrap "
        f"interval (first: {first.do} {first.statistic} {first.estimate:.4g} against [{first.low:.4g}, "
        f"{first.high:.4g}], refits' mean {first.boot_mean:.4g}): the estimate's own noise rivals the data's "
        "error (Monte Carlo: raise n; diffusion training: raise steps); boot_mean averages it over the refits",
        FitNoiseWarning,
        stacklevel=3,
    )


def _outcome(network: Any, outcome: str | None) -> str:
    outcomes = network.outcomes
    if outcome is None:
        if len(outcomes) != 1:
            raise DataError(f"the network samples {', '.join(map(quote, outcomes))}; name one as outcome=")
        return str(outcomes[0])
    if outcome not in outcomes:
        raise DataError(f"outcome {outcome!r} is not sampled by {network.query.query}; it samples {list(outcomes)}")
    kind = network.types[outcome]
    if not (kind.kind == "discrete" or (kind.kind == "continuous" and kind.shape == (1,))):
        raise DataError(f"effect() summarizes discrete or scalar continuous outcomes; {outcome!r} is {kind.describe()}")
    return outcome


def _settings(network: Any, do: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the treatments' values, in order."""
    treatments = network.query.treatments
    missing = [t for t in treatments if t not in do]
    extra = [t for t in do if t not in treatments]
    if missing or extra:
        raise DataError(
            f"do= for {network.query.query} must give values for {', '.join(map(quote, treatments)) or 'nothing'}"
            + (f"; missing {', '.join(map(quote, missing))}" if missing else "")
            + (f"; unexpected {', '.join(map(quote, extra))}" if extra else "")
        )
    choices = []
    for treatment in treatments:
        values = do[treatment]
        values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
        if not values:
            raise DataError(f"do={{{treatment!r}: []}} lists no value")
        choices.append(values)
    return [dict(zip(treatments, combination, strict=True)) for combination in itertools.product(*choices)]


def _describe(setting: Mapping[str, Any]) -> str:
    return ", ".join(f"{quote(k)}={v}" for k, v in setting.items())


def _estimates(
    network: Any, outcome: str, settings: list[dict[str, Any]], given: Any, n: int, seed: int
) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray]:
    """Row labels, estimates and Monte Carlo standard errors (values, then contrasts with the first)."""
    kind = network.types[outcome]
    statistics = ["mean"] if kind.kind == "continuous" else [f"P({quote(outcome)}={c})" for c in kind.categories]
    per_setting = []
    for k, setting in enumerate(settings):
        drawn = np.asarray(network.sample(n, do=setting, given=given, seed=seed + 7919 * k)[outcome]).reshape(-1)
        if kind.kind == "continuous":
            per_setting.append((np.array([drawn.mean()]), np.array([drawn.std(ddof=1) / np.sqrt(n)])))
        else:
            p = np.array([(drawn == c).mean() for c in kind.categories])
            per_setting.append((p, np.sqrt(p * (1 - p) / n)))
    labels: list[tuple[str, str, str]] = []
    estimates: list[float] = []
    errors: list[float] = []
    for setting, (value, error) in zip(settings, per_setting, strict=True):
        for statistic, v, e in zip(statistics, value, error, strict=True):
            labels.append(("value", _describe(setting), statistic))
            estimates.append(float(v))
            errors.append(float(e))
    reference, (reference_value, reference_error) = settings[0], per_setting[0]
    for setting, (value, error) in zip(settings[1:], per_setting[1:], strict=True):
        for statistic, v, e, rv, re in zip(statistics, value, error, reference_value, reference_error, strict=True):
            labels.append(("contrast", f"{_describe(setting)} vs {_describe(reference)}", statistic))
            estimates.append(float(v - rv))
            errors.append(float(np.hypot(e, re)))
    return labels, np.array(estimates), np.array(errors)


def _bootstrap(
    network: Any,
    outcome: str,
    settings: list[dict[str, Any]],
    given: Any,
    n: int,
    seed: int,
    replicates: int,
    progress: bool,
) -> np.ndarray:
    refit: Refit | None = getattr(network, "refit", None)
    table: Table | None = getattr(network, "training_table", None)
    if refit is None or table is None:
        raise IdgenError(
            "bootstrap needs the training rows and the plan: use the network idgen.fit returned "
            "(a loaded network has neither; refit it with idgen.fit)"
        )
    diffusion = sorted({f.backend for f in network.plan_factors if f.backend != "tabular"})
    if diffusion:
        seconds = getattr(network, "fit_seconds", None)
        cost = f"; the fit took {seconds:.0f} s, so expect about {replicates * seconds / 60:.1f} min" if seconds else ""
        print(
            f"bootstrap: {replicates} refits of the whole plan, retraining its {', '.join(diffusion)} models "
            f"each time{cost}",
            file=sys.stderr,
        )
    rows = num_rows(table)
    generator = np.random.default_rng(seed + 104729)
    iterator: Any = range(replicates)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="bootstrap", unit="refit")
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="idgen-bootstrap-"))
    try:
        for b in iterator:
            resampled = take_rows(table, generator.integers(0, rows, size=rows))
            refitted = refit(resampled, scratch / str(b))
            results.append(_estimates(refitted, outcome, settings, given, n, seed + 31 * (b + 1))[1])
            shutil.rmtree(scratch / str(b), ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return np.stack(results)
