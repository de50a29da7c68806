"""Time rules become timers that follow their record; the scheduler fires them once; scheduled rules run daily.

Every test gets a fresh database (the scheduler fires every due timer of the
database), on SQLite and PostgreSQL.  The service pack's SLA rule: 4 business
hours of the 'support' calendar (Europe/Berlin, Mon-Thu 08:00-18:00, Fri
08:00-16:00) after a case is created without a first response, it escalates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from tests.rules.engine_support import (  # noqa: F401 - fixtures
    LEAD,
    as_user,
    create,
    db_fixture,
    install_ops_pack,
    join,
    notifications_for,
    outbox_for,
    pack_service,
    postgres_template,
    queue_id,
    records,
    rule_timers,
    set_user,
    sqlite_template,
    stored,
    system,
    timers_of,
    trace,
    update_record,
)
from tests.runtime.conftest import Installed
from xrm.rules import scheduler
from xrm.rules.ruleset import OnSchedule
from xrm.rules.time_triggers import next_occurrence
from xrm.runtime.workflows import WorkflowRuntime
from xrm.system_tables import org_tables, pool_protections

#: Monday 5 January 2026, 09:00 in Berlin.
MONDAY_9 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SLA_RULE = "First response SLA breach"


def new_case(db: Installed, subject: str = "Server down", at: datetime = MONDAY_9, **values: object) -> dict:
    return create(db, pack_service(db), system(at), "case", {"subject": subject, "priority": "medium", **values})


def sla_timer(db: Installed, case_id: int, status: str | None = "pending") -> list[dict]:
    return timers_of(db, "case", case_id, status=status)


# -- timers follow the record ------------------------------------------------------------------


def test_a_new_case_gets_a_timer_at_four_business_hours(db: Installed) -> None:
    case = new_case(db)
    assert case["owner_queue_id"] == queue_id(db, "support")
    [timer] = sla_timer(db, case["id"])
    assert timer["due_at"] == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
    assert timer["payload"] == {"rule": f"service:{SLA_RULE}", "trigger": 0, "entity": "case", "record_id": case["id"]}


def test_the_sla_clock_stops_outside_business_hours(db: Installed) -> None:
    friday_3pm = datetime(2026, 1, 9, 14, 0, tzinfo=UTC)  # one hour left on Friday, three on Monday
    case = new_case(db, at=friday_3pm)
    [timer] = sla_timer(db, case["id"])
    assert timer["due_at"] == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # Monday 11:00 in Berlin


def test_a_first_response_cancels_the_timer(db: Installed) -> None:
    case = new_case(db)
    answered = MONDAY_9 + timedelta(hours=1)
    update_record(db, pack_service(db), system(answered), "case", case["id"], {"first_response_at": answered.isoformat()})
    assert sla_timer(db, case["id"], status=None) == []
    assert scheduler.tick(db.engine, MONDAY_9 + timedelta(days=1)).fired == 0
    assert stored(db, "case", case["id"])["status"] == "new"


def test_deleting_a_record_cancels_its_timers(db: Installed) -> None:
    case, other = new_case(db), new_case(db, subject="Still open")
    with db.engine.begin() as connection:
        pack_service(db).delete(connection, system(MONDAY_9 + timedelta(minutes=5)), "case", case["id"])
    assert sla_timer(db, case["id"], status=None) == []
    assert len(sla_timer(db, other["id"])) == 1
    assert scheduler.tick(db.engine, MONDAY_9 + timedelta(days=1)).fired == 1  # the other case only


# -- the scheduler fires them ------------------------------------------------------------------


def test_an_unanswered_case_escalates_once_when_its_timer_is_due(db: Installed) -> None:
    manager = db.seed.user_ids["manager"]
    join(db, "queue", "escalations", manager)
    set_user(db, manager, email="manager@example.com")
    case = new_case(db)
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 11, 59, tzinfo=UTC)).fired == 0
    assert stored(db, "case", case["id"])["status"] == "new"
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)).fired == 1
    escalated = stored(db, "case", case["id"])
    assert (escalated["priority"], escalated["status"], escalated["sla_breached"]) == ("high", "escalated", True)
    assert escalated["escalation_reason"] == "No first response within 4 business hours"
    assert (escalated["owner_id"], escalated["owner_queue_id"]) == (None, queue_id(db, "escalations"))
    [decision] = [d for d in trace(db, "case", case["id"]) if d["rule"] == SLA_RULE]
    assert decision["trigger"] == "4h after created_at in business hours of 'support'"
    assert decision["actor"] == "scheduler" and decision["fired"]
    assert [a["action"] for a in decision["actions"]] == ["set", "raise", "move_to_queue", "notify", "transition"]
    assert all(a["done"] for a in decision["actions"])
    subject = f'SLA breached: case {escalated["case_number"]} "Server down" has had no first response'
    [note] = notifications_for(db, manager)
    assert note["title"] == subject and escalated["case_number"] in note["body"]
    [mail] = outbox_for(db, manager)
    assert (mail["to_address"], mail["subject"]) == ("manager@example.com", subject)
    # exactly once
    assert scheduler.tick(db.engine, datetime(2026, 1, 6, 12, 0, tzinfo=UTC)).fired == 0
    assert len([d for d in trace(db, "case", case["id"]) if d["rule"] == SLA_RULE]) == 1
    assert stored(db, "case", case["id"])["priority"] == "high"
    assert len(notifications_for(db, manager)) == 1


def test_a_fired_sla_timer_does_not_fire_again_after_de_escalation(db: Installed) -> None:
    case = new_case(db, priority="low")
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)).fired == 1
    with db.engine.begin() as connection:
        WorkflowRuntime(pack_service(db)).take(connection, system(datetime(2026, 1, 5, 13, 0, tzinfo=UTC)), "case",
                                               case["id"], "de_escalate")
    assert stored(db, "case", case["id"])["status"] == "open"
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 14, 0, tzinfo=UTC)).fired == 0  # fires again: 1
    assert stored(db, "case", case["id"])["priority"] == "medium"  # raised a second time: 'high'
    assert [t["status"] for t in sla_timer(db, case["id"], status=None)] == ["fired"]


def test_open_cases_escalate_and_escalated_cases_lose_their_timer(db: Installed) -> None:
    case = new_case(db)
    agent = as_user(db, "agent", now=MONDAY_9 + timedelta(minutes=30))
    with db.engine.begin() as connection:
        claimed = pack_service(db).update(connection, agent, "case", case["id"],
                                          {"owner_id": db.seed.user_ids["agent"], "owner_queue_id": None})
        WorkflowRuntime(pack_service(db)).take(connection, agent, "case", claimed["id"], "accept")
    assert len(sla_timer(db, case["id"])) == 1  # still open and unanswered
    scheduler.tick(db.engine, datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    assert stored(db, "case", case["id"])["status"] == "escalated"  # 'open' cases escalate too
    resolved = new_case(db, subject="Quick fix")
    with db.engine.begin() as connection:
        WorkflowRuntime(pack_service(db)).take(connection, system(MONDAY_9), "case", resolved["id"], "escalate",
                                               {"escalation_reason": "customer is angry"})
    assert sla_timer(db, resolved["id"], status=None) == []  # escalated: the condition no longer holds


def test_a_timer_whose_due_moved_later_fires_at_the_new_instant(db: Installed) -> None:
    case = new_case(db)
    calendars = org_tables["business_calendar"]
    with db.engine.begin() as connection:  # Mondays now end at 10:00: 1h today, 3h on Tuesday
        connection.execute(update(calendars).where(calendars.c.name == "support").values(monday="08:00-10:00"))
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)).fired == 0  # came due: postponed
    assert stored(db, "case", case["id"])["status"] == "new"
    [timer] = sla_timer(db, case["id"], status=None)
    assert timer["due_at"] == datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    assert timer["status"] == "pending" and timer["attempts"] == 0
    scheduler.tick(db.engine, datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    assert stored(db, "case", case["id"])["status"] == "escalated"


# -- the crm pack's public pool ----------------------------------------------------------------


def test_unworked_leads_return_to_the_pool_and_the_last_owner_hears_of_it(db: Installed) -> None:
    rep1 = db.seed.user_ids["rep1"]
    service = pack_service(db)
    made = create(db, service, as_user(db, "rep1", now=MONDAY_9), "lead", {**LEAD, "last_name": "Idle"})
    assert made["owner_id"] == rep1 and made["last_activity_at"] == MONDAY_9
    [timer] = timers_of(db, "lead", made["id"])
    assert timer["due_at"] == MONDAY_9 + timedelta(days=30)
    # activity moves the clock: the timer follows its anchor
    touched = MONDAY_9 + timedelta(days=10)
    with db.engine.begin() as connection:  # read-only: the platform keeps it (as an activity would)
        service.update(connection, system(touched), "lead", made["id"], {}, system_values={"last_activity_at": touched})
    [timer] = timers_of(db, "lead", made["id"])
    assert timer["due_at"] == touched + timedelta(days=30)
    assert scheduler.tick(db.engine, MONDAY_9 + timedelta(days=31)).fired == 0
    assert scheduler.tick(db.engine, touched + timedelta(days=30)).fired == 1
    pooled = stored(db, "lead", made["id"])
    assert (pooled["owner_id"], pooled["owner_queue_id"]) == (None, queue_id(db, "lead_pool"))
    [decision] = [d for d in trace(db, "lead", made["id"]) if d["rule"] == "Return unworked leads to the public pool"]
    assert decision["actions"][0]["summary"].startswith("returned to the pool 'Lead Pool'; Rep1 may not claim it again")
    [note] = notifications_for(db, rep1)
    assert note["title"] == "Lead Idle went back to the pool after 30 days without activity"
    with db.engine.connect() as connection:
        [protection] = connection.execute(pool_protections.select().where(
            pool_protections.c.record_id == made["id"])).mappings().all()
    assert protection["user_id"] == rep1 and protection["until"] == touched + timedelta(days=37)


def test_a_condition_turning_false_cancels_the_timer(db: Installed) -> None:
    service = pack_service(db)
    made = create(db, service, as_user(db, "rep1", now=MONDAY_9), "lead", {**LEAD, "last_name": "Nurtured"})
    assert len(timers_of(db, "lead", made["id"])) == 1
    with db.engine.begin() as connection:
        WorkflowRuntime(service).take(connection, system(MONDAY_9 + timedelta(days=1)), "lead", made["id"], "nurture")
    assert timers_of(db, "lead", made["id"], status=None) == []  # nurturing is not 'new' or 'working'


# -- scheduled rules ---------------------------------------------------------------------------

DAILY = """
rule "Daily nudge" on chore
  when every day at 08:00
  if stage = 'todo' and note = 'daily'
  then set counter = coalesce(counter, 0) + 1
