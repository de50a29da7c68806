"""``xrm import`` and ``xrm export``: the commands, their summaries and error files, and a killed import resumed."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.conftest import PACKS_DIR
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.cli import main
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine, read_only
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.users import add_user
from xrm.system_tables import import_jobs


def run(url: str, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-data") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine, bundled_pack_dirs(PACKS_DIR), Context(Actor.system("tests"), "cli"))
    with engine.begin() as connection:
        add_user(connection, "rep", now=utc_now(), password="pw", roles=("sales_rep",))
    engine.dispose()
    return path


@pytest.fixture
def url(template: Path, tmp_path: Path) -> str:
    (tmp_path / "xrm.db").write_bytes(template.read_bytes())
    return f"sqlite:///{tmp_path / 'xrm.db'}"


def leads(url: str, company: str) -> list[str]:
    engine = make_engine(url)
    table = CatalogCache(engine).model().table("lead")
    with engine.connect() as connection:
        names = connection.execute(select(table.c.last_name).where(table.c.company == company)).scalars().all()
    engine.dispose()
    return list(names)


def test_import_prints_the_mapping_and_counts_and_writes_the_refused_rows(url: str, tmp_path: Path) -> None:
    file = tmp_path / "leads.csv"
    file.write_text("Last Name;Company;Phone;Shoe Size\nAda;Cli Co;555 1234;40\nBob;;555 1234;41\n", encoding="utf-8")
    result = run(url, "import", "lead", str(file))
    assert result.exit_code == 1, result.output
    assert "Shoe Size → ignored" in result.output and "Last Name → last_name" in result.output
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in result.output
    with (tmp_path / "leads.errors.csv").open(encoding="utf-8", newline="") as errors:
        rows = list(csv.reader(errors))
    assert rows[0] == ["Last Name", "Company", "Phone", "Shoe Size", "row", "errors"]
    assert rows[1][:5] == ["Bob", "", "555 1234", "41", "3"] and "required" in rows[1][5]
    assert leads(url, "Cli Co") == ["Ada"]
    again = run(url, "import", "lead", str(file))
    assert again.exit_code == 1 and "imported already" in again.output and "--again" in again.output
    assert leads(url, "Cli Co") == ["Ada"]


def test_import_with_a_mapping_a_key_and_a_bad_encoding(url: str, tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    file.write_bytes("Firma,Telefon\nMüller GmbH,555 1234\n".encode("latin-1"))
    result = run(url, "import", "account", str(file), "--map", "Firma=name", "--map", "Telefon=phone")
    assert result.exit_code == 1 and "not UTF-8 text: byte 0xFC on line 2" in result.output
    result = run(url, "import", "account", str(file), "--map", "Firma=name", "--map", "Telefon=phone",
                 "--encoding", "latin-1", "--key", "name")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    result = run(url, "import", "account", str(file), "--map", "Firma=name", "--key", "nonsense", "--encoding", "latin-1")
    assert result.exit_code == 1 and "does not identify one record" in result.output


def test_export_to_a_file_and_to_standard_output(url: str, tmp_path: Path) -> None:
    file = tmp_path / "in.csv"
    file.write_text("Last Name,Company,Phone\n" + "".join(f"L{i},Export Co,555 1234\n" for i in range(12)))
    assert run(url, "import", "lead", str(file)).exit_code == 0
    out = tmp_path / "out.csv"
    result = run(url, "export", "lead", "--filter", "company = 'Export Co'", "--columns", "last_name,company",
                 "--sort", "-last_name", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "Exported 12 leads" in result.output
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert rows[0] == ["last_name", "company"] and rows[1] == ["L9", "Export Co"] and len(rows) == 13
    result = run(url, "export", "lead", "--filter", "company = 'Export Co' and last_name = 'L3'")
    assert result.exit_code == 0
    header, row = csv.reader(result.stdout.splitlines())
    assert header[0] == "id" and row[header.index("last_name")] == "L3"  # the id, then every field
    result = run(url, "export", "lead", "--filter", "company = ")
    assert result.exit_code == 1 and "filter" in result.output
    assert run(url, "export", "lead", "--as", "nobody-here").exit_code == 1
    result = run(url, "export", "lead", "--as", "rep", "--filter", "company = 'Export Co'")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1  # the admin's leads are not the rep's


def test_an_import_killed_after_a_committed_batch_resumes_and_duplicates_nothing(url: str, tmp_path: Path) -> None:
    file = tmp_path / "big.csv"
    file.write_text("Last Name,Company,Phone\n" + "".join(f"K{i},Killed Co,555 1234\n" for i in range(400)))
    command = [str(Path(sys.executable).parent / "xrm"), "--database-url", url, "import", "lead", str(file),
               "--batch-size", "20"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "COLUMNS": "80"})
    engine = make_engine(url)
    try:
        last_row = 0
        while process.poll() is None and last_row == 0:
            with read_only(engine.connect()) as connection:  # a reader: it never waits for the import's lock
                last_row = connection.execute(select(func.coalesce(func.max(import_jobs.c.last_row), 0))).scalar()
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        with engine.connect() as connection:
            status, committed = connection.execute(select(import_jobs.c.status, import_jobs.c.last_row)).one()
    finally:
        engine.dispose()
    assert status == "running" and 0 < committed < 401, "killed in the middle of the import"
    assert len(leads(url, "Killed Co")) == committed - 1  # whole batches only
    result = run(url, "import", "lead", str(file), "--batch-size", "20")
    assert result.exit_code == 0, result.output
    assert f"Resuming import #1 after row {committed}" in result.output
    assert sorted(leads(url, "Killed Co")) == sorted(f"K{i}" for i in range(400))
