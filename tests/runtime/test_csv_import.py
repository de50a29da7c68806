"""CSV import: good and bad rows, upserts, lookups, encodings, huge cells, and resuming an interrupted import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests.runtime.conftest import Installed
from xrm.context import Actor, Context
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.csv_files import CsvFileError, bytes_opener, inspect_csv
from xrm.runtime.csv_import import AlreadyImported, run_import, start_import
from xrm.runtime.csv_mapping import ImportSettings, importable_fields, suggest_columns
from xrm.runtime.import_jobs import ImportJob, error_csv_lines, error_rows, get_job
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_hooks import RecordChange
from xrm.runtime.records import RecordService
from xrm.system_tables import audit_log, import_jobs


def run(installed: Installed, data: bytes | str, entity: str = "lead", *, user: str = "admin", key: str | None = None,
        columns: Sequence[str | None] | None = None, encoding: str = "auto", batch_size: int = 500,
        hooks: Sequence[Any] = (), again: bool = False) -> ImportJob:
    """Import ``data`` as ``user`` would: header mapped by suggestion unless ``columns`` says otherwise."""
    raw = data.encode() if isinstance(data, str) else data
    shape = inspect_csv(bytes_opener(raw), encoding=encoding)
    cache = CatalogCache(installed.engine)
    actor = installed.actor(user)
    model = cache.model()
    if columns is None:
        columns = suggest_columns(shape.header, importable_fields(model, actor, model.entity(entity)))
    settings = ImportSettings(tuple(columns), key)
    job_id, _resumed = start_import(installed.engine, cache, actor, entity, shape, "test.csv", settings, again=again)
    return run_import(installed.engine, cache, job_id, actor, bytes_opener(raw), hooks=hooks, batch_size=batch_size)


def count(connection: Connection, entity: str, installed: Installed, **where: Any) -> int:
    table = CatalogCache(installed.engine).model().table(entity)
    statement = select(func.count()).select_from(table)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    return connection.execute(statement).scalar_one()


def rows_of(installed: Installed, entity: str, **where: Any) -> list[dict[str, Any]]:
    table = CatalogCache(installed.engine).model().table(entity)
    statement = select(table).order_by(table.c.id)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    with installed.engine.connect() as connection:
        return [dict(r) for r in connection.execute(statement).mappings()]


def errors_of(installed: Installed, job: ImportJob) -> dict[int, str]:
    with installed.engine.connect() as connection:
        return {e.row: e.errors for e in error_rows(connection, job.id)}


LEADS = """Last Name,Company,Email,Rating,Do Not Call,Number of Employees,Status
Ada,Analytical Engines,ada@example.com,Hot,yes,"1,200",working
Grace,Navy,not-an-email,warm,no,5,new
Alan,,alan@example.com,cold,0,3,new
Edsger,Mathematisch Centrum,edsger@example.com,lukewarm,1,7,new
Barbara,MIT,barbara@example.com,,true,12,new
"""


def test_good_rows_go_in_bad_rows_go_to_the_error_csv(installed: Installed) -> None:
    job = run(installed, LEADS)
    assert (job.status, job.created, job.failed, job.updated, job.unchanged) == ("done", 2, 3, 0, 0)
    assert job.total_rows == 5 and job.last_row == 6
    ada = rows_of(installed, "lead", last_name="Ada")[0]
    # picklists by label, booleans as yes/no, grouped numbers; a workflow state set directly by an import
    assert (ada["rating"], ada["do_not_call"], ada["number_of_employees"], ada["status"]) == ("hot", True, 1200, "working")
    errors = errors_of(installed, job)
    assert set(errors) == {3, 4, 5}  # spreadsheet rows: the header is row 1
    assert errors[3].startswith("Email: 'not-an-email' is not a valid e-mail address")
    assert "Company" in errors[4] and "required" in errors[4]
    assert "Rating: 'lukewarm' is not one of" in errors[5]
    assert not rows_of(installed, "lead", last_name="Alan")  # a refused row leaves nothing behind
    with installed.engine.connect() as connection:
        sources = connection.execute(select(audit_log.c.source).where(
            audit_log.c.entity == "lead", audit_log.c.record_id == ada["id"])).scalars().all()
        lines = "".join(error_csv_lines(job.header, error_rows(connection, job.id))).splitlines()
    assert set(sources) == {"import"}
    assert lines[0] == "Last Name,Company,Email,Rating,Do Not Call,Number of Employees,Status,row,errors"
    assert lines[1].startswith("Grace,Navy,not-an-email,warm,no,5,new,3,Email:")


def test_every_problem_of_a_row_is_reported_at_once(installed: Installed) -> None:
    job = run(installed, "Last Name,Company,Email,Territory\n,Acme,bad,Nowhere Land\n")
    text = errors_of(installed, job)[2]
    assert "there is no territory 'Nowhere Land'" in text
    assert "Email:" in text and "Last Name" in text


def test_lookups_resolve_by_name_or_id_and_unknown_or_ambiguous_names_are_row_errors(installed: Installed) -> None:
    run(installed, "Name,Account Number\nAcme Corp,A-1\nGlobex,A-2\n", "account")
    acme = rows_of(installed, "account", name="Acme Corp")[0]
    run(installed, "Last Name,First Name\nTwin,Tom\nTwin,Tom\n", "contact")
    contacts = f"""Last Name,Account,Reports To,Owner
