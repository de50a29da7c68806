"""The field type registry: a module-level dict and a ``register_field_type()``."""

from __future__ import annotations

from xrm.errors import XrmError
from xrm.metadata.fieldtypes.base import FieldType

_FIELD_TYPES: dict[str, FieldType] = {}
#: Moves on every change, so what is derived from the registry (the JSON Schemas) can tell it is stale.
_generation = 0


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
    _changed()
    return field_type


def _changed() -> None:
    global _generation
    _generation += 1


def generation() -> int:
    """A number that changes whenever a field type is registered or removed."""
    return _generation


def unregister_field_type(name: str) -> None:
    """Remove a registration (for tests that add a type and restore the registry)."""
    if _FIELD_TYPES.pop(name, None) is not None:
        _changed()


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
