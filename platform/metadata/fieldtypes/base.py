"""The field type contract: one class per type, one method per concern."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.types import TypeEngine

from xrm.errors import XrmError
from xrm.metadata.model import Entity, Field


class FieldValueError(XrmError):
    """A value does not fit its field; ``code`` is stable for API clients."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def json_type_name(value: Any) -> str:
    """What a JSON writer calls the value's type: object, array, true/false, number, text, null."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class DefinitionProblem:
    """Something wrong with how a field is declared, relative to the field's document."""

    path: tuple[str | int, ...]
    message: str
    expected: str | None = None
    found: str | None = None
    hint: str | None = None
    code: str | None = None


class FieldType(ABC):
    """Base class of every field type.

    Subclasses set the class attributes and override the methods that differ.
    ``options_schema`` holds JSON Schema for the type's own properties in a
    pack (e.g. ``options`` for picklists); pack validation composes it with the
    properties every field has.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    #: The type of this field's values in the expression language.
    value_type: ClassVar[str]
    options_schema: ClassVar[Mapping[str, Any]] = {}
    required_options: ClassVar[tuple[str, ...]] = ()
    #: Computed by the platform; users never type a value.
    computed: ClassVar[bool] = False
    #: Can back a unique constraint or an index (a JSON column cannot).
    indexable: ClassVar[bool] = True
    #: Always unique, whatever the pack says (autonumbers).
    unique_by_nature: ClassVar[bool] = False
    #: Good at naming a record in links and lookups (the default display field is the first such field).
    names_records: ClassVar[bool] = False
    #: Looked through by a list's quick search (``q``).
    searchable: ClassVar[bool] = False

    @abstractmethod
    def column_type(self, field: Field) -> TypeEngine[Any]:
        """The SQLAlchemy type of the column holding this field."""

    def value_type_of(self, field: Field) -> str:
        """The expression-language type of this field's values."""
        return self.value_type

    def foreign_key_target(self, field: Field) -> tuple[str, str | None] | None:
        """``(table, ondelete)`` when the column references another table's ``id``."""
        return None

    def coerce(self, value: Any, field: Field) -> Any:
        """Turn input (JSON, form text, CSV text) into the stored Python value.

        Blank input (None or an empty string) becomes None for every type.
        Raises ``FieldValueError`` when the value cannot be understood.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self.coerce_present(value, field)

    def coerce_present(self, value: Any, field: Field) -> Any:
        return value

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        """Check a coerced, non-null value against the field's constraints."""
        return None

    def display(self, value: Any, field: Field) -> str:
        """The value as a person reads it."""
        return "" if value is None else str(value)

    def summary(self, field: Field) -> str:
        """A one-line description of how the field is set up, for people browsing metadata."""
        if field.default is None:
            return ""
        try:
            return f"default {self.display(self.coerce(field.default, field), field)}"
        except FieldValueError:
            return f"default {field.default!r}"

    def json_schema(self, field: Field) -> dict[str, Any]:
        """JSON Schema of the value in the REST API."""
        return {"type": "string"}

    def check_definition(self, field: Field, entity: Entity, entities: Mapping[str, Entity]) -> Iterator[DefinitionProblem]:
        """Cross-object checks of the field's declaration (targets exist, defaults fit...)."""
        return iter(())
