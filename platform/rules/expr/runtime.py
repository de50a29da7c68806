"""Helpers the compiled Python code calls; each implements one piece of the documented null semantics."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from xrm.rules.expr.types import DIVISION_SCALE

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(0, 19)}
_DIVISION_QUANTUM = _QUANTUM[DIVISION_SCALE]
SECONDS_PER_DAY = 86400


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only: what SQLite's lower() and LIKE do, so both compilations agree."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def ascii_upper(text: str) -> str:
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


def now_of(context: Mapping[str, Any] | None) -> datetime:
    """The evaluation instant: ``context["now"]`` when given (tests, rule replays), else the clock."""
    if context is not None:
        value = context.get("now")
        if value is not None:
            return value
    return datetime.now(UTC)


_TODAY: dict[datetime, date] = {}


def today_of(context: Mapping[str, Any] | None) -> date:
    """Today's date in UTC at the evaluation instant (memoised per instant: rules evaluate batches at one now)."""
    now = now_of(context)
    today = _TODAY.get(now)
    if today is None:
        if len(_TODAY) > 256:
            _TODAY.clear()
        today = _TODAY[now] = now.astimezone(UTC).date()
    return today


def ref_id(value: Any) -> Any:
    """A lookup's id, whether the record holds the id itself or the related record as a mapping."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def divide(a: Any, b: Any) -> Decimal | None:
    """``a / b`` as a decimal rounded half away from zero to DIVISION_SCALE places; null when b is 0."""
    if a is None or b is None or b == 0:
        return None
    try:
        return (a / Decimal(b) if type(a) is Decimal else Decimal(a) / b).quantize(_DIVISION_QUANTUM, ROUND_HALF_UP)
    except InvalidOperation:
        return None


def round_decimal(value: Any, places: int) -> Any:
    """Round half away from zero to ``places`` decimals (integers are already round)."""
    if isinstance(value, int):
        return value
    return Decimal(value).quantize(_QUANTUM[places], ROUND_HALF_UP)


def whole_days(seconds: int) -> int:
    """Whole days in a duration, truncated toward zero (as SQL integer division does)."""
    return seconds // SECONDS_PER_DAY if seconds >= 0 else -((-seconds) // SECONDS_PER_DAY)


def add_to_date(day: date, seconds: int) -> date:
    return day + timedelta(days=whole_days(seconds))


def add_to_datetime(instant: datetime, seconds: int) -> datetime:
    return instant + timedelta(seconds=seconds)


def seconds_between(later: datetime, earlier: datetime) -> int:
    """``later - earlier`` in whole seconds, truncated toward zero (exact: no float in between)."""
    span = later - earlier
    micros = (span.days * SECONDS_PER_DAY + span.seconds) * 1_000_000 + span.microseconds
    return micros // 1_000_000 if micros >= 0 else -((-micros) // 1_000_000)


def days_between(start: date, end: date) -> int:
    return (end - start).days


def least(*values: Any) -> Any:
    """The smallest non-null value (null only when all are null)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def greatest(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def concat(*values: Any) -> str:
    """Join texts; null counts as the empty text."""
    return "".join(v for v in values if v is not None)


def list_has(values: Any, item: Any) -> bool:
    """Membership in a multi-picklist value; a null list is the empty list."""
    return bool(values) and item in values


def list_empty(values: Any) -> bool:
    return not values


@lru_cache(maxsize=512)
def like_pattern(pattern: str) -> re.Pattern[str]:
    r"""A LIKE pattern as a regular expression: % any run, _ one character, \ escapes the next character."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL | re.IGNORECASE | re.ASCII)


def like(text: str, pattern: str) -> bool:
    return like_pattern(pattern).fullmatch(text) is not None


def changed(record: Mapping[str, Any], context: Mapping[str, Any] | None, name: str) -> bool:
    """True when ``name`` differs from ``context["previous"]`` (on create: when it has a value)."""
    previous = context.get("previous") if context is not None else None
    if previous is None:
        return record.get(name) is not None
    return previous.get(name) != record.get(name)


def previous(context: Mapping[str, Any] | None, name: str) -> Any:
    """The value ``name`` had before the change being processed (null on create)."""
    previous_record = context.get("previous") if context is not None else None
    return None if previous_record is None else previous_record.get(name)
