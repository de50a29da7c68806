"""Time field types: date, datetime, duration."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date
from sqlalchemy.types import TypeEngine

from xrm.metadata.durations import format_duration, parse_duration
from xrm.metadata.fieldtypes.base import FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import register_field_type
from xrm.metadata.model import Field
from xrm.metadata.sqltypes import UTCDateTime


@register_field_type
class DateType(FieldType):
    name = "date"
    label = "Date"
    value_type = "date"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return Date()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, datetime):
            raise FieldValueError("expected a date without a time", "type")
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise FieldValueError(f"expected a date like 2026-06-01, found {value!r}", "type")

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else value.isoformat()

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


@register_field_type
class DateTimeType(FieldType):
    name = "datetime"
    label = "Date and time"
    value_type = "datetime"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return UTCDateTime()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                raise FieldValueError(
                    f"expected a date and time like 2026-06-01T09:30:00+02:00, found {text!r}", "type"
                ) from None
        if not isinstance(value, datetime):
            raise FieldValueError(f"expected a date and time, found {value!r}", "type")
        if value.tzinfo is None:
            raise FieldValueError("a date and time needs a time zone offset (e.g. +02:00 or Z)", "needs_time_zone")
        return value

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else value.isoformat(timespec="minutes")

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


@register_field_type
class DurationType(FieldType):
    """A length of time, stored as whole seconds."""

    name = "duration"
    label = "Duration"
    value_type = "duration"

    def column_type(self, field: Field) -> TypeEngine[Any]:
        return BigInteger()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise FieldValueError(str(exc), "type") from None
        raise FieldValueError(f"expected a duration like 4h or 3d, found {value!r}", "type")

    def display(self, value: Any, field: Field) -> str:
        return "" if value is None else format_duration(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "integer", "description": "seconds"}
