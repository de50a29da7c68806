"""Schema sync: entity metadata → real tables, through alembic operations.

DDL is never assembled as text: tables, indexes and foreign keys are alembic
``Operations`` on a ``MigrationContext`` bound to the caller's connection, so
they run inside the caller's transaction (and roll back with it).  Every
operation is returned as an ``AppliedOperation`` for the schema history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Dialect, ForeignKeyConstraint, Index

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity
from xrm.metadata.tables import ENTITY_TABLE_OPTIONS, field_foreign_keys, field_indexes, table_items


@dataclass(frozen=True)
class AppliedOperation:
    """One schema operation, as recorded in the schema history."""

    operation: str
    target: str
    detail: Mapping[str, Any] = field(default_factory=dict)


def creation_order(entities: Sequence[Entity]) -> list[Entity]:
    """Entities ordered so that lookup targets come first; cycles keep declaration order.

    Example: contact → account and account → account (self) gives [account, contact].
    """
    by_name = {e.name: e for e in entities}
    placed: list[Entity] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(entity: Entity) -> None:
        if entity.name in done or entity.name in visiting:
            return  # a cycle: its foreign keys are added after the tables
        visiting.add(entity.name)
        for f in entity.fields:
            reference = get_field_type(f.type).foreign_key_target(f)
            target = reference[0] if reference else None
            if target in by_name and target != entity.name:
                visit(by_name[target])
        visiting.discard(entity.name)
        done.add(entity.name)
        placed.append(entity)

    for entity in entities:
        visit(entity)
    return placed


def _fk_target(fk: ForeignKeyConstraint) -> str:
    return next(iter(fk.elements)).target_fullname.split(".")[0]


def _describe_columns(items: Iterable[Any], dialect: Dialect) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "type": c.type.compile(dialect=dialect), "nullable": c.nullable}
        for c in items if isinstance(c, Column)
    ]


def create_entity_tables(connection: Connection, entities: Sequence[Entity]) -> list[AppliedOperation]:
    """Create the tables, indexes and foreign keys of ``entities`` on ``connection``.

    A foreign key to a table created later (a cycle between entities) is added
    with ALTER TABLE after all tables exist — except on SQLite, which cannot
    add constraints later but also does not check targets at CREATE time, so
    there it stays inline.
    """
    operations = Operations(MigrationContext.configure(connection))
    inline_forward_keys = connection.dialect.name == "sqlite"
    applied: list[AppliedOperation] = []
    created: set[str] = set()
    deferred: list[tuple[Entity, ForeignKeyConstraint]] = []
    pending = {e.name for e in entities}
    for entity in creation_order(entities):
        items = table_items(entity, foreign_keys=False)
        for fk in field_foreign_keys(entity):
            target = _fk_target(fk)
            ready = target not in pending or target in created or target == entity.name
            if ready or inline_forward_keys:
                items.append(fk)
            else:
                deferred.append((entity, fk))
        operations.create_table(entity.table_name, *items, **ENTITY_TABLE_OPTIONS)
        created.add(entity.name)
        applied.append(AppliedOperation("create_table", entity.table_name, {
            "columns": _describe_columns(items, connection.dialect),
            "foreign_keys": [
                {"name": i.name, "columns": list(i.column_keys), "references": _fk_target(i)}
                for i in items if isinstance(i, ForeignKeyConstraint)
            ],
        }))
        applied += [_create_index(operations, entity, index) for index in field_indexes(entity)]
    for entity, fk in deferred:
        element = next(iter(fk.elements))
        operations.create_foreign_key(
            fk.name, entity.table_name, _fk_target(fk), list(fk.column_keys), ["id"], ondelete=fk.ondelete,
        )
        applied.append(AppliedOperation("create_foreign_key", entity.table_name, {
            "name": fk.name, "columns": list(fk.column_keys), "references": element.target_fullname,
            "ondelete": fk.ondelete,
        }))
    return applied


def _create_index(operations: Operations, entity: Entity, index: Index) -> AppliedOperation:
    columns = [c if isinstance(c, str) else c.name for c in index.expressions]
    operations.create_index(index.name, entity.table_name, columns, unique=bool(index.unique))
    return AppliedOperation("create_index", entity.table_name, {"name": index.name, "columns": columns})

