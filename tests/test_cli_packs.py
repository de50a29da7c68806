"""``xrm pack plan`` and ``xrm pack upgrade`` on a copy of the runtime's template database (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from tests.runtime.conftest import Installed, sqlite_template, template_copy  # noqa: F401
from xrm.cli import main

V2 = FIXTURES_DIR / "packs_v2"


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installed]:
    with template_copy(request, "sqlite", tmp_path) as copy:
        yield copy


def run(database: Installed, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--database-url", database.url, *args], catch_exceptions=False)


def test_plan_prints_the_changes_and_changes_nothing(database: Installed) -> None:
    result = run(database, "pack", "plan", str(V2 / "service"))
    assert result.exit_code == 0, result.output
    assert "field case.escalation_reason renamed to escalation_note" in result.output
    assert "knowledge_article" in result.output and "Partner cases start with high priority" in result.output
    planned = json.loads(run(database, "pack", "plan", "--json", str(V2 / "service")).output)
    assert planned["ok"] and planned["from_version"] == "1.0.0" and planned["to_version"] == "2.0.0"
    assert ["knowledge_article"] == planned["entities_added"]
    assert any(f["field"] == "escalation_note" and f["old_name"] == "escalation_reason" for f in planned["fields"])
    assert "2.0.0" not in run(database, "pack", "list").output


def test_upgrade_applies_the_plan_and_backs_up_sqlite(database: Installed, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    result = run(database, "pack", "upgrade", "--backup-dir", str(backups), str(V2 / "crm"))
    assert result.exit_code == 0, result.output
    assert "Upgraded crm to 2.0.0" in result.output
    assert len(list(backups.glob("*.before-upgrade-crm-*.db"))) == 1
    again = run(database, "pack", "plan", str(V2 / "crm"))
    assert again.exit_code == 1 and "is not newer" in again.output
    refused = run(database, "pack", "upgrade", "--backup-dir", str(backups), str(PACKS_DIR / "crm"))
    assert refused.exit_code == 1 and "refused" in refused.output
    assert len(list(backups.glob("*.db"))) == 1  # a refused upgrade leaves no copy behind
