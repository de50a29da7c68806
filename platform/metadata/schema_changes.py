"""Changing an existing entity table: the difference between two versions of an entity, checked and applied.

``entity_diff`` compares the entity before and after a change (an admin edit or
a pack upgrade); ``xrm.metadata.schema_checks.check_diff`` looks at the data
it would touch; ``apply_diff`` then changes the table through alembic operations, in the
caller's transaction:

- PostgreSQL: native ALTERs (column add/rename/type/nullability, constraints).
- SQLite: renames, plain column adds and indexes are native; what SQLite cannot
  ALTER (nullability, types, a lookup column, dropping a column or an inline
  constraint) rebuilds the table with alembic's batch mode: copy into a new
  table, drop the old one, rename.  The caller must have switched foreign keys
  off for the transaction (``xrm.metadata.schema_session``), or the implicit
  delete of the old table would fire the ON DELETE actions of the tables
  pointing at it.

Soft-removed fields keep their column (made nullable) and data; only a purge
drops it.  Metadata names reach SQL only through Core objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, UniqueConstraint, inspect, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from xrm.metadata.fieldtypes import get_field_type
from xrm.metadata.model import Entity, Field
from xrm.metadata.schema_sync import AppliedOperation, create_entity_tables
from xrm.system_tables import sequences
from xrm.metadata.tables import (
    ENTITY_TABLE_OPTIONS,
    entity_tables,
    field_column,
    field_foreign_key,
)

@dataclass(frozen=True)
class Offending:
    """Records that stop a change: why, how many, and a few of them (id and the values at fault)."""

    entity: str
    fields: tuple[str, ...]
    code: str  # duplicates | empty | unconvertible | in_use | unsupported
    message: str
    count: int
    sample: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "fields": list(self.fields), "code": self.code, "message": self.message,
                "count": self.count, "sample": [{k: _plain(v) for k, v in row.items()} for row in self.sample]}


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool, list, dict)) else str(value)



# -- type conversions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntityDiff:
    """What changes in one entity's table.  ``before`` is None for a new table, ``after`` for a retired one."""

    before: Entity | None
    after: Entity | None
    renamed: tuple[tuple[str, str], ...] = ()  # (old, new) column names
    added: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()  # columns that exist already (a soft-removed field back)
    removed: tuple[str, ...] = ()  # soft: the column stays, nullable
    purged: tuple[str, ...] = ()  # the column is dropped
    retyped: tuple[str, ...] = ()
    made_required: tuple[str, ...] = ()
    made_optional: tuple[str, ...] = ()
    uniques_added: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (constraint name, columns)
    uniques_dropped: tuple[str, ...] = ()
    indexes_added: tuple[tuple[str, tuple[str, ...]], ...] = ()
    indexes_dropped: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()  # changes no migration can make, in words
    backfill: Mapping[str, Any] = field(default_factory=dict)  # added required field → its default

    @property
    def entity(self) -> str:
        return (self.after or self.before).name  # type: ignore[union-attr]

    @property
    def table(self) -> str:
        return (self.after or self.before).table_name  # type: ignore[union-attr]

    @property
    def empty(self) -> bool:
        return self.before is not None and self.after is not None and not any((
            self.renamed, self.added, self.restored, self.removed, self.purged, self.retyped, self.made_required,
            self.made_optional, self.uniques_added, self.uniques_dropped, self.indexes_added, self.indexes_dropped,
            self.unsupported))


def _named_constraints(entity: Entity, rename: Mapping[str, str]) -> tuple[dict[str, tuple[str, ...]], ...]:
    """``(unique constraints, indexes)`` of the entity's table: name → columns (old names renamed)."""
    table = entity_tables([entity], MetaData())[entity.name]
    uniques = {str(c.name): tuple(rename.get(col.name, col.name) for col in c.columns)
               for c in table.constraints if isinstance(c, UniqueConstraint)}
    indexes = {str(i.name): tuple(rename.get(col.name, col.name) for col in i.columns) for i in table.indexes}
    return uniques, indexes


def _stored(entity: Entity) -> dict[str, Field]:
    return {f.name: f for f in entity.fields}


def nullable(f: Field) -> bool:
    return not f.required or get_field_type(f.type).computed


