"""Durable timers: work due at an instant, kept as rows so it survives restarts.

``schedule`` writes (or moves) a timer in the caller's transaction, so a timer
exists exactly when the change that needs it was committed.  A timer has a
``kind`` — the name of the handler that does its work — and a ``key`` that makes
it unique within its kind (scheduling the same key again moves it).  Handlers
are registered by the modules that own the work (``@timer_handler("approval.expire")``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from xrm.context import Context
from xrm.db import dialect_insert
from xrm.errors import XrmError
from xrm.system_tables import timers


@dataclass(frozen=True)
class TimerCall:
    """What a handler gets: the transaction to work in, who acts (the scheduler), and the timer's payload.

    ``service`` is a record service for the current metadata (``xrm.runtime.records.RecordService``).
    """

    connection: Connection
    context: Context
    service: Any
    payload: Mapping[str, Any]


TimerHandler = Callable[[TimerCall], None]
_handlers: dict[str, TimerHandler] = {}


class UnknownTimerKind(XrmError):
    pass


class Postpone(Exception):  # noqa: N818 - a signal to the scheduler, not an error
    """Raised by a handler whose work is not due yet after all: the timer waits until ``due_at``."""

    def __init__(self, due_at: datetime) -> None:
        super().__init__(f"postponed to {due_at.isoformat()}")
        self.due_at = due_at


def timer_handler(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register the function doing the work of timers of ``kind``."""

    def register(handler: TimerHandler) -> TimerHandler:
        if kind in _handlers and _handlers[kind] is not handler:
            raise XrmError(f"timer kind '{kind}' already has a handler")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> TimerHandler:
    handler = _handlers.get(kind)
    if handler is None:
        raise UnknownTimerKind(f"no handler is registered for timers of kind '{kind}'")
    return handler


def schedule(connection: Connection, *, kind: str, key: str, due_at: datetime, payload: Mapping[str, Any],
             now: datetime) -> None:
    """Have ``kind`` run with ``payload`` at ``due_at``; the same (kind, key) again moves the timer."""
    insert_ = dialect_insert(connection)
    values = {"kind": kind, "key": key, "due_at": due_at, "payload": dict(payload), "status": "pending", "attempts": 0,
              "created_at": now}
    statement = insert_(timers).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[timers.c.kind, timers.c.key],
        set_={"due_at": due_at, "payload": dict(payload), "status": "pending", "attempts": 0, "last_error": None,
              "fired_at": None})
    connection.execute(statement)


def cancel(connection: Connection, *, kind: str, key: str) -> None:
    """Drop the timer if it has not fired."""
    connection.execute(delete(timers).where(timers.c.kind == kind, timers.c.key == key, timers.c.status == "pending"))


def pending(connection: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
    statement = select(timers).where(timers.c.status == "pending").order_by(timers.c.due_at, timers.c.id)
    if kind is not None:
        statement = statement.where(timers.c.kind == kind)
    return [dict(r) for r in connection.execute(statement).mappings()]


def mark(connection: Connection, timer_id: int, **values: Any) -> None:
    connection.execute(update(timers).where(timers.c.id == timer_id).values(**values))
