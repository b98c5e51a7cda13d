"""Variable names: any column name a user has, written so that every printed form reads back.

A variable may be named by any non-empty string without control characters or surrounding blanks —
``"In-game Purchases"``, ``"1st visit"``, ``"Größe"``, ``"do"``. Three things follow from that:

* :func:`quote` writes a name as the query grammar reads it back: a plain identifier as is, anything
  else (and the grammar's own words ``P`` and ``do``) in double quotes, e.g. ``"In-game Purchases"``;
* :func:`y0_symbols` maps names to symbols y0 can carry (y0 parses its own text with Python's parser,
  so only ASCII identifiers that are not y0 keywords survive a round trip) and :func:`invert` maps back;
* :func:`latex_name` writes a name for LaTeX (``\\text{In-game Purchases}``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = ["name_problem", "quote", "quote_all", "y0_symbols", "invert", "latex_name", "GRAMMAR_WORDS"]

#: words the query grammar itself uses: a variable with one of these names must be quoted
GRAMMAR_WORDS = frozenset({"P", "do"})
#: names the y0 expression parser binds itself (a variable with one of them could not be parsed back) and
#: names y0's ``Variable`` refuses outright ("P", "Q", "PP")
Y0_RESERVED = frozenset({"P", "Q", "PP", "Sum", "Product", "Fraction", "One", "Zero", "do", "Variable"})
_BARE = re.compile(r"[^\W\d]\w*")
_ASCII_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a variable, or ``None`` when it can.

    Examples
    --------
    >>> name_problem("In-game Purchases") is None
    True
    >>> name_problem(" padded")
    "' padded' starts or ends with blanks"
    """
    if not isinstance(name, str):
        return f"{name!r} of type {type(name).__name__} is not a string"
    if not name or not name.strip():
        return f"{name!r} is empty"
    if name != name.strip():
        return f"{name!r} starts or ends with blanks"
    control = [c for c in name if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"}]
    if control:
        return f"{name!r} contains the control character {control[0]!r}"
    return None


def quote(name: str) -> str:
    """``name`` as the query grammar reads it back: bare when it is an identifier, else double-quoted.

    Examples
    --------
    >>> quote("Y1"), quote("In-game Purchases"), quote("do"), quote('say "hi"')
    ('Y1', '"In-game Purchases"', '"do"', '"say \\\\"hi\\\\""')
    """
    if _BARE.fullmatch(name) and name not in GRAMMAR_WORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_all(names: Iterable[str], separator: str = ", ") -> str:
    """Quote every name and join them."""
    return separator.join(quote(name) for name in names)


def y0_symbols(names: Iterable[str]) -> dict[str, str]:
    """A y0-safe symbol for every name: itself when y0 can carry it, else ``V_1``, ``V_2``, … .

    The symbols are distinct from each other and from every name, so :func:`invert` is exact.

    Examples
    --------
    >>> y0_symbols(["X", "In-game Purchases", "do"])
    {'X': 'X', 'In-game Purchases': 'V_1', 'do': 'V_2'}
    """
    names = list(dict.fromkeys(names))
    taken = set(names)
    symbols: dict[str, str] = {}
    counter = 0
    for name in names:
        if _ASCII_IDENTIFIER.fullmatch(name) and name not in Y0_RESERVED:
            symbols[name] = name
            continue
        while True:
            counter += 1
            candidate = f"V_{counter}"
            if candidate not in taken:
                break
        taken.add(candidate)
        symbols[name] = candidate
    return symbols


def invert(symbols: Mapping[str, str]) -> dict[str, str]:
    """Symbol → name, the inverse of :func:`y0_symbols`."""
    return {symbol: name for name, symbol in symbols.items()}


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}


def latex_name(name: str) -> str:
    """``name`` for LaTeX math: one-letter names as is, ``X1`` as ``X_{1}``, anything else in ``\\text{}``.

    Examples
    --------
    >>> latex_name("Y"), latex_name("W1"), latex_name("In-game Purchases")
    ('Y', 'W_{1}', '\\\\text{In-game Purchases}')
    """
    match = re.fullmatch(r"([A-Za-z])(\d+)?", name)
    if match:
        return match.group(1) + (f"_{{{match.group(2)}}}" if match.group(2) else "")
    return r"\text{" + "".join(_LATEX_SPECIAL.get(c, c) for c in name) + "}"
