"""Field types the platform computes: formula and autonumber."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String
from sqlalchemy.types import TypeEngine

from xrm.metadata.fieldtypes.base import FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import get_field_type, register_field_type
from xrm.metadata.model import Field

#: Field types a formula may return; its column and display follow that type.
FORMULA_RESULT_TYPES = ("text", "integer", "decimal", "currency", "percent", "boolean", "date", "datetime", "duration")


class _ComputedBase(FieldType):
    computed = True

    def coerce_present(self, value: Any, field: Field) -> Any:
        raise FieldValueError(f"'{field.label}' is computed by the platform and cannot be set", "read_only")


@register_field_type
class FormulaType(_ComputedBase):
    """A value computed on every write from an expression over the record."""

    name = "formula"
    label = "Formula"
    value_type = "text"
    options_schema = {
        "expression": {"type": "string", "minLength": 1},
        "returns": {"enum": list(FORMULA_RESULT_TYPES)},
        "precision": {"type": "integer", "minimum": 1, "maximum": 38},
        "scale": {"type": "integer", "minimum": 0, "maximum": 18},
        "currency_code": {"type": "string", "pattern": "^[A-Z]{3}$(?!\\n)", "x-expected": "a currency code like EUR"},
    }
    required_options = ("expression", "returns")

    def result_type(self, field: Field) -> FieldType:
        return get_field_type(field.returns or "text")

    def value_type_of(self, field: Field) -> str:
        return self.result_type(field).value_type_of(field)

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return self._column_field_type(field).column_type(field)

    def display(self, value: Any, field: Field) -> str:
        return self.result_type(field).display(value, field)

    def summary(self, field: Field) -> str:
        return f"= {field.expression} ({field.returns})"

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {**self._column_field_type(field).json_schema(field), "readOnly": True}

    def _column_field_type(self, field: Field) -> FieldType:
        """Text results are unbounded (long_text); other results use their own type."""
        return get_field_type("long_text") if field.returns in (None, "text") else self.result_type(field)


_AUTONUMBER_FORMAT = re.compile(r"^[^{}\n]*\{(0+)\}[^{}\n]*$(?!\n)")


@register_field_type
class AutonumberType(_ComputedBase):
    """A number given to each new record, e.g. ``CASE-{00000}`` gives CASE-00042."""

    name = "autonumber"
    label = "Auto number"
    value_type = "text"
    unique_by_nature = True
    names_records = True
    searchable = True
    options_schema = {"format": {"type": "string", "pattern": _AUTONUMBER_FORMAT.pattern, "maxLength": 40,
                                 "x-expected": "a format with one group of zeros, like CASE-{00000}"}}
    required_options = ("format",)

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return String(64)

    def render(self, field: Field, number: int) -> str:
        """The text for the ``number``-th record, following the field's format."""
        match = _AUTONUMBER_FORMAT.match(field.format or "{0}")
        assert match, "format was checked at validation"
        width = len(match.group(1))
        prefix, _, rest = (field.format or "{0}").partition("{")
        suffix = rest.partition("}")[2]
        return f"{prefix}{number:0{width}d}{suffix}"

    def summary(self, field: Field) -> str:
        return f"numbered {self.render(field, 1)}, {self.render(field, 2)}, …"

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "readOnly": True}
