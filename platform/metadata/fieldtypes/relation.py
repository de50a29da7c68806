"""Reference field types: lookup (to another entity) and user."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.types import TypeEngine

from xrm.metadata.fieldtypes.base import DefinitionProblem, FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import register_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.sqltypes import RecordId
from xrm.metadata.suggest import did_you_mean

USERS_TABLE = "xrm_users"
_ASCII_DIGITS = re.compile(r"[0-9]+")
_MAX_ID = 2**63 - 1

_ON_DELETE_SQL = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}


class _ReferenceBase(FieldType):
    value_type = "integer"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return RecordId

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, dict) and "id" in value:  # {"id": 7, "display": "..."} as the API returns it
            value = value["id"]
        if isinstance(value, bool):
            raise FieldValueError("expected a record id", "type")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):  # not "²", which isdigit() accepts
            return int(value.strip())
        raise FieldValueError(f"expected a record id, found {value!r}", "type")

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        if not 0 < value <= _MAX_ID:
            return FieldValueError(f"{value} is not a record id", "type")
        return None

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "integer", "format": "int64"}

    def on_delete(self, field: Field) -> str:
        return field.on_delete or ("restrict" if field.required else "set_null")


@register_field_type
class LookupType(_ReferenceBase):
    name = "lookup"
    label = "Lookup"
    options_schema = {
        "target": {"type": "string"},
        "on_delete": {"enum": list(_ON_DELETE_SQL)},
    }
    required_options = ("target",)

    def value_type_of(self, field: Field) -> str:
        return f"ref:{field.target}"

    def foreign_key_target(self, field: Field) -> tuple[str, str | None] | None:
        return field.target, _ON_DELETE_SQL[self.on_delete(field)]

    def summary(self, field: Field) -> str:
        return f"on delete: {self.on_delete(field).replace('_', ' ')}"

    def check_definition(self, field: Field, entity: Entity, entities: Mapping[str, Entity]) -> Iterator[DefinitionProblem]:
        if field.target not in entities:
            yield DefinitionProblem(
                ("target",), f"lookup '{field.name}' points to unknown entity '{field.target}'",
                expected="an entity of this pack or of a pack it depends on",
                found=field.target, hint=did_you_mean(field.target or "", entities), code="unknown_entity",
            )
        if field.required and field.on_delete == "set_null":
            yield DefinitionProblem(
                ("on_delete",), f"required lookup '{field.name}' cannot use on_delete 'set_null'",
                expected="'restrict' or 'cascade'", found="set_null",
            )


@register_field_type
class UserType(_ReferenceBase):
    """A reference to a platform user."""

    name = "user"
    label = "User"
    options_schema = {"on_delete": {"enum": ["restrict", "set_null"]}}

    def value_type_of(self, field: Field) -> str:
        return "ref:user"

    def check_definition(self, field: Field, entity: Entity, entities: Mapping[str, Entity]) -> Iterator[DefinitionProblem]:
        if field.required and field.on_delete == "set_null":
            yield DefinitionProblem(
                ("on_delete",), f"required user field '{field.name}' cannot use on_delete 'set_null'",
                expected="'restrict'", found="set_null",
            )

    def foreign_key_target(self, field: Field) -> tuple[str, str | None] | None:
        return USERS_TABLE, _ON_DELETE_SQL[self.on_delete(field)]
