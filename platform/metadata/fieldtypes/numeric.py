"""Number field types: integer, decimal, currency, percent."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.types import TypeEngine

from xrm.metadata.fieldtypes.base import FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import register_field_type
from xrm.metadata.model import Field

_INT64 = (-(2**63), 2**63 - 1)
_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def _plain_number(text: str) -> str:
    """``"1,234.5"`` → ``"1234.5"``; a comma anywhere else is refused, never guessed.

    ``"1,5"`` could be one and a half (most of Europe) or a typo of 15: the
    platform asks rather than store a number ten times too large.
    """
    text = text.strip().replace("_", "")
    if "," not in text:
        return text
    if _GROUPED.fullmatch(text):
        return text.replace(",", "")
    raise FieldValueError(f"'{text}' is not a number: use '.' as the decimal point (e.g. 1.5)", "type")


@register_field_type
class IntegerType(FieldType):
    name = "integer"
    label = "Whole number"
    value_type = "integer"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return BigInteger()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, bool):
            raise FieldValueError("expected a whole number, found true/false", "type")
        if isinstance(value, int):
            return value
        if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
            return int(value)
        if isinstance(value, str):
            try:
                return int(_plain_number(value))
            except (ValueError, FieldValueError):
                pass
        raise FieldValueError(f"expected a whole number, found {value!r}", "type")

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        if not _INT64[0] <= value <= _INT64[1]:
            return FieldValueError(f"{value} is too large for a whole-number field", "out_of_range")
        return None

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else f"{value:,}"

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "integer", "format": "int64"}


class _DecimalBase(FieldType):
    value_type = "decimal"
    default_precision = 18
    default_scale = 2
    options_schema = {
        "precision": {"type": "integer", "minimum": 1, "maximum": 38},
        "scale": {"type": "integer", "minimum": 0, "maximum": 18},
    }

    def precision(self, field: Field) -> int:
        return field.precision or self.default_precision

    def scale(self, field: Field) -> int:
        return self.default_scale if field.scale is None else field.scale

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return Numeric(self.precision(field), self.scale(field), asdecimal=True)

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, bool):
            raise FieldValueError("expected a number, found true/false", "type")
        try:
            if isinstance(value, float):
                number = Decimal(repr(value))
            elif isinstance(value, (int, Decimal)):
                number = Decimal(value)
            elif isinstance(value, str):
                number = Decimal(_plain_number(value))
            else:
                raise InvalidOperation
        except InvalidOperation:
            raise FieldValueError(f"expected a number, found {value!r}", "type") from None
        if not number.is_finite():
            raise FieldValueError(f"expected a finite number, found {value!r}", "type")
        try:
            return number.quantize(Decimal(1).scaleb(-self.scale(field)), rounding=ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the decimal context holds: far beyond any column
            raise FieldValueError(f"{value} has too many digits for a number field", "out_of_range") from None

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        integer_digits = self.precision(field) - self.scale(field)
        if value.adjusted() >= integer_digits:
            return FieldValueError(
                f"{value} has too many digits: at most {integer_digits} before the decimal point", "out_of_range"
            )
        return None

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else f"{value:,.{self.scale(field)}f}"

    def json_schema(self, field: Field) -> dict[str, Any]:
        # Decimals travel as strings so that no client rounds them through a float.
        return {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}


@register_field_type
class DecimalType(_DecimalBase):
    name = "decimal"
    label = "Decimal number"


@register_field_type
class CurrencyType(_DecimalBase):
    name = "currency"
    label = "Currency amount"
    options_schema = {
        **_DecimalBase.options_schema,
        "currency_code": {"type": "string", "pattern": "^[A-Z]{3}$(?!\\n)", "x-expected": "a currency code like EUR"},
    }

    def display(self, value: Any, field: Field) -> str:
        text = super().display(value, field)
        return f"{text} {field.currency_code or 'USD'}" if text else text


@register_field_type
class PercentType(_DecimalBase):
    """A percentage as people write it: 20 means 20 %."""

    name = "percent"
    label = "Percent"
    default_precision = 7

    def display(self, value: Any, field: Field) -> str:
        text = super().display(value, field)
        return f"{text} %" if text else text
