"""Computing a new formula field for the records that exist when it is added (by an admin or a pack upgrade).

Formulas are computed on write; a formula column added to a table with
records would stay empty until each record is next saved.  This fills it in
the same transaction as the schema change, with the formula's own compiled
logic (lookups read as on a write).  Only the new columns are written: the
records' other values, versions and audit history are untouched, as for a
column default.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select, update

from xrm.context import Context
from xrm.metadata.catalog import Catalog
from xrm.metadata.schema_changes import EntityDiff
from xrm.metadata.schema_sync import AppliedOperation
from xrm.runtime.record_logic import apply_formulas
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService

BATCH = 1000


def backfill_formulas(connection: Connection, catalog: Catalog, entity_name: str, fields: Sequence[str],
                      context: Context) -> int:
    """Compute ``fields`` (formula fields of ``entity_name``) for every stored record; returns how many."""
    if not fields:
        return 0
    model = RecordModel(catalog)
    service = RecordService(model)
    entity, table = model.entity(entity_name), model.table(entity_name)
    logic = model.logic(entity_name)
    updates = []
    for row in connection.execute(select(table).order_by(table.c.id)).mappings().all():
        expanded = service.expand_lookups(connection, entity, dict(row), logic.lookups)
        computed, _errors = apply_formulas(logic, expanded, {"now": context.now})  # a value that does not fit stays empty
        updates.append({"record_id": row["id"], **{f"value_{name}": computed.get(name) for name in fields}})
    statement = update(table).where(table.c.id == bindparam("record_id")).values(
        {name: bindparam(f"value_{name}") for name in fields})
    for start in range(0, len(updates), BATCH):
        connection.execute(statement, updates[start:start + BATCH])
    return len(updates)


def backfill_added_formulas(connection: Connection, catalog: Catalog, diffs: Sequence[EntityDiff],
                            context: Context) -> list[AppliedOperation]:
    """Fill the formula fields the ``diffs`` add to existing tables; one history entry per entity filled."""
    applied = []
    for diff in diffs:
        if diff.before is None or diff.after is None:
            continue
        names = [n for n in (*diff.added, *diff.restored) if (f := diff.after.field(n)) is not None and f.expression]
        if names:
            count = backfill_formulas(connection, catalog, diff.entity, names, context)
            applied.append(AppliedOperation("compute_formulas", diff.table, {"fields": names, "records": count}))
    return applied
