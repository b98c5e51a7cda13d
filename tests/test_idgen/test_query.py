"""Query parsing, printing, y0 conversion and validation, plus a fuzz of the parser."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idgen.errors import QueryError
from idgen.graph import ADMG, RESERVED_NAMES
from idgen.query import Query

NAPKIN = ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])


# ---------------------------------------------------------------------- parsing
def test_parse_plain_probability() -> None:
    query = Query.parse("P(Y)")
    assert query == Query(("Y",))
    assert query.treatments == () and query.conditions == ()
    assert not query.is_conditional


def test_parse_interventional() -> None:
    assert Query.parse("P(Y | do(X))") == Query(("Y",), ("X",))


def test_parse_several_variables_per_slot() -> None:
    query = Query.parse("P(Y1, Y2 | do(X1, X2), W1, W2)")
    assert query.outcomes == ("Y1", "Y2")
    assert query.treatments == ("X1", "X2")
    assert query.conditions == ("W1", "W2")
    assert query.is_conditional


def test_parse_do_anywhere_in_the_conditioning_part() -> None:
    assert Query.parse("P(Y | W, do(X))") == Query(("Y",), ("X",), ("W",))


def test_parse_several_do_groups() -> None:
    assert Query.parse("P(Y | do(X1), W, do(X2))") == Query(("Y",), ("X1", "X2"), ("W",))


def test_parse_ignores_whitespace() -> None:
    assert Query.parse("  P ( Y |do( X ) ,W )  ") == Query.parse("P(Y | do(X), W)")
    assert Query.parse("P(Y|do(X),W)") == Query.parse("P(Y | do(X), W)")


def test_parse_y0_bracket_spelling() -> None:
    assert Query.parse("P[X](Y | W)") == Query(("Y",), ("X",), ("W",))
    assert Query.parse("P[X1, X2](Y)") == Query(("Y",), ("X1", "X2"))


def test_parse_bracket_and_do_together() -> None:
    assert Query.parse("P[X1](Y | do(X2))") == Query(("Y",), ("X1", "X2"))


def test_parse_returns_a_query_unchanged() -> None:
    query = Query(("Y",), ("X",))
    assert Query.parse(query) is query  # type: ignore[arg-type]


def test_str_is_canonical() -> None:
    assert str(Query.parse("P[X](Y | W)")) == "P(Y | do(X), W)"
    assert str(Query.parse("P(Y)")) == "P(Y)"
    assert str(Query(("Y",), (), ("W",))) == "P(Y | W)"


def test_variables_lists_every_role() -> None:
    assert Query.parse("P(Y | do(X), W)").variables == ("Y", "X", "W")


# ---------------------------------------------------------------------- parse errors
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "'P' to start the query"),
        ("Y | do(X)", "'P' to start the query"),
        ("P(Y", r"expected '\)' but the query ended"),
        ("P(Y))", "expected the end of the query"),
        ("P(Y | do(X)", r"expected '\)'"),
        ("P(Y ; X)", "unexpected character ';' at position 4"),
        ("P(Y | )", "expected a variable name"),
        ("P( | X)", "expected a variable name"),
        ("P(Y | do X)", r"expected '\('"),
        ("P(do(X))", "belongs after"),
        ("P(Y, do)", "word of the query language"),
        ("P[](Y)", "expected a variable name"),
        ("P(1Y)", "unexpected character '1'"),
    ],
)
def test_parse_error_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        Query.parse(text)


def test_parse_non_string_is_rejected() -> None:
    with pytest.raises(QueryError, match="must be a string"):
        Query.parse(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- validation
def test_empty_outcomes_are_rejected() -> None:
    with pytest.raises(QueryError, match="at least one outcome"):
        Query(())


def test_empty_outcomes_in_text_are_rejected() -> None:
    with pytest.raises(QueryError):
        Query.parse("P()")


def test_duplicate_outcome_is_rejected() -> None:
    with pytest.raises(QueryError, match="'Y' is listed twice as outcome"):
        Query.parse("P(Y, Y)")


def test_duplicate_treatment_is_rejected() -> None:
    with pytest.raises(QueryError, match="'X' is listed twice as treatment"):
        Query.parse("P(Y | do(X), do(X))")


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        ("P(Y | do(Y))", "outcome", "treatment"),
        ("P(Y | Y)", "outcome", "condition"),
        ("P(Y | do(X), X)", "treatment", "condition"),
        ("P[X](Y | X)", "treatment", "condition"),
    ],
)
def test_variable_in_two_roles_is_rejected(text: str, first: str, second: str) -> None:
    with pytest.raises(QueryError, match=f"is both {first} and {second}"):
        Query.parse(text)


def test_roles_given_as_strings_are_rejected() -> None:
    with pytest.raises(QueryError, match="must be a tuple of names"):
        Query("Y")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", " Y", "Y\n"])
def test_bad_variable_name_is_rejected(name: str) -> None:
    with pytest.raises(QueryError, match="is not a variable name"):
        Query((name,))


@pytest.mark.parametrize("text", ["P(P)", "P(Y | do(do))", "P(Y | W, P)", "P[P](Y)"])
def test_grammar_words_are_names_only_when_quoted(text: str) -> None:
    with pytest.raises(QueryError, match="word of the query language"):
        Query.parse(text)


def test_quoted_grammar_words_and_y0_keywords_are_names() -> None:
    assert Query.parse('P("P" | do("do"), Sum, PP)') == Query(("P",), ("do",), ("Sum", "PP"))


@pytest.mark.parametrize(
    "text",
    [
        'P("In-game Purchases" | do("Side-quest Engagement"))',
        "P(`In-game Purchases` | do(`Side-quest Engagement`))",
        'P[`Side-quest Engagement`]("In-game Purchases")',
    ],
)
def test_quoted_names_parse(text: str) -> None:
    query = Query.parse(text)
    assert query == Query(("In-game Purchases",), ("Side-quest Engagement",))
    assert str(query) == 'P("In-game Purchases" | do("Side-quest Engagement"))'


def test_quotes_escape_inside_double_quotes() -> None:
    query = Query.parse(r'P("say \"hi\"", "back\\slash", "1st", Größe)')
    assert query.outcomes == ('say "hi"', "back\\slash", "1st", "Größe")
    assert Query.parse(str(query)) == query


def test_unclosed_quote_is_one_clear_error() -> None:
    with pytest.raises(QueryError, match='unclosed " quote at position 2'):
        Query.parse('P("In-game Purchases)')


def test_unquoted_name_with_a_blank_says_to_quote_it() -> None:
    with pytest.raises(QueryError, match="quote a name"):
        Query.parse("P(In-game Purchases)")


def test_validate_accepts_known_variables() -> None:
    query = Query.parse("P(Y | do(X), W1)")
    assert query.validate(NAPKIN) is query


def test_validate_names_the_unknown_variable() -> None:
    with pytest.raises(QueryError, match="variable 'Z' of P\\(Y \\| do\\(Z\\)\\) not in the graph"):
        Query.parse("P(Y | do(Z))").validate(NAPKIN)


def test_validate_names_every_unknown_variable() -> None:
    with pytest.raises(QueryError, match="variables 'A', 'B'"):
        Query.parse("P(A | do(X), B)").validate(NAPKIN)


def test_validate_on_the_empty_graph() -> None:
    with pytest.raises(QueryError, match="'Y'"):
        Query.parse("P(Y)").validate(ADMG())


def test_validate_on_a_single_node_graph() -> None:
    assert Query.parse("P(Y)").validate(ADMG(nodes=["Y"])) == Query(("Y",))


# ---------------------------------------------------------------------- y0
def test_from_y0_expression() -> None:
    from y0.dsl import P, Variable

    x, y, w = Variable("X"), Variable("Y"), Variable("W")
    assert Query.from_y0(P[x](y | w)) == Query(("Y",), ("X",), ("W",))
    assert Query.from_y0(P(y)) == Query(("Y",))


def test_from_y0_parsed_string() -> None:
    from y0.parser import parse_y0

    assert Query.from_y0(parse_y0("P[X](Y | W)")) == Query.parse("P(Y | do(X), W)")


def test_from_y0_rejects_a_non_probability() -> None:
    from y0.dsl import P, Sum, Variable

    with pytest.raises(QueryError, match="expected a y0 Probability"):
        Query.from_y0(Sum[Variable("W")](P(Variable("Y"), Variable("W"))))


@pytest.mark.parametrize(
    "text", ["P(Y)", "P(Y | do(X))", "P(Y | do(X), W)", "P(Y1, Y2 | do(X1, X2), W1, W2)", "P(Y | W)"]
)
def test_y0_round_trip(text: str) -> None:
    query = Query.parse(text)
    assert Query.from_y0(query.to_y0()) == query


def test_y0_round_trip_sorts_variables_within_a_role() -> None:
    assert Query.from_y0(Query.parse("P(B, A | do(X2, X1))").to_y0()) == Query.parse("P(A, B | do(X1, X2))")


def test_to_y0_text_is_y0s_spelling() -> None:
    assert str(Query.parse("P(Y | do(X), W)").to_y0()) == "P[X](Y | W)"


def test_coerce_accepts_every_form() -> None:
    query = Query.parse("P(Y | do(X))")
    assert Query.coerce(query) is query
    assert Query.coerce("P(Y | do(X))") == query
    assert Query.coerce(query.to_y0()) == query


# ---------------------------------------------------------------------- fuzz
_TOKENS = st.sampled_from(["P", "(", ")", "[", "]", ",", "|", "do", "X", "Y", "W", " ", "do(", "1", ";", "\t"])


def _parse_or_error(text: str) -> Query | None:
    try:
        return Query.parse(text)
    except QueryError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fuzz_arbitrary_text_returns_a_query_or_raises_query_error(text: str) -> None:
    result = _parse_or_error(text)
    assert result is None or isinstance(result, Query)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=14).map("".join))
def test_fuzz_token_soup_returns_a_query_or_raises_query_error(text: str) -> None:
    result = _parse_or_error(text)
    if result is not None:
        assert str(Query.parse(str(result))) == str(result)
        assert Query.parse(str(result)) == result


@st.composite
def _queries(draw: st.DrawFn) -> Query:
    names = st.one_of(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,4}", fullmatch=True),
        st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=6),
        st.sampled_from(sorted(RESERVED_NAMES)),
    )
    pool = draw(st.lists(names, min_size=1, max_size=7, unique=True))
    pool = [name for name in pool if name.strip() == name and name] or ["Y"]
    cut_outcomes = draw(st.integers(1, len(pool)))
    cut_treatments = draw(st.integers(cut_outcomes, len(pool)))
    return Query(tuple(pool[:cut_outcomes]), tuple(pool[cut_outcomes:cut_treatments]), tuple(pool[cut_treatments:]))


@settings(max_examples=300, deadline=None)
@given(_queries())
def test_round_trip_str_parses_to_the_same_query(query: Query) -> None:
    assert Query.parse(str(query)) == query


@settings(max_examples=200, deadline=None)
@given(_queries())
def test_round_trip_through_y0_keeps_each_role(query: Query) -> None:
    # y0 sorts the variables of each role, so only the sets survive
    back = Query.from_y0(query.to_y0(), query.y0_symbols())
    assert (set(back.outcomes), set(back.treatments), set(back.conditions)) == (
        set(query.outcomes),
        set(query.treatments),
        set(query.conditions),
    )