By Name,acme corp,,rep1
By Id,{acme['id']},,
Unknown,Initech,,
Ambiguous,,Tom Twin,
Bad Owner,,,no_such_user
"""
    job = run(installed, contacts, "contact")
    assert (job.created, job.failed) == (2, 3)
    by_name = rows_of(installed, "contact", last_name="By Name")[0]
    assert by_name["account"] == acme["id"] and by_name["owner_id"] == installed.seed.user_ids["rep1"]
    assert rows_of(installed, "contact", last_name="By Id")[0]["account"] == acme["id"]
    errors = errors_of(installed, job)
    assert "there is no account 'Initech'" in errors[4]
    assert "2 contacts are called 'Tom Twin'" in errors[5]
    assert "there is no user 'no_such_user'" in errors[6]


def test_upsert_on_a_unique_field_updates_counts_unchanged_and_handles_duplicates_in_the_file(
        installed: Installed) -> None:
    run(installed, "Name,Industry,Phone\nAcme Corp,technology,111\nGlobex,,222\n", "account")
    again = "Name,Industry,Phone\nAcme Corp,technology,111\nGlobex,,333\nInitech,,444\nInitech,,555\n"
    job = run(installed, again, "account", key="name")
    assert (job.created, job.updated, job.unchanged, job.failed) == (1, 2, 1, 0)
    assert [r["phone"] for r in rows_of(installed, "account", name="Initech")] == ["555"]
    assert rows_of(installed, "account", name="Globex")[0]["phone"] == "333"


def test_without_a_key_a_duplicate_of_a_unique_field_is_a_row_error_and_the_same_file_is_not_imported_twice(
        installed: Installed) -> None:
    data = "Name\nUmbrella\nUmbrella\n"
    job = run(installed, data, "account")
    assert (job.created, job.failed) == (1, 1)
    assert "conflict" in errors_of(installed, job)[3].lower() or "already" in errors_of(installed, job)[3].lower()
    with pytest.raises(AlreadyImported):
        run(installed, data, "account")
    assert len(rows_of(installed, "account", name="Umbrella")) == 1


def test_upsert_by_id(installed: Installed) -> None:
    run(installed, "Name\nHooli\n", "account")
    hooli = rows_of(installed, "account", name="Hooli")[0]
    job = run(installed, f"Id,Name,Phone\n{hooli['id']},Hooli,999\n999999,Nobody,555 1234\nx,Bad,2\n", "account", key="id")
    assert (job.updated, job.failed) == (1, 2)
    assert rows_of(installed, "account", name="Hooli")[0]["phone"] == "999"
    errors = errors_of(installed, job)
    assert "no account with id 999999" in errors[3] and "'x' is not a record id" in errors[4]


def test_a_mapping_that_names_unknown_fields_or_a_key_that_is_not_unique_is_refused(installed: Installed) -> None:
    with pytest.raises(Invalid) as raised:
        run(installed, "Last Name,Company\nA,B\n", columns=("last_name", "nonsense"), key="company")
    messages = " ".join(e.message for e in raised.value.errors)
    assert "no field 'nonsense'" in messages and "does not identify one record" in messages


@pytest.mark.parametrize("encoding", ["auto", "utf-8"])
def test_a_latin1_file_read_as_utf8_is_refused_whole(installed: Installed, encoding: str) -> None:
    data = ("Last Name,Company\n" + "".join(f"Row {i},Co\n" for i in range(700)) + "Müller,Café\n").encode("latin-1")
    with pytest.raises(CsvFileError, match=r"not UTF-8 text: byte 0xFC on line 702"):
        run(installed, data, encoding=encoding, batch_size=100)
    with installed.engine.connect() as connection:
        assert count(connection, "lead", installed, company="Co") == 0
        assert connection.execute(select(func.count()).select_from(import_jobs)).scalar_one() == 0


def test_bytes_the_named_encoding_does_not_have_are_refused_whole(installed: Installed) -> None:
    with pytest.raises(CsvFileError, match=r"not cp1252 text: byte 0x81 on line 3 cannot be read; check the encoding you named"):
        run(installed, b"Last Name,Company\nFine,Co\nBad\x81,Co\n", encoding="cp1252")
    with pytest.raises(CsvFileError, match="unknown encoding 'klingon'"):
        run(installed, b"Last Name,Company\nFine,Co\n", encoding="klingon")
    assert not rows_of(installed, "lead", last_name="Fine")


def test_a_latin1_file_named_as_such_and_a_utf8_bom_import_correctly(installed: Installed) -> None:
    run(installed, "Last Name,Company,Phone\nMüller,Café,555 1234\n".encode("latin-1"), encoding="latin-1")
    run(installed, "\ufeffLast Name,Company,Phone\nGroß,Straße,555 1234\n".encode())
    assert rows_of(installed, "lead", last_name="Müller")[0]["company"] == "Café"
    assert rows_of(installed, "lead", last_name="Groß")[0]["company"] == "Straße"


def test_broken_csv_is_refused_before_anything_is_written(installed: Installed) -> None:
    with pytest.raises(CsvFileError, match="not valid CSV"):
        run(installed, 'Last Name,Company\nA,B\n"unclosed,C\n')
    with pytest.raises(CsvFileError, match="longer than 8 MiB"):
        run(installed, "Last Name,Company\nA," + "x" * (9 * 1024 * 1024) + "\n")
    with installed.engine.connect() as connection:
        assert count(connection, "lead", installed, last_name="A") == 0


def test_huge_cells_fail_their_row_only(installed: Installed) -> None:
    big = "y" * 300_000
    job = run(installed, f"Last Name,Company,Description,Phone\nHuge,{big},ok,555 1234\nLong,Co,{big},555 1234\nShort,Co,,555 1234\n")
    assert (job.created, job.failed) == (2, 1)
    assert "Company" in errors_of(installed, job)[2]
    assert len(rows_of(installed, "lead", last_name="Long")[0]["description"]) == 300_000


def test_a_row_with_more_cells_than_the_header_and_a_nul_character_are_row_errors(installed: Installed) -> None:
    job = run(installed, "Last Name,Company,Phone,Rating\nA,B,555 1234,,extra\nNul\x00Name,Co,555 1234,\n"
                         "Fine,Co,555 1234,\nQuoted,Co,555 1234,h\x00t\n")
    assert (job.created, job.failed) == (1, 3)
    errors = errors_of(installed, job)
    assert "5 cells" in errors[2] and "NUL" in errors[3] and "'h\ufffdt' is not one of" in errors[5]


def test_blank_cells_leave_fields_alone_on_update_unless_asked(installed: Installed) -> None:
    run(installed, "Name,Phone,Industry\nBlanko,555 1111,technology\n", "account")
    job = run(installed, "Name,Phone,Industry\nBlanko,,\n", "account", key="name")
    assert job.unchanged == 1 and rows_of(installed, "account", name="Blanko")[0]["phone"] == "555 1111"
    raw = "Name,Phone,Industry\nBlanko,,\n".encode()
    shape = inspect_csv(bytes_opener(raw))
    cache = CatalogCache(installed.engine)
    actor = installed.actor("admin")
    settings = ImportSettings(("name", "phone", "industry"), "name", blanks_clear=True)
    job_id, _ = start_import(installed.engine, cache, actor, "account", shape, "b.csv", settings)
    assert run_import(installed.engine, cache, job_id, actor, bytes_opener(raw)).updated == 1
    blanko = rows_of(installed, "account", name="Blanko")[0]
    assert blanko["phone"] is None and blanko["industry"] is None


class FailAfter:
    """A write hook that fails the ``limit``-th create: a crash in the middle of a batch."""

    def __init__(self, limit: int) -> None:
        self.limit, self.seen = limit, 0

    def before_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        if change.action == "create":
            self.seen += 1
            if self.seen == self.limit:
                raise RuntimeError("the disk caught fire")

    def after_write(self, connection: Connection, context: Context, change: RecordChange) -> None:
        pass


def test_an_interrupted_import_resumes_after_the_last_committed_batch_and_duplicates_nothing(
        installed: Installed) -> None:
    data = "Last Name,Company,Phone\n" + "".join(f"Resume {i},Co,555 1234\n" for i in range(45))
    with pytest.raises(RuntimeError, match="disk caught fire"):
        run(installed, data, batch_size=10, hooks=[FailAfter(25)])
    with installed.engine.connect() as connection:
        assert count(connection, "lead", installed, company="Co") == 20  # two whole batches, not the third's 4
        job = get_job(connection, connection.execute(select(func.max(import_jobs.c.id))).scalar_one())
    assert job is not None and (job.status, job.last_row, job.created) == ("failed", 21, 20)
    assert "disk caught fire" in (job.message or "")
    resumed = run(installed, data, batch_size=10)
    assert resumed.id == job.id and (resumed.status, resumed.created, resumed.last_row) == ("done", 45, 46)
    names = [r["last_name"] for r in rows_of(installed, "lead", company="Co")]
    assert sorted(names) == sorted(f"Resume {i}" for i in range(45))


def test_a_rep_imports_within_their_rights(installed: Installed) -> None:
    run(installed, "Name\nSecret Account\n", "account")
    job = run(installed, "Last Name,Company,Phone,Converted Account\nMine,Co,1,Secret Account\n", user="rep1")
    # the account belongs to the administrator and rep1 may only read their own: it is not found
    assert job.failed == 1 and "there is no account 'Secret Account'" in errors_of(installed, job)[2]
    job = run(installed, "Last Name,Company,Phone\nMine,Co,555 1234\n", user="rep1", again=True)
    assert job.created == 1
    with pytest.raises(Forbidden):
        run(installed, "Last Name\nX\n", user="nobody")


def test_suggested_columns_match_names_and_labels_ignoring_case() -> None:
    from xrm.metadata.model import Field

    fields = {f.name: f for f in (Field("last_name", "text", "Last Name"), Field("email", "email", "E-mail"))}
    assert suggest_columns(["LAST NAME", "e_mail", "email", "Owner", "whatever"], fields) == (
        "last_name", "email", None, "owner_id", None)


def test_the_record_service_is_the_one_write_path(installed: Installed) -> None:
    """An import's records look exactly like the service's (formulas computed)."""
    run(installed, "First Name,Last Name,Company,Phone\nAda,Lovelace,Engines,555 1234\n")
    lead = rows_of(installed, "lead", last_name="Lovelace")[0]
    assert lead["full_name"] == "Ada Lovelace"
    with installed.engine.begin() as connection:
        model = CatalogCache(installed.engine).model()
        service = RecordService(model)
        assert service.get(connection, Context(Actor.system(), "cli"), "lead", lead["id"])["full_name"] == "Ada Lovelace"
