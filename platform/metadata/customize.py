"""Administrators' metadata changes: one change → a new admin layer → checked → tables changed → recorded.

``apply_change(engine, change, context)`` runs one ``MetaChange`` (an
operation from ``OPERATIONS`` with its arguments) in one transaction
(``schema_transaction``: schema lock, metadata version bumped so every app
process reloads, SQLite foreign keys off for table rebuilds):

1. the operation (``xrm.metadata.admin_changes``) edits the admin overlays
   (``xrm.metadata.layers``);
2. the effective documents are checked like a pack (``layer_checks``) —
   problems refuse the change (``MetaInvalid``, 422);
3. the table change is computed and checked against the data
   (``schema_changes``) — records in the way refuse it (``MetaConflict``,
   409, with counts and samples);
4. the tables change through alembic operations, and the change and every
   operation go to the schema history with who and when.

Nothing is written when any step refuses.  ``preview=True`` runs every step
and rolls back, so a page can show what would happen.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert

from xrm.context import Context
from xrm.metadata import admin_store, store
from xrm.metadata.admin_changes import (
    OPERATIONS,
    MetaChange,
    MetaConflict,
    MetaInvalid,
    MetaNotFound,
    MetaRefused,
    Operation,
    Workspace,
    refuse_errors,
)
from xrm.metadata.catalog import Catalog
from xrm.metadata.layer_checks import check_catalog_pack, schema_problems
from xrm.metadata.layers import CUSTOM_PACK, effective_entity, effective_role
from xrm.metadata.problems import PackProblem
from xrm.metadata.schema_changes import EntityDiff, apply_diff, entity_diff, live_columns
from xrm.metadata.schema_checks import check_diff
from xrm.metadata.schema_session import schema_transaction
from xrm.metadata.schema_sync import AppliedOperation
from xrm.system_tables import schema_history

__all__ = ["OPERATIONS", "ChangeResult", "MetaChange", "MetaConflict", "MetaInvalid", "MetaNotFound", "MetaRefused",
           "apply_change"]

ADMIN_VERSION = "admin"


@dataclass(frozen=True)
class ChangeResult:
    change: MetaChange
    operations: tuple[AppliedOperation, ...]
    metadata_version: int
    preview: bool
    warnings: tuple[PackProblem, ...] = ()


def apply_change(engine: Engine, change: MetaChange, context: Context, *, preview: bool = False) -> ChangeResult:
    """Run ``change`` (see the module docstring); raises a ``MetaRefused`` and writes nothing when refused."""
    handler = OPERATIONS.get(change.operation)
    if handler is None:
        raise MetaInvalid(f"there is no metadata operation '{change.operation}'")
    try:
        with schema_transaction(engine) as connection:
            result = _apply(connection, handler, change, context, preview)
            if preview:
                raise _RollBack(result)
    except _RollBack as rolled_back:
        return rolled_back.result
    return result


class _RollBack(Exception):
    def __init__(self, result: ChangeResult) -> None:
        self.result = result


def _apply(connection: Connection, handler: Operation, change: MetaChange, context: Context,
           preview: bool) -> ChangeResult:
    before = store.load_catalog(connection)
    ws = Workspace(connection, before, context)
    handler(ws, change)
    problems = _schema_problems(ws)  # before anything is built from the new documents
    refuse_errors(problems)
    ws.save()
    after = store.load_catalog(connection)
    touched = {name for kind, name in ws.overlays if kind == "entity"}
    problems += [p for pack in sorted({ws.packs[key] for key in ws.overlays}) for p in check_catalog_pack(after, pack)]
    refuse_errors(problems)
    diffs = [_diff(connection, before, after, name, ws.purge) for name in sorted(touched)]
    offending = tuple(o for diff in diffs for o in check_diff(connection, diff))
    if offending:
        raise MetaConflict("the stored records do not allow the change: " + "; ".join(o.message for o in offending),
                           offending=offending)
    applied = [op for diff in diffs for op in apply_diff(connection, diff)]
    from xrm.runtime.formula_backfill import backfill_added_formulas  # the runtime computes formulas

    applied += backfill_added_formulas(connection, after, diffs, context)
    _record(connection, change, applied, ws, after, context)
    version = store.current_metadata_version(connection)
    return ChangeResult(change, tuple(applied), version, preview,
                        tuple(p for p in problems if p.severity == "warning"))


def _schema_problems(ws: Workspace) -> list[PackProblem]:
    entities, roles = [], []
    for (kind, name), overlay in ws.overlays.items():
        base = admin_store.pack_document(ws.connection, kind, name)
        if kind == "entity":
            document = effective_entity(base.definition if base else None, overlay)
            entities += [document] if document else []
        elif base is not None:
            roles.append(effective_role(base.definition, overlay))
    return schema_problems(entities) + schema_problems(roles, "role")


def _diff(connection: Connection, before: Catalog, after: Catalog, name: str, purge: list[str]) -> EntityDiff:
    old, new = before.entities.get(name), after.entities.get(name)
    existing = live_columns(connection, name) if old is not None else frozenset()
    return entity_diff(old, new, purge=purge, existing_columns=existing)


def _record(connection: Connection, change: MetaChange, applied: list[AppliedOperation], ws: Workspace,
            after: Catalog, context: Context) -> None:
    """The change and each table operation in the schema history: who, when, what."""
    created = change.values.get("name") if change.operation == "create_entity" else None
    target = ".".join(str(part) for part in (change.role, change.entity or created, change.field) if part)
    pack = next(iter(ws.packs.values()), CUSTOM_PACK)
    rows = [{"operation": f"admin.{change.operation}", "target": target, "detail": change.to_json()}]
    rows += [{"operation": op.operation, "target": op.target, "detail": dict(op.detail)} for op in applied]
    connection.execute(insert(schema_history), [
        {**row, "pack": pack, "pack_version": ADMIN_VERSION, "applied_at": context.now, "applied_by": context.actor.name}
        for row in rows])
