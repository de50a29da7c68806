"""Number field types: integer, decimal, currency, percent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BigInteger, Numeric

from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Field

DECIMALS = ["decimal", "currency", "percent"]


def make_field(type_name: str, **attributes: Any) -> Field:
    return Field(name="f", type=type_name, label="F", **attributes)


def coerce(type_name: str, value: Any, **attributes: Any) -> Any:
    return get_field_type(type_name).coerce(value, make_field(type_name, **attributes))


def coerce_error(type_name: str, value: Any, **attributes: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        coerce(type_name, value, **attributes)
    return info.value


def validate_code(type_name: str, value: Any, **attributes: Any) -> str | None:
    error = get_field_type(type_name).validate(value, make_field(type_name, **attributes))
    return error and error.code


@pytest.mark.parametrize("type_name", ["integer", *DECIMALS])
@pytest.mark.parametrize("blank", [None, "", "  "])
def test_blank_input_is_none(type_name: str, blank: Any) -> None:
    assert coerce(type_name, blank) is None


# --- integer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (42, 42),
        (-7, -7),
        (0, 0),
        (3.0, 3),
        (Decimal("12"), 12),
        (Decimal("12.000"), 12),
        ("42", 42),
        ("  -42 ", -42),
        ("1_000_000", 1_000_000),
        (2**70, 2**70),  # coerce accepts it; validate reports the range
    ],
)
def test_integer_coerce(value: Any, stored: int) -> None:
    result = coerce("integer", value)
    assert result == stored
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, 3.5, Decimal("0.1"), "3.5", "1,5", "1,00", "twelve", "1e3", [1], {"n": 1}])
def test_integer_coerce_refuses(value: Any) -> None:
    assert coerce_error("integer", value).code == "type"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("Infinity")])
def test_integer_coerce_refuses_non_finite_numbers(value: Any) -> None:
    # json.loads accepts NaN and Infinity, so these reach coerce from the API.
    assert coerce_error("integer", value).code == "type"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, None),
        (2**63 - 1, None),
        (-(2**63), None),
        (2**63, "out_of_range"),
        (-(2**63) - 1, "out_of_range"),
    ],
)
def test_integer_validate_range(value: int, code: str | None) -> None:
    assert validate_code("integer", value) == code


@pytest.mark.parametrize(("value", "shown"), [(None, ""), (0, "0"), (1234567, "1,234,567"), (-1000, "-1,000")])
def test_integer_display(value: Any, shown: str) -> None:
    assert get_field_type("integer").display(value, make_field("integer")) == shown


def test_integer_column_and_schema() -> None:
    field_type, field = get_field_type("integer"), make_field("integer")
    assert isinstance(field_type.column_type(field), BigInteger)
    assert field_type.json_schema(field) == {"type": "integer", "format": "int64"}
    assert field_type.value_type_of(field) == "integer"


# --- decimal, currency, percent ------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "attributes", "precision", "scale"),
    [
        ("decimal", {}, 18, 2),
        ("currency", {}, 18, 2),
        ("percent", {}, 7, 2),
        ("decimal", {"precision": 10, "scale": 4}, 10, 4),
        ("decimal", {"scale": 0}, 18, 0),
        ("percent", {"precision": 5}, 5, 2),
    ],
)
def test_decimal_column_precision_and_scale(type_name: str, attributes: dict[str, Any], precision: int, scale: int) -> None:
    column = get_field_type(type_name).column_type(make_field(type_name, **attributes))
    assert isinstance(column, Numeric)
    assert (column.precision, column.scale, column.asdecimal) == (precision, scale, True)


@pytest.mark.parametrize(
    ("value", "attributes", "stored"),
    [
        (12, {}, "12.00"),
        ("12.5", {}, "12.50"),
        (" 1,234.5 ", {}, "1234.50"),
        ("1_000", {}, "1000.00"),
        (0.1, {}, "0.10"),
        (Decimal("3.14159"), {}, "3.14"),
        # half-up to the scale, both signs
        ("2.345", {}, "2.35"),
        ("2.344", {}, "2.34"),
        ("-2.345", {}, "-2.35"),
        ("0.005", {}, "0.01"),
        (2.675, {}, "2.68"),  # binary 2.67499999... would round down; repr keeps what was typed
        ("2.5", {"scale": 0}, "3"),
        ("3.5", {"scale": 0}, "4"),
        ("1.23456", {"scale": 4}, "1.2346"),
        ("7", {"scale": 3}, "7.000"),
    ],
)
def test_decimal_coerce_rounds_half_up_to_scale(value: Any, attributes: dict[str, Any], stored: str) -> None:
    result = coerce("decimal", value, **attributes)
    assert isinstance(result, Decimal)
    assert str(result) == stored


@pytest.mark.parametrize("type_name", DECIMALS)
@pytest.mark.parametrize("value", [True, "abc", "1.2.3", "NaN", "Infinity", float("nan"), float("inf"), [1], {"n": 1}])
def test_decimal_coerce_refuses(type_name: str, value: Any) -> None:
    assert coerce_error(type_name, value).code == "type"


@pytest.mark.parametrize("value", ["1e30", 1e30, 10**40])
def test_decimal_coerce_of_a_huge_number_is_a_field_error(value: Any) -> None:
    with pytest.raises(FieldValueError):
        coerce("decimal", value)


@pytest.mark.parametrize(
    ("type_name", "attributes", "value", "code"),
    [
        ("decimal", {}, "9999999999999999.99", None),  # 16 digits before the point: 18 - 2
        ("decimal", {}, "10000000000000000.00", "out_of_range"),
        ("decimal", {}, "-9999999999999999.99", None),
        ("decimal", {}, "-10000000000000000.00", "out_of_range"),
        ("decimal", {}, "0.00", None),
        ("decimal", {"precision": 5, "scale": 2}, "999.99", None),
        ("decimal", {"precision": 5, "scale": 2}, "1000.00", "out_of_range"),
        ("decimal", {"precision": 5, "scale": 2}, "999.995", "out_of_range"),  # rounds up to 1000.00
        ("decimal", {"precision": 2, "scale": 2}, "0.99", None),
        ("decimal", {"precision": 2, "scale": 2}, "1.00", "out_of_range"),
        ("percent", {}, "99999.99", None),  # precision 7
        ("percent", {}, "100000", "out_of_range"),
        ("currency", {}, "1e15", None),
    ],
)
def test_decimal_validate_digits(type_name: str, attributes: dict[str, Any], value: str, code: str | None) -> None:
    stored = coerce(type_name, value, **attributes)
    assert validate_code(type_name, stored, **attributes) == code


def test_too_many_digits_message() -> None:
    field = make_field("decimal", precision=5, scale=2)
    error = get_field_type("decimal").validate(Decimal("1000.00"), field)
    assert error.message == "1000.00 has too many digits: at most 3 before the decimal point"


@pytest.mark.parametrize(
    ("type_name", "attributes", "value", "shown"),
    [
        ("decimal", {}, None, ""),
        ("decimal", {}, Decimal("1234567.5"), "1,234,567.50"),
        ("decimal", {"scale": 0}, Decimal("1234"), "1,234"),
        ("decimal", {"scale": 3}, Decimal("-0.5"), "-0.500"),
        ("currency", {}, Decimal("1234.5"), "1,234.50 USD"),
        ("currency", {"currency_code": "EUR"}, Decimal("99"), "99.00 EUR"),
        ("currency", {"currency_code": "EUR"}, None, ""),
        ("percent", {}, Decimal("12.5"), "12.50 %"),
        ("percent", {"scale": 0}, Decimal("20"), "20 %"),
        ("percent", {}, None, ""),
    ],
)
def test_decimal_display(type_name: str, attributes: dict[str, Any], value: Any, shown: str) -> None:
    assert get_field_type(type_name).display(value, make_field(type_name, **attributes)) == shown


@pytest.mark.parametrize("type_name", DECIMALS)
def test_decimal_json_schema_is_a_string(type_name: str) -> None:
    field_type, field = get_field_type(type_name), make_field(type_name)
    assert field_type.json_schema(field) == {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    assert field_type.value_type_of(field) == "decimal"


@pytest.mark.parametrize(
    ("type_name", "default", "summary"),
    [
        ("integer", 1000, "default 1,000"),
        ("integer", "lots", "default 'lots'"),
        ("currency", "5", "default 5.00 USD"),
        ("percent", 20, "default 20.00 %"),
    ],
)
def test_summary_shows_the_default(type_name: str, default: Any, summary: str) -> None:
    assert get_field_type(type_name).summary(make_field(type_name, default=default)) == summary


@pytest.mark.parametrize(("type_name", "text", "stored"), [
    ("integer", "1,000", 1000), ("integer", "-12,345,678", -12345678),
    ("decimal", "1,234.56", Decimal("1234.56")), ("currency", "12,000", Decimal("12000.00")),
])
def test_thousands_separators_in_groups_of_three_are_understood(type_name: str, text: str, stored: object) -> None:
    assert coerce(type_name, text) == stored


@pytest.mark.parametrize("text", ["1,5", "1.234,56", "12,34", "1,2345"])
def test_a_comma_that_may_be_a_decimal_comma_is_refused_not_guessed(text: str) -> None:
    error = coerce_error("decimal", text)
    assert error.message == f"'{text}' is not a number: use '.' as the decimal point (e.g. 1.5)"
