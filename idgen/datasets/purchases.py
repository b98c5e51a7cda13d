"""A realistic observational table: does side-quest engagement raise in-game purchases?

Front door with an observed covariate and a hidden confounder, the shape of many product analyses::

    "Returning Player" → "Side-quest Engagement" → "Guild Joined" → "In-game Purchases"
    "Returning Player" → "Guild Joined",  "Returning Player" → "In-game Purchases"
    "Side-quest Engagement" ↔ "In-game Purchases"   (an unobserved taste for the game, U)

* ``Returning Player`` G ~ Bernoulli(0.4);
* ``Side-quest Engagement`` T = 1[0.8 U + 0.6 G − 0.2 + N(0, 0.7²) > 0] with U ~ N(0, 1);
* ``Guild Joined`` M ~ Bernoulli(p[T, G]); with ``hole=True`` (the default) a guild is only joined
  through side quests, so no row has M = 1 with T = 0 — a positivity hole the front-door estimand
  needs (it asks for P(Y | M = 1, T = 0, G));
* ``In-game Purchases`` Y = exp(6.2 + 1.0 M + 0.5 G + 0.5 U + 0.55 ε), log-normal, ~100 to ~30,000.

:func:`truth` gives E[Y | do(T = t)] exactly: Σ_g P(g) Σ_m P(m | t, g) exp(6.2 + m + 0.5 g + (0.5² + 0.55²)/2).

Examples
--------
>>> table = purchases(1000, seed=0)
>>> list(table.columns)
['Returning Player', 'Side-quest Engagement', 'Guild Joined', 'In-game Purchases']
>>> int(((table["Guild Joined"] == 1) & (table["Side-quest Engagement"] == 0)).sum())
0
>>> round(truth(1) / truth(0), 3)
2.158
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idgen.graph import ADMG

__all__ = ["GRAPH", "QUERY", "purchases", "truth", "COVARIATE", "TREATMENT", "MEDIATOR", "OUTCOME"]

COVARIATE, TREATMENT, MEDIATOR, OUTCOME = (
    "Returning Player",
    "Side-quest Engagement",
    "Guild Joined",
    "In-game Purchases",
)
GRAPH = ADMG(
    directed=[
        (COVARIATE, TREATMENT),
        (COVARIATE, MEDIATOR),
        (COVARIATE, OUTCOME),
        (TREATMENT, MEDIATOR),
        (MEDIATOR, OUTCOME),
    ],
    bidirected=[(TREATMENT, OUTCOME)],
)
QUERY = f'P("{OUTCOME}" | do("{TREATMENT}"))'
P_COVARIATE = 0.4
#: P(M = 1 | T, G), indexed [T, G]; the first row is the one ``hole=True`` sets to zero
P_MEDIATOR = np.array([[0.15, 0.25], [0.6, 0.75]])
LOG_BASE, MEDIATOR_EFFECT, COVARIATE_EFFECT, CONFOUNDING, NOISE = 6.2, 1.0, 0.5, 0.5, 0.55


def _mediator_probabilities(hole: bool) -> np.ndarray:
    probabilities = P_MEDIATOR.copy()
    if hole:
        probabilities[0] = 0.0
    return probabilities


def purchases(rows: int = 10_000, seed: int = 0, hole: bool = True) -> Any:
    """``rows`` observed players as a pandas DataFrame (binary columns as 0.0/1.0, as a CSV gives them)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    returning = (rng.random(rows) < P_COVARIATE).astype(np.int64)
    taste = rng.normal(size=rows)
    engaged = (0.8 * taste + 0.6 * returning - 0.2 + rng.normal(scale=0.7, size=rows) > 0).astype(np.int64)
    guild = (rng.random(rows) < _mediator_probabilities(hole)[engaged, returning]).astype(np.int64)
    log_spend = (
        LOG_BASE
        + MEDIATOR_EFFECT * guild
        + COVARIATE_EFFECT * returning
        + CONFOUNDING * taste
        + NOISE * rng.normal(size=rows)
    )
    return pd.DataFrame(
        {
            COVARIATE: returning.astype(np.float64),
            TREATMENT: engaged.astype(np.float64),
            MEDIATOR: guild.astype(np.float64),
            OUTCOME: np.round(np.exp(log_spend), 2),
        }
    )


def truth(treatment: int, hole: bool = True) -> float:
    """E[In-game Purchases | do(Side-quest Engagement = treatment)], exactly."""
    probabilities = _mediator_probabilities(hole)
    spread = (CONFOUNDING**2 + NOISE**2) / 2
    total = 0.0
    for returning, weight in ((0, 1 - P_COVARIATE), (1, P_COVARIATE)):
        p_guild = probabilities[treatment, returning]
        for guild, p in ((0, 1 - p_guild), (1, p_guild)):
            total += weight * p * np.exp(LOG_BASE + MEDIATOR_EFFECT * guild + COVARIATE_EFFECT * returning + spread)
    return float(total)
