"""The rules engine inside the record service's write: order, stop, cascades, loops, refusals, triggers, explain.

Each test runs rules of its own (``service_with``) on a database shared by the
module (per backend) and looks only at the records it makes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.rules.engine_support import (  # noqa: F401 - fixtures
    LEAD,
    NOW,
    as_user,
    create,
    module_db_fixture,
    notifications_for,
    postgres_template,
    records,
    service_with,
    sqlite_template,
    stored,
    summaries,
    system,
    trace,
    trace_count,
    update_record,
)
from tests.runtime.conftest import Installed
from xrm.rules.engine import MAX_CASCADE, RuleFailed, RuleLoop
from xrm.runtime.record_errors import Invalid
from xrm.runtime.workflows import WorkflowRuntime
from xrm.system_tables import audit_log


def lead(**values: object) -> dict:
    return {**LEAD, **values}


# -- order, stop and cascades ------------------------------------------------------------------

ORDERED = """
rule "low" when lead created if last_name = 'Order'
  then set description = concat(coalesce(description, ''), 'low;')
rule "five first" priority 5 when lead created if last_name = 'Order'
  then set description = concat(coalesce(description, ''), 'five-first;')
rule "a five second" priority 5 when lead created if last_name = 'Order'
  then set description = concat(coalesce(description, ''), 'five-second;')
rule "top" priority 9 when lead created if last_name = 'Order'
  then set description = concat(coalesce(description, ''), 'top;')
"""


def test_rules_run_by_priority_then_in_file_order(module_db: Installed) -> None:
    service = service_with(module_db, ORDERED)
    made = create(module_db, service, system(), "lead", lead(last_name="Order"))
    assert made["description"] == "top;five-first;five-second;low;"
    assert [d["rule"] for d in trace(module_db, "lead", made["id"])] == ["top", "five first", "a five second", "low"]


STOPPING = """
rule "not firing stopper" priority 9 when lead created if city = 'nowhere'
  then set title = 'never' stop
rule "first" priority 5 when lead created if last_name = 'Stop'
  then set title = 'first'
rule "stopper" priority 3 when lead created if last_name = 'Stop' and rating = 'hot'
  then set description = 'stopped here'
  stop
rule "after the stop" when lead created if last_name = 'Stop'
  then set city = 'reached'
"""


def test_stop_ends_the_round_once_its_rule_fired(module_db: Installed) -> None:
    service = service_with(module_db, STOPPING)
    stopped = create(module_db, service, system(), "lead", lead(last_name="Stop", rating="hot"))
    assert (stopped["title"], stopped["description"], stopped["city"]) == ("first", "stopped here", None)
    assert [d["rule"] for d in trace(module_db, "lead", stopped["id"])] == ["first", "stopper"]
    # the stopper's condition is false: it does not stop anything, and neither does a stop rule that did not fire
    went_on = create(module_db, service, system(), "lead", lead(last_name="Stop", rating="cold"))
    assert (went_on["title"], went_on["description"], went_on["city"]) == ("first", None, "reached")


CASCADE = """
rule "qualify hot" when lead created or lead updated if last_name = 'Cascade' and rating = 'hot'
  then set title = 'VIP'
rule "title watcher" when lead.title changed to 'VIP' if previous(title) is empty
  then set description = concat('title went from nothing to ', title)
rule "title watcher on update" when lead.title changed to 'VIP' if previous(title) = 'Mr'
  then set description = 'title went from Mr to VIP'
rule "other titles" when lead.title changed to 'Boss'
  then set city = 'never'
rule "second step" when lead.description changed
  then set postal_code = '12345'
"""


def test_a_set_triggers_the_changed_rules_in_the_next_rounds(module_db: Installed) -> None:
    service = service_with(module_db, CASCADE)
    made = create(module_db, service, system(), "lead", lead(last_name="Cascade", rating="hot"))
    assert made["title"] == "VIP" and made["postal_code"] == "12345" and made["city"] is None
    assert made["description"] == "title went from nothing to VIP"
    decisions = trace(module_db, "lead", made["id"])
    assert [(d["rule"], d["trigger"]) for d in decisions] == [
        ("qualify hot", "lead created"),
        ("title watcher", "lead.title changed to 'VIP'"),
        ("second step", "lead.description changed"),
    ]
    # on an update, previous() in the next round is the record before the rule's change
    cold = create(module_db, service, system(), "lead", lead(last_name="Cascade", rating="cold", title="Mr"))
    warmed = update_record(module_db, service, system(), "lead", cold["id"], {"rating": "hot"})
    assert warmed["description"] == "title went from Mr to VIP" and warmed["postal_code"] == "12345"


CONDITIONS = """
rule "heated up" when lead updated if changed(rating) and previous(rating) = 'cold' and rating = 'hot'
  then set title = 'heated up'
