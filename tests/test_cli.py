"""The ``xrm`` command line, driven through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import inspect

from tests.conftest import FIXTURES_DIR, PACKS_DIR
from xrm.cli import main
from xrm.db import make_engine


def run(*args: str, database_url: str | None = None):  # noqa: ANN201
    prefix = ["--database-url", database_url] if database_url else []
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False)


def test_validate_bundled_pack_passes() -> None:
    result = run("pack", "validate", str(PACKS_DIR / "crm"), "--no-database")
    assert result.exit_code == 0, result.output
    assert "Pack crm 1.0.0 is valid" in result.output


def test_validate_with_dependency_folder() -> None:
    result = run("pack", "validate", str(PACKS_DIR / "partners"), "--no-database", "--with", str(PACKS_DIR / "crm"))
    assert result.exit_code == 0, result.output


def test_validate_broken_pack_prints_file_path_and_hint() -> None:
    result = run("pack", "validate", str(FIXTURES_DIR / "packs" / "broken"), "--no-database")
    assert result.exit_code == 1
    assert "entities/ticket.json $.fields[1].type: unknown field type 'picklst'" in result.output
    assert "did you mean 'picklist'?" in result.output
    assert "Pack broken is not valid: 24 errors, 4 warnings." in result.output


def test_validate_json_output() -> None:
    result = run("pack", "validate", str(FIXTURES_DIR / "packs" / "syntax_error"), "--no-database", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["problems"][0] == {
        "file": "entities/thing.json", "message": "invalid JSON: Expecting value", "line": 6, "column": 3,
        "hint": "JSON does not allow a comma after the last item", "severity": "error",
    }


def test_validate_does_not_create_a_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    assert run("pack", "validate", str(PACKS_DIR / "crm"), database_url=url).exit_code == 0
    assert not (tmp_path / "absent.db").exists()


def test_migrate_install_list(sqlite_url: str) -> None:
    assert run("migrate", database_url=sqlite_url).exit_code == 0
    installed = run("pack", "install", str(PACKS_DIR / "crm"), database_url=sqlite_url)
    assert installed.exit_code == 0, installed.output
    assert "Installed crm 1.0.0: 8 tables" in installed.output
    listing = run("pack", "list", database_url=sqlite_url)
    assert "crm" in listing.output and "opportunity" in listing.output
    again = run("pack", "install", str(PACKS_DIR / "crm"), database_url=sqlite_url)
    assert again.exit_code == 1 and "already installed" in again.output


def test_install_broken_pack_exits_non_zero_and_creates_nothing(sqlite_url: str) -> None:
    run("migrate", database_url=sqlite_url)
    engine = make_engine(sqlite_url)
    before = set(inspect(engine).get_table_names())
    result = run("pack", "install", str(FIXTURES_DIR / "packs" / "broken"), database_url=sqlite_url)
    assert result.exit_code == 1
    assert "Nothing was installed." in result.output
    assert set(inspect(engine).get_table_names()) == before
    engine.dispose()


def test_install_without_migrate_says_what_to_do(sqlite_url: str) -> None:
    result = run("pack", "install", str(PACKS_DIR / "crm"), database_url=sqlite_url)
    assert result.exit_code == 1
    assert "run `xrm migrate` first" in result.output


def test_schema_export_writes_complete_field_schema(tmp_path: Path) -> None:
    assert run("schema", "export", str(tmp_path)).exit_code == 0
    field_schema = json.loads((tmp_path / "field.schema.json").read_text())
    assert "picklist" in field_schema["properties"]["type"]["enum"]
    assert field_schema["unevaluatedProperties"] is False


def test_with_a_broken_pack_still_checks_the_pack_itself() -> None:
    result = run("pack", "validate", str(PACKS_DIR / "service"), "--no-database",
                 "--with", str(FIXTURES_DIR / "packs" / "broken"))
    assert result.exit_code == 1
    assert "--with" in result.output and "24 errors of its own" in result.output
    assert "this pack needs pack 'crm', which is not installed" in result.output
