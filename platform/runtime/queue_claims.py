"""Claiming a record from a queue: it moves from the queue to the member who claims it, once.

The row is locked before it is checked, so of two members claiming the same
record at the same time one wins and the other is told who did (409).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from xrm.context import Context
from xrm.runtime.record_errors import Conflict, Forbidden, NotFound
from xrm.runtime.record_logic import FieldError
from xrm.runtime.records import RecordService
from xrm.system_tables import org_tables, pool_protections, users


def claim(service: RecordService, connection: Connection, context: Context, entity: str, record_id: int) -> dict[str, Any]:
    """Give the record waiting in a queue to the calling member; refuse when it is not (or no longer) queued."""
    label = service.model.entity(entity).label.lower()
    # lock first, then look: a claim that lost the race finds the record already taken
    current = service.stored_record(connection, entity, record_id, for_update=True)
    queue_id = current.get("owner_queue_id")
    if queue_id is None:
        if service.may_change(connection, context, entity, record_id, "read"):
            owner = connection.execute(select(users.c.display_name).where(users.c.id == current["owner_id"])).scalar()
            detail = f"this {label} is not waiting in a queue" + (f": {owner} has it" if owner else "")
        else:
            detail = f"this {label} is no longer waiting in a queue: someone claimed it first"
        raise Conflict(detail, [FieldError("owner_id", detail, "not_queued")])
    if not service.may_change(connection, context, entity, record_id, "read"):
        raise NotFound(f"there is no {label} with id {record_id}")
    queues, members = org_tables["queue"], org_tables["queue_member"]
    queue = connection.execute(select(queues.c.label).where(queues.c.id == queue_id)).scalar()
    member = connection.execute(select(members.c.id).where(members.c.queue == queue_id,
                                                          members.c.user == context.actor.user_id)).first()
    if member is None and not context.actor.is_admin:
        raise Forbidden(f"only members of the queue '{queue}' may claim its records")
    protected = connection.execute(select(pool_protections.c.until).where(
        pool_protections.c.entity == entity, pool_protections.c.record_id == record_id,
        pool_protections.c.user_id == context.actor.user_id, pool_protections.c.until > context.now)).scalar()
    if protected is not None:
        detail = (f"this {label} went back to the pool from you; you may claim it again from "
                  f"{protected:%Y-%m-%d %H:%M} UTC")
        raise Forbidden(detail, [FieldError("owner_id", detail, "pool_protection")])
    return service.update(connection, context, entity, record_id, {"owner_id": context.actor.user_id,
                                                                   "owner_queue_id": None},
                          note=f"claimed from the queue '{queue}'")
