"""The scheduler: fires every timer that is due, each exactly once, in its own transaction.

A timer's work and the mark that it fired commit together, so a crash in the
middle leaves the timer due (it runs again, its half-done work rolled back) and
a finished timer never runs again.  Several schedulers may run against one
PostgreSQL: each claims a due row with ``FOR UPDATE SKIP LOCKED``, so they share
the work without doing any of it twice.  On SQLite the write lock taken at the
start of every transaction serializes them.

A handler that fails is retried with growing delays and, after
``MAX_ATTEMPTS``, parked as ``failed`` with its error, for someone to look at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from xrm.context import Actor, Context, utc_now
from xrm.rules.timers import TimerCall, handler_for, mark
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.system_tables import timers

MAX_ATTEMPTS = 5
#: Delay before the n-th retry: 1, 2, 4, 8 minutes.
RETRY_BASE = timedelta(minutes=1)


@dataclass(frozen=True)
class TickResult:
    fired: int = 0
    retried: int = 0
    failed: int = 0


def _load_handlers() -> None:
    """Import the modules that register timer handlers."""
    import xrm.runtime.approvals  # noqa: F401


def tick(engine: Engine, now: datetime | None = None, *, limit: int = 1000,
         catalog: CatalogCache | None = None) -> TickResult:
    """Fire every timer due at ``now`` (default: the clock), at most ``limit`` of them."""
    _load_handlers()
    now = now or utc_now()
    catalog = catalog or CatalogCache(engine)
    context = Context(Actor.system("scheduler"), "scheduler", now)
    fired = retried = failed = 0
    for _ in range(limit):
        with engine.begin() as connection:
            row = connection.execute(
                select(timers).where(timers.c.status == "pending", timers.c.due_at <= now)
                .order_by(timers.c.due_at, timers.c.id).limit(1).with_for_update(skip_locked=True)
            ).mappings().first()
            if row is None:
                break
            attempts = row["attempts"] + 1
            try:
                with connection.begin_nested():
                    service = RecordService(catalog.model_for(connection))
                    handler_for(row["kind"])(TimerCall(connection, context, service, row["payload"]))
            except Exception as error:  # noqa: BLE001 - any failure of a handler is recorded on its timer
                message = f"{type(error).__name__}: {error}"
                if attempts >= MAX_ATTEMPTS:
                    mark(connection, row["id"], status="failed", attempts=attempts, last_error=message)
                    failed += 1
                else:
                    mark(connection, row["id"], attempts=attempts, last_error=message,
                         due_at=now + RETRY_BASE * 2 ** (attempts - 1))
                    retried += 1
                continue
            mark(connection, row["id"], status="fired", attempts=attempts, fired_at=now, last_error=None)
            fired += 1
    return TickResult(fired, retried, failed)


def run(engine: Engine, *, interval: float = 5.0, ticks: int | None = None) -> None:
    """Tick every ``interval`` seconds (forever, or ``ticks`` times)."""
    catalog = CatalogCache(engine)
    done = 0
    while ticks is None or done < ticks:
        tick(engine, catalog=catalog)
        done += 1
        if ticks is None or done < ticks:
            time.sleep(interval)
