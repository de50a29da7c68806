"""Time field types: date, datetime (and its UTCDateTime column), duration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Date, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from xrm.db import make_engine
from xrm.metadata.fieldtypes import FieldValueError, get_field_type
from xrm.metadata.model import Field
from xrm.metadata.sqltypes import UTCDateTime

PARIS_SUMMER = timezone(timedelta(hours=2))
NEWFOUNDLAND = timezone(timedelta(hours=-3, minutes=-30))


def make_field(type_name: str, **attributes: Any) -> Field:
    return Field(name="f", type=type_name, label="F", **attributes)


def coerce(type_name: str, value: Any) -> Any:
    return get_field_type(type_name).coerce(value, make_field(type_name))


def coerce_error(type_name: str, value: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        coerce(type_name, value)
    return info.value


@pytest.mark.parametrize("type_name", ["date", "datetime", "duration"])
@pytest.mark.parametrize("blank", [None, "", "  "])
def test_blank_input_is_none(type_name: str, blank: Any) -> None:
    assert coerce(type_name, blank) is None


@pytest.mark.parametrize(
    ("type_name", "column_class", "schema", "value_type"),
    [
        ("date", Date, {"type": "string", "format": "date"}, "date"),
        ("datetime", UTCDateTime, {"type": "string", "format": "date-time"}, "datetime"),
        ("duration", BigInteger, {"type": "integer", "description": "seconds"}, "duration"),
    ],
)
def test_column_schema_and_value_type(type_name: str, column_class: type, schema: dict[str, Any], value_type: str) -> None:
    field_type, field = get_field_type(type_name), make_field(type_name)
    assert isinstance(field_type.column_type(field), column_class)
    assert field_type.json_schema(field) == schema
    assert field_type.value_type_of(field) == value_type


# --- date --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2026-06-01", date(2026, 6, 1)),
        ("  2024-02-29 ", date(2024, 2, 29)),
        (date(2026, 1, 31), date(2026, 1, 31)),
    ],
)
def test_date_coerce(value: Any, stored: date) -> None:
    result = coerce("date", value)
    assert result == stored
    assert type(result) is date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime(2026, 6, 1, 9, 30), "expected a date without a time"),
        (datetime(2026, 6, 1, tzinfo=UTC), "expected a date without a time"),
        ("2026-06-01T09:30:00", "expected a date like 2026-06-01, found '2026-06-01T09:30:00'"),
        ("2023-02-29", "expected a date like 2026-06-01, found '2023-02-29'"),
        ("01/06/2026", "expected a date like 2026-06-01, found '01/06/2026'"),
        ("tomorrow", "expected a date like 2026-06-01, found 'tomorrow'"),
        (20260601, "expected a date like 2026-06-01, found 20260601"),
    ],
)
def test_date_coerce_refuses(value: Any, message: str) -> None:
    error = coerce_error("date", value)
    assert (error.code, error.message) == ("type", message)


@pytest.mark.parametrize(("value", "shown"), [(None, ""), (date(2026, 6, 1), "2026-06-01")])
def test_date_display(value: Any, shown: str) -> None:
    assert get_field_type("date").display(value, make_field("date")) == shown


# --- datetime ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored", "offset"),
    [
        ("2026-06-01T09:30:00Z", datetime(2026, 6, 1, 9, 30, tzinfo=UTC), timedelta(0)),
        ("2026-06-01T09:30:00z", datetime(2026, 6, 1, 9, 30, tzinfo=UTC), timedelta(0)),
        (" 2026-06-01T09:30:00+02:00 ", datetime(2026, 6, 1, 7, 30, tzinfo=UTC), timedelta(hours=2)),
        (
            "2026-06-01T09:30:00.250-03:30",
            datetime(2026, 6, 1, 13, 0, 0, 250000, tzinfo=UTC),
            timedelta(hours=-3, minutes=-30),
        ),
        (datetime(2026, 6, 1, 9, 30, tzinfo=PARIS_SUMMER), datetime(2026, 6, 1, 7, 30, tzinfo=UTC), timedelta(hours=2)),
    ],
)
def test_datetime_coerce_keeps_the_instant_and_its_offset(value: Any, stored: datetime, offset: timedelta) -> None:
    result = coerce("datetime", value)
    assert result == stored
    assert result.utcoffset() == offset


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-06-01T09:30:00", "needs_time_zone"),
        ("2026-06-01", "needs_time_zone"),  # midnight, but still no offset
        (datetime(2026, 6, 1, 9, 30), "needs_time_zone"),
        ("2026-06-01 9:30", "type"),
        ("next tuesday", "type"),
        ("Z", "type"),
        (date(2026, 6, 1), "type"),
        (1780000000, "type"),
    ],
)
def test_datetime_coerce_refuses(value: Any, code: str) -> None:
    assert coerce_error("datetime", value).code == code


def test_datetime_without_time_zone_says_how_to_give_one() -> None:
    assert coerce_error("datetime", "2026-06-01T09:30:00").message == (
        "a date and time needs a time zone offset (e.g. +02:00 or Z)"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, ""),
        (datetime(2026, 6, 1, 9, 30, 59, tzinfo=UTC), "2026-06-01T09:30+00:00"),
        (datetime(2026, 6, 1, 9, 30, tzinfo=PARIS_SUMMER), "2026-06-01T09:30+02:00"),
    ],
)
def test_datetime_display(value: Any, shown: str) -> None:
    assert get_field_type("datetime").display(value, make_field("datetime")) == shown


@pytest.fixture
def instants(tmp_path: Path) -> Iterator[tuple[Engine, Table]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'instants.db'}")
    table = Table("instants", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    try:
        yield engine, table
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 6, 1, 9, 30, tzinfo=PARIS_SUMMER),
        datetime(2026, 1, 1, 0, 15, 0, 123456, tzinfo=NEWFOUNDLAND),  # crosses the date line into UTC
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_utc_datetime_round_trip_on_sqlite(instants: tuple[Engine, Table], instant: datetime) -> None:
    engine, table = instants
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=instant))
    with engine.connect() as conn:
        stored = conn.execute(select(table.c.at)).scalar_one()
    assert stored == instant
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.replace(tzinfo=None) == instant.astimezone(UTC).replace(tzinfo=None)


def test_utc_datetime_null_round_trip(instants: tuple[Engine, Table]) -> None:
    engine, table = instants
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=None))
    with engine.connect() as conn:
        assert conn.execute(select(table.c.at)).scalar_one() is None


def test_utc_datetime_refuses_naive_values(instants: tuple[Engine, Table]) -> None:
    engine, table = instants
    with pytest.raises(StatementError) as info, engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=datetime(2026, 6, 1, 9, 30)))
    assert isinstance(info.value.orig, ValueError)
    assert "needs a time zone" in str(info.value.orig)
    with engine.connect() as conn:
        assert conn.execute(select(table.c.id)).all() == []


# --- duration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("1d 4h", 100800),
        ("30m", 1800),
        ("2w", 1209600),
        ("1h30m", 5400),
        (" 4H ", 14400),
        ("-15m", -900),
        ("0m", 0),
        (90, 90),
        (0, 0),
        (timedelta(hours=1, minutes=1), 3660),
        (timedelta(seconds=1.9), 1),  # whole seconds
    ],
)
def test_duration_coerce(value: Any, stored: int) -> None:
    result = coerce("duration", value)
    assert result == stored
    assert type(result) is int


@pytest.mark.parametrize("value", ["4", "4x", "h", "1d and 4h", "1d-4h", "soon", 1.5, True, [60]])
def test_duration_coerce_refuses(value: Any) -> None:
    assert coerce_error("duration", value).code == "type"


def test_duration_error_gives_examples() -> None:
    assert coerce_error("duration", "4x").message == "'4x' is not a duration (examples: 30m, 4h, 3d, 2w, 1d 4h)"


@pytest.mark.parametrize(("value", "shown"), [(None, ""), (0, "0m"), (100800, "1d 4h"), (5400, "1h 30m"), (-900, "-15m")])
def test_duration_display(value: Any, shown: str) -> None:
    assert get_field_type("duration").display(value, make_field("duration")) == shown


@pytest.mark.parametrize(
    ("type_name", "default", "summary"),
    [("duration", "90m", "default 1h 30m"), ("date", "2026-06-01", "default 2026-06-01"), ("date", "soon", "default 'soon'")],
)
def test_summary_shows_the_default(type_name: str, default: Any, summary: str) -> None:
    assert get_field_type(type_name).summary(make_field(type_name, default=default)) == summary
