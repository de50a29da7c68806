"""When time-based rules are due: ``4h after created_at in business_hours 'support'``, ``2d before close_date``,
``every weekday at 08:00 in 'Europe/Berlin'``.

A record's timers follow it: every write recomputes each time rule's due
instant and condition, so a timer moves when its anchor moves and is
cancelled when the rule no longer applies (the condition turned false, the
anchor was cleared, the record was deleted).  Dates count from midnight UTC,
or from midnight in the calendar's time zone when the rule names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, select

from xrm.rules import timers as timer_rows
from xrm.rules.ruleset import AtTime, CompiledRule, OnSchedule
from xrm.runtime.business_calendar import BusinessCalendar, local_instant
from xrm.runtime.business_time import add_business_time
from xrm.runtime.org_records import calendar_from_records
from xrm.system_tables import org_tables, timers

RULE_TIMER = "rule.time"
RULE_SCHEDULE = "rule.schedule"
_DAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}


def calendar_named(connection: Connection, name: str) -> BusinessCalendar | None:
    calendars = org_tables["business_calendar"]
    calendar_id = connection.execute(select(calendars.c.id).where(calendars.c.name == name)).scalar()
    return None if calendar_id is None else calendar_from_records(connection, calendar_id)


def due_at(connection: Connection, trigger: AtTime, record: Mapping[str, Any]) -> datetime | None:
    """When ``trigger`` is due for ``record``; None when its anchor is empty (or its calendar is gone)."""
    anchor = record.get(trigger.anchor)
    if anchor is None:
        return None
    calendar = calendar_named(connection, trigger.calendar) if trigger.calendar else None
    if trigger.calendar and calendar is None:
        return None
    if isinstance(anchor, date) and not isinstance(anchor, datetime):
        anchor = local_instant(calendar.zone, anchor, time(0)) if calendar else datetime.combine(anchor, time(0), UTC)
    if calendar is not None and trigger.side == "after":
        return add_business_time(calendar, anchor, trigger.seconds)
    offset = timedelta(seconds=trigger.seconds)
    return anchor + offset if trigger.side == "after" else anchor - offset


def timer_key(rule: CompiledRule, index: int, entity: str, record_id: int) -> str:
    return f"{rule.key}#{index}:{entity}:{record_id}"


def sync(connection: Connection, rule: CompiledRule, record: Mapping[str, Any], applies: bool, now: datetime, *,
         new: bool = False) -> None:
    """Schedule, move or cancel ``rule``'s timers for ``record``; ``applies``: its condition holds now;
    ``new``: the record was just created, so it has no timers yet."""
    for index, trigger in enumerate(rule.time_triggers):
        key = timer_key(rule, index, rule.entity, record["id"])
        due = due_at(connection, trigger, record) if applies else None
        if due is None:
            if not new:  # a timer already due stays: it checks the condition when it fires (maybe right now)
                connection.execute(delete(timers).where(timers.c.kind == RULE_TIMER, timers.c.key == key,
                                                        timers.c.status == "pending", timers.c.due_at > now))
            continue
        existing = None if new else connection.execute(select(timers.c.due_at, timers.c.status).where(
            timers.c.kind == RULE_TIMER, timers.c.key == key)).first()
        if existing is not None and existing.due_at == due and existing.status in ("pending", "fired"):
            continue  # unchanged: a timer that fired for this instant does not fire again
        timer_rows.schedule(connection, kind=RULE_TIMER, key=key, due_at=due, now=now,
                            payload={"rule": rule.key, "trigger": index, "entity": rule.entity,
                                     "record_id": record["id"]})


def cancel_all(connection: Connection, entity: str, record_id: int) -> None:
    """Drop the pending rule timers of a deleted record."""
    connection.execute(delete(timers).where(timers.c.kind == RULE_TIMER, timers.c.status == "pending",
                                            timers.c.key.like(f"%#%:{entity}:{record_id}")))


def next_occurrence(schedule: OnSchedule, after: datetime) -> datetime:
    """The first instant of ``schedule`` strictly after ``after``."""
    if schedule.interval is not None:
        return after + timedelta(seconds=schedule.interval)
    zone = ZoneInfo(schedule.zone)
    hours, minutes = (int(p) for p in (schedule.clock or "00:00").split(":"))
    day = after.astimezone(zone).date()
    for _ in range(8):
        if _runs_on(schedule.days or "day", day):
            instant = local_instant(zone, day, time(hours, minutes))
            if instant > after:
                return instant.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("unreachable: every schedule runs at least once a week")  # pragma: no cover


def _runs_on(days: str, day: date) -> bool:
    if days == "day":
        return True
    if days == "weekday":
        return day.weekday() < 5
    return day.weekday() == _DAYS[days]


def ensure_schedules(connection: Connection, rules: tuple[CompiledRule, ...], now: datetime) -> None:
    """Give every scheduled rule a pending timer for its next run (one row per occurrence: ``key@instant``)."""
    for rule in rules:
        for index in range(len(rule.schedules)):
            prefix = f"{rule.key}#{index}@"
            waiting = connection.execute(select(timers.c.id).where(
                timers.c.kind == RULE_SCHEDULE, timers.c.status == "pending", timers.c.key.like(prefix + "%"))).first()
            if waiting is None:
                schedule_next(connection, rule, index, now)


def schedule_next(connection: Connection, rule: CompiledRule, index: int, after: datetime) -> None:
    due = next_occurrence(rule.schedules[index], after)
    timer_rows.schedule(connection, kind=RULE_SCHEDULE, key=f"{rule.key}#{index}@{due.isoformat()}", due_at=due,
                        now=after, payload={"rule": rule.key, "trigger": index,
                                            "describe": rule.schedules[index].describe(rule.entity)})
