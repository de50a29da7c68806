"""The audit log: every change to a record, with who made it, when, through which channel, and what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select

from xrm.context import Context
from xrm.runtime.jsonvalues import to_json
from xrm.system_tables import audit_log

AuditAction = Literal["create", "update", "delete", "transition", "approval"]


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class AuditEntry:
    id: int
    entity: str
    record_id: int
    action: str
    record_version: int
    actor: str
    actor_id: int | None
    source: str
    at: datetime
    changes: tuple[FieldChange, ...]
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "version": self.record_version,
            "actor": self.actor, "actor_id": self.actor_id, "source": self.source, "at": self.at.isoformat(),
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "note": self.note,
        }


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], fields: tuple[str, ...]) -> list[FieldChange]:
    """The fields whose value differs between ``before`` and ``after`` (as JSON values)."""
    changes = []
    for name in fields:
        old, new = to_json(before.get(name)), to_json(after.get(name))
        if old != new:
            changes.append(FieldChange(name, old, new))
    return changes


def record_change(connection: Connection, context: Context, *, entity: str, record_id: int, action: AuditAction,
                  version: int, changes: list[FieldChange], note: str | None = None) -> None:
    connection.execute(insert(audit_log).values(
        entity=entity, record_id=record_id, action=action, record_version=version,
        actor_id=context.actor.user_id, actor=context.actor.name, source=context.source, at=context.now,
        changes=[{"field": c.field, "old": c.old, "new": c.new} for c in changes], note=note,
    ))


def timeline(connection: Connection, entity: str, record_id: int, *, hidden_fields: frozenset[str] = frozenset(),
             limit: int = 200) -> list[AuditEntry]:
    """The record's history, newest first, without the values of fields the reader may not see."""
    rows = connection.execute(
        select(audit_log).where(audit_log.c.entity == entity, audit_log.c.record_id == record_id)
        .order_by(audit_log.c.id.desc()).limit(limit)
    ).mappings()
    return [
        AuditEntry(
            row["id"], row["entity"], row["record_id"], row["action"], row["record_version"], row["actor"],
            row["actor_id"], row["source"], row["at"],
            tuple(FieldChange(c["field"], c["old"], c["new"]) for c in row["changes"] if c["field"] not in hidden_fields),
            row["note"],
        )
        for row in rows
    ]
