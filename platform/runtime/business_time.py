"""Business-time arithmetic: due dates and elapsed working time on a :class:`BusinessCalendar`.

Instants go in as timezone-aware datetimes in any zone or offset and come out
in UTC; naive datetimes are refused with ``ValueError``.  Working intervals are
half-open, ``[start, end)``: an instant exactly at an interval's start is
working, one exactly at its end is not (unless the next interval starts there).
How local working hours become instants on DST days is described in
:mod:`xrm.runtime.business_calendar`.

The functions walk the calendar one local date at a time, taking whole
intervals, so adding 1000 hours costs a few hundred dates, not minutes.  A
search for working time gives up with :class:`NoWorkingTime` after
``SEARCH_DAYS`` dates without any, and every function refuses a calendar that
has no working hours on any weekday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from xrm.runtime.business_calendar import (
    BusinessCalendar,
    BusinessCalendarError,
    CalendarConfigError,
    CalendarProblem,
    NoWorkingTime,
    WorkingInterval,
    local_instant,
)

__all__ = [
    "SEARCH_DAYS",
    "BusinessCalendar",
    "BusinessCalendarError",
    "CalendarConfigError",
    "CalendarProblem",
    "NoWorkingTime",
    "WorkingInterval",
    "add_business_days",
    "add_business_time",
    "business_time_between",
    "is_working_time",
    "next_working_instant",
]

#: How many consecutive dates without working time a search crosses before giving up (ten years).
SEARCH_DAYS = 3660
_ZERO = timedelta(0)


def is_working_time(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether ``at`` falls inside one of the calendar's working intervals."""
    at = _utc(calendar, at, "at")
    return any(start <= at < end for start, end in calendar.working_intervals(_local_date(calendar, at)))


def next_working_instant(calendar: BusinessCalendar, at: datetime) -> datetime:
    """``at`` itself if it is working time, otherwise the start of the next working interval (UTC)."""
    at = _utc(calendar, at, "at")
    start, _ = next(_intervals(calendar, at))
    return max(start, at)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta | float) -> datetime:
    """The instant at which ``duration`` of working time (a timedelta or seconds) has passed since ``start`` (UTC).

    The work ends where it ends: when it fills an interval exactly, the result
    is that interval's end (12:00 before a lunch break, not 13:00).  So for a
    positive duration the result ``r`` always satisfies ``start < r <= end`` of
    some working interval.  A zero duration returns ``start`` (in UTC);
    negative durations are refused.
    """
    start = _utc(calendar, start, "start")
    remaining = _duration(duration)
    if remaining == _ZERO:
        return start
    for interval_start, interval_end in _intervals(calendar, start):
        begin = max(interval_start, start)
        if interval_end - begin >= remaining:
            return begin + remaining
        remaining -= interval_end - begin
    raise AssertionError("unreachable: _intervals never ends")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The working time from ``start`` to ``end``; negative when ``end`` is before ``start``.

    Signed like subtraction, so ``between(a, b) + between(b, c) == between(a, c)`` for any order.
    """
    start, end = _utc(calendar, start, "start"), _utc(calendar, end, "end")
    if end < start:
        return -business_time_between(calendar, end, start)
    total = _ZERO
    for interval_start, interval_end in _intervals(calendar, start, until=end):
        total += max(_ZERO, min(interval_end, end) - max(interval_start, start))
    return total


def add_business_days(calendar: BusinessCalendar, start: datetime, days: int) -> datetime:
    """The same local time of day, ``days`` working dates later (earlier when negative), in UTC.

    A working date is one with working time left after holidays and DST.  The
    count starts from ``next_working_instant(start)`` on its local date, so
    Saturday 10:00 + 1 day is Tuesday 09:00 when Monday starts at 09:00.  On
    the target date the result is that wall-clock time if it is working, else
    the next working instant that date (after a lunch break, or at a later
    start), else — the time is past the date's last interval — the end of its
    working time.  Zero days return ``next_working_instant(start)``.
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an int, not {type(days).__name__}")
    begin = next_working_instant(calendar, start)
    if days == 0:
        return begin
    local = begin.astimezone(calendar.zone)
    day, clock = local.date(), local.time()
    for _ in range(abs(days)):
        day = _next_working_date(calendar, day, 1 if days > 0 else -1)
    target = local_instant(calendar.zone, day, clock)
    intervals = calendar.working_intervals(day)
    for interval_start, interval_end in intervals:
        if target < interval_end:
            return max(interval_start, target)
    return intervals[-1][1]


def _intervals(calendar: BusinessCalendar, at: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals in time order, from the one containing ``at`` (or the first after it) on.

    Without ``until`` the walk is endless, unless ``SEARCH_DAYS`` dates in a row
    have no working time; with it, the walk stops after ``until``'s local date.
    """
    day = _local_date(calendar, at)
    last = None if until is None else _local_date(calendar, until)
    idle = 0
    while last is None or day <= last:
        intervals = [(start, end) for start, end in calendar.working_intervals(day) if end > at]
        yield from intervals
        idle = 0 if intervals else idle + 1
        if until is None and idle >= SEARCH_DAYS:
            raise NoWorkingTime(f"calendar {calendar.name!r} has no working time in the {SEARCH_DAYS} days after {at.isoformat()}")
        day += timedelta(days=1)


def _next_working_date(calendar: BusinessCalendar, day: date, step: int) -> date:
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=step)
        if calendar.working_intervals(day):
            return day
    direction = "after" if step > 0 else "before"
    raise NoWorkingTime(f"calendar {calendar.name!r} has no working date in the {SEARCH_DAYS} days {direction} {day.isoformat()}")


def _local_date(calendar: BusinessCalendar, at: datetime) -> date:
    return at.astimezone(calendar.zone).date()


def _utc(calendar: BusinessCalendar, value: datetime, what: str) -> datetime:
    """Check the arguments every function needs checked, and read the instant in UTC."""
    if not calendar.has_working_hours:
        raise NoWorkingTime(f"calendar {calendar.name!r} has no working hours on any weekday")
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (an instant), got the naive datetime {value.isoformat()}")
    return value.astimezone(UTC)


def _duration(value: timedelta | float) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise TypeError(f"duration must be a timedelta or a number of seconds, not {type(value).__name__}")
    duration = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    return duration
