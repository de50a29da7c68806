"""Approvals: a workflow transition that waits for an approver's decision.

Taking a transition whose ``approval`` applies (its ``when`` holds, or it has
none) does not move the record to the target state.  Instead: the given values
are saved, the record moves to the rule's ``pending`` state if it names one,
an ``approval_request`` record is created for the resolved approver (the
owner's manager, everyone holding a role, or a queue's members), and each
approver is notified.  ``decide`` completes the transition on approval (the
guard and required fields are checked again, the approver is stamped into
``set_approver``), or on rejection moves the record to ``on_reject`` (else back
where it came from) with the comment in ``comment_field``; the requester is
notified either way.  A request with ``expires_after`` gets a durable timer
(``approval.expire``): when the scheduler fires it, the request expires and the
record goes back where it came from; a decision after the deadline is refused
even before the scheduler ran.  Everything is
written through the record service, audited, attributed to the person acting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from xrm.context import Actor, Context
from xrm.metadata.model import ApprovalRule, Transition, Workflow
from xrm.rules.expr import check_expression
from xrm.rules.timers import TimerCall, cancel, schedule, timer_handler
from xrm.runtime.audit import record_change
from xrm.runtime.notifications import notify
from xrm.runtime.record_errors import Conflict, Forbidden, Invalid, NotFound
from xrm.runtime.record_logic import FieldError
from xrm.runtime.records import RecordService
from xrm.runtime.users import my_queues
from xrm.system_tables import org_tables, user_roles, users

REQUESTS = "approval_request"
EXPIRY_TIMER = "approval.expire"


def _elevated(context: Context) -> Context:
    """The same person, with the platform's rights: bookkeeping the person could not do by hand."""
    actor = context.actor
    return replace(context, actor=Actor(actor.name, actor.user_id, actor.roles, is_admin=True))


def applies(service: RecordService, connection: Connection, context: Context, workflow: Workflow,
            transition: Transition, record: dict[str, Any]) -> bool:
    """Whether taking ``transition`` on ``record`` needs an approval first."""
    rule = transition.approval
    if rule is None:
        return False
    if not rule.when:
        return True
    model = service.model
    condition = model.memo(("approval_when", workflow.name, transition.name), lambda: check_expression(
        rule.when or "", model.entity(workflow.entity), model.catalog.entities, expected="boolean"))
    expanded = service.expand_lookups(connection, model.entity(workflow.entity), dict(record), condition.lookups)
    return condition.python(expanded, {"now": context.now}) is True


def pending_request(connection: Connection, entity: str, record_id: int) -> dict[str, Any] | None:
    table = org_tables[REQUESTS]
    row = connection.execute(select(table).where(
        table.c.entity == entity, table.c.record_id == record_id, table.c.status == "pending")).mappings().first()
    return None if row is None else dict(row)


