"""Business-time arithmetic across weekends, holidays, lunch breaks, time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xrm.runtime.business_time import (
    SEARCH_DAYS,
    BusinessCalendar,
    BusinessCalendarError,
    CalendarConfigError,
    NoWorkingTime,
    WorkingInterval,
    add_business_days,
    add_business_time,
    business_time_between,
    is_working_time,
    next_working_instant,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
US = timedelta(microseconds=1)

#: Berlin office with a lunch break; Christmas and Good Friday 2026 off.
OFFICE = BusinessCalendar.from_dict(
    {
        "name": "office",
        "time_zone": "Europe/Berlin",
        "hours": {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in WORKDAYS},
        "holidays": ["2026-04-03", "2026-12-24", "2026-12-25"],
    }
)
ALWAYS = BusinessCalendar.from_dict({"name": "24x7", "time_zone": "Europe/Berlin", "hours": "24x7"})


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def calendar(time_zone: str, **hours: list[list[str]]) -> BusinessCalendar:
    return BusinessCalendar.from_dict({"name": "test", "time_zone": time_zone, "hours": hours})


# -- within a working week -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (berlin(2026, 3, 2, 9, 30), 2, berlin(2026, 3, 2, 11, 30)),  # inside one interval
        (berlin(2026, 3, 2, 11, 0), 2, berlin(2026, 3, 2, 14, 0)),  # over the lunch break
        (berlin(2026, 3, 2, 10, 0), 2, berlin(2026, 3, 2, 12, 0)),  # fills the morning: ends at 12:00, not 13:00
        (berlin(2026, 3, 2, 12, 0), 1, berlin(2026, 3, 2, 14, 0)),  # starts at an interval's end
        (berlin(2026, 3, 2, 13, 0), 4, berlin(2026, 3, 2, 17, 0)),  # starts at an interval's start, ends at the day's end
        (berlin(2026, 3, 2, 16, 0), 2, berlin(2026, 3, 3, 10, 0)),  # into the next day
        (berlin(2026, 3, 2, 7, 0), 0.5, berlin(2026, 3, 2, 9, 30)),  # before opening
        (berlin(2026, 3, 2, 20, 0), 1, berlin(2026, 3, 3, 10, 0)),  # after closing
        (berlin(2026, 3, 6, 16, 0), 2, berlin(2026, 3, 9, 10, 0)),  # over a weekend
        (berlin(2026, 3, 7, 10, 0), 1, berlin(2026, 3, 9, 10, 0)),  # from a Saturday
        (berlin(2026, 12, 23, 16, 0), 2, berlin(2026, 12, 28, 10, 0)),  # over two holidays and a weekend
        (berlin(2026, 3, 2, 9, 0), 7 * 5, berlin(2026, 3, 6, 17, 0)),  # a whole week
    ],
)
def test_add_business_time(start: datetime, hours: float, expected: datetime) -> None:
    result = add_business_time(OFFICE, start, timedelta(hours=hours))
    assert result == expected
    assert result.tzinfo is UTC
    assert business_time_between(OFFICE, start, result) == timedelta(hours=hours)


def test_duration_may_be_seconds_and_zero_returns_start() -> None:
    start = berlin(2026, 3, 7, 10, 0)  # a Saturday
    assert add_business_time(OFFICE, start, 3600) == add_business_time(OFFICE, start, timedelta(hours=1))
    assert add_business_time(OFFICE, start, timedelta(0)) == start


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (berlin(2026, 3, 2, 9, 0), berlin(2026, 3, 2, 17, 0), 7),
        (berlin(2026, 3, 2, 11, 30), berlin(2026, 3, 2, 13, 30), 1),
        (berlin(2026, 3, 2, 12, 10), berlin(2026, 3, 2, 12, 50), 0),
        (berlin(2026, 3, 6, 16, 0), berlin(2026, 3, 9, 10, 0), 2),
        (berlin(2026, 3, 7, 0, 0), berlin(2026, 3, 8, 23, 59), 0),
        (berlin(2026, 12, 23, 0, 0), berlin(2026, 12, 29, 0, 0), 7 + 7),  # Wed and Mon; Thu, Fri holidays
        (berlin(2026, 3, 9, 10, 0), berlin(2026, 3, 6, 16, 0), -2),  # backwards is negative
    ],
)
def test_business_time_between(start: datetime, end: datetime, hours: float) -> None:
    assert business_time_between(OFFICE, start, end) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("at", "working", "next_instant"),
    [
        (berlin(2026, 3, 2, 9, 0), True, berlin(2026, 3, 2, 9, 0)),
        (berlin(2026, 3, 2, 11, 59, 59, 999999), True, berlin(2026, 3, 2, 11, 59, 59, 999999)),
        (berlin(2026, 3, 2, 12, 0), False, berlin(2026, 3, 2, 13, 0)),
        (berlin(2026, 3, 2, 17, 0), False, berlin(2026, 3, 3, 9, 0)),
        (berlin(2026, 3, 2, 8, 59), False, berlin(2026, 3, 2, 9, 0)),
        (berlin(2026, 3, 7, 12, 0), False, berlin(2026, 3, 9, 9, 0)),
        (berlin(2026, 4, 3, 10, 0), False, berlin(2026, 4, 6, 9, 0)),  # Good Friday
    ],
)
def test_working_time_and_next_working_instant(at: datetime, working: bool, next_instant: datetime) -> None:
    assert is_working_time(OFFICE, at) is working
    assert next_working_instant(OFFICE, at) == next_instant
    assert next_working_instant(OFFICE, at).tzinfo is UTC


def test_input_instants_in_any_zone_give_the_same_answers() -> None:
    instant = berlin(2026, 3, 2, 11, 0)
    for same in (
        instant.astimezone(UTC),
        instant.astimezone(TOKYO),
        instant.astimezone(NEW_YORK),
        instant.astimezone(timezone(timedelta(hours=-3))),
    ):
        assert add_business_time(OFFICE, same, timedelta(hours=2)) == utc(2026, 3, 2, 13, 0)
        assert is_working_time(OFFICE, same)
        assert business_time_between(OFFICE, same, berlin(2026, 3, 2, 17, 0).astimezone(TOKYO)) == timedelta(hours=5)


def test_adding_a_thousand_hours() -> None:
    result = add_business_time(OFFICE, berlin(2026, 1, 5, 9, 0), timedelta(hours=1000))
    assert business_time_between(OFFICE, berlin(2026, 1, 5, 9, 0), result) == timedelta(hours=1000)
    assert result == berlin(2026, 7, 23, 16, 0)  # 1000 h = 142 days of 7 h + 6 h; Good Friday off


# -- DST -------------------------------------------------------------------------------------------------


def test_weekday_hours_follow_the_wall_clock_over_a_dst_weekend() -> None:
    # Berlin changes to CEST on Sunday 2026-03-29 and back to CET on 2026-10-25.
    assert add_business_time(OFFICE, berlin(2026, 3, 27, 16, 0), timedelta(hours=2)) == utc(2026, 3, 30, 8, 0)
    assert add_business_time(OFFICE, berlin(2026, 10, 23, 16, 0), timedelta(hours=2)) == utc(2026, 10, 26, 9, 0)
    assert business_time_between(OFFICE, berlin(2026, 3, 27, 9, 0), berlin(2026, 3, 30, 9, 0)) == timedelta(hours=7)


@pytest.mark.parametrize(
    ("time_zone", "day", "hours", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), ["01:00", "04:00"], 2),  # spans the skipped hour
        ("Europe/Berlin", date(2026, 10, 25), ["01:00", "04:00"], 4),  # spans the repeated hour
        ("Europe/Berlin", date(2026, 3, 22), ["01:00", "04:00"], 3),
        ("Europe/Berlin", date(2026, 3, 29), ["09:00", "17:00"], 8),  # away from the change
        ("Europe/Berlin", date(2026, 10, 25), ["09:00", "17:00"], 8),
        ("Europe/Berlin", date(2026, 3, 29), ["02:30", "05:00"], 2),  # starts in the gap: at 03:00 CEST
        ("Europe/Berlin", date(2026, 3, 29), ["02:00", "03:00"], 0),  # entirely in the gap
        ("Europe/Berlin", date(2026, 10, 25), ["02:30", "05:00"], 3.5),  # starts at the first 02:30
        ("Europe/Berlin", date(2026, 10, 25), ["00:00", "24:00"], 25),
        ("America/New_York", date(2026, 3, 8), ["00:00", "03:00"], 2),
        ("America/New_York", date(2026, 11, 1), ["00:00", "03:00"], 4),
        ("America/New_York", date(2026, 11, 1), ["01:15", "01:45"], 0.5),  # inside the fold: first occurrence
        ("America/New_York", date(2026, 3, 8), ["00:00", "24:00"], 23),
        ("America/New_York", date(2026, 3, 8), ["09:00", "17:00"], 8),
    ],
)
def test_dst_days_are_shorter_or_longer(time_zone: str, day: date, hours: list[str], expected: float) -> None:
    cal = calendar(time_zone, sunday=[hours])
    zone = ZoneInfo(time_zone)
    start, end = datetime.combine(day, time(0), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert business_time_between(cal, start, end) == timedelta(hours=expected)


def test_interval_starting_in_the_gap_starts_when_the_clock_jumps() -> None:
    cal = calendar("Europe/Berlin", sunday=[["02:30", "05:00"]])
    assert next_working_instant(cal, berlin(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert next_working_instant(cal, berlin(2026, 10, 25, 0, 0)) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST


def test_adding_through_the_repeated_hour_in_new_york() -> None:
    cal = calendar("America/New_York", sunday=[["00:00", "03:00"]], monday=[["09:00", "17:00"]])
    start = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)  # 04:00 UTC, EDT
    assert add_business_time(cal, start, timedelta(hours=3)) == utc(2026, 11, 1, 7, 0)  # 02:00 EST
    assert add_business_time(cal, start, timedelta(hours=5)) == utc(2026, 11, 2, 15, 0)  # 10:00 EST Monday
    second_half_past_one = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert second_half_past_one.astimezone(UTC) == utc(2026, 11, 1, 6, 30)
    assert is_working_time(cal, second_half_past_one)


def test_adding_through_the_skipped_hour_in_new_york() -> None:
    cal = calendar("America/New_York", sunday=[["01:00", "04:00"]])
    start = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)  # 06:30 UTC, EST
    assert add_business_time(cal, start, timedelta(hours=1)) == utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    assert add_business_time(cal, start, timedelta(hours=2)) == utc(2026, 3, 15, 5, 30)  # next Sunday 01:30 EDT


# -- 24x7 --------------------------------------------------------------------------------------------------


def test_a_24x7_calendar_counts_elapsed_time_even_over_dst() -> None:
    # Aware arithmetic within one ZoneInfo is wall-clock arithmetic, so elapsed time is computed in UTC.
    start = berlin(2026, 3, 28, 22, 15).astimezone(UTC)
    assert add_business_time(ALWAYS, start, timedelta(hours=1000)) == start + timedelta(hours=1000)
    assert business_time_between(ALWAYS, start, utc(2026, 10, 26, 0, 0)) == utc(2026, 10, 26, 0, 0) - start
    assert is_working_time(ALWAYS, berlin(2026, 3, 29, 3, 0))
    assert next_working_instant(ALWAYS, berlin(2026, 3, 29, 0, 0)) == berlin(2026, 3, 29, 0, 0)
    assert add_business_days(ALWAYS, berlin(2026, 3, 28, 12, 0), 1) == berlin(2026, 3, 29, 12, 0)  # 23 hours later


def test_a_24x7_calendar_built_from_intervals_touching_at_midnight() -> None:
    cal = calendar("UTC", **{day: [["00:00", "12:00"], ["12:00", "24:00"]] for day in (*WORKDAYS, "saturday", "sunday")})
    assert add_business_time(cal, utc(2026, 1, 1, 23, 0), timedelta(hours=49)) == utc(2026, 1, 4, 0, 0)
    assert is_working_time(cal, utc(2026, 1, 2, 0, 0)) and is_working_time(cal, utc(2026, 1, 2, 12, 0))


# -- add_business_days ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (berlin(2026, 3, 2, 10, 0), 1, berlin(2026, 3, 3, 10, 0)),
        (berlin(2026, 3, 6, 10, 0), 1, berlin(2026, 3, 9, 10, 0)),  # Friday → Monday
        (berlin(2026, 3, 27, 10, 0), 1, berlin(2026, 3, 30, 10, 0)),  # over the DST change: same wall clock
        (berlin(2026, 3, 7, 10, 0), 1, berlin(2026, 3, 10, 9, 0)),  # Saturday counts from Monday 09:00
        (berlin(2026, 3, 2, 18, 0), 1, berlin(2026, 3, 4, 9, 0)),  # after closing counts from the next morning
        (berlin(2026, 3, 7, 10, 0), 0, berlin(2026, 3, 9, 9, 0)),
        (berlin(2026, 3, 9, 10, 0), -1, berlin(2026, 3, 6, 10, 0)),
        (berlin(2026, 12, 23, 15, 0), 1, berlin(2026, 12, 28, 15, 0)),  # over the holidays
        (berlin(2026, 3, 2, 10, 0), 5, berlin(2026, 3, 9, 10, 0)),
    ],
)
def test_add_business_days(start: datetime, days: int, expected: datetime) -> None:
    assert add_business_days(OFFICE, start, days) == expected


def test_business_days_on_a_target_date_with_other_hours() -> None:
    cal = calendar(
        "Europe/Berlin",
        monday=[["09:00", "12:00"], ["13:00", "17:00"]],
        tuesday=[["09:00", "17:00"]],
        wednesday=[["10:00", "18:00"]],
        thursday=[["09:00", "17:00"]],
        friday=[["09:00", "13:00"]],
    )
    assert add_business_days(cal, berlin(2026, 3, 3, 12, 30), -1) == berlin(2026, 3, 2, 13, 0)  # lands in the lunch break
    assert add_business_days(cal, berlin(2026, 3, 3, 9, 30), 1) == berlin(2026, 3, 4, 10, 0)  # before Wednesday opens
    assert add_business_days(cal, berlin(2026, 3, 5, 15, 0), 1) == berlin(2026, 3, 6, 13, 0)  # after Friday closes


# -- errors ------------------------------------------------------------------------------------------------


def test_a_calendar_without_working_hours_is_refused() -> None:
    empty = BusinessCalendar.from_dict({"name": "closed", "time_zone": "UTC", "hours": {}})
    at = utc(2026, 1, 1)
    for call in (
        lambda: add_business_time(empty, at, timedelta(hours=1)),
        lambda: add_business_days(empty, at, 1),
        lambda: business_time_between(empty, at, at + timedelta(days=1)),
        lambda: next_working_instant(empty, at),
        lambda: is_working_time(empty, at),
    ):
        with pytest.raises(NoWorkingTime, match="'closed' has no working hours"):
            call()


def test_searches_stop_after_ten_years_of_holidays() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=week) for week in range(SEARCH_DAYS // 7 + 10)]
    cal = BusinessCalendar("mondays", "UTC", {0: (WorkingInterval.of("09:00", "17:00"),)}, frozenset(mondays))
    with pytest.raises(NoWorkingTime, match="'mondays' has no working time in the 3660 days after 2026-01-01"):
        next_working_instant(cal, utc(2026, 1, 1))
    first_free_monday = mondays[-1] + timedelta(weeks=1)
    start = datetime.combine(first_free_monday, time(10), tzinfo=UTC)
    assert add_business_days(cal, start, 0) == start
    with pytest.raises(NoWorkingTime, match="no working date in the 3660 days before"):
        add_business_days(cal, start, -1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_time(OFFICE, datetime(2026, 3, 2, 9, 0), timedelta(hours=1)),
        lambda: add_business_days(OFFICE, datetime(2026, 3, 2, 9, 0), 1),
        lambda: business_time_between(OFFICE, utc(2026, 3, 2), datetime(2026, 3, 3)),
        lambda: next_working_instant(OFFICE, datetime(2026, 3, 2, 9, 0)),
        lambda: is_working_time(OFFICE, datetime(2026, 3, 2, 9, 0)),
    ],
)
def test_naive_datetimes_are_refused(call) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(OFFICE, utc(2026, 3, 2), timedelta(hours=-1))


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"hours": {}}, "time_zone", "IANA time zone"),
        ({"time_zone": "Mars/Olympus", "hours": {}}, "time_zone", "IANA time zone"),
        ({"time_zone": "UTC"}, "hours", "weekday name"),
        ({"time_zone": "UTC", "hours": {"mon": []}}, "hours.mon", "a weekday name"),
        ({"time_zone": "UTC", "hours": {"monday": "09-17"}}, "hours.monday", "a list of [start, end] pairs"),
        ({"time_zone": "UTC", "hours": {"monday": [["09:00"]]}}, "hours.monday[0]", "a pair [start, end]"),
        ({"time_zone": "UTC", "hours": {"monday": [["9", "17:00"]]}}, "hours.monday[0][0]", "'HH:MM'"),
        ({"time_zone": "UTC", "hours": {"monday": [["09:00", "25:00"]]}}, "hours.monday[0][1]", "'HH:MM'"),
        ({"time_zone": "UTC", "hours": {"monday": [["24:00", "24:00"]]}}, "hours.monday[0][0]", "a start before 24:00"),
        ({"time_zone": "UTC", "hours": {"monday": [["17:00", "09:00"]]}}, "hours.monday[0]", "a start before the end"),
        ({"time_zone": "UTC", "hours": {"monday": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "hours.monday", "do not overlap"),
        ({"time_zone": "UTC", "hours": {}, "holidays": ["2026-02-30"]}, "holidays[0]", "a date 'YYYY-MM-DD'"),
        ({"time_zone": "UTC", "hours": {}, "holidays": "2026-12-25"}, "holidays", "a list of dates"),
        ({"time_zone": "UTC", "hours": {}, "timezone": "UTC"}, "timezone", "only the keys"),
    ],
)
def test_bad_configuration_names_the_key_and_what_was_expected(data: dict, path: str, expected: str) -> None:
    with pytest.raises(CalendarConfigError) as caught:
        BusinessCalendar.from_dict(data)
    assert [problem.path for problem in caught.value.problems] == [path]
    assert expected in caught.value.problems[0].expected
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, BusinessCalendarError)


def test_every_configuration_problem_is_reported_at_once() -> None:
    data = {"time_zone": "Nowhere", "hours": {"monday": [["x", "17:00"]], "funday": []}, "holidays": ["soon"]}
    with pytest.raises(CalendarConfigError) as caught:
        BusinessCalendar.from_dict(data)
    assert {problem.path for problem in caught.value.problems} == {"time_zone", "hours.monday[0][0]", "hours.funday", "holidays[0]"}
    assert "hours.funday: expected a weekday name" in str(caught.value)


def test_clock_times_may_carry_seconds_and_end_at_24_00() -> None:
    cal = calendar("UTC", monday=[["09:00:30", "24:00"]])
    assert cal.week[0] == (WorkingInterval(time(9, 0, 30), time(0)),)
    assert next_working_instant(cal, utc(2026, 3, 2, 9, 0)) == utc(2026, 3, 2, 9, 0, 30)
    assert cal.week[6] == ()


def test_working_intervals_refuse_an_end_before_the_start() -> None:
    with pytest.raises(CalendarConfigError, match="a start before the end"):
        WorkingInterval(time(17), time(9))


# -- properties ----------------------------------------------------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe")
INPUT_ZONES = (UTC, BERLIN, NEW_YORK, TOKYO, ZoneInfo("Australia/Lord_Howe"), timezone(timedelta(hours=5, minutes=45)))
#: DST changes in 2026: Berlin, New York, Lord Howe (half an hour).
CHANGES = (
    utc(2026, 3, 29, 1),
    utc(2026, 10, 25, 1),
    utc(2026, 3, 8, 7),
    utc(2026, 11, 1, 6),
    utc(2026, 4, 4, 15),
    utc(2026, 10, 3, 15, 30),
)
QUARTER = timedelta(minutes=15)
#: Working days to build calendars from: lunch breaks, touching intervals, midnight, and hours around every DST change.
DAYS = [
    (),
    (),
    (("09:00", "17:00"),),
    (("09:00", "12:00"), ("13:00", "17:00")),
    (("09:00", "12:00"), ("12:00", "17:00")),
    (("00:00", "24:00"),),
    (("00:00", "03:00"), ("22:00", "24:00")),
    (("01:00", "04:00"),),
    (("02:30", "05:00"),),
    (("02:00", "03:00"),),
    (("01:15", "01:45"), ("01:45", "02:15")),
    (("01:30", "02:30"),),
    (("12:00", "12:15"), ("18:00", "19:30"), ("23:59", "24:00")),
]
DAY_HOURS = st.sampled_from([tuple(WorkingInterval.of(start, end) for start, end in day) for day in DAYS])


def calendar_of(time_zone: str, days: list[tuple[WorkingInterval, ...]], holidays: frozenset[date]) -> BusinessCalendar:
    return BusinessCalendar("random", time_zone, dict(enumerate(days)), holidays)


CALENDARS = st.sampled_from([OFFICE, ALWAYS]) | st.builds(
    calendar_of,
    st.sampled_from(ZONES),
    st.lists(DAY_HOURS, min_size=7, max_size=7).filter(any),
    st.frozensets(st.dates(date(2025, 12, 1), date(2028, 3, 1)), max_size=10),
)
INSTANTS = st.one_of(
    st.builds(
        lambda change, minutes, zone: (change + timedelta(minutes=minutes)).astimezone(zone),
        st.sampled_from(CHANGES),
        st.integers(-4 * 1440, 4 * 1440),
        st.sampled_from(INPUT_ZONES),
    ),
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.sampled_from(INPUT_ZONES)),
)
DURATIONS = st.one_of(
    st.integers(1, 4 * 96).map(lambda quarters: quarters * QUARTER),
    st.integers(1, 200 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
    st.integers(1, 10**6).map(lambda microseconds: timedelta(microseconds=microseconds)),
)
SPANS = st.integers(0, 30 * 1440).map(lambda minutes: timedelta(minutes=minutes)) | st.integers(0, 10**6).map(
    lambda us: timedelta(microseconds=us)
)
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(CALENDARS, INSTANTS, DURATIONS)
def test_add_then_between_round_trips(cal: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    result = add_business_time(cal, start, duration)
    assert result.tzinfo is UTC
    assert business_time_between(cal, next_working_instant(cal, start), result) == duration
    assert business_time_between(cal, start, result) == duration


@PROPERTY
@given(CALENDARS, INSTANTS, DURATIONS)
def test_add_lands_inside_or_at_the_end_of_an_interval(cal: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    """For d > 0 the result r is in (s, e] of a working interval: the instant just before it is working."""
    result = add_business_time(cal, start, duration)
    assert is_working_time(cal, result - US)
    assert business_time_between(cal, start, result - US) == duration - US  # and no later than needed


@PROPERTY
@given(CALENDARS, INSTANTS, SPANS, SPANS)
def test_between_is_additive(cal: BusinessCalendar, a: datetime, ab: timedelta, bc: timedelta) -> None:
    a = a.astimezone(UTC)
    b, c = (a + ab).astimezone(NEW_YORK), (a + ab + bc).astimezone(TOKYO)
    assert business_time_between(cal, a, b) + business_time_between(cal, b, c) == business_time_between(cal, a, c)
    assert business_time_between(cal, c, a) == -business_time_between(cal, a, c)
    assert timedelta(0) <= business_time_between(cal, a, c) <= c.astimezone(UTC) - a


@PROPERTY
@given(CALENDARS, INSTANTS)
def test_is_working_time_agrees_with_next_working_instant(cal: BusinessCalendar, at: datetime) -> None:
    upcoming = next_working_instant(cal, at)
    assert upcoming >= at
    assert is_working_time(cal, upcoming)
    # Compared in UTC: == between zones is always False for a datetime in a DST fold (PEP 495).
    assert is_working_time(cal, at) == (upcoming == at.astimezone(UTC))
    assert business_time_between(cal, at, upcoming) == timedelta(0)


@PROPERTY
@given(CALENDARS, INSTANTS, st.integers(-10, 10))
def test_add_business_days_lands_on_working_time_or_a_day_end(cal: BusinessCalendar, start: datetime, days: int) -> None:
    begin = next_working_instant(cal, start)
    result = add_business_days(cal, start, days)
    assert is_working_time(cal, result) or is_working_time(cal, result - US)
    assert (result > begin) if days > 0 else (result <= begin)
