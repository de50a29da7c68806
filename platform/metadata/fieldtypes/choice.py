"""Choice field types: boolean, picklist, multi_picklist."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.types import TypeEngine

from xrm.metadata.fieldtypes.base import DefinitionProblem, FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import register_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.suggest import did_you_mean

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


@register_field_type
class BooleanType(FieldType):
    name = "boolean"
    label = "Yes/No"
    value_type = "boolean"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return Boolean(create_constraint=False)

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise FieldValueError(f"expected yes or no (true/false), found {value!r}", "type")

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else ("Yes" if value else "No")

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "boolean"}


OPTION_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]*$(?!\\n)", "maxLength": 63,
                      "x-expected": "a value of lowercase letters, digits and '_', e.g. 'closed_won'"},
            "label": {"type": "string", "minLength": 1},
            "order": {"type": "integer"},
            "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$(?!\\n)", "x-expected": "a colour like #1f77b4"},
            "active": {"type": "boolean"},
        },
    },
}


class _PicklistBase(FieldType):
    options_schema = {"options": OPTION_SCHEMA}
    required_options = ("options",)

    def summary(self, field: Field) -> str:
        choices = ", ".join(o.label for o in field.options if o.active)
        default = super().summary(field)
        return f"{choices} ({default})" if default else choices

    def _pick(self, raw: Any, field: Field) -> str:
        if not isinstance(raw, str):
            raise FieldValueError(f"expected one of the picklist values, found {raw!r}", "type")
        text = raw.strip()
        if field.option(text):
            return text
        for option in field.options:  # people and spreadsheets use labels
            if option.label.casefold() == text.casefold():
                return option.value
        values = [o.value for o in field.options if o.active]
        hint = did_you_mean(text, values)
        message = f"'{text}' is not one of {', '.join(values)}"
        raise FieldValueError(f"{message}; {hint}" if hint else message, "not_in_picklist")

    def _inactive(self, value: str, field: Field) -> FieldValueError | None:
        option = field.option(value)
        if option is not None and not option.active:
            return FieldValueError(f"'{option.label}' is no longer an available choice", "inactive_choice")
        return None

    def check_definition(self, field: Field, entity: Entity, entities: Mapping[str, Entity]) -> Iterator[DefinitionProblem]:
        seen: set[str] = set()
        for index, option in enumerate(field.options):
            if option.value in seen:
                yield DefinitionProblem(
                    ("options", index, "value"), f"picklist value '{option.value}' is listed twice",
                    expected="each value once", found=option.value,
                )
            seen.add(option.value)


@register_field_type
class PicklistType(_PicklistBase):
    name = "picklist"
    label = "Picklist"
    value_type = "text"
    names_records = True

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return String(63)

    def coerce_present(self, value: Any, field: Field) -> Any:
        return self._pick(value, field)

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        return self._inactive(value, field)

    def display(self, value: Any, field: Field) -> str:
        option = field.option(value) if value is not None else None
        return option.label if option else ("" if value is None else str(value))

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "enum": [o.value for o in field.options if o.active]}


@register_field_type
class MultiPicklistType(_PicklistBase):
    """Several picklist values, stored as a JSON list in the options' order."""

    name = "multi_picklist"
    label = "Multi-select picklist"
    value_type = "list"
    indexable = False

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return JSON()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", ";").split(";") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise FieldValueError(f"expected a list of picklist values, found {value!r}", "type")
        chosen = {self._pick(item, field) for item in value}
        order = {o.value: i for i, o in enumerate(field.options)}
        return sorted(chosen, key=order.__getitem__) or None

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        return next((e for e in (self._inactive(v, field) for v in value) if e), None)

    def display(self, value: Any, field: Field) -> str:
        if not value:
            return ""
        return ", ".join(o.label if (o := field.option(v)) else v for v in value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "enum": [o.value for o in field.options if o.active]},
        }
