"""Durable timers and the scheduler: due work fires once, survives failures, is shared by several schedulers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from tests.conftest import PACKS_DIR
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.cli import main
from xrm.context import Actor, Context
from xrm.migrate import upgrade
from xrm.rules import scheduler
from xrm.rules.timers import TimerCall, cancel, schedule, timer_handler
from xrm.system_tables import timers

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
calls: list[tuple[str, dict]] = []
failures: dict[str, int] = {}


@timer_handler("test.record")
def _record(call: TimerCall) -> None:
    calls.append((call.context.source, dict(call.payload)))


@timer_handler("test.flaky")
def _flaky(call: TimerCall) -> None:
    left = failures.get(call.payload["name"], 0)
    if left:
        failures[call.payload["name"]] = left - 1
        raise RuntimeError("the mail server is down")
    calls.append(("flaky", dict(call.payload)))


@pytest.fixture
def migrated(engine: Engine) -> Iterator[Engine]:
    upgrade(engine)
    calls.clear()
    failures.clear()
    yield engine


def add(engine: Engine, key: str, due: datetime, kind: str = "test.record", **payload: object) -> None:
    with engine.begin() as connection:
        schedule(connection, kind=kind, key=key, due_at=due, payload={"key": key, **payload}, now=T0)


def rows(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {r["key"]: dict(r) for r in connection.execute(select(timers)).mappings()}


def test_a_timer_fires_when_due_and_never_again(migrated: Engine) -> None:
    add(migrated, "a", T0 + timedelta(hours=1))
    assert scheduler.tick(migrated, T0 + timedelta(minutes=59)).fired == 0
    assert scheduler.tick(migrated, T0 + timedelta(hours=1)).fired == 1
    assert scheduler.tick(migrated, T0 + timedelta(days=9)).fired == 0
    assert calls == [("scheduler", {"key": "a"})]
    assert rows(migrated)["a"]["status"] == "fired" and rows(migrated)["a"]["fired_at"] == T0 + timedelta(hours=1)


def test_due_timers_fire_in_order_and_later_ones_wait(migrated: Engine) -> None:
    for key, hours in (("late", 5), ("first", 1), ("second", 2)):
        add(migrated, key, T0 + timedelta(hours=hours))
    assert scheduler.tick(migrated, T0 + timedelta(hours=3)).fired == 2
    assert [p["key"] for _, p in calls] == ["first", "second"]


def test_scheduling_the_same_key_again_moves_the_timer(migrated: Engine) -> None:
    add(migrated, "k", T0 + timedelta(hours=1))
    add(migrated, "k", T0 + timedelta(hours=3), note="moved")
    assert scheduler.tick(migrated, T0 + timedelta(hours=2)).fired == 0
    assert scheduler.tick(migrated, T0 + timedelta(hours=3)).fired == 1
    assert calls == [("scheduler", {"key": "k", "note": "moved"})]


def test_a_cancelled_timer_does_not_fire(migrated: Engine) -> None:
    add(migrated, "gone", T0)
    with migrated.begin() as connection:
        cancel(connection, kind="test.record", key="gone")
    assert scheduler.tick(migrated, T0 + timedelta(days=1)).fired == 0 and calls == []


def test_a_failing_handler_is_retried_later_and_parked_after_the_last_attempt(migrated: Engine) -> None:
    failures["once"] = 1
    failures["always"] = 99
    add(migrated, "once", T0, kind="test.flaky", name="once")
    add(migrated, "always", T0, kind="test.flaky", name="always")
    first = scheduler.tick(migrated, T0)
    assert (first.fired, first.retried) == (0, 2)
    assert rows(migrated)["once"]["last_error"] == "RuntimeError: the mail server is down"
    moment = T0
    for _ in range(scheduler.MAX_ATTEMPTS):
        moment += timedelta(hours=1)
        scheduler.tick(migrated, moment)
    assert rows(migrated)["once"]["status"] == "fired" and rows(migrated)["once"]["attempts"] == 2
    assert rows(migrated)["always"]["status"] == "failed"
    assert rows(migrated)["always"]["attempts"] == scheduler.MAX_ATTEMPTS
    assert calls == [("flaky", {"key": "once", "name": "once"})]


def test_concurrent_schedulers_fire_each_timer_exactly_once(migrated: Engine) -> None:
    for index in range(40):
        add(migrated, f"t{index:02d}", T0 + timedelta(seconds=index))
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        scheduler.tick(migrated, T0 + timedelta(hours=1))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p["key"] for _, p in calls) == [f"t{index:02d}" for index in range(40)]
    assert {r["status"] for r in rows(migrated).values()} == {"fired"}


def test_cli_tick_with_now(migrated: Engine, database_url: str) -> None:
    add(migrated, "cli", T0)
    result = CliRunner().invoke(main, ["--database-url", database_url, "scheduler", "tick", "--now", "2026-12-01T09:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "fired 1, retrying 0, failed 0"
    bad = CliRunner().invoke(main, ["--database-url", database_url, "scheduler", "tick", "--now", "tomorrow"])
    assert bad.exit_code == 2 and "is not an instant" in bad.output


def test_approval_expiry_is_a_timer_the_scheduler_fires(engine: Engine) -> None:
    from xrm.runtime import approvals
    from xrm.runtime.catalog_cache import CatalogCache
    from xrm.runtime.records import RecordService
    from xrm.runtime.users import add_user
    from xrm.runtime.workflows import WorkflowRuntime

    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    with engine.begin() as connection:
        rep = add_user(connection, "chan", now=T0, roles=["channel_rep"])
        add_user(connection, "pm", now=T0, roles=["partner_manager"])
    service = RecordService(CatalogCache(engine).model())
    admin = Context(Actor.system("admin"), "api", T0)
    chan = Context(Actor("chan", rep, frozenset({"channel_rep"})), "api", T0)
    with engine.begin() as connection:
        partner = service.create(connection, admin, "partner", {"name": "Reseller"})
        deal = service.create(connection, chan, "deal_registration", {
            "name": "Deal", "partner": partner["id"], "prospect_company": "Prospect", "estimated_amount": "100",
            "expected_close_date": "2027-01-31", "submitted_at": "2026-12-01T08:00:00Z"})
        taken = WorkflowRuntime(service).take(connection, chan, "deal_registration", deal["id"], "submit")
    assert taken.approval is not None and taken.record["status"] == "submitted"
    assert scheduler.tick(engine, T0 + timedelta(days=4)).fired == 0
    assert scheduler.tick(engine, T0 + timedelta(days=5)).fired == 1
    with engine.connect() as connection:
        assert service.stored_record(connection, "deal_registration", deal["id"])["status"] == "draft"
        assert approvals.pending_request(connection, "deal_registration", deal["id"]) is None