def entity_diff(before: Entity | None, after: Entity | None, *, renames: Mapping[str, str] | None = None,
                purge: Sequence[str] = (), existing_columns: frozenset[str] = frozenset(),
                moved: Mapping[str, str] | None = None) -> EntityDiff:
    """The table change from ``before`` to ``after``; ``renames`` maps new field names to old ones.

    ``existing_columns``: columns the table has now (soft-removed ones included), so a field coming
    back reuses its column.  ``moved``: entities renamed (new name → old), which lookups may now name.
    """
    if before is None or after is None:
        return EntityDiff(before, after)
    # a soft-removed field the pack renames: only its column follows (it stays removed)
    hidden_renames = tuple((old, new) for new, old in (renames or {}).items()
                           if old not in _stored(before) and old in existing_columns and new not in _stored(after))
    renames = {new: old for new, old in (renames or {}).items() if old in _stored(before)}
    old_fields, new_fields = _stored(before), _stored(after)
    previous = {new: old_fields.get(renames.get(new, new)) for new in new_fields}
    added = [n for n, f in previous.items() if f is None and n not in existing_columns]
    restored = [n for n, f in previous.items() if f is None and n in existing_columns]
    kept_old = {renames.get(n, n) for n in new_fields}
    removed = [n for n in old_fields if n not in kept_old and n not in purge]
    unsupported, retyped, required, optional = [], [], [], []
    for name, old in previous.items():
        new = new_fields[name]
        if old is None:
            if not nullable(new) and name in restored:
                required.append(name)
            continue
        if field_foreign_key(before, old) is not None or field_foreign_key(after, new) is not None:
            old_target, new_target = (get_field_type(f.type).foreign_key_target(f) for f in (old, new))
            if new_target is not None and moved and new_target[0] in moved:  # the target entity is renamed
                new_target = (moved[new_target[0]], *new_target[1:])
            if old_target != new_target:
                unsupported.append(f"{after.name}.{name}: the lookup's target or on_delete changes")
        if _type_key(old) != _type_key(new):
            retyped.append(name)
        if nullable(old) and not nullable(new):
            required.append(name)
        elif not nullable(old) and nullable(new):
            optional.append(name)
    optional += [n for n in removed if not nullable(old_fields[n])]

    back = {old: new for new, old in renames.items()}
    old_uniques, old_indexes = _named_constraints(before, back)
    new_uniques, new_indexes = _named_constraints(after, {})
    kept = set(removed)  # a soft-removed column keeps its indexes and constraints

    def gone(name: str, columns: tuple[str, ...], new: Mapping[str, tuple[str, ...]]) -> bool:
        return new.get(name) != columns and not (name not in new and set(columns) & kept)

    return EntityDiff(
        before, after, renamed=tuple((old, new) for new, old in renames.items() if old != new) + hidden_renames,
        added=tuple(added), restored=tuple(restored), removed=tuple(removed), purged=tuple(purge),
        retyped=tuple(retyped), made_required=tuple(required), made_optional=tuple(optional),
        uniques_added=tuple((n, c) for n, c in new_uniques.items() if old_uniques.get(n) != c),
        uniques_dropped=tuple(n for n, c in old_uniques.items() if gone(n, c, new_uniques)),
        indexes_added=tuple((n, c) for n, c in new_indexes.items() if old_indexes.get(n) != c),
        indexes_dropped=tuple(n for n, c in old_indexes.items() if gone(n, c, new_indexes)),
        unsupported=tuple(unsupported),
        backfill={n: new_fields[n].default for n in added
                  if not nullable(new_fields[n]) and new_fields[n].default is not None},
    )


def _type_key(f: Field) -> tuple[str, Any]:
    column_type = get_field_type(f.type).column_type(f)
    return f.type, repr(column_type)



# -- applying -----------------------------------------------------------------------------------------


