"""Dry runs (what rules would do to a sample record, rolled back) and the rule tests packs ship.

Dry runs share one database per module (per backend): each test checks that
nothing it tried was written.  Pack rule tests build scratch SQLite databases
of their own (``run_pack_tests``).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import PACKS_DIR
from tests.rules.engine_support import (  # noqa: F401 - fixtures
    LEAD,
    check,
    model_of,
    module_db_fixture,
    postgres_template,
    sqlite_template,
    system,
)
from tests.runtime.conftest import Installed
from xrm.metadata.problems import PackInvalid
from xrm.rules.dry_run import DryRun, dry_run
from xrm.rules.testing import pack_with_dependencies, run_pack_tests
from xrm.system_tables import audit_log, rule_trace, timers

MONDAY_9 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def footprint(db: Installed) -> dict[str, int]:
    """How many rows the tables a dry run could write to hold."""
    model = model_of(db)
    tables = {"case": model.table("case"), "lead": model.table("lead"), "activity": model.table("activity"),
              "notification": model.table("notification"), "audit": audit_log, "trace": rule_trace, "timers": timers}
    with db.engine.connect() as connection:
        return {name: connection.execute(select(func.count()).select_from(t)).scalar_one() for name, t in tables.items()}


def ruleset(db: Installed, text: str):  # noqa: ANN201
    report = check(db, text)
    assert not report.errors, [str(p) for p in report.errors]
    return report.ruleset


# -- dry runs ----------------------------------------------------------------------------------


def test_a_dry_run_of_the_installed_rules_shows_decisions_record_and_timers(module_db: Installed) -> None:
    before = footprint(module_db)
    result = dry_run(module_db.engine, system(), DryRun("case", {"subject": "Printer on fire"}, at=MONDAY_9))
    assert result.error is None
    assert [(d["rule"], d["fired"]) for d in result.decisions] == [("New cases wait in the support queue", True)]
    assert result.decisions[0]["summary"].startswith("moved to queue 'Support'")
    assert result.record["status"] == "new" and result.record["owner_queue_id"] is not None
    assert result.timers == ({"rule": "First response SLA breach", "due_at": "2026-01-05T12:00:00+00:00",
                              "record_id": result.record["id"]},)
    assert footprint(module_db) == before


def test_a_dry_run_traces_the_rules_that_did_not_fire(module_db: Installed) -> None:
    rules = ruleset(module_db, 'rule "hot only" when lead created if rating = \'hot\' then set title = \'hot\'\n')
    result = dry_run(module_db.engine, system(), DryRun("lead", {**LEAD, "rating": "cold"}), ruleset=rules)
    [decision] = result.decisions
    assert decision["fired"] is False and decision["reason"] == "rating = 'hot' is false"
    assert decision["seen"] == {"rating": "cold"} and result.fired == ()


def test_waiting_fires_the_time_rules_due_by_then(module_db: Installed) -> None:
    before = footprint(module_db)
    result = dry_run(module_db.engine, system(), DryRun("case", {"subject": "Server down", "priority": "medium"},
                                                        at=MONDAY_9, wait_until=datetime(2026, 1, 5, 13, 0, tzinfo=UTC)))
    assert [d["rule"] for d in result.fired] == ["New cases wait in the support queue", "First response SLA breach"]
    breach = result.fired[1]
    assert breach["at"] == "2026-01-05T12:00:00+00:00"  # fired at its own instant, not at wait_until
    assert (result.record["priority"], result.record["status"], result.record["sla_breached"]) == ("high", "escalated", True)
    assert result.timers == ()
    assert footprint(module_db) == before
    not_yet = dry_run(module_db.engine, system(), DryRun("case", {"subject": "Not yet"}, at=MONDAY_9,
                                                         wait_until=datetime(2026, 1, 5, 11, 59, tzinfo=UTC)))
    assert [d["rule"] for d in not_yet.fired] == ["New cases wait in the support queue"]
    assert not_yet.record["status"] == "new" and len(not_yet.timers) == 1


def test_a_dry_run_of_an_update_a_delete_and_a_transition(module_db: Installed) -> None:
    rules = ruleset(module_db, """
rule "rated" when lead.rating changed to 'hot' then set title = 'rated hot'
rule "gone" when lead deleted then notify user 'manager' subject 'deleted {last_name}'
rule "working" when lead transition start_working then set description = 'started'
""")
    before = footprint(module_db)
    updated = dry_run(module_db.engine, system(), DryRun("lead", LEAD, "updated", {"rating": "hot"}), ruleset=rules)
    assert [d["rule"] for d in updated.fired] == ["rated"] and updated.record["title"] == "rated hot"
    deleted = dry_run(module_db.engine, system(), DryRun("lead", LEAD, "deleted"), ruleset=rules)
    assert [d["rule"] for d in deleted.fired] == ["gone"] and deleted.record is None
    assert deleted.fired[0]["actions"][0]["summary"] == "notified Manager: deleted Doe"
    moved = dry_run(module_db.engine, system(), DryRun("lead", LEAD, "transition", transition="start_working"),
                    ruleset=rules)
    assert [d["rule"] for d in moved.fired] == ["working"]
    assert (moved.record["status"], moved.record["description"]) == ("working", "started")
    # the sample comes in as an import would: in any workflow state
    nurtured = dry_run(module_db.engine, system(), DryRun("lead", {**LEAD, "status": "nurturing"}, "transition",
                                                          transition="start_working"), ruleset=rules)
    assert nurtured.error is None and nurtured.record["status"] == "working"
    assert footprint(module_db) == before


def test_a_refused_dry_run_reports_the_error(module_db: Installed) -> None:
    rules = ruleset(module_db, """
