"""``xrm rules check``, ``xrm rules test`` and ``xrm scheduler tick --now`` moving a case through its SLA escalation."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Engine

from tests.conftest import PACKS_DIR
from tests.rules.engine_support import write_ops_pack
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.cli import main
from xrm.context import Actor, Context
from xrm.db import make_engine
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.system_tables import rule_trace


def xrm(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", url, *args])


def rules_in(pack: str) -> int:
    return sum(len(re.findall(r'^rule "', p.read_text(encoding="utf-8"), re.MULTILINE))
               for p in (PACKS_DIR / pack / "rules").glob("*.rules"))


def copy_packs(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(PACKS_DIR / name, tmp_path / name)
    return tmp_path


def installed(url: str) -> Engine:
    engine = make_engine(url)
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    return engine


# -- xrm rules check ---------------------------------------------------------------------------


def test_check_a_pack_folder(sqlite_url: str) -> None:
    result = xrm(sqlite_url, "rules", "check", str(PACKS_DIR / "crm"))
    assert result.exit_code == 0, result.output
    assert re.search(rf"pack crm: {rules_in('crm')} rules, \d+ tests, 0 errors, 0 warnings", result.output)
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # no database needed, none made


def test_check_finds_the_packs_a_pack_depends_on_beside_it(sqlite_url: str) -> None:
    result = xrm(sqlite_url, "rules", "check", str(PACKS_DIR / "service"), str(PACKS_DIR / "partners"))
    assert result.exit_code == 0, result.output
    assert f"pack service: {rules_in('service')} rules, 4 tests, 0 errors, 0 warnings" in result.output
    assert f"pack partners: {rules_in('partners')} rules" in result.output


def test_check_a_broken_pack_names_file_line_and_column(sqlite_url: str, tmp_path: Path) -> None:
    root = copy_packs(tmp_path, "crm")
    rules = root / "crm" / "rules" / "lead_routing.rules"
    text = rules.read_text(encoding="utf-8")
    broken = text.replace("if region = 'west' and owner_id is empty", "if regin = 'west' and owner_id is empty")
    assert broken != text
    rules.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("  if regin = 'west' and owner_id is empty") + 1
    result = xrm(sqlite_url, "rules", "check", str(root / "crm"))
    assert result.exit_code == 1
    assert f"rules/lead_routing.rules:{line}:6: unknown field 'regin' on lead" in result.output
    assert "did you mean 'region'?" in result.output
    assert f"{root / 'crm'}: 1 error" in result.output


def test_check_warns_of_loops_without_failing(sqlite_url: str, tmp_path: Path) -> None:
    root = copy_packs(tmp_path, "crm")
    (root / "crm" / "rules" / "loop.rules").write_text(
        'rule "a" when lead.city changed then set title = city\n'
        'rule "b" when lead.title changed then set city = title\n', encoding="utf-8")
    result = xrm(sqlite_url, "rules", "check", str(root / "crm"))
    assert result.exit_code == 0, result.output
    assert "rules/loop.rules:1:6: these rules may trigger each other in a loop" in result.output
    assert re.search(r"pack crm: \d+ rules, \d+ tests, 0 errors, 1 warnings", result.output)


def test_check_the_rules_installed_in_a_database(sqlite_url: str) -> None:
    installed(sqlite_url).dispose()
    result = xrm(sqlite_url, "rules", "check")
    assert result.exit_code == 0, result.output
    count = sum(rules_in(p) for p in ("crm", "service", "partners"))
    assert re.search(rf"installed rules: {count} rules, \d+ tests, 0 errors, 0 warnings", result.output)


def test_check_a_pack_against_a_database_that_has_its_dependencies(sqlite_url: str, tmp_path: Path) -> None:
    installed(sqlite_url).dispose()
    write_ops_pack(tmp_path, {"ops.rules": 'rule "notes" when chore created then set note = concat(title, \'!\')\n'
                                           'rule "bad" when chore created then set nothing = 1\n'})
    result = xrm(sqlite_url, "rules", "check", str(tmp_path / "ops"))
    assert result.exit_code == 1
    assert "rules/ops.rules:2:40: unknown field 'nothing' on chore" in result.output


# -- xrm rules test ----------------------------------------------------------------------------


def test_the_service_packs_rule_tests_pass(sqlite_url: str) -> None:
    result = xrm(sqlite_url, "rules", "test", str(PACKS_DIR / "service"))
    assert result.exit_code == 0, result.output
    assert "PASS rules/sla.rules:" in result.output and "an unanswered case breaches its SLA and escalates" in result.output
    assert "4 passed, 0 failed" in result.output


def test_verbose_shows_each_decision(sqlite_url: str) -> None:
    result = xrm(sqlite_url, "rules", "test", "-v", str(PACKS_DIR / "service"))
    assert result.exit_code == 0, result.output
    assert "· moved to queue 'Support' — by rule \"New cases wait in the support queue\"" in result.output


def test_a_failing_rule_test_exits_1_and_says_why(sqlite_url: str, tmp_path: Path) -> None:
    root = copy_packs(tmp_path, "crm", "service")
    rules = root / "service" / "rules" / "sla.rules"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("expect set priority = 'high'", "expect set priority = 'urgent'"), encoding="utf-8")
    line = text.splitlines().index("  expect set priority = 'high'") + 1
    result = xrm(sqlite_url, "rules", "test", str(root / "service"))
    assert result.exit_code == 1
    assert "FAIL rules/sla.rules:35 an unanswered case breaches its SLA and escalates" in result.output
    assert f"line {line}: expected priority = 'urgent', got 'high'" in result.output
    assert "3 passed, 1 failed" in result.output


def test_a_pack_without_rule_tests_fails(sqlite_url: str, tmp_path: Path) -> None:
    copy_packs(tmp_path, "crm")
    write_ops_pack(tmp_path, {"ops.rules": 'rule "notes" when chore created then set note = title\n'})
    result = xrm(sqlite_url, "rules", "test", str(tmp_path / "ops"))
    assert result.exit_code == 1
    assert "0 passed, 0 failed" in result.output and "the pack has no rule tests" in result.output


def test_a_pack_whose_rules_do_not_check_is_not_tested(sqlite_url: str, tmp_path: Path) -> None:
    root = copy_packs(tmp_path, "crm")
    (root / "crm" / "rules" / "broken.rules").write_text('rule "half" when lead created then\n', encoding="utf-8")
    result = xrm(sqlite_url, "rules", "test", str(root / "crm"))
    assert result.exit_code == 1
    assert "pack crm has 1 error" in result.output


def test_rules_test_names_where_the_pack_is_broken(sqlite_url: str, tmp_path: Path) -> None:
    root = copy_packs(tmp_path, "crm")
    (root / "crm" / "rules" / "broken.rules").write_text('rule "half" when lead created if regin = 1 then raise rating\n',
                                                           encoding="utf-8")
    result = xrm(sqlite_url, "rules", "test", str(root / "crm"))
    assert result.exit_code == 1
    assert "rules/broken.rules:1:34: unknown field 'regin' on lead" in result.output


# -- xrm scheduler tick --now --------------------------------------------------------------------


def test_scheduler_tick_escalates_an_overdue_case(database_url: str) -> None:
    engine = installed(database_url)
    try:
        service = RecordService(CatalogCache(engine).model())
        monday_9 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 09:00 in Berlin; due at 13:00 Berlin
        with engine.begin() as connection:
            case = service.create(connection, Context(Actor.system("tests"), "api", monday_9), "case",
                                  {"subject": "Server down", "priority": "medium"})
        early = xrm(database_url, "scheduler", "tick", "--now", "2026-01-05T12:59:00+01:00")
        assert early.exit_code == 0, early.output
        assert early.output.strip() == "fired 0, retrying 0, failed 0"
        due = xrm(database_url, "scheduler", "tick", "--now", "2026-01-05T12:00:00Z")
        assert due.exit_code == 0, due.output
        assert due.output.strip() == "fired 1, retrying 0, failed 0"
        with engine.connect() as connection:
            escalated = service.stored_record(connection, "case", case["id"])
            decisions = connection.execute(rule_trace.select().where(
                rule_trace.c.entity == "case", rule_trace.c.record_id == case["id"],
                rule_trace.c.rule == "First response SLA breach")).mappings().all()
        assert (escalated["status"], escalated["priority"], escalated["sla_breached"]) == ("escalated", "high", True)
        assert [(d["actor"], d["fired"]) for d in decisions] == [("scheduler", True)]
        again = xrm(database_url, "scheduler", "tick", "--now", "2026-01-06T12:00:00Z")
        assert again.output.strip() == "fired 0, retrying 0, failed 0"
    finally:
        engine.dispose()