def apply_diff(connection: Connection, diff: EntityDiff) -> list[AppliedOperation]:
    """Change the table as ``diff`` says (call ``check_diff`` first: this assumes the data allows it)."""
    if diff.before is None and diff.after is not None:
        return create_entity_tables(connection, [diff.after])
    if diff.before is None or diff.after is None or diff.empty:
        return []
    before, after, table = diff.before, diff.after, diff.table
    operations = Operations(MigrationContext.configure(connection))
    sqlite = connection.dialect.name == "sqlite"
    applied: list[AppliedOperation] = []

    def record(operation: str, **detail: Any) -> None:
        applied.append(AppliedOperation(operation, table, detail))

    constraint_kinds = _unique_kinds(connection, table)
    for name in diff.indexes_dropped:
        operations.drop_index(name, table_name=table)
        record("drop_index", name=name)
    for old, new in diff.renamed:
        operations.alter_column(table, old, new_column_name=new)
        record("rename_column", old=old, new=new)
        # an autonumber's counter is named after its field: it follows, or numbering would start again at 1
        moved = connection.execute(update(sequences).where(sequences.c.name == f"{diff.entity}.{old}")
                                   .values(name=f"{diff.entity}.{new}")).rowcount
        if moved:
            record("rename_sequence", old=f"{diff.entity}.{old}", new=f"{diff.entity}.{new}")
    rebuild: list[tuple[str, dict[str, Any]]] = []
    for name in diff.added:
        f = after.field(name)
        assert f is not None
        column = Column(f.name, field_column(after, f).type, nullable=True)
        fk = field_foreign_key(after, f)
        if fk is not None and sqlite:
            rebuild.append(("add_column", {"field": f}))
            continue
        operations.add_column(table, column)
        if fk is not None:
            operations.create_foreign_key(fk.name, table, next(iter(fk.elements)).target_fullname.split(".")[0],
                                          [f.name], ["id"], ondelete=fk.ondelete)
        record("add_column", column=f.name, type=column.type.compile(dialect=connection.dialect))
    for name, value in diff.backfill.items():
        f = after.field(name)
        live = sql_table(table, sql_column(name, field_column(after, f).type))  # type: ignore[arg-type]
        connection.execute(update(live).where(live.c[name].is_(None)).values(
            {name: get_field_type(f.type).coerce(value, f)}))  # type: ignore[arg-type]
        record("backfill", column=name, value=value)
    for name in diff.retyped:
        f = after.field(name)
        old = before.field(dict((n, o) for o, n in diff.renamed).get(name, name))
        new_type, old_type = field_column(after, f).type, field_column(before, old).type  # type: ignore[arg-type]
        if sqlite:
            rebuild.append(("alter_column", {"column_name": name, "type_": new_type, "existing_type": old_type}))
        else:
            operations.alter_column(table, name, type_=new_type, existing_type=old_type)
        record("alter_column_type", column=name, old=old.type, new=f.type)  # type: ignore[union-attr]
    for name, nullable in [(n, False) for n in diff.made_required] + [(n, True) for n in diff.made_optional]:
        if sqlite:
            rebuild.append(("alter_column", {"column_name": name, "nullable": nullable}))
        else:
            operations.alter_column(table, name, nullable=nullable)
        record("alter_column_nullable", column=name, nullable=nullable)
    for name in diff.uniques_dropped:
        if constraint_kinds.get(name) == "index":
            operations.drop_index(name, table_name=table)
        elif sqlite:
            rebuild.append(("drop_constraint", {"constraint_name": name, "type_": "unique"}))
        else:
            operations.drop_constraint(name, table, type_="unique")
        record("drop_unique", name=name)
    inspector = inspect(connection)
    for name in diff.purged:
        for index in inspector.get_indexes(table):  # what SQLite cannot drop with the column
            if name in index["column_names"] and index["name"] not in diff.indexes_dropped:
                operations.drop_index(str(index["name"]), table_name=table)
        for unique in inspector.get_unique_constraints(table) if sqlite else ():
            if name in unique["column_names"] and unique.get("name"):
                rebuild.append(("drop_constraint", {"constraint_name": unique["name"], "type_": "unique"}))
        if sqlite:
            rebuild.append(("drop_column", {"column_name": name}))
        else:
            operations.drop_column(table, name)
        record("drop_column", column=name)
    if rebuild:
        _rebuild_sqlite(connection, operations, table, rebuild, after)
        record("rebuild_table", steps=[step for step, _ in rebuild])
    for name, columns in diff.uniques_added:
        operations.create_index(name, table, list(columns), unique=True)
        record("create_unique", name=name, columns=list(columns))
    for name, columns in diff.indexes_added:
        operations.create_index(name, table, list(columns))
        record("create_index", name=name, columns=list(columns))
    return applied


def _unique_kinds(connection: Connection, table: str) -> dict[str, str]:
    """Unique constraints of the live table by name: declared as a "constraint" or as a unique "index"."""
    inspector = inspect(connection)
    kinds = {str(u["name"]): "constraint" for u in inspector.get_unique_constraints(table) if u.get("name")}
    kinds.update({str(i["name"]): "index" for i in inspector.get_indexes(table) if i.get("unique")
                  and str(i["name"]) not in kinds})
    return kinds


_SEQUENCE = sql_table("sqlite_sequence", sql_column("name"), sql_column("seq"))


def _rebuild_sqlite(connection: Connection, operations: Operations, table: str,
                    steps: list[tuple[str, dict[str, Any]]], after: Entity) -> None:
    """One batch-mode rebuild of an SQLite table, keeping AUTOINCREMENT and its counter (ids never come back)."""
    seq = connection.execute(select(_SEQUENCE.c.seq).where(_SEQUENCE.c.name == table)).scalar()
    with operations.batch_alter_table(table, recreate="always", table_kwargs=dict(ENTITY_TABLE_OPTIONS)) as batch:
        for step, arguments in steps:
            if step == "add_column":
                f: Field = arguments["field"]
                fk = field_foreign_key(after, f)
                assert fk is not None
                batch.add_column(Column(f.name, field_column(after, f).type, nullable=True))
                batch.create_foreign_key(fk.name, next(iter(fk.elements)).target_fullname.split(".")[0],
                                         [f.name], ["id"], ondelete=fk.ondelete)
            else:
                getattr(batch, step)(**arguments)
    if seq is not None:
        connection.execute(update(_SEQUENCE).where(_SEQUENCE.c.name == table, _SEQUENCE.c.seq < seq).values(seq=seq))


def live_columns(connection: Connection, table: str) -> frozenset[str]:
    """The columns the table has in the database now."""
    return frozenset(str(c["name"]) for c in inspect(connection).get_columns(table))