def request(service: RecordService, connection: Connection, context: Context, workflow: Workflow,
            transition: Transition, record_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Open an approval for the transition (its checks already passed); returns the request record."""
    rule = transition.approval
    assert rule is not None
    entity = service.model.entity(workflow.entity)
    if pending_request(connection, entity.name, record_id) is not None:
        raise Conflict(f"this {entity.label.lower()} is already waiting for an approval")
    record = service.stored_record(connection, entity.name, record_id)
    approver, role, queue = _resolve(connection, rule, record)
    source = record.get(workflow.field)
    if values or rule.pending:
        step = Transition(transition.name, f"{transition.label} (submitted for approval)", transition.sources,
                          rule.pending or str(source))
        moved = {**values, workflow.field: step.target} if rule.pending else values
        from xrm.runtime.workflows import entry_values, notify_entry

        entering = rule.pending if rule.pending and rule.pending != source else None
        extra = entry_values(service, connection, context, workflow, entering, {**record, **moved}) if entering else {}
        service.update(connection, context, entity.name, record_id, moved,
                       transition=(workflow, step) if rule.pending else None, system_values=extra)
        if entering:
            notify_entry(service, connection, context, workflow, entering, record_id)
    expires = context.now + timedelta(seconds=rule.expires_after) if rule.expires_after else None
    summary = f"{transition.label}: {entity.label} {_name(record, entity.display_field)}"
    created = service.create(connection, _elevated(context), REQUESTS, {
        "summary": summary[:255], "entity": entity.name, "record_id": record_id, "workflow": workflow.name,
        "transition": transition.name, "from_state": source, "requested_by": context.actor.user_id,
        "approver": approver, "approver_role": role, "approver_queue": queue, "expires_at": expires,
        "owner_id": context.actor.user_id,
    })
    if expires is not None:  # a durable timer, written with the request: the scheduler expires it on time
        schedule(connection, kind=EXPIRY_TIMER, key=f"approval_request:{created['id']}", due_at=expires,
                 payload={"request": created["id"]}, now=context.now)
    _note(service, connection, context, entity.name, record_id, f"approval requested: {summary}")
    for user_id in approver_ids(connection, created):
        notify(service, connection, context, user_id, f"Approval needed — {summary}",
               f"{context.actor.name} asks you to approve '{transition.label}'.", entity.name, record_id)
    return created


def _resolve(connection: Connection, rule: ApprovalRule, record: dict[str, Any]) -> tuple[int | None, str | None,
                                                                                           int | None]:
    """(approver user, approver role, approver queue) for the rule and the record."""
    if rule.approver_kind == "manager":
        manager = connection.execute(select(users.c.manager).where(users.c.id == record.get("owner_id"))).scalar()
        if manager is None:
            raise Invalid("nobody can approve this: the record's owner has no manager",
                          [FieldError("owner_id", "the owner has no manager to approve", "no_approver")])
        return manager, None, None
    if rule.approver_kind == "role":
        return None, rule.approver_name, None
    queues = org_tables["queue"]
    queue = connection.execute(select(queues.c.id).where(queues.c.name == rule.approver_name)).scalar()
    if queue is None:
        raise Invalid(f"nobody can approve this: there is no queue '{rule.approver_name}'",
                      [FieldError(None, f"create the queue '{rule.approver_name}' and its members", "no_approver")])
    return None, None, queue


def approver_ids(connection: Connection, request_row: dict[str, Any]) -> list[int]:
    """The active users who may decide the request."""
    if request_row.get("approver") is not None:
        candidates = select(users.c.id).where(users.c.id == request_row["approver"])
    elif request_row.get("approver_role"):
        candidates = select(user_roles.c.user_id).where(user_roles.c.role == request_row["approver_role"])
    else:
        members = org_tables["queue_member"]
        candidates = select(members.c.user).where(members.c.queue == request_row["approver_queue"])
    return list(connection.execute(select(users.c.id).where(users.c.id.in_(candidates), users.c.is_active.is_(True))
                                   .order_by(users.c.id)).scalars())


def awaiting(connection: Connection, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Open, unexpired requests the actor may decide."""
    table = org_tables[REQUESTS]
    if actor.user_id is None:
        return []
    mine = or_(table.c.approver == actor.user_id, table.c.approver_role.in_(sorted(actor.roles)),
               table.c.approver_queue.in_(my_queues(actor.user_id)))
    statement = select(table).where(table.c.status == "pending",
                                    or_(table.c.expires_at.is_(None), table.c.expires_at > now))
    if not actor.is_admin:
        statement = statement.where(mine)
    return [dict(r) for r in connection.execute(statement.order_by(table.c.id)).mappings()]


def decide(service: RecordService, connection: Connection, context: Context, request_id: int, *, approve: bool,
           comment: str | None = None) -> dict[str, Any]:
    """Approve or reject an open request as ``context.actor``; returns the updated request."""
    table = org_tables[REQUESTS]
    row = connection.execute(select(table).where(table.c.id == request_id).with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"there is no approval request with id {request_id}")
    row = dict(row)
    if row["status"] == "pending" and row["expires_at"] is not None and row["expires_at"] <= context.now:
        expire_due(service, connection, context)
        row = dict(connection.execute(select(table).where(table.c.id == request_id)).mappings().one())
    if row["status"] != "pending":
        raise Conflict(f"this approval request is already {row['status']}",
                       [FieldError("status", f"the request is {row['status']}", "not_pending")])
    if not context.actor.is_admin and context.actor.user_id not in approver_ids(connection, row):
        raise Forbidden("you are not an approver of this request")
    workflow, transition = _step(service, row)
    rule = transition.approval
    assert rule is not None
    entity = service.model.entity(row["entity"])
    acting = _elevated(context)
    if approve:
        values = {rule.set_approver: context.actor.user_id} if rule.set_approver else {}
        _finish(service, connection, acting, workflow, transition, row, transition.target, values,
                check=True)
        verdict, status = "approved", "approved"
    else:
        values = {rule.comment_field: comment} if rule.comment_field and comment else {}
        _finish(service, connection, acting, workflow, transition, row, rule.on_reject or row["from_state"], values,
                check=False)
        verdict, status = "rejected", "rejected"
    updated = service.update(connection, acting, REQUESTS, request_id, {
        "status": status, "comment": comment, "decided_by": context.actor.user_id, "decided_at": context.now})
    cancel(connection, kind=EXPIRY_TIMER, key=f"approval_request:{request_id}")
    _note(service, connection, context, entity.name, row["record_id"],
          f"{verdict} by {context.actor.name}" + (f": {comment}" if comment else ""))
    if row["requested_by"] is not None:
        notify(service, connection, context, row["requested_by"], f"{verdict.title()} — {row['summary']}",
               comment or f"{context.actor.name} {verdict} your request.", entity.name, row["record_id"])
    return updated


def expire_due(service: RecordService, connection: Connection, context: Context) -> int:
    """Expire every open request past its ``expires_at``; returns how many (the timers do this one by one)."""
    table = org_tables[REQUESTS]
    due = [dict(r) for r in connection.execute(select(table).where(
        and_(table.c.status == "pending", table.c.expires_at.is_not(None), table.c.expires_at <= context.now))
        .with_for_update()).mappings()]
    for row in due:
        _expire(service, connection, context, row)
    return len(due)


@timer_handler(EXPIRY_TIMER)
def expire_request(call: TimerCall) -> None:
    """The expiry timer of one request: expire it if it is still open and due."""
    table = org_tables[REQUESTS]
    row = call.connection.execute(select(table).where(table.c.id == call.payload["request"]).with_for_update()
                                  ).mappings().first()
    if row is not None and row["status"] == "pending" and row["expires_at"] is not None \
            and row["expires_at"] <= call.context.now:
        _expire(call.service, call.connection, call.context, dict(row))


def _expire(service: RecordService, connection: Connection, context: Context, row: dict[str, Any]) -> None:
    workflow, transition = _step(service, row)
    acting = _elevated(context)
    # back where it came from: a rejection's state may demand a reason nobody gave
    _finish(service, connection, acting, workflow, transition, row, row["from_state"], {}, check=False)
    service.update(connection, acting, REQUESTS, row["id"], {"status": "expired", "decided_at": context.now})
    _note(service, connection, context, row["entity"], row["record_id"], "approval expired without a decision")
    if row["requested_by"] is not None:
        notify(service, connection, context, row["requested_by"], f"Expired — {row['summary']}",
               "Nobody decided in time; the request expired.", row["entity"], row["record_id"])


def _step(service: RecordService, row: dict[str, Any]) -> tuple[Workflow, Transition]:
    workflow = service.model.catalog.workflows.get(row["workflow"])
    transition = next((t for t in workflow.transitions if t.name == row["transition"]), None) if workflow else None
    if workflow is None or transition is None or transition.approval is None:
        raise Conflict(f"the workflow no longer has the transition '{row['transition']}' with an approval")
    return workflow, transition


def _finish(service: RecordService, connection: Connection, context: Context, workflow: Workflow,
            transition: Transition, row: dict[str, Any], target: str, values: dict[str, Any], *, check: bool) -> None:
    """Move the record to ``target`` (re-checking the transition's guard and fields when it completes)."""
    from xrm.runtime.workflows import blockers_of  # (the workflow runtime imports this module)

    record = service.stored_record(connection, workflow.entity, row["record_id"])
    if check:
        problems = blockers_of(service, connection, context, workflow, transition, {**record, **values})
        if problems:
            raise Invalid("the transition can no longer complete", problems)
    label = f"{transition.label} ({'approved' if target == transition.target else 'not approved'})"
    step = Transition(transition.name, label, (str(record.get(workflow.field)),), target)
    changes = {**values, workflow.field: target}
    if record.get(workflow.field) == target and not values:
        return
    from xrm.runtime.workflows import entry_values, notify_entry

    entering = record.get(workflow.field) != target
    extra = entry_values(service, connection, context, workflow, target, {**record, **changes}) if entering else {}
    service.update(connection, context, workflow.entity, row["record_id"], changes, transition=(workflow, step),
                   system_values=extra)
    if entering:
        notify_entry(service, connection, context, workflow, target, row["record_id"])


def _note(service: RecordService, connection: Connection, context: Context, entity: str, record_id: int,
          note: str) -> None:
    """A line on the record's timeline that is not a change of its fields."""
    version = service.stored_record(connection, entity, record_id)["version"]
    record_change(connection, context, entity=entity, record_id=record_id, action="approval", version=version,
                  changes=[], note=note)


def _name(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    return str(value) if value not in (None, "") else f"#{record['id']}"
