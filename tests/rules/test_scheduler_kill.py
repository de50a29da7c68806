"""A scheduler killed with SIGKILL mid-run loses and repeats nothing: every timer fires exactly once.

Two worker processes share the due timers on PostgreSQL; one is killed while it
holds a batch, a fresh one takes over, and the side effects (one row per timer,
unique) are counted afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from xrm.db import make_engine
from xrm.migrate import upgrade
from xrm.rules import scheduler
from xrm.rules.timers import TimerCall, timer_handler
from xrm.system_tables import timers

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
COUNT = 1500
side = MetaData()
effects = Table("kill_test_effects", side, Column("key", String(64), primary_key=True), Column("pid", Integer))


@timer_handler("test.kill")
def _effect(call: TimerCall) -> None:
    call.connection.execute(insert(effects).values(key=call.payload["key"], pid=os.getpid()))
    time.sleep(0.002)  # long enough that the kill lands inside a batch


def _work(url: str) -> None:
    engine = make_engine(url)
    scheduler.tick(engine, NOW)
    engine.dispose()


def _wait_until_it_has_committed(engine, pid: int, seconds: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(select(func.count()).where(effects.c.pid == pid)).scalar_one():
                return
        time.sleep(0.01)
    raise AssertionError("the victim never committed a batch")


@pytest.mark.postgres
def test_killing_a_scheduler_mid_run_loses_and_repeats_nothing(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    side.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(timers), [
            {"kind": "test.kill", "key": f"k{i}", "due_at": NOW - timedelta(seconds=i), "payload": {"key": f"k{i}"},
             "status": "pending", "attempts": 0, "created_at": NOW} for i in range(COUNT)])
    forking = multiprocessing.get_context("fork")
    victim, survivor = (forking.Process(target=_work, args=(postgres_url,)) for _ in range(2))
    victim.start()
    survivor.start()
    _wait_until_it_has_committed(engine, victim.pid)  # then it is busy with its next batch
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    replacement = forking.Process(target=_work, args=(postgres_url,))
    replacement.start()
    survivor.join(60)
    replacement.join(60)
    assert victim.exitcode == -signal.SIGKILL
    scheduler.tick(engine, NOW)  # whatever the killed worker held is due again once its transaction died
    with engine.connect() as connection:
        done = connection.execute(select(func.count()).select_from(effects)).scalar_one()
        statuses = dict(connection.execute(select(timers.c.status, func.count()).group_by(timers.c.status)).all())
        attempts = connection.execute(select(func.max(timers.c.attempts))).scalar_one()
        by_victim = connection.execute(select(func.count()).where(effects.c.pid == victim.pid)).scalar_one()
    engine.dispose()
    assert 0 < by_victim < COUNT, "the kill must land while the victim is working"
    assert done == COUNT
    assert statuses == {"fired": COUNT}
    assert attempts == 1  # no timer ran twice: the killed batch was rolled back, not half-committed
