"""Metadata names: shape, length, keywords, the platform prefix and extra reserved words."""

from __future__ import annotations

import pytest

from xrm.metadata.identifiers import (
    LANGUAGE_KEYWORDS,
    MAX_IDENTIFIER_LENGTH,
    SYSTEM_COLUMNS,
    identifier_problem,
    is_identifier,
    is_well_formed,
)

LONGEST = "a" * 63
TOO_LONG = "a" * 64


def test_the_limit_is_postgresqls() -> None:
    assert MAX_IDENTIFIER_LENGTH == 63


@pytest.mark.parametrize("name", ["a", "close_date", "account", "x1", "a_b_c", "line_2_total", "a__b", "z_", LONGEST, "xrm", "xrmusers", "ids"])
def test_valid_names(name: str) -> None:
    assert identifier_problem(name) is None
    assert is_identifier(name)
    assert is_well_formed(name)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (TOO_LONG, f"'{TOO_LONG}' is 64 characters long; names have at most 63"),
        ("a" * 200, f"'{'a' * 200}' is 200 characters long; names have at most 63"),
        ("", "a name cannot be empty"),
        (None, "a name must be a string, found NoneType"),
        (42, "a name must be a string, found int"),
        (b"account", "a name must be a string, found bytes"),
    ],
)
def test_length_emptiness_and_type(name: object, problem: str) -> None:
    assert identifier_problem(name) == problem
    assert not is_identifier(name)


@pytest.mark.parametrize(
    "name",
    ["Account", "closeDate", "1st", "_private", "close-date", "close date", "close.date", "café", "ñame", "a$", "a;drop", "a\nb", "名前", " a"],
)
def test_bad_characters(name: str) -> None:
    assert identifier_problem(name) == (
        f"'{name}' is not a valid name: use lowercase letters, digits and '_', starting with a letter (e.g. 'close_date')"
    )
    assert not is_identifier(name)
    assert not is_well_formed(name)


@pytest.mark.parametrize("name", ["account\n", "a\n"])
def test_trailing_newline_is_a_bad_character(name: str) -> None:
    assert identifier_problem(name) is not None
    assert not is_well_formed(name)


@pytest.mark.parametrize("name", sorted(LANGUAGE_KEYWORDS))
def test_language_keywords_are_refused(name: str) -> None:
    assert identifier_problem(name) == f"'{name}' is a keyword of the expression language and cannot be used as a name"
    assert not is_identifier(name)
    assert is_well_formed(name)  # the right shape, only reserved


@pytest.mark.parametrize("name", ["and", "or", "not", "in", "is", "true", "false", "null", "if", "contains", "starts_with"])
def test_operators_and_literals_are_keywords(name: str) -> None:
    assert name in LANGUAGE_KEYWORDS


@pytest.mark.parametrize("name", ["now", "today"])
def test_function_names_stay_usable(name: str) -> None:
    # functions are always followed by parentheses, so a field may share the name
    assert identifier_problem(name) is None


@pytest.mark.parametrize("name", ["xrm_users", "xrm_", "xrm_account"])
def test_platform_prefix_is_refused(name: str) -> None:
    assert identifier_problem(name) == f"'{name}' starts with 'xrm_', which is reserved for the platform"
    assert not is_identifier(name)
    assert is_well_formed(name)


@pytest.mark.parametrize("name", sorted(SYSTEM_COLUMNS))
def test_extra_reserved_names(name: str) -> None:
    assert identifier_problem(name) is None  # system columns are only reserved where the caller says so
    assert identifier_problem(name, extra_reserved=SYSTEM_COLUMNS) == f"'{name}' is reserved by the platform"


def test_extra_reserved_only_adds_to_the_checks() -> None:
    reserved = frozenset({"status", "Bad-Name"})
    assert identifier_problem("status", extra_reserved=reserved) == "'status' is reserved by the platform"
    assert identifier_problem("stage", extra_reserved=reserved) is None
    # earlier checks win over the reserved list
    assert identifier_problem("Bad-Name", extra_reserved=reserved).startswith("'Bad-Name' is not a valid name")


def test_system_columns() -> None:
    assert SYSTEM_COLUMNS == {"id", "version", "created_at", "created_by", "updated_at", "updated_by", "owner_id",
                              "owner_queue_id"}


def test_system_columns_are_the_columns_every_table_gets() -> None:
    from xrm.metadata.tables import system_columns

    assert {c.name for c in system_columns("t")} == SYSTEM_COLUMNS


@pytest.mark.parametrize("name", ["now", "today", "new", "old", "record", "status", "changed_at"])
def test_other_words_remain_usable_as_field_names(name: str) -> None:
    from xrm.rules.expr import parse

    parse(f"{name} = 1")


def test_every_keyword_of_the_expression_grammar_is_reserved() -> None:
    """A field named like a grammar keyword could parse differently than meant (``not = 1``)."""
    import re
    from importlib import resources

    grammar = resources.files("xrm.rules.expr").joinpath("grammar.lark").read_text("utf-8")
    found = re.findall(r"^[A-Z]+\.\d+: /\(?([a-z_|]+)\)?\(\?!", grammar, re.M)
    words = {word for group in found for word in group.split("|")}
    assert {"and", "or", "not", "empty", "like", "starts_with"} <= words
    assert words <= LANGUAGE_KEYWORDS
