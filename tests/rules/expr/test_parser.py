"""Parser: literals, precedence, paths, and syntax errors with places."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from xrm.rules.expr import ExpressionError, parse
from xrm.rules.expr.nodes import Binary, Call, IsEmpty, ListLiteral, Literal, Path, Unary
from xrm.rules.expr.parser import MAX_DEPTH, grammar


@pytest.mark.parametrize(("source", "kind", "value"), [
    ("'it\\'s'", "text", "it's"),
    ("'a\\\\b'", "text", "a\\b"),
    ("'caf\\u00e9'", "text", "café"),
    ("''", "text", ""),
    ("42", "integer", 42),
    ("-7", "integer", -7),
    ("12.50", "decimal", Decimal("12.50")),
    ("true", "boolean", True),
    ("false", "boolean", False),
    ("null", "null", None),
    ("2024-06-01", "date", date(2024, 6, 1)),
    ("2026-01-05T09:00+01:00", "datetime", datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))),
    ("2026-01-05T09:00:30Z", "datetime", datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)),
    ("30m", "duration", 1800),
    ("4h", "duration", 14400),
    ("3d", "duration", 259200),
    ("2w", "duration", 1209600),
    ("1d 4h", "duration", 100800),
])
def test_literals(source: str, kind: str, value: object) -> None:
    node = parse(source)
    assert isinstance(node, Literal)
    assert (node.kind, node.value) == (kind, value)


def test_and_binds_tighter_than_or() -> None:
    node = parse("a or b and c")
    assert isinstance(node, Binary) and node.op == "or"
    assert isinstance(node.right, Binary) and node.right.op == "and"


def test_not_applies_to_the_comparison() -> None:
    node = parse("not a = 1")
    assert isinstance(node, Unary) and node.op == "not"
    assert isinstance(node.operand, Binary) and node.operand.op == "="


def test_multiplication_binds_tighter_than_addition() -> None:
    node = parse("a + b * c")
    assert isinstance(node, Binary) and node.op == "+" and node.right.op == "*"


def test_paths_calls_lists_and_is_empty() -> None:
    node = parse("account.owner.region in ('west', 'east') and days_between(a, today()) > 3 and x is not empty")
    membership = node.left.left
    assert isinstance(membership.left, Path) and membership.left.names == ("account", "owner", "region")
    assert isinstance(membership.right, ListLiteral) and [i.value for i in membership.right.items] == ["west", "east"]
    call = node.left.right.left
    assert isinstance(call, Call) and call.name == "days_between" and len(call.args) == 2
    assert isinstance(node.right, IsEmpty) and node.right.negated


def test_keywords_are_whole_words() -> None:
    node = parse("order = android")
    assert node.left.names == ("order",) and node.right.names == ("android",)


def test_positions_are_one_based_and_point_at_the_operator() -> None:
    node = parse("amount >\n  'x'")
    assert (node.line, node.column) == (1, 8)
    assert (node.right.line, node.right.column) == (2, 3)


def test_the_grammar_is_loaded_once() -> None:
    assert grammar() is grammar()


@pytest.mark.parametrize(("source", "line", "column", "message"), [
    ("a = ", 1, 5, "the expression ends too early"),
    ('a = "x"', 1, 5, "unexpected character '\"'"),
    ("a = = b", 1, 5, "unexpected '='"),
    ("2024-02-30", 1, 1, "2024-02-30 is not a valid date"),
    ("2026-01-05T09:00", 1, 1, "2026-01-05T09:00 has no time zone"),
    ("'\\q'", 1, 1, "unknown escape '\\q' in text"),
    ("", 1, 1, "the expression is empty"),
    ("a = 1\nand b ==", 2, 8, "unexpected '='"),
])
def test_syntax_errors_have_a_place(source: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(source)
    problem = raised.value.first
    assert (problem.line, problem.column, problem.message) == (line, column, message)
    assert problem.excerpt.splitlines()[-1] == " " * (column - 1) + "^"


def test_double_quotes_get_a_hint() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse('status = "new"')
    assert raised.value.first.hint == "text goes in single quotes: 'like this'"


def test_deep_nesting_is_refused_cleanly() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse("not (" * (MAX_DEPTH + 5) + "true" + ")" * (MAX_DEPTH + 5))
    assert "nested" in raised.value.first.message


def test_redundant_parentheses_do_not_count_as_depth() -> None:
    assert parse("(" * 500 + "1" + ")" * 500).value == 1
