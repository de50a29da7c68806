"""Constraints checked or filled on write: unique values, autonumbers, the optimistic version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, and_, select

from xrm.db import dialect_insert
from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity
from xrm.runtime.record_errors import Conflict, StaleVersion
from xrm.runtime.record_logic import FieldError
from xrm.system_tables import sequences


def unique_groups(entity: Entity) -> list[tuple[str, ...]]:
    """Each field or group of fields whose values no two records may share."""
    groups: dict[tuple[str, ...], None] = {}
    for field in entity.fields:
        if field.unique:
            groups[(field.name,)] = None
    for index in entity.indexes:
        if index.unique:
            groups[index.fields] = None
    for together in entity.unique_together:
        groups[together] = None
    return list(groups)


def check_unique(connection: Connection, table: Table, entity: Entity, record: Mapping[str, Any],
                 record_id: int | None) -> None:
    """A field error for each unique field (or group) another record already holds (the constraint backs it up)."""
    errors = []
    for columns in unique_groups(entity):
        values = [record.get(c) for c in columns]
        if any(v is None for v in values):
            continue
        statement = select(table.c.id).where(and_(*(table.c[c] == v for c, v in zip(columns, values, strict=True))))
        if record_id is not None:
            statement = statement.where(table.c.id != record_id)
        if connection.execute(statement.limit(1)).first() is not None:
            labels = " and ".join(f"'{entity.field(c).label}'" for c in columns)  # type: ignore[union-attr]
            message = (f"another {entity.label.lower()} already has this {labels}" if len(columns) == 1
                       else f"another {entity.label.lower()} already has these values of {labels}")
            errors += [FieldError(c, message, "unique") for c in columns]
    if errors:
        raise Conflict(f"the {entity.label.lower()} duplicates another record", errors)


def next_number(connection: Connection, name: str) -> int:
    """The next value of the named sequence, atomically (upsert), starting at 1."""
    insert_ = dialect_insert(connection)
    statement = insert_(sequences).values(name=name, value=1)
    statement = statement.on_conflict_do_update(index_elements=[sequences.c.name],
                                                set_={"value": sequences.c.value + 1})
    return connection.execute(statement.returning(sequences.c.value)).scalar_one()


def assign_autonumbers(connection: Connection, entity: Entity, record: dict[str, Any]) -> None:
    """Give a new record the next number of each of its autonumber fields."""
    for field in entity.fields:
        field_type = get_field_type(field.type)
        if field_type.unique_by_nature and hasattr(field_type, "render"):
            record[field.name] = field_type.render(field, next_number(connection, f"{entity.name}.{field.name}"))


def check_version(entity: Entity, current: Mapping[str, Any], expected: int | None) -> None:
    """Refuse a change made against a version the record has moved past."""
    if expected is not None and expected != current["version"]:
        raise StaleVersion(
            f"{entity.label} {current['id']} is at version {current['version']}, not {expected}: "
            "someone changed it since you read it; reload it and apply your change again",
            current["version"],
        )
