"""The scheduler: fires every timer that is due, each exactly once.

Due timers are claimed in batches; each runs in a savepoint of the batch's
transaction, and its work and the mark that it fired commit together.  A crash
in the middle rolls the batch back (its timers stay due, their half-done work
undone), and a fired timer never runs again.  Several schedulers may run against one
PostgreSQL: each claims a due row with ``FOR UPDATE SKIP LOCKED``, so they share
the work without doing any of it twice.  On SQLite the write lock taken at the
start of every transaction serializes them.

A handler that fails is retried with growing delays and, after
``MAX_ATTEMPTS``, parked as ``failed`` with its error, for someone to look at.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from xrm.context import Actor, Context, utc_now
from xrm.rules.engine import RulesEngine
from xrm.rules.time_triggers import ensure_schedules
from xrm.rules.timers import Postpone, TimerCall, handler_for, mark
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.system_tables import timers

MAX_ATTEMPTS = 5
#: Timers claimed (and committed) together: fewer commits, and a crash re-runs at most one batch's work.
BATCH = 50
#: Delay before the n-th retry: 1, 2, 4, 8 minutes.
RETRY_BASE = timedelta(minutes=1)


@dataclass(frozen=True)
class TickResult:
    fired: int = 0
    retried: int = 0
    failed: int = 0


def _load_handlers() -> None:
    """Import the modules that register timer handlers."""
    import xrm.rules.handlers  # noqa: F401
    import xrm.runtime.approvals  # noqa: F401


def tick(engine: Engine, now: datetime | None = None, *, limit: int | None = None,
         catalog: CatalogCache | None = None) -> TickResult:
    """Fire every timer due at ``now`` (default: the clock), all of them or at most ``limit``."""
    _load_handlers()
    now = now or utc_now()
    catalog = catalog or CatalogCache(engine)
    context = Context(Actor.system("scheduler"), "scheduler", now)
    outcomes: Counter[str] = Counter()
    with engine.begin() as connection:  # scheduled rules always have their next run booked
        ensure_schedules(connection, RulesEngine(RecordService(catalog.model_for(connection))).ruleset.scheduled, now)
    while limit is None or outcomes.total() < limit:
        batch = BATCH if limit is None else min(BATCH, limit - outcomes.total())
        with engine.begin() as connection:
            due = connection.execute(
                select(timers).where(timers.c.status == "pending", timers.c.due_at <= now)
                .order_by(timers.c.due_at, timers.c.id).limit(batch).with_for_update(skip_locked=True)
            ).mappings().all()
            if not due:
                break
            service = RecordService(catalog.model_for(connection))
            for row in due:
                outcomes[_fire(connection, context, service, dict(row), now)] += 1
    return TickResult(outcomes["fired"], outcomes["retried"], outcomes["failed"])


def _fire(connection: Any, context: Context, service: RecordService, row: dict[str, Any], now: datetime) -> str:
    """Run one timer's handler in a savepoint and record the outcome on the timer (same transaction)."""
    attempts = row["attempts"] + 1
    try:
        with connection.begin_nested():
            handler_for(row["kind"])(TimerCall(connection, context, service, row["payload"]))
    except Postpone as postponed:
        mark(connection, row["id"], due_at=postponed.due_at)
        return "postponed"
    except Exception as error:  # noqa: BLE001 - any failure of a handler is recorded on its timer
        message = f"{type(error).__name__}: {error}"
        if attempts >= MAX_ATTEMPTS:
            mark(connection, row["id"], status="failed", attempts=attempts, last_error=message)
            return "failed"
        mark(connection, row["id"], attempts=attempts, last_error=message, due_at=now + RETRY_BASE * 2 ** (attempts - 1))
        return "retried"
    mark(connection, row["id"], status="fired", attempts=attempts, fired_at=now, last_error=None)
    return "fired"


def run(engine: Engine, *, interval: float = 5.0, ticks: int | None = None) -> None:
    """Tick every ``interval`` seconds (forever, or ``ticks`` times)."""
    catalog = CatalogCache(engine)
    done = 0
    while ticks is None or done < ticks:
        tick(engine, catalog=catalog)
        done += 1
        if ticks is None or done < ticks:
            time.sleep(interval)
