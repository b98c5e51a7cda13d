"""Causal queries ``P(Y | do(X), W)``: parsing, printing and validation against a graph.

Grammar (whitespace-insensitive)::

    query      := "P" [ "[" names "]" ] "(" names [ "|" condition { "," condition } ] ")"
    condition  := "do(" names ")" | name
    names      := name { "," name }
    name       := identifier | '"' text '"' | '`' text '`'

``do(...)`` may appear anywhere in the conditioning part, several times; ``P[X](Y | W)`` is y0's
spelling of ``P(Y | do(X), W)``. A name that is not an identifier — ``"In-game Purchases"``,
``"1st visit"`` — is written in double quotes (``\"`` and ``\\`` escape inside them) or, as in pandas'
``DataFrame.query``, in backticks; the grammar's own words ``P`` and ``do`` are variable names only
when quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idgen.errors import QueryError
from idgen.names import GRAMMAR_WORDS, invert, name_problem, quote, quote_all, y0_symbols

if TYPE_CHECKING:  # pragma: no cover
    from idgen.graph import ADMG

__all__ = ["Query"]

_TOKEN = re.compile(
    r'\s*(?:(?P<name>[^\W\d]\w*)|"(?P<quoted>(?:[^"\\]|\\.)*)"|`(?P<backticked>[^`]*)`|(?P<punct>[()\[\],|]))'
)


_PUNCTUATION = frozenset("()[],|")


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
                problem = name_problem(name)
                if problem:
                    raise QueryError(f"{problem}: it is not a variable name")
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
    def from_y0(cls, expression: Any, symbols: Mapping[str, str] | None = None) -> Query:
        """Build from a y0 probability such as ``P[X](Y | W)`` (``y0.dsl.Probability``).

        ``symbols`` (name → y0 symbol, as :meth:`to_y0` used) maps the symbols back to names."""
        from y0.dsl import Probability

        if not isinstance(expression, Probability):
            raise QueryError(f"expected a y0 Probability like P[X](Y | W), got {type(expression).__name__}")
        names = invert(symbols or {})

        def name(variable: Any) -> str:
            return names.get(str(variable.name), str(variable.name))

        children = expression.children
        parents = expression.parents
        treatments = sorted({name(v) for v in _interventions(children) | _interventions(parents)})
        return cls(
            outcomes=tuple(name(v) for v in children),
            treatments=tuple(treatments),
            conditions=tuple(name(v) for v in parents),
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
            parts.append(f"do({quote_all(self.treatments)})")
        parts.extend(quote(v) for v in self.conditions)
        given = f" | {', '.join(parts)}" if parts else ""
        return f"P({quote_all(self.outcomes)}{given})"

    def y0_symbols(self) -> dict[str, str]:
        """Variable name → its y0 symbol (see :func:`idgen.names.y0_symbols`)."""
        return y0_symbols(self.variables)

    def to_y0(self, symbols: Mapping[str, str] | None = None) -> Any:
        """The query as a y0 probability, e.g. ``P[X](Y | W)``.

        Names y0 cannot carry become symbols (``symbols``, default :meth:`y0_symbols`)."""
        from y0.dsl import Distribution, P, Variable

        symbols = dict(symbols) if symbols is not None else self.y0_symbols()

        def variables(names: tuple[str, ...]) -> tuple[Any, ...]:
            return tuple(Variable(symbols.get(v, v)) for v in names)

        distribution = Distribution(children=variables(self.outcomes), parents=variables(self.conditions))
        if self.treatments:
            return P[variables(self.treatments)](distribution)
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


def _tokenize(text: str) -> list[tuple[str, int, bool]]:
    """``(token, position, is_name)`` triples; quoted names come unquoted with ``is_name`` set."""
    tokens: list[tuple[str, int, bool]] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if not match:
            bad = stripped[position:].lstrip()[:1]
            column = len(stripped) - len(stripped[position:].lstrip())
            if bad in {'"', "`"}:
                raise QueryError(f"unclosed {bad} quote at position {column} in query {text!r}")
            raise QueryError(
                f"unexpected character {bad!r} at position {column} in query {text!r} "
                '(quote a name that is not an identifier: "In-game Purchases")'
            )
        start = match.start(match.lastgroup or 0)
        if match.group("quoted") is not None:
            tokens.append((re.sub(r"\\(.)", r"\1", match.group("quoted")), start, True))
        elif match.group("backticked") is not None:
            tokens.append((match.group("backticked"), start, True))
        elif match.group("name") is not None:
            tokens.append((match.group("name"), start, False))
        else:
            tokens.append((match.group("punct"), start, False))
        position = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser over the tokens of one query string."""

    def __init__(self, text: str, tokens: list[tuple[str, int, bool]]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def peek(self) -> str | None:
        """The next token when it is a keyword or punctuation (never a quoted name)."""
        if self.index >= len(self.tokens):
            return None
        token, _, quoted = self.tokens[self.index]
        return None if quoted else token

    def fail(self, expected: str) -> QueryError:
        if self.index < len(self.tokens):
            token, position, _ = self.tokens[self.index]
            return QueryError(f"expected {expected} but found {token!r} at position {position} in query {self.text!r}")
        return QueryError(f"expected {expected} but the query ended: {self.text!r}")

    def expect(self, token: str) -> None:
        if self.peek() != token:
            raise self.fail(repr(token))
        self.index += 1

    def name(self) -> str:
        if self.index >= len(self.tokens):
            raise self.fail("a variable name")
        token, position, quoted = self.tokens[self.index]
        if not quoted:
            if token == "do" and self.index + 1 < len(self.tokens) and self.tokens[self.index + 1][0] == "(":
                raise QueryError(f"'do(...)' belongs after '|' in query {self.text!r}")
            if token in GRAMMAR_WORDS:
                raise QueryError(
                    f"{token!r} at position {position} is a word of the query language; "
                    f'write "{token}" to mean a variable of that name (query {self.text!r})'
                )
            if token in _PUNCTUATION:
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
        return Query(tuple(outcomes), tuple(treatments), tuple(conditions))
