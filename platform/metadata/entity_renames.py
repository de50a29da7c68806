"""An entity a pack's new version renames (``"renamed_from"`` in its file): its table, records and every reference.

The table is renamed (foreign keys follow: PostgreSQL points at tables by
identity, SQLite rewrites the references), and so is every place the platform
stores an entity's name: the ``entity`` column of its own tables (audit,
rule traces, saved views, queues, notifications, approval requests…), the
counters of autonumber fields, pending timers and assignment cursors; in the
admin layer, the entity's overlay, role grants and lookups of admin fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, update

from xrm.metadata.layers import ADMIN_LAYER
from xrm.metadata.problems import PackProblem
from xrm.metadata.schema_sync import AppliedOperation
from xrm.system_tables import assignment_cursors, metadata_documents, sequences, system_metadata, timers


def declared_entity_renames(new: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict[str, str], list[PackProblem]]:
    """``new name → old name`` of the entities the new version renames, and problems with the declarations."""
    renames, problems = {}, []
    for name, document in new.items():
        previous = document.get("renamed_from")
        if not previous or previous == name:
            continue
        if previous not in old or name in old:
            problems.append(PackProblem(
                f"entities/{name}.json", f"entity '{name}' is renamed from '{previous}', which the installed version "
                "does not have" if previous not in old else f"entity '{name}' exists already", path="$.renamed_from",
                found=previous, expected="an entity of the installed version, under a name it does not use"))
            continue
        renames[name] = previous
    return renames, problems


def move_admin_layer(connection: Connection, renames: Mapping[str, str]) -> None:
    """The admin layer speaks of the new names: the entity's overlay, role grants, lookups of admin fields."""
    back = {old: new for new, old in renames.items()}
    t = metadata_documents
    for new, old in renames.items():
        connection.execute(update(t).where(t.c.layer == ADMIN_LAYER, t.c.kind == "entity", t.c.name == old)
                           .values(name=new))
    rows = connection.execute(select(t.c.id, t.c.kind, t.c.definition).where(
        t.c.layer == ADMIN_LAYER, t.c.kind.in_(["entity", "role"]))).all()
    for row_id, kind, definition in rows:
        changed = _renamed_role(definition, back) if kind == "role" else _renamed_targets(definition, back)
        if changed != definition:
            connection.execute(update(t).where(t.c.id == row_id).values(definition=changed))


def _renamed_role(definition: Mapping[str, Any], back: Mapping[str, str]) -> dict[str, Any]:
    permissions = {back.get(entity, entity): permission
                   for entity, permission in (definition.get("permissions") or {}).items()}
    return {**definition, "permissions": permissions} if "permissions" in definition else dict(definition)


def _renamed_targets(definition: Mapping[str, Any], back: Mapping[str, str]) -> dict[str, Any]:
    def fields(items: Any) -> list[Any]:
        return [{**f, "target": back[f["target"]]} if f.get("target") in back else f for f in items or ()]

    result = dict(definition)
    if result.get("added_fields"):
        result["added_fields"] = fields(result["added_fields"])
    if result.get("entity"):
        result["entity"] = {**result["entity"], "fields": fields(result["entity"].get("fields"))}
    return result


def rename_entity_data(connection: Connection, old: str, new: str) -> list[AppliedOperation]:
    """Rename the table and every stored mention of the entity's name."""
    Operations(MigrationContext.configure(connection)).rename_table(old, new)
    applied = [AppliedOperation("rename_table", new, {"old": old, "new": new})]
    for table in system_metadata.tables.values():
        if "entity" in table.c:
            moved = connection.execute(update(table).where(table.c.entity == old).values(entity=new)).rowcount
            if moved:
                applied.append(AppliedOperation("rename_entity_references", table.name, {"rows": moved}))
    for name in connection.execute(select(sequences.c.name).where(sequences.c.name.startswith(f"{old}."))).scalars().all():
        connection.execute(update(sequences).where(sequences.c.name == name).values(name=new + name[len(old):]))
    for key in connection.execute(select(assignment_cursors.c.key).where(assignment_cursors.c.key.endswith(f":{old}"))
                                  ).scalars().all():
        connection.execute(update(assignment_cursors).where(assignment_cursors.c.key == key)
                           .values(key=key[: -len(old)] + new))
    pending = connection.execute(select(timers.c.id, timers.c.key, timers.c.payload).where(timers.c.status == "pending"))
    for timer_id, key, payload in pending.all():
        if isinstance(payload, dict) and payload.get("entity") == old:
            connection.execute(update(timers).where(timers.c.id == timer_id).values(
                key=key.replace(f":{old}:", f":{new}:"), payload={**payload, "entity": new}))
    return applied
