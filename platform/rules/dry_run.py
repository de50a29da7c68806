"""Dry runs: what rules would do to a sample record, for an event at a time — in a transaction that is
rolled back, so nothing is written.

The sample record is created (that is the ``created`` event; for the other
events the record is first created as an import would create it, in any
workflow state, and the decisions about that are left out), the event
happens, and with ``wait_until`` the time-based rules due by then fire in
order, each at its own instant.  The result lists every rule evaluated (also
those that did not fire, and why), what each action did, the record after,
and the timers left pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from xrm.context import Context
from xrm.rules.engine import RulesEngine
from xrm.rules.ruleset import RuleSet
from xrm.rules.time_triggers import RULE_TIMER
from xrm.rules.trace import trace_of
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.record_errors import RecordError
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService
from xrm.system_tables import rule_trace, timers

Event = Literal["created", "updated", "deleted", "transition"]
#: Time rules a dry run fires while waiting, at most (a rule re-arming itself must not spin forever).
MAX_TIMERS = 200


@dataclass(frozen=True)
class DryRun:
    entity: str
    values: Mapping[str, Any]
    event: Event = "created"
    changes: Mapping[str, Any] = field(default_factory=dict)
    transition: str | None = None
    at: datetime | None = None
    wait_until: datetime | None = None
    #: records made first (as an import would), each ``(entity, values)``; the record's empty lookups to
    #: their entities point to them
    related: tuple[tuple[str, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class DryRunResult:
    decisions: tuple[dict[str, Any], ...]
    record: dict[str, Any] | None
    timers: tuple[dict[str, Any], ...]
    error: dict[str, Any] | None = None

    @property
    def fired(self) -> tuple[dict[str, Any], ...]:
        return tuple(d for d in self.decisions if d["fired"])

    def as_json(self) -> dict[str, Any]:
        return {"decisions": list(self.decisions), "record": _json(self.record),
                "timers": list(self.timers), "error": self.error}


def dry_run(engine: Engine, context: Context, run: DryRun, *, ruleset: RuleSet | None = None,
            catalog: CatalogCache | None = None) -> DryRunResult:
    """Run ``run`` as ``context.actor`` (at ``run.at``, default ``context.now``) and roll everything back."""
    cache = catalog or CatalogCache(engine)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            return dry_run_in(connection, cache.model_for(connection), context, run, ruleset=ruleset)
        finally:
            transaction.rollback()


def dry_run_in(connection: Connection, model: RecordModel, context: Context, run: DryRun, *,
               ruleset: RuleSet | None = None) -> DryRunResult:
    """``dry_run`` inside the caller's transaction, in a savepoint that is rolled back."""
    savepoint = connection.begin_nested()
    try:
        return _run(connection, model, context, run, ruleset)
    finally:
        savepoint.rollback()


def _run(connection: Connection, model: RecordModel, context: Context, run: DryRun,
         ruleset: RuleSet | None) -> DryRunResult:
    service = RecordService(model)
    if ruleset is not None:
        service.rules = RulesEngine(service, ruleset=ruleset)
    acting = replace(context, now=run.at or context.now, explain=True)
    marker = connection.execute(select(func.max(rule_trace.c.id))).scalar() or 0
    record_id: int | None = None
    error = None
    try:
        values = dict(run.values)
        importing = replace(acting, source="import")
        for entity, related_values in run.related:
            made = service.create(connection, importing, entity, related_values)["id"]
            for lookup in service.model.entity(run.entity).fields:
                if lookup.target == entity and values.get(lookup.name) is None:
                    values[lookup.name] = made
        marker = connection.execute(select(func.max(rule_trace.c.id))).scalar() or 0
        if run.event == "created":
            record_id = service.create(connection, acting, run.entity, values)["id"]
        else:  # the given record exists already: it comes in as an import would, in any workflow state
            record_id = service.create(connection, importing, run.entity, values)["id"]
            marker = connection.execute(select(func.max(rule_trace.c.id))).scalar() or 0
            _event(connection, service, acting, run, record_id)
        if run.wait_until is not None and record_id is not None:
            _wait(connection, service, acting, run.wait_until)
    except RecordError as failure:
        error = {"status": failure.status, "title": failure.title, "detail": failure.detail,
                 "errors": [{"field": e.field, "message": e.message, "code": e.code} for e in failure.errors]}
    decisions = _decisions_since(connection, marker)
    record = None
    if record_id is not None and run.event != "deleted" and error is None:
        record = service.stored_record(connection, run.entity, record_id)
    pending = connection.execute(select(timers.c.key, timers.c.due_at, timers.c.payload).where(
        timers.c.kind == RULE_TIMER, timers.c.status == "pending").order_by(timers.c.due_at)).all()
    timer_rows = tuple({"rule": row.payload["rule"].split(":", 1)[1], "due_at": row.due_at.isoformat(),
                        "record_id": row.payload["record_id"]} for row in pending
                       if row.payload.get("entity") == run.entity and row.payload.get("record_id") == record_id)
    return DryRunResult(decisions, record, timer_rows, error)


def _event(connection: Connection, service: RecordService, context: Context, run: DryRun, record_id: int) -> None:
    if run.event == "updated":
        service.update(connection, context, run.entity, record_id, run.changes)
    elif run.event == "deleted":
        service.delete(connection, context, run.entity, record_id)
    else:
        from xrm.runtime.workflows import WorkflowRuntime

        WorkflowRuntime(service).take(connection, context, run.entity, record_id, run.transition or "", run.changes)


def _wait(connection: Connection, service: RecordService, context: Context, until: datetime) -> None:
    """Fire the time rules due by ``until``, earliest first, each at its own instant."""
    engine = service.rules
    for _ in range(MAX_TIMERS):
        due = connection.execute(select(timers).where(
            timers.c.kind == RULE_TIMER, timers.c.status == "pending", timers.c.due_at <= until,
        ).order_by(timers.c.due_at, timers.c.id).limit(1)).mappings().first()
        if due is None:
            return
        connection.execute(timers.update().where(timers.c.id == due["id"]).values(status="fired",
                                                                                 fired_at=due["due_at"]))
        rule = engine.ruleset.rule(due["payload"]["rule"])
        if rule is None:
            continue
        trigger = rule.time_triggers[due["payload"]["trigger"]]
        engine.fire(connection, replace(context, now=due["due_at"]), rule, trigger, due["payload"]["record_id"])


def _decisions_since(connection: Connection, marker: int) -> tuple[dict[str, Any], ...]:
    rows = connection.execute(select(rule_trace.c.entity, rule_trace.c.record_id).where(rule_trace.c.id > marker)
                              .distinct()).all()
    found = [d | {"entity": entity, "record_id": record_id}
             for entity, record_id in rows for d in trace_of(connection, entity, record_id) if d["id"] > marker]
    return tuple(sorted(found, key=lambda d: d["id"]))


def _json(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if v is not None and not isinstance(
        v, bool | int | float | str | list) else v) for k, v in record.items()}
