"""References between records, checked on write: lookups that point to nothing, deletes that would orphan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from xrm.metadata.model import Entity
from xrm.runtime.record_errors import Conflict
from xrm.runtime.record_logic import FieldError
from xrm.runtime.record_model import RecordModel


def missing_references(connection: Connection, model: RecordModel, entity: Entity, record: Mapping[str, Any],
                       given: Mapping[str, Any]) -> list[FieldError]:
    """A clear error for each given lookup, user, owner or queue that points to nothing."""
    errors = []
    for name in given:
        value = record.get(name)
        if value is None:
            continue
        field = entity.field(name)
        target = model.target_of(field) if field is not None else None
        if target is not None:
            table, what = model.table(target), model.entity(target).label.lower()
        elif name == "owner_queue_id":
            table, what = model.table("queue"), "queue"
        elif name == "owner_id" or (field is not None and field.type == "user"):
            table, what = model.users_table, "user"
        else:
            continue
        if connection.execute(select(table.c.id).where(table.c.id == value)).first() is None:
            errors.append(FieldError(name, f"there is no {what} with id {value}", "not_found"))
    return errors


def check_restrict(connection: Connection, model: RecordModel, entity: Entity, record_id: int) -> None:
    """Refuse to delete a record that ``restrict`` lookups still point to, saying how many and through what."""
    blockers = []
    for reference in model.references_to(entity.name):
        if reference.on_delete != "restrict":
            continue
        table = model.table(reference.entity)
        count = connection.execute(
            select(func.count()).select_from(table).where(table.c[reference.field.name] == record_id)
        ).scalar_one()
        if count:
            other = model.entity(reference.entity)
            label, verb = (other.label.lower(), "points") if count == 1 else (other.plural_label.lower(), "point")
            blockers.append(FieldError(None, f"{count} {label} still {verb} to it through '{reference.field.label}'",
                                       "referenced"))
    if blockers:
        raise Conflict(f"this {entity.label.lower()} cannot be deleted while other records point to it; "
                       "change or delete them first", blockers)
