"""Entity metadata → SQLAlchemy ``Table`` objects (the only road from a name to SQL).

Every entity table has the system columns below, one typed column per stored
field, its declared indexes and unique constraints, and a foreign key per
lookup/user field.  Constraint names are derived from validated identifiers
and shortened with a hash when they would pass PostgreSQL's 63-character limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.schema import SchemaItem

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.fieldtypes.relation import USERS_TABLE
from xrm.metadata.identifiers import MAX_IDENTIFIER_LENGTH
from xrm.metadata.model import Entity, Field
from xrm.metadata.org_tables import table_of
from xrm.metadata.sqltypes import RecordId, UTCDateTime

#: SQLite reuses the id of a deleted last row unless the table says AUTOINCREMENT; an id must never come
#: back, or a new record would inherit the audit history (and links) of a deleted one.
ENTITY_TABLE_OPTIONS = {"sqlite_autoincrement": True}


def constraint_name(prefix: str, table: str, columns: Iterable[str]) -> str:
    """A deterministic constraint name, e.g. ``ix_lead_email``, hashed when too long."""
    name = "_".join([prefix, table, *columns])
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_LENGTH - 9]}_{digest}"


def system_columns(table_name: str) -> list[Column]:
    """The columns every entity table has, before its own fields."""

    def user_ref(name: str) -> Column:
        return Column(
            name, RecordId,
            ForeignKey(f"{USERS_TABLE}.id", ondelete="SET NULL", name=constraint_name("fk", table_name, [name])),
            nullable=True,
        )

    return [
        Column("id", RecordId, primary_key=True, autoincrement=True),
        Column("version", Integer, nullable=False, server_default=text("1")),
        Column("created_at", UTCDateTime(), nullable=False),
        user_ref("created_by"),
        Column("updated_at", UTCDateTime(), nullable=False),
        user_ref("updated_by"),
        user_ref("owner_id"),
        # a record waiting in a queue (owner_id then empty) until a member claims it
        Column("owner_queue_id", RecordId,
               ForeignKey(f"{table_of('queue')}.id", ondelete="SET NULL",
                          name=constraint_name("fk", table_name, ["owner_queue_id"])), nullable=True),
    ]


def field_column(entity: Entity, field: Field) -> Column:
    """The column holding ``field``; nullability follows ``required`` except for computed fields."""
    field_type = get_field_type(field.type)
    nullable = not field.required or field_type.computed
    return Column(field.name, field_type.column_type(field), nullable=nullable)


def field_foreign_key(entity: Entity, field: Field) -> ForeignKeyConstraint | None:
    target = get_field_type(field.type).foreign_key_target(field)
    if target is None:
        return None
    table, ondelete = target
    return ForeignKeyConstraint(
        [field.name], [f"{table_of(table)}.id"], ondelete=ondelete,
        name=constraint_name("fk", entity.table_name, [field.name]),
    )


def field_indexes(entity: Entity) -> list[Index]:
    """Indexes: one per declared index, one per ``indexed`` field, one per reference field."""
    table = entity.table_name
    indexes: dict[tuple[str, ...], Index] = {}
    for field in entity.fields:
        is_reference = get_field_type(field.type).foreign_key_target(field) is not None
        if (field.indexed or is_reference) and not field.unique:
            indexes[(field.name,)] = Index(constraint_name("ix", table, [field.name]), field.name)
    for declared in entity.indexes:
        if declared.unique:
            continue
        indexes[declared.fields] = Index(declared.name, *declared.fields)
    for column in ("owner_id", "owner_queue_id"):
        indexes.setdefault((column,), Index(constraint_name("ix", table, [column]), column))
    return list(indexes.values())


def unique_constraints(entity: Entity) -> list[UniqueConstraint]:
    """Unique constraints: ``unique`` fields, autonumbers, unique indexes and ``unique_together``."""
    table = entity.table_name
    constraints: dict[tuple[str, ...], UniqueConstraint] = {}
    for field in entity.fields:
        if field.unique or get_field_type(field.type).unique_by_nature:
            constraints[(field.name,)] = UniqueConstraint(field.name, name=constraint_name("uq", table, [field.name]))
    for declared in entity.indexes:
        if declared.unique:
            constraints[declared.fields] = UniqueConstraint(*declared.fields, name=declared.name)
    for together in entity.unique_together:
        constraints[together] = UniqueConstraint(*together, name=constraint_name("uq", table, together))
    return list(constraints.values())


def table_items(entity: Entity, *, foreign_keys: bool = True) -> list[SchemaItem]:
    """New (unattached) columns and constraints of the entity's table, without indexes."""
    items: list[SchemaItem] = [*system_columns(entity.table_name), *(field_column(entity, f) for f in entity.fields)]
    if foreign_keys:
        items += field_foreign_keys(entity)
    items += unique_constraints(entity)
    return items


def field_foreign_keys(entity: Entity) -> list[ForeignKeyConstraint]:
    return [fk for f in entity.fields if (fk := field_foreign_key(entity, f)) is not None]


def entity_table(entity: Entity, metadata: MetaData) -> Table:
    """The ``Table`` of ``entity`` inside ``metadata`` (built once per MetaData)."""
    if entity.table_name in metadata.tables:
        return metadata.tables[entity.table_name]
    return Table(entity.table_name, metadata, *table_items(entity), *field_indexes(entity), **ENTITY_TABLE_OPTIONS)


def users_stub(metadata: MetaData) -> Table:
    """Enough of the users table for entity tables' foreign keys to resolve."""
    if USERS_TABLE in metadata.tables:
        return metadata.tables[USERS_TABLE]
    return Table(USERS_TABLE, metadata, Column("id", RecordId, primary_key=True))


def queues_stub(metadata: MetaData) -> Table:
    """Enough of the queues table for the ``owner_queue_id`` foreign keys to resolve."""
    name = table_of("queue")
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(name, metadata, Column("id", RecordId, primary_key=True))


def entity_tables(entities: Iterable[Entity], metadata: MetaData | None = None) -> Mapping[str, Table]:
    """Tables for several entities in one ``MetaData``, keyed by entity name.

    The users table is the ``user`` entity's when that is among them, else a stub
    for the owner and user columns' foreign keys to point at.
    """
    metadata = metadata if metadata is not None else MetaData()
    tables = {e.name: entity_table(e, metadata) for e in entities}
    users_stub(metadata)
    queues_stub(metadata)
    return tables