rule "untouched rating" when lead updated if not changed(rating) and last_name = 'Previous'
  then set city = 'rating untouched'
"""


def test_conditions_see_previous_and_changed_on_update(module_db: Installed) -> None:
    service = service_with(module_db, CONDITIONS)
    made = create(module_db, service, system(), "lead", lead(last_name="Previous", rating="cold"))
    assert made["title"] is None and made["city"] is None  # created: not an update
    other = update_record(module_db, service, system(), "lead", made["id"], {"description": "no rating change"})
    assert other["title"] is None and other["city"] == "rating untouched"
    warm = update_record(module_db, service, system(), "lead", made["id"], {"rating": "warm"})
    assert warm["title"] is None  # changed, but not from cold to hot
    again = create(module_db, service, system(), "lead", lead(last_name="Previous", rating="cold"))
    heated = update_record(module_db, service, system(), "lead", again["id"], {"rating": "hot"})
    assert heated["title"] == "heated up"
    [decision] = [d for d in trace(module_db, "lead", again["id"]) if d["rule"] == "heated up"]
    assert decision["seen"] == {"rating": "hot"} and "because changed(rating)" in decision["summary"]


def test_previous_in_a_set_value_reads_the_record_before_the_change(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "remember" when lead updated if changed(rating)\n'
                                      "  then set description = concat('was ', previous(rating))\n")
    made = create(module_db, service, system(), "lead", lead(last_name="Remember", rating="cold"))
    changed = update_record(module_db, service, system(), "lead", made["id"], {"rating": "hot"})
    assert changed["description"] == "was cold"  # the engine stores 'was ' (previous(rating) is empty)


# -- loops ---------------------------------------------------------------------------------------

COUNTERS = """
rule "count employees" when lead.number_of_employees changed
  then set annual_revenue = coalesce(annual_revenue, 0) + 1
rule "count revenue" when lead.annual_revenue changed
  then set number_of_employees = coalesce(number_of_employees, 0) + 1
"""


def test_rules_changing_each_other_forever_are_a_loop_and_nothing_is_saved(module_db: Installed) -> None:
    report_warns = service_with(module_db, COUNTERS)
    traces = trace_count(module_db)
    with pytest.raises(RuleLoop) as refused:
        create(module_db, report_warns, system(), "lead", lead(last_name="Looping", number_of_employees=1))
    assert refused.value.status == 409
    message = str(refused.value)
    assert f"after {MAX_CASCADE} rounds, so nothing was saved" in message
    assert '"count employees" → "count revenue" → "count employees"' in message
    assert records(module_db, "lead", last_name="Looping") == []
    assert trace_count(module_db) == traces


def test_a_loop_on_update_leaves_the_record_unchanged(module_db: Installed) -> None:
    plain = service_with(module_db, 'rule "quiet" when lead created if city = \'nowhere\' then set title = \'x\'\n')
    made = create(module_db, plain, system(), "lead", lead(last_name="Loop on update"))
    before, traces = stored(module_db, "lead", made["id"]), trace_count(module_db)
    looping = service_with(module_db, COUNTERS)
    with pytest.raises(RuleLoop, match="rules kept changing lead #"):
        update_record(module_db, looping, system(), "lead", made["id"], {"number_of_employees": 5})
    assert stored(module_db, "lead", made["id"]) == before
    assert trace_count(module_db) == traces
    with module_db.engine.connect() as connection:
        audits = connection.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.entity == "lead", audit_log.c.record_id == made["id"])).scalar_one()
    assert audits == 1  # the create only


def test_a_rule_changing_its_own_trigger_field_is_a_loop(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "bump" when lead.number_of_employees changed\n'
                                      "  then set number_of_employees = number_of_employees + 1\n")
    with pytest.raises(RuleLoop, match='"bump" → "bump"'):
        create(module_db, service, system(), "lead", lead(last_name="Self loop", number_of_employees=1))
    assert records(module_db, "lead", last_name="Self loop") == []


def test_records_creating_records_forever_are_a_loop_naming_the_chain(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "spawn" when activity created if subject starts_with \'Spawn\'\n'
                                      "  then create activity with subject = concat(subject, '+')\n")
    with pytest.raises(RuleLoop) as refused:
        create(module_db, service, system(), "activity", {"subject": "Spawn"})
    assert '"spawn" on activity #' in str(refused.value)
    with module_db.engine.connect() as connection:
        table = service.model.table("activity")
        spawned = connection.execute(select(func.count()).select_from(table).where(
            table.c.subject.like("Spawn%"))).scalar_one()
    assert spawned == 0


def test_rules_that_settle_are_no_loop(module_db: Installed) -> None:
    service = service_with(module_db, """
