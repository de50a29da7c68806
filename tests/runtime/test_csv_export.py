"""CSV export: the reader's columns, filter and scope, values an import reads back, streamed in partitions."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from tests.runtime.conftest import Installed
from tests.runtime.test_csv_import import run
from xrm.db import read_only
from xrm.runtime import csv_export
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.csv_export import count_rows, csv_chunks, export_rows, plan_export
from xrm.runtime.record_errors import Invalid
from xrm.runtime.records import RecordService


def export(installed: Installed, entity: str, user: str = "admin", columns: Sequence[str] | None = None,
           **request: str) -> list[list[str]]:
    cache = CatalogCache(installed.engine)
    context = installed.context(user, "cli")
    with read_only(installed.engine.connect()) as connection:
        model = cache.model_for(connection)
        plan = plan_export(model, context, entity, columns, **request)
        text = "".join(csv_chunks(export_rows(connection, model, context, plan), rows_per_chunk=3))
    return list(csv.reader(io.StringIO(text)))


def create(installed: Installed, entity: str, user: str, values: dict) -> dict:
    cache, context = CatalogCache(installed.engine), installed.context(user)
    with installed.engine.begin() as connection:
        return RecordService(cache.model_for(connection)).create(connection, context, entity, values)


def test_values_are_written_so_that_an_import_reads_them_back(installed: Installed) -> None:
    account = create(installed, "account", "admin", {"name": "Acme, Inc.", "annual_revenue": "1234.5"})
    create(installed, "contact", "admin", {
        "last_name": 'Doe "JD"', "account": account["id"], "birthdate": "1990-02-03", "email_opt_out": True,
        "preferred_channels": ["phone", "email"], "owner_id": installed.seed.user_ids["rep1"]})
    rows = export(installed, "contact", columns=["last_name", "account", "birthdate", "email_opt_out",
                                                "preferred_channels", "owner_id"], filter="last_name starts_with 'Doe'")
    assert rows[0] == ["last_name", "account", "birthdate", "email_opt_out", "preferred_channels", "owner_id"]
    assert rows[1:] == [['Doe "JD"', "Acme, Inc.", "1990-02-03", "true", "email;phone", "Rep1"]]
    assert export(installed, "account", columns=["name", "annual_revenue"], filter="name = 'Acme, Inc.'")[1] == \
        ["Acme, Inc.", "1234.50"]


def test_an_export_imports_back_unchanged(installed: Installed) -> None:
    run(installed, "Name,Industry,Phone,Parent Account\nRoot Co,technology,555 1111,\nLeaf Co,,555 2222,Root Co\n",
        "account")
    rows = export(installed, "account", columns=["id", "name", "industry", "phone", "parent_account"],
                  filter="name in ('Root Co', 'Leaf Co')", sort="name")
    assert [r[1] for r in rows[1:]] == ["Leaf Co", "Root Co"] and rows[1][4] == "Root Co"
    text = "".join(csv_chunks(iter(rows)))
    job = run(installed, text, "account", key="id")
    assert (job.unchanged, job.updated, job.created, job.failed) == (2, 0, 0, 0)


def test_the_record_scope_and_hidden_fields_apply(installed: Installed) -> None:
    create(installed, "lead", "rep1", {"last_name": "Mine", "company": "Co", "phone": "555 1234"})
    create(installed, "lead", "rep2", {"last_name": "Theirs", "company": "Co", "phone": "555 1234"})
    create(installed, "campaign", "admin", {"name": "Spring", "status": "planned", "budgeted_cost": "100"})
    assert [r[0] for r in export(installed, "lead", "rep1", ["last_name"], filter="company = 'Co'")[1:]] == ["Mine"]
    assert len(export(installed, "lead", "admin", ["last_name"], filter="company = 'Co'")) == 3
    header = export(installed, "campaign", "rep1")[0]
    assert "budgeted_cost" not in header and "name" in header and header[0] == "id"
    with pytest.raises(Invalid, match="columns"):
        export(installed, "campaign", "rep1", ["name", "budgeted_cost"])
    with pytest.raises(Invalid, match="filter"):
        export(installed, "campaign", "rep1", ["name"], filter="budgeted_cost > 0")
    with pytest.raises(Invalid):
        export(installed, "lead", "admin", ["last_name"], sort="no_such_field")


def test_rows_stream_in_partitions(installed: Installed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_export, "PARTITION", 7)
    data = "Last Name,Company,Phone\n" + "".join(f"Stream {i:02},Streamers,555 1234\n" for i in range(30))
    run(installed, data)
    rows = export(installed, "lead", columns=["last_name"], filter="company = 'Streamers'", sort="-last_name")
    assert [r[0] for r in rows[1:]] == [f"Stream {i:02}" for i in reversed(range(30))]
    cache = CatalogCache(installed.engine)
    context = installed.context("admin", "cli")
    with read_only(installed.engine.connect()) as connection:
        model = cache.model_for(connection)
        plan = plan_export(model, context, "lead", ["last_name"], filter="company = 'Streamers'")
        assert count_rows(connection, model, context, plan) == 30
        stream = export_rows(connection, model, context, plan)
        assert next(stream) == ["last_name"] and next(stream) == ["Stream 00"]  # lazy: one row at a time
        stream.close()
        assert connection.execute(select(1)).scalar() == 1  # the connection is usable after a stream stopped early