"""


def test_a_scheduled_rule_runs_on_the_records_it_selects_and_books_its_next_run(db: Installed, tmp_path: Path) -> None:
    install_ops_pack(db, tmp_path, {"daily.rules": DAILY})
    service = pack_service(db)
    selected = create(db, service, system(), "chore", {"title": "Water the plants", "note": "daily"})
    other = create(db, service, system(), "chore", {"title": "Once", "note": "once"})
    seven = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    assert scheduler.tick(db.engine, seven).fired == 0
    [booked] = rule_timers(db, kind="rule.schedule")
    assert booked["due_at"] == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 8, 0, tzinfo=UTC)).fired == 1
    assert stored(db, "chore", selected["id"])["counter"] == 1 and stored(db, "chore", other["id"])["counter"] is None
    [next_run] = rule_timers(db, kind="rule.schedule")
    assert next_run["due_at"] == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
    assert scheduler.tick(db.engine, datetime(2026, 1, 5, 20, 0, tzinfo=UTC)).fired == 0
    assert scheduler.tick(db.engine, datetime(2026, 1, 6, 8, 0, tzinfo=UTC)).fired == 1
    assert stored(db, "chore", selected["id"])["counter"] == 2
    decisions = trace(db, "chore", selected["id"])
    assert [d["trigger"] for d in decisions] == ["every day at 08:00 (UTC)"] * 2
    assert decisions[0]["summary"].startswith("set counter = 1 — by rule \"Daily nudge\"")
    assert trace(db, "chore", other["id"]) == []
    assert [r["title"] for r in records(db, "chore", counter=2)] == ["Water the plants"]


def test_schedules_in_a_time_zone_and_on_weekdays() -> None:
    weekday_berlin = OnSchedule("weekday", "08:00", "Europe/Berlin", None)
    friday_noon = datetime(2026, 1, 9, 11, 0, tzinfo=UTC)
    assert next_occurrence(weekday_berlin, friday_noon) == datetime(2026, 1, 12, 7, 0, tzinfo=UTC)  # Monday 08:00 CET
    summer = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert next_occurrence(weekday_berlin, summer) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # CEST
    assert next_occurrence(OnSchedule("sunday", "23:30", "UTC", None), friday_noon) == \
        datetime(2026, 1, 11, 23, 30, tzinfo=UTC)
    assert next_occurrence(OnSchedule(None, None, "UTC", 900), friday_noon) == friday_noon + timedelta(minutes=15)


def test_a_time_rule_with_nobody_to_notify_still_fires(db: Installed) -> None:
    case = new_case(db)
    scheduler.tick(db.engine, datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    [decision] = [d for d in trace(db, "case", case["id"]) if d["rule"] == SLA_RULE]
    [notify] = [a for a in decision["actions"] if a["action"] == "notify"]
    assert notify == {"action": "notify", "summary": "nobody to notify: owner.manager, escalations", "done": False,
                      "detail": {}}