rule "region from city" when lead.city changed then set state_province = 'Bavaria'
rule "postcode from region" when lead.state_province changed then set postal_code = '80331'
rule "back to the city" when lead.postal_code changed then set city = 'Munich'
""")
    made = create(module_db, service, system(), "lead", lead(last_name="Settles", city="Munich"))
    assert (made["city"], made["state_province"], made["postal_code"]) == ("Munich", "Bavaria", "80331")


# -- refusals ------------------------------------------------------------------------------------


def test_a_rule_value_failing_a_validation_rule_refuses_the_write(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "bad country" when lead created if city = \'Berlin\'\n'
                                      "  then set country = 'germany'\n")
    traces = trace_count(module_db)
    with pytest.raises(Invalid) as refused:
        create(module_db, service, system(), "lead", lead(last_name="Validated", city="Berlin"))
    assert refused.value.status == 422
    assert refused.value.detail == "the rules set values that do not pass the checks of lead: 1 problem"
    [error] = refused.value.errors
    assert (error.field, error.message) == ("country", "Use a two-letter country code in capitals, e.g. DE.")
    assert records(module_db, "lead", last_name="Validated") == [] and trace_count(module_db) == traces


def test_a_failing_action_refuses_the_whole_write_naming_the_rule(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "make a task" when lead created if city = \'Paris\'\n'
                                      "  then set title = 'followed up'\n"
                                      "       create activity with description = 'call them'\n")
    activities = len(records(module_db, "activity"))
    with pytest.raises(RuleFailed) as refused:
        create(module_db, service, system(), "lead", lead(last_name="Refused", city="Paris"))
    assert refused.value.status == 422
    assert str(refused.value.detail).startswith('rule "make a task" could not create: the activity was not saved')
    assert "'Subject' is required" in str(refused.value)
    assert records(module_db, "lead", last_name="Refused") == []
    assert len(records(module_db, "activity")) == activities


# -- triggers ------------------------------------------------------------------------------------


def test_the_deleted_trigger_runs_effects_and_no_record_actions(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "farewell" when lead deleted if last_name = \'Deleted\'\n'
                                      "  then set title = 'never written'\n"
                                      "       notify user 'manager' subject 'Lead {last_name} of {company} was deleted'\n")
    manager = module_db.seed.user_ids["manager"]
    before = len(notifications_for(module_db, manager))
    made = create(module_db, service, system(), "lead", lead(last_name="Deleted", company="Gone Ltd"))
    with module_db.engine.begin() as connection:
        service.delete(connection, system(), "lead", made["id"])
    notes = notifications_for(module_db, manager)
    assert len(notes) == before + 1
    assert notes[-1]["title"] == "Lead Deleted of Gone Ltd was deleted" and notes[-1]["record_id"] == made["id"]
    [decision] = trace(module_db, "lead", made["id"])
    assert decision["trigger"] == "lead deleted"
    assert [a["action"] for a in decision["actions"]] == ["notify"]  # set is a record action: not on a delete


def test_the_transition_trigger_fires_on_its_transition_only(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "working" when lead transition start_working\n'
                                      "  then set title = 'being worked'\n")
    made = create(module_db, service, system(), "lead", lead(last_name="Transition"))
    plain = update_record(module_db, service, system(), "lead", made["id"], {"city": "Lyon"})
    assert plain["title"] is None
    with module_db.engine.begin() as connection:
        nurtured = WorkflowRuntime(service).take(connection, system(), "lead", made["id"], "nurture").record
    assert nurtured["title"] is None
    with module_db.engine.begin() as connection:
        taken = WorkflowRuntime(service).take(connection, system(), "lead", made["id"], "start_working").record
    assert (taken["status"], taken["title"]) == ("working", "being worked")
    [decision] = trace(module_db, "lead", made["id"])
    assert decision["trigger"] == "lead transition start_working"


def test_changed_from_to_triggers_match_only_those_values(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "cooled" when lead.rating changed from \'hot\' to (\'warm\', \'cold\')\n'
                                      "  then set title = concat('cooled to ', rating)\n")
    made = create(module_db, service, system(), "lead", lead(last_name="FromTo", rating="warm"))
    assert made["title"] is None  # created: from nothing, not from 'hot'
    hot = update_record(module_db, service, system(), "lead", made["id"], {"rating": "hot"})
    assert hot["title"] is None
    cold = update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    assert cold["title"] == "cooled to cold"


# -- explain and the trace -----------------------------------------------------------------------

EXPLAINED = """
rule "hot west" when lead updated if rating = 'hot' and region = 'west'
  then set title = 'hot west'
