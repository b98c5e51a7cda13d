"""Causal queries ``P(Y | do(X), W)``: parsing, printing and validation against a graph.

Grammar (whitespace-insensitive)::

    query      := "P" [ "[" names "]" ] "(" names [ "|" condition { "," condition } ] ")"
    condition  := "do(" names ")" | name
    names      := name { "," name }

``do(...)`` may appear anywhere in the conditioning part, several times; ``P[X](Y | W)`` is y0's
spelling of ``P(Y | do(X), W)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idgen.errors import QueryError
from idgen.graph import RESERVED_NAMES

if TYPE_CHECKING:  # pragma: no cover
    from idgen.graph import ADMG

__all__ = ["Query"]

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()\[\],|]))")


@dataclass(frozen=True)
class Query:
    """``P(outcomes | do(treatments), conditions)``.

    Parameters
    ----------
    outcomes, treatments, conditions : tuple of str
        Disjoint variable tuples; ``outcomes`` must not be empty.

    Examples
    --------
    >>> q = Query.parse("P(Y1, Y2 | do(X1, X2), W)")
    >>> q.outcomes, q.treatments, q.conditions
    (('Y1', 'Y2'), ('X1', 'X2'), ('W',))
    >>> str(q)
    'P(Y1, Y2 | do(X1, X2), W)'
    >>> str(Query.parse("P[X](Y | Z)"))
    'P(Y | do(X), Z)'
    """

    outcomes: tuple[str, ...]
    treatments: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field_name in ("outcomes", "treatments", "conditions"):
            value = getattr(self, field_name)
            if isinstance(value, str):
                raise QueryError(f"{field_name} must be a tuple of names, got the string {value!r}")
            object.__setattr__(self, field_name, tuple(value))
        if not self.outcomes:
            raise QueryError("a query needs at least one outcome variable")
        seen: dict[str, str] = {}
        for role, names in (("outcome", self.outcomes), ("treatment", self.treatments), ("condition", self.conditions)):
            for name in names:
                if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    raise QueryError(f"{name!r} is not a variable name")
                if name in RESERVED_NAMES:
                    raise QueryError(f"{name!r} is reserved by the query language and cannot be a variable")
                if name in seen:
                    if seen[name] == role:
                        raise QueryError(f"variable {name!r} is listed twice as {role}")
                    raise QueryError(f"variable {name!r} is both {seen[name]} and {role}; each variable has one role")
                seen[name] = role

    # ------------------------------------------------------------------ constructors
    @classmethod
    def parse(cls, text: str) -> Query:
        """Parse ``"P(Y | do(X), W)"`` (or y0's ``"P[X](Y | W)"``); raises :class:`QueryError`."""
        if isinstance(text, Query):
            return text
        if not isinstance(text, str):
            raise QueryError(f"a query must be a string like 'P(Y | do(X))', got {type(text).__name__}")
        tokens = _tokenize(text)
        parser = _Parser(text, tokens)
        return parser.query()

    @classmethod
    def from_y0(cls, expression: Any) -> Query:
        """Build from a y0 probability such as ``P[X](Y | W)`` (``y0.dsl.Probability``)."""
        from y0.dsl import Probability

        if not isinstance(expression, Probability):
            raise QueryError(f"expected a y0 Probability like P[X](Y | W), got {type(expression).__name__}")
        children = expression.children
        parents = expression.parents
        treatments = sorted({str(v.name) for v in _interventions(children) | _interventions(parents)})
        return cls(
            outcomes=tuple(str(v.name) for v in children),
            treatments=tuple(treatments),
            conditions=tuple(str(v.name) for v in parents),
        )

    @classmethod
    def coerce(cls, query: str | Query | Any) -> Query:
        """Accept a string, a :class:`Query` or a y0 probability."""
        if isinstance(query, Query):
            return query
        if isinstance(query, str):
            return cls.parse(query)
        return cls.from_y0(query)

    # ------------------------------------------------------------------ views
    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable the query mentions."""
        return self.outcomes + self.treatments + self.conditions

    @property
    def is_conditional(self) -> bool:
        """Whether the query has observed conditions (IDC) besides ``do``."""
        return bool(self.conditions)

    def __str__(self) -> str:
        parts = []
        if self.treatments:
            parts.append(f"do({', '.join(self.treatments)})")
        parts.extend(self.conditions)
        given = f" | {', '.join(parts)}" if parts else ""
        return f"P({', '.join(self.outcomes)}{given})"

    def to_y0(self) -> Any:
        """The query as a y0 probability, e.g. ``P[X](Y | W)``."""
        from y0.dsl import Distribution, P, Variable

        distribution = Distribution(
            children=tuple(Variable(v) for v in self.outcomes), parents=tuple(Variable(v) for v in self.conditions)
        )
        if self.treatments:
            return P[tuple(Variable(v) for v in self.treatments)](distribution)
        return P(distribution)

    def validate(self, graph: ADMG) -> Query:
        """Check every variable is a node of ``graph``; return ``self`` for chaining."""
        unknown = [v for v in self.variables if v not in graph]
        if unknown:
            raise QueryError(
                f"variable{'s' if len(unknown) > 1 else ''} {', '.join(repr(v) for v in unknown)} of {self} "
                f"not in the graph (nodes: {', '.join(graph.nodes[:15])}{', ...' if len(graph) > 15 else ''})"
            )
        return self


def _interventions(variables: Iterable[Any]) -> set[Any]:
    result = set()
    for variable in variables:
        for intervention in getattr(variable, "interventions", ()) or ():
            result.add(intervention)
    return result


def _tokenize(text: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if not match:
            bad = stripped[position:].lstrip()[:1]
            column = len(stripped) - len(stripped[position:].lstrip())
            raise QueryError(f"unexpected character {bad!r} at position {column} in query {text!r}")
        token = match.group("name") or match.group("punct")
        tokens.append((token, match.start(match.lastgroup or 0)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser over the tokens of one query string."""

    def __init__(self, text: str, tokens: list[tuple[str, int]]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def fail(self, expected: str) -> QueryError:
        if self.index < len(self.tokens):
            token, position = self.tokens[self.index]
            return QueryError(f"expected {expected} but found {token!r} at position {position} in query {self.text!r}")
        return QueryError(f"expected {expected} but the query ended: {self.text!r}")

    def expect(self, token: str) -> None:
        if self.peek() != token:
            raise self.fail(repr(token))
        self.index += 1

    def name(self) -> str:
        token = self.peek()
        if token is None or not (token[0].isalpha() or token[0] == "_"):
            raise self.fail("a variable name")
        self.index += 1
        return token

    def names(self) -> list[str]:
        result = [self.name()]
        while self.peek() == ",":
            self.index += 1
            result.append(self.name())
        return result

    def query(self) -> Query:
        if self.peek() != "P":
            raise self.fail("'P' to start the query (e.g. 'P(Y | do(X))')")
        self.index += 1
        treatments: list[str] = []
        if self.peek() == "[":
            self.index += 1
            treatments.extend(self.names())
            self.expect("]")
        self.expect("(")
        outcomes = self.names()
        conditions: list[str] = []
        if self.peek() == "|":
            self.index += 1
            while True:
                if self.peek() == "do":
                    self.index += 1
                    self.expect("(")
                    treatments.extend(self.names())
                    self.expect(")")
                else:
                    conditions.append(self.name())
                if self.peek() != ",":
                    break
                self.index += 1
        self.expect(")")
        if self.index != len(self.tokens):
            raise self.fail("the end of the query")
        if "do" in outcomes:
            raise QueryError(f"'do(...)' belongs after '|' in query {self.text!r}")
        return Query(tuple(outcomes), tuple(treatments), tuple(conditions))
