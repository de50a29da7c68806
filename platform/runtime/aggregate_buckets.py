"""Date buckets of dashboard groupings: the SQL that puts a date or instant in its period, on each database.

Each bucket gives, in SQL, the first day of the period as text ``YYYY-MM-DD``
(instants in UTC), and in Python the same start, the next period's start,
and labels.  Weeks start on Monday (ISO 8601).

Example: 2026-01-08T15:00Z by ``week`` → ``'2026-01-05'``; its records are
``created_at >= 2026-01-05T00:00:00Z and created_at < 2026-01-12T00:00:00Z``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

#: value SQL, whether it is an instant → the bucket start as 'YYYY-MM-DD'
SqlBucket = Callable[[ColumnElement[Any], bool], ColumnElement[str]]


@dataclass(frozen=True)
class Bucket:
    name: str
    start: Callable[[date], date]
    following: Callable[[date], date]
    label: Callable[[date], str]
    short: Callable[[date], str]
    sql: dict[str, SqlBucket]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _pg(unit: str) -> SqlBucket:
    def build(value: ColumnElement[Any], instant: bool) -> ColumnElement[str]:
        moment = func.timezone("UTC", value) if instant else cast(value, DateTime())
        return func.to_char(func.date_trunc(literal(unit), moment), literal("YYYY-MM-DD"))
    return build


def _sqlite_quarter(value: ColumnElement[Any], instant: bool) -> ColumnElement[str]:
    month = cast(func.strftime("%m", value), Integer)
    return func.printf("%s-%02d-01", func.strftime("%Y", value), ((month - 1) // 3) * 3 + 1)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


BUCKETS: dict[str, Bucket] = {}


def register_bucket(bucket: Bucket) -> None:
    assert bucket.name not in BUCKETS, f"bucket {bucket.name!r} is registered twice"
    BUCKETS[bucket.name] = bucket


for _bucket in (
    Bucket("day", lambda d: d, lambda d: d + timedelta(days=1),
           lambda d: f"{d.day} {d:%b %Y}", lambda d: f"{d.day} {d:%b}",
           {"sqlite": lambda v, _i: func.date(v), "postgresql": _pg("day")}),
    Bucket("week", lambda d: d - timedelta(days=d.weekday()), lambda d: d + timedelta(days=7),
           lambda d: f"Week of {d.day} {d:%b %Y}", lambda d: f"{d.day} {d:%b}",
           {"sqlite": lambda v, _i: func.date(v, "-6 days", "weekday 1"), "postgresql": _pg("week")}),
    Bucket("month", lambda d: d.replace(day=1), lambda d: _add_months(d, 1),
           lambda d: f"{d:%B %Y}", lambda d: f"{d:%b %Y}",
           {"sqlite": lambda v, _i: func.strftime("%Y-%m-01", v), "postgresql": _pg("month")}),
    Bucket("quarter", _quarter_start, lambda d: _add_months(d, 3),
           lambda d: f"Q{(d.month - 1) // 3 + 1} {d.year}", lambda d: f"Q{(d.month - 1) // 3 + 1} {d.year}",
           {"sqlite": _sqlite_quarter, "postgresql": _pg("quarter")}),
    Bucket("year", lambda d: date(d.year, 1, 1), lambda d: date(d.year + 1, 1, 1),
           lambda d: str(d.year), lambda d: str(d.year),
           {"sqlite": lambda v, _i: func.strftime("%Y-01-01", v), "postgresql": _pg("year")}),
):
    register_bucket(_bucket)


def bucket_sql(name: str, value: ColumnElement[Any], instant: bool, dialect: str) -> ColumnElement[str]:
    """The SQL giving the start of ``value``'s period as 'YYYY-MM-DD' on ``dialect``."""
    return BUCKETS[name].sql[dialect](value, instant)