rule "any update" when lead updated if last_name = 'Explain'
  then set description = 'updated'
"""


def test_explain_records_rules_that_did_not_fire_with_reason_and_seen_values(module_db: Installed) -> None:
    service = service_with(module_db, EXPLAINED)
    made = create(module_db, service, system(), "lead", lead(last_name="Explain", rating="warm", region="east"))
    update_record(module_db, service, system(), "lead", made["id"], {"city": "Quiet"})
    assert [d["rule"] for d in trace(module_db, "lead", made["id"])] == ["any update"]  # without explain
    update_record(module_db, service, system(explain=True), "lead", made["id"], {"city": "Loud"})
    decisions = trace(module_db, "lead", made["id"])
    missed = [d for d in decisions if not d["fired"]]
    assert [d["rule"] for d in missed] == ["hot west"]
    assert missed[0]["reason"] == "rating = 'hot' and region = 'west' is false"
    assert missed[0]["seen"] == {"rating": "warm", "region": "east"}
    assert missed[0]["summary"] == ("rule \"hot west\" did not fire on lead updated: rating = 'hot' and region = 'west' "
                                    "is false (rating = 'warm', region = 'east')")
    assert [d["rule"] for d in trace(module_db, "lead", made["id"], fired_only=True)] == ["any update", "any update"]


def test_effects_act_as_the_rule_one_level_down_the_chain(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "follow up" when lead created if last_name = \'Chain\'\n'
                                      "  then create activity with subject = concat('Call ', last_name)\n"
                                      'rule "task stamp" when activity created if subject = \'Call Chain\'\n'
                                      "  then set description = 'stamped by a rule'\n")
    rep1 = as_user(module_db, "rep1")
    made = create(module_db, service, rep1, "lead", lead(last_name="Chain"))
    [task] = records(module_db, "activity", subject="Call Chain")
    assert task["description"] == "stamped by a rule" and task["created_by"] is None
    [decision] = trace(module_db, "activity", task["id"])
    assert decision["depth"] == 1 and decision["actor"] == "rule: follow up"
    [parent] = trace(module_db, "lead", made["id"])
    assert parent["depth"] == 0 and parent["actor"] == "rep1"
    assert parent["summary"].startswith(f"created activity #{task['id']} 'Call Chain' — by rule \"follow up\"")


def test_time_of_the_write_is_the_rules_now(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "stamp" when lead created if last_name = \'Clock\'\n'
                                      "  then set last_activity_at = now() + 1h\n")
    made = create(module_db, service, system(NOW + timedelta(days=3)), "lead", lead(last_name="Clock"))
    assert made["last_activity_at"] == NOW + timedelta(days=3, hours=1)
    assert summaries(module_db, "lead", made["id"])[0].startswith("set last_activity_at = 2026-01-08 10:00")
