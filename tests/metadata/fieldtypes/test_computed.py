"""Computed field types: formula and autonumber."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Date, Numeric, String, Text

from xrm.metadata.fieldtypes import FieldValueError, field_types, get_field_type
from xrm.metadata.model import Field
from xrm.metadata.sqltypes import UTCDateTime

COMPUTED = ["formula", "autonumber"]


def make_field(type_name: str, **attributes: Any) -> Field:
    if type_name == "formula":
        attributes.setdefault("expression", "amount * 2")
    return Field(name="f", type=type_name, label="Total", **attributes)


def test_only_formula_and_autonumber_are_computed() -> None:
    assert {t.name for t in field_types() if t.computed} == set(COMPUTED)


@pytest.mark.parametrize("type_name", COMPUTED)
@pytest.mark.parametrize("value", ["x", 42, 0, False, ["a"], "CASE-00001"])
def test_computed_types_refuse_input(type_name: str, value: Any) -> None:
    with pytest.raises(FieldValueError) as info:
        get_field_type(type_name).coerce(value, make_field(type_name))
    assert info.value.code == "read_only"
    assert info.value.message == "'Total' is computed by the platform and cannot be set"


@pytest.mark.parametrize("type_name", COMPUTED)
@pytest.mark.parametrize("blank", [None, "", "  "])
def test_computed_types_accept_blank(type_name: str, blank: Any) -> None:
    assert get_field_type(type_name).coerce(blank, make_field(type_name)) is None


# --- formula -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "column_class"),
    [
        ({}, Text),
        ({"returns": "text"}, Text),
        ({"returns": "integer"}, BigInteger),
        ({"returns": "decimal"}, Numeric),
        ({"returns": "boolean"}, Boolean),
        ({"returns": "date"}, Date),
        ({"returns": "datetime"}, UTCDateTime),
        ({"returns": "duration"}, BigInteger),
    ],
)
def test_formula_column_follows_result_type(attributes: dict[str, Any], column_class: type) -> None:
    column = get_field_type("formula").column_type(make_field("formula", **attributes))
    assert isinstance(column, column_class)


def test_formula_text_column_has_no_length_unless_given() -> None:
    formula = get_field_type("formula")
    assert type(formula.column_type(make_field("formula", returns="text"))) is Text
    limited = formula.column_type(make_field("formula", returns="text", max_length=80))
    assert isinstance(limited, String) and limited.length == 80


def test_formula_decimal_column_uses_the_field_precision() -> None:
    column = get_field_type("formula").column_type(make_field("formula", returns="currency", precision=12, scale=4))
    assert (column.precision, column.scale) == (12, 4)


@pytest.mark.parametrize(
    ("returns", "value_type"),
    [(None, "text"), ("text", "text"), ("integer", "integer"), ("currency", "decimal"), ("percent", "decimal"),
     ("boolean", "boolean"), ("date", "date"), ("datetime", "datetime"), ("duration", "duration")],
)
def test_formula_value_type_follows_result_type(returns: str | None, value_type: str) -> None:
    assert get_field_type("formula").value_type_of(make_field("formula", returns=returns)) == value_type


@pytest.mark.parametrize(
    ("attributes", "value", "shown"),
    [
        ({"returns": "currency", "currency_code": "EUR"}, Decimal("1234.5"), "1,234.50 EUR"),
        ({"returns": "percent"}, Decimal("12.5"), "12.50 %"),
        ({"returns": "integer"}, 1234567, "1,234,567"),
        ({"returns": "boolean"}, False, "No"),
        ({"returns": "duration"}, 5400, "1h 30m"),
        ({"returns": "date"}, date(2026, 6, 1), "2026-06-01"),
        ({}, "plain", "plain"),
        ({"returns": "integer"}, None, ""),
    ],
)
def test_formula_display_follows_result_type(attributes: dict[str, Any], value: Any, shown: str) -> None:
    assert get_field_type("formula").display(value, make_field("formula", **attributes)) == shown


@pytest.mark.parametrize(
    ("attributes", "schema"),
    [
        ({"returns": "integer"}, {"type": "integer", "format": "int64", "readOnly": True}),
        ({"returns": "boolean"}, {"type": "boolean", "readOnly": True}),
        ({"returns": "date"}, {"type": "string", "format": "date", "readOnly": True}),
        ({"returns": "text", "max_length": 80}, {"type": "string", "maxLength": 80, "readOnly": True}),
    ],
)
def test_formula_json_schema_is_read_only(attributes: dict[str, Any], schema: dict[str, Any]) -> None:
    assert get_field_type("formula").json_schema(make_field("formula", **attributes)) == schema


@pytest.mark.parametrize("returns", [None, "text"])
def test_formula_text_json_schema_agrees_with_its_column(returns: str | None) -> None:
    field = make_field("formula", returns=returns)
    formula = get_field_type("formula")
    assert type(formula.column_type(field)) is Text
    assert formula.json_schema(field) == {"type": "string", "readOnly": True}


def test_formula_summary_shows_expression_and_result() -> None:
    field = make_field("formula", expression="quantity * unit_price", returns="currency")
    assert get_field_type("formula").summary(field) == "= quantity * unit_price (currency)"


# --- autonumber ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "number", "text"),
    [
        ("CASE-{00000}", 42, "CASE-00042"),
        ("CASE-{00000}", 1, "CASE-00001"),
        ("CASE-{00000}", 123456, "CASE-123456"),  # wider than the format: nothing is cut off
        ("INV-{0000}/2026", 7, "INV-0007/2026"),
        ("{000}", 5, "005"),
        ("#{0}", 5, "#5"),
        (None, 42, "42"),
    ],
)
def test_autonumber_render(format: str | None, number: int, text: str) -> None:
    assert get_field_type("autonumber").render(make_field("autonumber", format=format), number) == text


def test_autonumber_summary_shows_the_first_numbers() -> None:
    field = make_field("autonumber", format="CASE-{00000}")
    assert get_field_type("autonumber").summary(field) == "numbered CASE-00001, CASE-00002, …"


def test_autonumber_column_schema_and_value_type() -> None:
    autonumber, field = get_field_type("autonumber"), make_field("autonumber", format="CASE-{00000}")
    column = autonumber.column_type(field)
    assert isinstance(column, String) and column.length == 64
    assert autonumber.json_schema(field) == {"type": "string", "readOnly": True}
    assert autonumber.value_type_of(field) == "text"
    assert autonumber.display("CASE-00042", field) == "CASE-00042"
