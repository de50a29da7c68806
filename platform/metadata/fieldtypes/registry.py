"""The field type registry: a module-level dict and a ``register_field_type()``."""

from __future__ import annotations

from xrm.errors import XrmError
from xrm.metadata.fieldtypes.base import FieldType

_FIELD_TYPES: dict[str, FieldType] = {}


class UnknownFieldType(XrmError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown field type {name!r}")
        self.name = name


def register_field_type(field_type: type[FieldType]) -> type[FieldType]:
    """Register a field type class (usable as a decorator); refuses duplicate names."""
    name = field_type.name
    if name in _FIELD_TYPES:
        raise ValueError(f"field type {name!r} is already registered by {type(_FIELD_TYPES[name]).__name__}")
    _FIELD_TYPES[name] = field_type()
    return field_type


def unregister_field_type(name: str) -> None:
    """Remove a registration (for tests that add a type and restore the registry)."""
    _FIELD_TYPES.pop(name, None)


def get_field_type(name: str) -> FieldType:
    """The registered field type called ``name``."""
    try:
        return _FIELD_TYPES[name]
    except KeyError:
        raise UnknownFieldType(name) from None


def field_type_names() -> tuple[str, ...]:
    """Every registered field type name, in registration order."""
    return tuple(_FIELD_TYPES)


def field_types() -> tuple[FieldType, ...]:
    return tuple(_FIELD_TYPES.values())
