"""Business calendars: working hours per weekday, holidays and a time zone, turned into UTC intervals one date at a time.

Working hours are local wall-clock times.  Each boundary of an interval becomes
one instant, and the interval is everything from the start instant up to (not
including) the end instant:

* a wall time inside a spring-forward gap does not exist; it becomes the instant
  the clocks jump (the gap is skipped).  In Europe/Berlin on 2026-03-29,
  01:00-04:00 lasts 2 hours and 02:30-05:00 means 03:00-05:00 CEST;
* a wall time inside a fall-back fold is read as its first occurrence.  On
  2026-10-25, 01:00-04:00 lasts 4 hours (the repeated hour is worked once per
  elapsed hour) and 02:30-05:00 runs from 02:30 CEST to 05:00 CET.

Both rules keep the wall-clock → instant mapping monotonic, so intervals that
touch or follow each other in wall-clock time still do so as instants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xrm.errors import XrmError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MIDNIGHT = time(0)
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?")
_DAY = 86_400
_CALENDAR_KEYS = ("name", "time_zone", "hours", "holidays")


class BusinessCalendarError(XrmError, ValueError):
    """A business calendar is set up wrongly, or cannot answer a question."""


@dataclass(frozen=True)
class CalendarProblem:
    """One thing wrong in a calendar definition, e.g. ``hours.monday[1]``: expected ``a pair [start, end]``."""

    path: str
    expected: str
    found: str


class CalendarConfigError(BusinessCalendarError):
    """A calendar definition was refused; ``problems`` lists everything found wrong."""

    def __init__(self, problems: Sequence[CalendarProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path}: expected {p.expected}, found {p.found}" for p in self.problems))


class NoWorkingTime(BusinessCalendarError):
    """The calendar has no working time where the question needs some."""


def _seconds(clock: time, *, is_end: bool = False) -> float:
    """Seconds since midnight; an end of ``00:00`` is the midnight that ends the day."""
    if is_end and clock == MIDNIGHT:
        return _DAY
    return clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6


@dataclass(frozen=True)
class WorkingInterval:
    """Working hours within one day, in local wall-clock time.  An ``end`` of ``time(0)`` means 24:00."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise CalendarConfigError(
                [CalendarProblem("interval", "wall-clock times without a time zone", f"{self.start}-{self.end}")]
            )
        if _seconds(self.start) >= _seconds(self.end, is_end=True):
            raise CalendarConfigError([CalendarProblem("interval", "a start before the end", f"{self.start}-{self.end}")])

    @classmethod
    def of(cls, start: str, end: str) -> WorkingInterval:
        """``WorkingInterval.of("09:00", "17:00")``; ``"24:00"`` is accepted as an end."""
        if start == "24:00":
            raise CalendarConfigError([CalendarProblem("interval", "a start before 24:00", repr(start))])
        return cls(_parse_clock(start), _parse_clock(end))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours for each weekday (0 = Monday), holiday dates and the IANA time zone both are read in.

    Weekdays missing from ``week`` have no working hours; intervals are sorted
    and must not overlap (touching, as in 09:00-12:00 and 12:00-17:00, is fine).
    """

    name: str
    time_zone: str
    week: Mapping[int, tuple[WorkingInterval, ...]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        problems: list[CalendarProblem] = []
        zone = _load_zone(self.time_zone, problems)
        week: dict[int, tuple[WorkingInterval, ...]] = {}
        for day, intervals in self.week.items():
            if day not in range(7):
                problems.append(CalendarProblem("week", "weekday numbers 0 (Monday) to 6 (Sunday)", repr(day)))
                continue
            if not all(isinstance(interval, WorkingInterval) for interval in intervals):
                problems.append(CalendarProblem(f"hours.{WEEKDAYS[day]}", "a tuple of WorkingInterval", repr(intervals)))
                continue
            ordered = tuple(sorted(intervals, key=lambda interval: _seconds(interval.start)))
            for before, after in zip(ordered, ordered[1:], strict=False):
                if _seconds(before.end, is_end=True) > _seconds(after.start):
                    problems.append(
                        CalendarProblem(f"hours.{WEEKDAYS[day]}", "intervals that do not overlap", f"{before} and {after}")
                    )
            week[day] = ordered
        if problems:
            raise CalendarConfigError(problems)
        object.__setattr__(self, "week", MappingProxyType({day: week.get(day, ()) for day in range(7)}))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_zone", zone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined]

    @property
    def has_working_hours(self) -> bool:
        return any(self.week.values())

    def working_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of a local date as UTC ``(start, end)`` pairs, leaving out any the DST gap swallowed."""
        if day in self.holidays:
            return ()
        result = []
        for interval in self.week[day.weekday()]:
            start = local_instant(self.zone, day, interval.start)
            end = (
                local_instant(self.zone, day + timedelta(days=1), MIDNIGHT)
                if interval.end == MIDNIGHT
                else local_instant(self.zone, day, interval.end)
            )
            if start < end:
                result.append((start, end))
        return tuple(result)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str | None = None) -> BusinessCalendar:
        """Build a calendar from JSON-like data; every problem found is reported at once.

        ``{"time_zone": "Europe/Berlin", "hours": {"monday": [["09:00", "12:00"], ["13:00", "17:00"]]},
        "holidays": ["2026-12-25"]}``; ``"hours": "24x7"`` means every day, all day.
        """
        if not isinstance(data, Mapping):
            raise CalendarConfigError([CalendarProblem("(calendar)", "an object", type(data).__name__)])
        problems = [
            CalendarProblem(key, f"only the keys {', '.join(_CALENDAR_KEYS)}", "an unknown key")
            for key in data
            if key not in _CALENDAR_KEYS
        ]
        name = name if name is not None else data.get("name", "")
        if not isinstance(name, str):
            problems.append(CalendarProblem("name", "a string", repr(name)))
        time_zone = data.get("time_zone")
        _load_zone(time_zone, problems)
        week = _parse_hours(data.get("hours"), problems)
        holidays = _parse_holidays(data.get("holidays", []), problems)
        if problems:
            raise CalendarConfigError(problems)
        return cls(name=name, time_zone=time_zone, week=week, holidays=holidays)


