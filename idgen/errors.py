"""Every error idgen raises on purpose; each one says in one line what is wrong and where.

All derive from :class:`IdgenError` (a ``ValueError``), so callers can catch the whole family.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from idgen.trace import Hedge

__all__ = [
    "IdgenError",
    "UsageError",
    "GraphError",
    "QueryError",
    "NotIdentifiable",
    "DataError",
    "PositivityError",
    "ArtifactError",
    "PositivityWarning",
    "FitNoiseWarning",
]


class IdgenError(ValueError):
    """Base class of every error idgen raises on purpose."""


class UsageError(IdgenError):
    """The request itself is malformed: an unknown option, a value of the wrong type, a bad path or flag.

    The command line exits with status 2 on these (1 on the other errors, which concern data and models).
    """


class GraphError(IdgenError):
    """The graph is not a valid ADMG (cycle, self-loop, unknown endpoint, bad name, bad file)."""


class QueryError(IdgenError):
    """The query string or its variables do not fit the grammar or the graph."""


class DataError(IdgenError):
    """Training data or sampling inputs do not match what the plan needs."""


class PositivityError(DataError):
    """A conditional model was asked about a configuration never seen in its training data."""


class ArtifactError(IdgenError):
    """A saved artifact (network folder, factor, checkpoint) is missing, corrupt or does not match its manifest."""


class PositivityWarning(UserWarning):
    """A factor is asked about parent configurations it has no (or too few) training rows for."""


class FitNoiseWarning(UserWarning):
    """An estimate lies outside its own bootstrap interval: its Monte Carlo or training noise rivals the data."""


class NotIdentifiable(IdgenError):
    """The query is not identifiable; ``hedge`` holds the two c-forests found at line 5 of ID.

    Attributes
    ----------
    hedge : Hedge
        ``hedge.forest`` (F, the current graph's nodes) and ``hedge.subforest`` (F', the district of
        ``G \\ X`` it contains); both are c-forests rooted in ancestors of the outcomes.
    """

    def __init__(self, hedge: Hedge, query: str = "", treatments: Iterable[str] = ()) -> None:
        self.hedge = hedge
        self.query = query
        prefix = f"{query} is not identifiable" if query else "not identifiable"
        blocked = sorted(hedge.forest & set(treatments))
        detail = f" (F holds the treatment(s) {{{_names(blocked)}}}, F' none)" if blocked else ""
        super().__init__(
            f"{prefix}: hedge F = {{{_names(hedge.forest)}}} with F' = {{{_names(hedge.subforest)}}}{detail}"
        )


def _names(nodes: Iterable[str]) -> str:
    from idgen.names import quote_all

    return quote_all(sorted(nodes))
