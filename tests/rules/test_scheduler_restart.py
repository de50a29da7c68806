"""Time rules survive a scheduler that is down: what came due meanwhile fires when it is back, once.

Cases are opened while no scheduler runs; a scheduler process started hours
later (``xrm scheduler tick --now``) escalates every one whose first-response
SLA ran out, and a second one finds nothing left to do.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from tests.conftest import PACKS_DIR
from xrm.bootstrap import prepare_database
from xrm.context import Actor, Context
from xrm.rules.scheduler import tick
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.system_tables import rule_trace, timers

OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin: inside the support hours
BACK = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
CASES = 40


def _tick(url: str, now: datetime) -> str:
    xrm = str(Path(sys.executable).with_name("xrm"))  # the console script installed beside this Python
    result = subprocess.run([xrm, "--database-url", url, "scheduler", "tick",
                             "--now", now.isoformat()], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_timers_due_while_the_scheduler_was_down_fire_when_it_comes_back(engine: Engine, database_url: str) -> None:
    prepare_database(engine, [PACKS_DIR / "crm", PACKS_DIR / "service"], Context(Actor.system("tests"), "cli"))
    assert tick(engine, OPENED).fired == 0  # the scheduler ran once, then went down
    cache = CatalogCache(engine)
    with engine.begin() as connection:
        service = RecordService(cache.model_for(connection))
        ids = [service.create(connection, Context(Actor.system("web form"), "api", OPENED), "case",
                              {"subject": f"Case {n}", "priority": "medium"})["id"] for n in range(CASES)]
        answered = ids[0]
        service.update(connection, Context(Actor.system("agent"), "api", OPENED), "case", answered,
                       {"first_response_at": OPENED.isoformat()})
    assert f"fired {CASES - 1}," in _tick(database_url, BACK)  # back a day later: everything overdue fires
    assert "fired 0," in _tick(database_url, BACK)  # and only once
    with engine.connect() as connection:
        service = RecordService(cache.model_for(connection))
        cases = [service.stored_record(connection, "case", i) for i in ids]
        breaches = connection.execute(select(func.count()).where(
            rule_trace.c.rule == "First response SLA breach", rule_trace.c.fired.is_(True))).scalar_one()
        left = connection.execute(select(func.count()).where(timers.c.status == "pending",
                                                              timers.c.kind == "rule.time")).scalar_one()
    assert breaches == CASES - 1 and left == 0
    assert cases[0]["status"] == "new" and cases[0]["priority"] == "medium"
    assert all(c["status"] == "escalated" and c["priority"] == "high" and c["sla_breached"] for c in cases[1:])
