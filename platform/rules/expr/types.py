"""Expression types: names, how fields map to them, and which types mix."""

from __future__ import annotations

from xrm.metadata.fieldtypes import UnknownFieldType, get_field_type
from xrm.metadata.model import Entity, Field

TEXT, INTEGER, DECIMAL, BOOLEAN = "text", "integer", "decimal", "boolean"
DATE, DATETIME, DURATION, LIST, NULL = "date", "datetime", "duration", "list", "null"
USER = "ref:user"

SCALAR_TYPES = frozenset({TEXT, INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, DURATION})
NUMERIC = frozenset({INTEGER, DECIMAL})
ORDERED = frozenset({TEXT, INTEGER, DECIMAL, DATE, DATETIME, DURATION})

#: System columns every entity table has, with their expression types.
SYSTEM_COLUMNS = {
    "id": INTEGER, "version": INTEGER, "created_at": DATETIME, "updated_at": DATETIME,
    "created_by": USER, "updated_by": USER, "owner_id": USER, "owner_queue_id": INTEGER,
}
#: System columns that are never null in a stored record.
NOT_NULL_SYSTEM = frozenset({"id", "version", "created_at", "updated_at"})

#: Decimal places of computed divisions, in both compilations.
DIVISION_SCALE = 10


def is_ref(type_name: str) -> bool:
    return type_name.startswith("ref:")


def ref_target(type_name: str) -> str | None:
    """The entity a ``ref:<entity>`` type points to (None for users and non-references)."""
    if not is_ref(type_name) or type_name == USER:
        return None
    return type_name[4:]


def field_type_of(field: Field) -> str:
    """The expression type of a field's values (``ref:account`` for a lookup to account)."""
    return get_field_type(field.type).value_type_of(field)


def field_scale(field: Field) -> int | None:
    """Decimal places of a decimal field, as its column stores them."""
    field_type = get_field_type(field.type)
    if field.type == "formula":
        field_type = get_field_type(field.returns or "text")
    scale = getattr(field_type, "scale", None)
    return scale(field) if callable(scale) else None


def column_type(entity: Entity, name: str) -> str | None:
    """The expression type of a field or system column of ``entity``, if it has one called ``name``."""
    field = entity.field(name)
    if field is not None:
        return field_type_of(field)
    return SYSTEM_COLUMNS.get(name)


def unify(a: str, b: str) -> str | None:
    """The type both ``a`` and ``b`` fit in (integer widens to decimal, null fits anything), or None."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if {a, b} == NUMERIC:
        return DECIMAL
    if is_ref(a) and b == INTEGER:
        return a
    if is_ref(b) and a == INTEGER:
        return b
    return None


def accepts(expected: str, found: str) -> bool:
    """True when a value of type ``found`` may stand where ``expected`` is demanded."""
    return found in (expected, NULL) or (expected == DECIMAL and found == INTEGER)


def describe(type_name: str) -> str:
    """A type as people read it in messages: 'text', 'a lookup to account'."""
    if type_name == USER:
        return "a user"
    if is_ref(type_name):
        return f"a lookup to {type_name[4:]}"
    return type_name


def normalise_expected(expected: str) -> str:
    """Accept a field type name ('currency', 'picklist') where an expression type is expected."""
    if expected in SCALAR_TYPES or expected in (LIST, NULL) or is_ref(expected):
        return expected
    try:
        return get_field_type(expected).value_type
    except UnknownFieldType:  # the caller's mistake, not the expression author's
        raise ValueError(f"unknown expected type {expected!r}") from None