rule "a" when lead.number_of_employees changed then set annual_revenue = coalesce(annual_revenue, 0) + 1
rule "b" when lead.annual_revenue changed then set number_of_employees = number_of_employees + 1
""")
    before = footprint(module_db)
    result = dry_run(module_db.engine, system(), DryRun("lead", {**LEAD, "number_of_employees": 3}), ruleset=rules)
    assert result.error["status"] == 409 and result.error["title"] == "Rules loop"
    assert '"a" → "b"' in result.error["detail"]
    assert result.record is None and result.decisions == ()
    invalid = dry_run(module_db.engine, system(), DryRun("lead", {"last_name": "No company"}), ruleset=rules)
    assert invalid.error["status"] == 422
    assert {e["field"] for e in invalid.error["errors"]} >= {"company"}
    assert footprint(module_db) == before


def test_a_dry_run_as_a_person_follows_their_permissions(module_db: Installed) -> None:
    refused = dry_run(module_db.engine, module_db.context("nobody"), DryRun("lead", LEAD))
    assert refused.error["status"] == 403 and refused.record is None
    own = dry_run(module_db.engine, module_db.context("rep1", "ui"), DryRun("lead", {**LEAD, "region": "west"}))
    assert own.error is None and own.record["owner_id"] == module_db.seed.user_ids["rep1"]
    assert "West leads round robin" not in [d["rule"] for d in own.fired]


# -- rule tests in packs -------------------------------------------------------------------------


@pytest.mark.parametrize("pack", ["crm", "service", "partners"])
def test_the_bundled_packs_rule_tests_pass(pack: str) -> None:
    outcomes = run_pack_tests(PACKS_DIR / pack)
    assert outcomes, f"pack {pack} ships no rule tests"
    assert [(o.name, o.failures) for o in outcomes if not o.passed] == []


def test_dependencies_are_found_beside_the_pack() -> None:
    assert [p.name for p in pack_with_dependencies(PACKS_DIR / "partners")] == ["crm", "partners"]
    assert [p.name for p in pack_with_dependencies(PACKS_DIR / "service")] == ["crm", "service"]


def copied_packs(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(PACKS_DIR / name, tmp_path / name)
    return tmp_path


def test_a_failing_rule_test_says_what_was_expected_and_what_happened(tmp_path: Path) -> None:
    root = copied_packs(tmp_path, "crm", "service")
    rules = root / "service" / "rules" / "sla.rules"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("expect set priority = 'high'", "expect set priority = 'urgent'")
                     .replace("expect move_to_queue 'support'", "expect move_to_queue 'escalations'"), encoding="utf-8")
    outcomes = {o.name: o for o in run_pack_tests(root / "service")}
    breach = outcomes["an unanswered case breaches its SLA and escalates"]
    line = text.splitlines().index("  expect set priority = 'high'") + 1
    assert breach.failures == (f"line {line}: expected priority = 'urgent', got 'high'",)
    queued = outcomes["a new case without an owner waits in the support queue"]
    [failure] = queued.failures
    assert "expected move_to_queue 'escalations'" in failure
    assert "New cases wait in the support queue: move_to_queue  support" in failure
    assert outcomes["the SLA clock stops outside business hours"].passed


NEW_TESTS = """
rule "Refuse shouting" when lead created if company = upper(company) then set country = 'germany'

test "shouting companies are refused"
  given lead { last_name: 'Loud', company: 'LOUD INC', email: 'l@loud.example' }
  when created at 2026-01-05T09:00Z
  expect error 'do not pass the checks'

test "this one expects the wrong thing"
  given lead { last_name: 'Calm', company: 'Calm Inc', email: 'c@calm.example' }
  when created at 2026-01-05T09:00Z
  expect rule "Refuse shouting"
  expect timer "Return unworked leads to the public pool" at 2026-02-05T09:00Z

test "nothing happens here"
  given lead { last_name: 'Quiet', company: 'Quiet Inc', email: 'q@quiet.example' } as 'someone'
  when created at 2026-01-05T09:00Z
  expect not rule "Refuse shouting"
"""


def test_expectations_of_errors_rules_and_timers(tmp_path: Path) -> None:
    root = copied_packs(tmp_path, "crm")
    (root / "crm" / "rules" / "extra.rules").write_text(NEW_TESTS, encoding="utf-8")
    outcomes = {o.name: o for o in run_pack_tests(root / "crm") if o.file == "rules/extra.rules"}
    assert outcomes["shouting companies are refused"].passed
    assert outcomes["nothing happens here"].passed
    wrong = outcomes["this one expects the wrong thing"]
    assert wrong.line == 9
    [fired, timer] = wrong.failures
    assert fired.startswith('line 12: expected rule "Refuse shouting" to fire; fired: ')
    assert timer == ('line 13: expected a timer for "Return unworked leads to the public pool" at '
                     '2026-02-05T09:00:00+00:00; pending: "Return unworked leads to the public pool at '
                     '2026-02-04T09:00:00+00:00"')


def test_a_pack_whose_rules_do_not_parse_is_not_tested(tmp_path: Path) -> None:
    root = copied_packs(tmp_path, "crm")
    (root / "crm" / "rules" / "broken.rules").write_text('test "half" given lead {', encoding="utf-8")
    with pytest.raises(PackInvalid) as refused:
        run_pack_tests(root / "crm")
    [problem] = refused.value.problems
    assert (problem.file, problem.line, problem.severity) == ("rules/broken.rules", 1, "error")
