"""Parser and checker fuzzing: any text gives a result or a clean ExpressionError with a place."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xrm.rules.expr import ExpressionError, check_expression, parse

TOKENS = ["a", "status", "account", ".", "parent_account", "(", ")", ",", "'x'", "'", "\\", "1", "2.5", "-", "+",
          "*", "/", "=", "!=", "<", ">=", "and", "or", "not", "in", "is", "empty", "like", "contains", "null",
          "true", "2024-06-01", "2026-01-05T09:00Z", "3d", "if", "today", "lower", " ", "\n", "tags", "%", '"']


def _clean(source: str, run) -> None:  # noqa: ANN001
    try:
        run(source)
    except ExpressionError as error:
        for problem in error.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert "^" in problem.excerpt


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(source: str) -> None:
    _clean(source, parse)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_checks_or_fails_cleanly(lead, entities, source: str) -> None:  # noqa: ANN001
    _clean(source, lambda s: check_expression(s, lead, entities))
