"""Text-like field types: text, long_text, email, phone, url."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import String, Text

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Field


def make_field(type_name: str, **attributes: Any) -> Field:
    return Field(name="f", type=type_name, label="F", **attributes)


def coerce_error(type_name: str, value: Any, **attributes: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        get_field_type(type_name).coerce(value, make_field(type_name, **attributes))
    return info.value


def check(type_name: str, value: Any, **attributes: Any) -> str | None:
    """Coerce then validate, as the write path does; the error code or None."""
    field = make_field(type_name, **attributes)
    field_type = get_field_type(type_name)
    error = field_type.validate(field_type.coerce(value, field), field)
    return error and error.code


@pytest.mark.parametrize("type_name", ["text", "long_text", "email", "phone", "url"])
@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_blank_input_is_none(type_name: str, blank: Any) -> None:
    assert get_field_type(type_name).coerce(blank, make_field(type_name)) is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [("hello", "hello"), ("  spaced  ", "  spaced  "), (42, "42"), (1.5, "1.5"), ("émoji ✓", "émoji ✓")],
)
def test_text_coerce(value: Any, stored: str) -> None:
    assert get_field_type("text").coerce(value, make_field("text")) == stored


@pytest.mark.parametrize("type_name", ["text", "long_text", "email", "phone", "url"])
@pytest.mark.parametrize("value", [True, False, ["a"], {"a": 1}, object()])
def test_non_text_input_is_a_type_error(type_name: str, value: Any) -> None:
    error = coerce_error(type_name, value)
    assert error.code == "type"
    assert error.message.startswith("expected text, found ")


@pytest.mark.parametrize(
    ("type_name", "attributes", "length"),
    [
        ("text", {}, 255),
        ("text", {"max_length": 40}, 40),
        ("long_text", {"max_length": 10000}, 10000),
        ("email", {}, 254),
        ("phone", {}, 40),
        ("url", {}, 2000),
    ],
)
def test_column_is_string_of_the_limit(type_name: str, attributes: dict[str, Any], length: int) -> None:
    column = get_field_type(type_name).column_type(make_field(type_name, **attributes))
    assert isinstance(column, String)
    assert not isinstance(column, Text)
    assert column.length == length


def test_long_text_without_limit_is_a_text_column() -> None:
    assert isinstance(get_field_type("long_text").column_type(make_field("long_text")), Text)


@pytest.mark.parametrize(
    ("type_name", "attributes", "value", "code"),
    [
        ("text", {}, "x" * 255, None),
        ("text", {}, "x" * 256, "too_long"),
        ("text", {"max_length": 3}, "abc", None),
        ("text", {"max_length": 3}, "abcd", "too_long"),
        ("long_text", {}, "x" * 100_000, None),
        ("long_text", {"max_length": 5}, "x" * 6, "too_long"),
        ("email", {"max_length": 10}, "ada@example.com", "too_long"),
        ("phone", {}, "1" * 41, "too_long"),
    ],
)
def test_length_limit(type_name: str, attributes: dict[str, Any], value: str, code: str | None) -> None:
    assert check(type_name, value, **attributes) == code


def test_too_long_message_gives_both_lengths() -> None:
    error = get_field_type("text").validate("abcd", make_field("text", max_length=3))
    assert error.message == "is 4 characters long; at most 3 are allowed"


@pytest.mark.parametrize(
    ("type_name", "attributes", "schema"),
    [
        ("text", {}, {"type": "string", "maxLength": 255}),
        ("text", {"max_length": 80}, {"type": "string", "maxLength": 80}),
        ("long_text", {}, {"type": "string"}),
        ("long_text", {"max_length": 5000}, {"type": "string", "maxLength": 5000}),
        ("email", {}, {"type": "string", "maxLength": 254, "format": "email"}),
        ("phone", {}, {"type": "string", "maxLength": 40}),
        ("url", {}, {"type": "string", "maxLength": 2000, "format": "uri"}),
    ],
)
def test_json_schema(type_name: str, attributes: dict[str, Any], schema: dict[str, Any]) -> None:
    assert get_field_type(type_name).json_schema(make_field(type_name, **attributes)) == schema


@pytest.mark.parametrize(
    ("value", "stored"),
    [("ada@example.com", "ada@example.com"), ("  ada@example.com \n", "ada@example.com")],
)
def test_email_coerce_strips(value: str, stored: str) -> None:
    assert get_field_type("email").coerce(value, make_field("email")) == stored


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("ada@example.com", None),
        ("ada.lovelace+crm@mail.example.org", None),
        ("ada", "invalid_email"),
        ("ada@", "invalid_email"),
        ("@example.com", "invalid_email"),
        ("ada@@example.com", "invalid_email"),
        ("ada@exa mple.com", "invalid_email"),
    ],
)
def test_email_validate(value: str, code: str | None) -> None:
    assert check("email", value) == code


def test_email_error_names_the_value() -> None:
    error = get_field_type("email").validate("ada", make_field("email"))
    assert error.message.startswith("'ada' is not a valid e-mail address: ")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("+1 (555) 123-4567", None),
        ("555.123.4567", None),
        ("030/1234567", None),
        ("+44 20 7946 0958 ext. 12", None),
        ("030/1234567 x9", None),
        ("  555 1234  ", None),
        ("12", "invalid_phone"),
        ("---", "invalid_phone"),
        ("(1)", "invalid_phone"),
        ("555-CALL", "invalid_phone"),
        ("+1 555 123 ext", "invalid_phone"),
        ("555 123 ext. 1234567", "invalid_phone"),
        ("++1 555 1234", "invalid_phone"),
    ],
)
def test_phone_validate(value: str, code: str | None) -> None:
    assert check("phone", value) == code


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("example.com", "https://example.com"),
        ("  www.example.com/path ", "https://www.example.com/path"),
        ("http://example.com", "http://example.com"),
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("ftp://example.com", "ftp://example.com"),
    ],
)
def test_url_coerce_adds_https_when_no_scheme(value: str, stored: str) -> None:
    assert get_field_type("url").coerce(value, make_field("url")) == stored


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("example.com", None),
        ("http://localhost:8000/x", None),
        ("HTTPS://EXAMPLE.COM", None),
        ("ftp://example.com", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("https://", "invalid_url"),
        ("https://exa mple.com", "invalid_url"),
        ("example .com", "invalid_url"),
    ],
)
def test_url_validate(value: str, code: str | None) -> None:
    assert check("url", value) == code


@pytest.mark.parametrize(
    ("type_name", "value", "shown"),
    [("text", "hello", "hello"), ("text", None, ""), ("email", "ada@example.com", "ada@example.com")],
)
def test_display(type_name: str, value: Any, shown: str) -> None:
    assert get_field_type(type_name).display(value, make_field(type_name)) == shown


@pytest.mark.parametrize(
    ("default", "summary"),
    [(None, ""), ("hello", "default hello"), (7, "default 7"), (True, "default True")],
)
def test_summary_shows_the_default(default: Any, summary: str) -> None:
    assert get_field_type("text").summary(make_field("text", default=default)) == summary


@pytest.mark.parametrize("type_name", ["text", "long_text", "email", "phone", "url"])
def test_value_type_is_text_and_no_foreign_key(type_name: str) -> None:
    field_type, field = get_field_type(type_name), make_field(type_name)
    assert field_type.value_type_of(field) == "text"
    assert field_type.foreign_key_target(field) is None
    assert field_type.indexable
    assert not field_type.computed
