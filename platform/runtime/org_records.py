"""The organization model's own rules on write, and business calendars read from their records.

``OrgChecks`` is a write hook the record service always runs: it refuses a
business calendar whose hours or time zone do not parse, a user whose time
zone is unknown, and out-of-office periods the wrong way round are already a
validation rule of the entity.  ``calendar_from_records`` turns a stored
calendar (and its holidays) into a ``BusinessCalendar`` for the business-time
functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from xrm.context import Context
from xrm.metadata.org import WEEKDAYS
from xrm.runtime.business_calendar import BusinessCalendar, CalendarConfigError
from xrm.runtime.record_errors import Invalid, NotFound
from xrm.runtime.record_hooks import RecordChange
from xrm.runtime.record_input import count_text
from xrm.runtime.record_logic import FieldError
from xrm.system_tables import org_tables

_INTERVAL = re.compile(r"^\s*(\S+)\s*-\s*(\S+)\s*$")


def parse_day_hours(text: str | None) -> list[list[str]]:
    """``"09:00-12:00, 13:00-17:00"`` → ``[["09:00", "12:00"], ["13:00", "17:00"]]`` (empty: no hours)."""
    if not text or not text.strip():
        return []
    pairs = []
    for part in text.split(","):
        match = _INTERVAL.match(part)
        pairs.append([match[1], match[2]] if match else [part.strip(), ""])
    return pairs


def calendar_definition(record: Mapping[str, Any], holidays: Iterable[date] = ()) -> dict[str, Any]:
    return {
        "time_zone": record.get("time_zone") or "UTC",
        "hours": {day: parse_day_hours(record.get(day)) for day in WEEKDAYS},
        "holidays": [d.isoformat() for d in holidays],
    }


def calendar_from_records(connection: Connection, calendar_id: int) -> BusinessCalendar:
    """The stored business calendar ``calendar_id`` with its holidays."""
    calendars, holidays = org_tables["business_calendar"], org_tables["calendar_holiday"]
    row = connection.execute(select(calendars).where(calendars.c.id == calendar_id)).mappings().first()
    if row is None:
        raise NotFound(f"there is no business calendar with id {calendar_id}")
    days = connection.execute(select(holidays.c.date).where(holidays.c.calendar == calendar_id)).scalars().all()
    return BusinessCalendar.from_dict(calendar_definition(row, days), name=row["name"])


def _zone_error(field: str, value: Any) -> FieldError | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return FieldError(field, f"'{value}' is not a time zone; use an IANA name such as Europe/Berlin or UTC",
                          "invalid_time_zone")
    return None


class OrgChecks:
    """Refuses organization records that the business-time functions or sign-in could not use."""

    def before_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        if change.after is None:
            return
        check = _CHECKS.get(change.entity)
        if check is not None and (errors := check(change.after)):
            raise Invalid(f"the {change.entity.replace('_', ' ')} was not saved: {count_text(errors, 'problem')} to fix",
                          errors)

    def after_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        return None


def _check_calendar(record: Mapping[str, Any]) -> list[FieldError]:
    try:
        BusinessCalendar.from_dict(calendar_definition(record))
    except CalendarConfigError as error:
        found = []
        for problem in error.problems:
            head = problem.path.split("[")[0].split(".")
            field = head[1] if head[0] == "hours" and len(head) > 1 else "time_zone"
            found.append(FieldError(field, f"expected {problem.expected}, found {problem.found}", "invalid_hours"))
        return found
    return []


def _check_user(record: Mapping[str, Any]) -> list[FieldError]:
    error = _zone_error("time_zone", record.get("time_zone"))
    return [error] if error else []


_CHECKS = {"business_calendar": _check_calendar, "user": _check_user}