def _load_zone(name: Any, problems: list[CalendarProblem]) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        problems.append(CalendarProblem("time_zone", "an IANA time zone name such as 'Europe/Berlin'", repr(name)))
        return None


def _parse_clock(text: Any, path: str = "interval", problems: list[CalendarProblem] | None = None) -> time:
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None or (match[1] == "24" and (match[2], match[3] or "00") != ("00", "00")):
        problem = CalendarProblem(path, "a wall-clock time 'HH:MM' from 00:00 to 24:00", repr(text))
        if problems is None:
            raise CalendarConfigError([problem])
        problems.append(problem)
        return MIDNIGHT
    return time(int(match[1]) % 24, int(match[2]), int(match[3] or 0))


def _parse_hours(hours: Any, problems: list[CalendarProblem]) -> dict[int, tuple[WorkingInterval, ...]]:
    if hours == "24x7":
        return {day: (WorkingInterval(MIDNIGHT, MIDNIGHT),) for day in range(7)}
    if not isinstance(hours, Mapping):
        problems.append(CalendarProblem("hours", "an object of weekday name → list of [start, end] pairs, or '24x7'", repr(hours)))
        return {}
    week: dict[int, tuple[WorkingInterval, ...]] = {}
    for key, pairs in hours.items():
        if key not in WEEKDAYS:
            problems.append(CalendarProblem(f"hours.{key}", f"a weekday name ({', '.join(WEEKDAYS)})", repr(key)))
            continue
        if not isinstance(pairs, Sequence) or isinstance(pairs, str):
            problems.append(CalendarProblem(f"hours.{key}", "a list of [start, end] pairs", repr(pairs)))
            continue
        intervals = []
        for index, pair in enumerate(pairs):
            path = f"hours.{key}[{index}]"
            if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
                problems.append(CalendarProblem(path, "a pair [start, end] such as ['09:00', '17:00']", repr(pair)))
                continue
            count = len(problems)
            start, end = _parse_clock(pair[0], f"{path}[0]", problems), _parse_clock(pair[1], f"{path}[1]", problems)
            if pair[0] == "24:00":
                problems.append(CalendarProblem(f"{path}[0]", "a start before 24:00", repr(pair[0])))
            elif len(problems) == count and _seconds(start) >= _seconds(end, is_end=True):
                problems.append(CalendarProblem(path, "a start before the end", repr(list(pair))))
            if len(problems) == count:
                intervals.append(WorkingInterval(start, end))
        week[WEEKDAYS.index(key)] = tuple(intervals)
    return week


def _parse_holidays(holidays: Any, problems: list[CalendarProblem]) -> frozenset[date]:
    if not isinstance(holidays, Sequence) or isinstance(holidays, str):
        problems.append(CalendarProblem("holidays", "a list of dates 'YYYY-MM-DD'", repr(holidays)))
        return frozenset()
    result = set()
    for index, value in enumerate(holidays):
        if isinstance(value, date) and not isinstance(value, datetime):
            result.add(value)
            continue
        try:
            result.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            problems.append(CalendarProblem(f"holidays[{index}]", "a date 'YYYY-MM-DD'", repr(value)))
    return frozenset(result)


def local_instant(zone: ZoneInfo, day: date, clock: time) -> datetime:
    """The UTC instant a wall clock in ``zone`` shows ``clock`` on ``day``: first occurrence in a fold, the jump in a gap."""
    wall = datetime.combine(day, clock.replace(fold=0), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _gap_end(zone, wall)


def _gap_end(zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant the clocks jump over the nonexistent ``wall``, found by bisecting whole seconds.

    Read with the offset before the change (fold=0) a gap time lands after the
    jump, with the offset after it (fold=1) before; the jump lies in between.
    """
    before = wall.replace(fold=1).astimezone(UTC).replace(microsecond=0)
    after = wall.replace(fold=0).astimezone(UTC)
    offset_after = after.astimezone(zone).utcoffset()
    low, high = 0, int((after - before).total_seconds()) + 1
    while low < high:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle + 1
    return before + timedelta(seconds=low)
