"""The import pages (upload, mapping with a preview, progress, error CSV, resume) and the list's CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.runtime.conftest import Installed, template_copy
from tests.ui.test_pages import csrf_of, sign_in
from xrm.context import utc_now
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.import_jobs import STALE_AFTER
from xrm.system_tables import import_jobs
from xrm.ui.app import create_app

LEADS_CSV = ("Last Name,Company,Phone,Rating,Favourite Colour\n"
             "Page One,Upload Co,555 1234,Hot,blue\n"
             "Page Two,,555 1234,warm,red\n"
             "Page Three,Upload Co,555 1234,cold,green\n")


@pytest.fixture(scope="module")
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("import-ui")) as copy:
        yield copy


@pytest.fixture(scope="module")
def app(installed: Installed):  # noqa: ANN201
    return create_app(installed.engine)


def browser(app, user: str) -> TestClient:  # noqa: ANN001
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, user).status_code == 303
    return client


def upload(client: TestClient, data: bytes, *, name: str = "leads.csv", encoding: str = "auto", entity: str = "lead"):  # noqa: ANN201
    token = csrf_of(client.get(f"/app/{entity}/import").text)
    return client.post(f"/app/{entity}/import", data={"csrf_token": token, "encoding": encoding},
                       files={"file": (name, data, "text/csv")})


def lead_names(installed: Installed, company: str) -> list[str]:
    table = CatalogCache(installed.engine).model().table("lead")
    with installed.engine.connect() as connection:
        return sorted(connection.execute(select(table.c.last_name).where(table.c.company == company)).scalars())


def test_upload_map_import_and_download_the_refused_rows(app, installed: Installed) -> None:  # noqa: ANN001
    client = browser(app, "rep1")
    response = upload(client, LEADS_CSV.encode())
    assert response.status_code == 303
    job_href = response.headers["location"]
    mapping = client.get(job_href).text
    assert "3 rows to import" in mapping and "Page One" in mapping  # the preview
    # suggestions by label; the unknown column is not imported
    assert re.search(r'<select id="column-0" name="column-0">.*?<option value="last_name" selected>', mapping, re.S)
    assert re.search(r'<select id="column-4" name="column-4">\s*<option value="" selected>', mapping)
    form = {"csrf_token": csrf_of(mapping), "column-0": "last_name", "column-1": "company", "column-2": "phone",
            "column-3": "rating", "column-4": "", "key": ""}
    response = client.post(job_href, data=form)
    assert response.status_code == 303 and response.headers["location"] == job_href
    result = client.get(job_href).text  # the test client ran the import (the response's background task) already
    assert "Finished" in result and "<dd>2</dd>" in result and "http-equiv" not in result
    assert lead_names(installed, "Upload Co") == ["Page One", "Page Three"]
    errors = client.get(f"{job_href}/errors.csv")
    assert errors.status_code == 200 and errors.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(errors.text.lstrip("\ufeff"))))
    assert rows[0] == ["Last Name", "Company", "Phone", "Rating", "Favourite Colour", "row", "errors"]
    assert rows[1][:6] == ["Page Two", "", "555 1234", "warm", "red", "3"] and "required" in rows[1][6]
    history = client.get("/app/lead/import").text
    assert f'<a href="{job_href}">' in history and "leads.csv" in history and "UTC" in history
    # another user cannot see the job
    assert browser(app, "rep2").get(job_href).status_code == 404
    # importing the same file again without a key is refused with the choice to go ahead
    again = client.get(upload(client, LEADS_CSV.encode()).headers["location"])
    form["csrf_token"] = csrf_of(again.text)
    refused = client.post(str(again.url), data=form)
    assert refused.status_code == 409 and "imported already" in refused.text and 'name="again"' in refused.text
    assert lead_names(installed, "Upload Co") == ["Page One", "Page Three"]


def test_a_file_in_the_wrong_encoding_is_refused_at_upload(app) -> None:  # noqa: ANN001
    client = browser(app, "rep1")
    response = upload(client, "Last Name,Company\nMüller,Café\n".encode("latin-1"))
    assert response.status_code == 422 and "not UTF-8 text" in response.text and 'role="alert"' in response.text
    assert upload(client, "Last Name,Company\nMüller,Café\n".encode("latin-1"), encoding="latin-1").status_code == 303


def test_uploads_left_at_the_mapping_step_for_a_day_are_dropped(app, installed: Installed) -> None:  # noqa: ANN001
    client = browser(app, "rep1")
    old = int(upload(client, b"Last Name\nOld\n").headers["location"].rsplit("/", 1)[1])
    with installed.engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.id == old).values(
            updated_at=utc_now() - timedelta(days=2)))
    fresh = int(upload(client, b"Last Name\nFresh\n").headers["location"].rsplit("/", 1)[1])
    with installed.engine.connect() as connection:
        left = set(connection.execute(select(import_jobs.c.id).where(import_jobs.c.id.in_([old, fresh]))).scalars())
    assert left == {fresh}


def test_a_bad_mapping_is_shown_with_its_errors(app) -> None:  # noqa: ANN001
    client = browser(app, "admin")
    job_href = upload(client, b"Name,Code\nX,1\n", entity="account").headers["location"]
    page = client.get(job_href).text
    response = client.post(job_href, data={"csrf_token": csrf_of(page), "column-0": "name", "column-1": "name",
                                           "key": "account_number"})
    assert response.status_code == 422
    assert "both fill" in response.text and "No column fills the key" in response.text


def test_the_import_needs_the_right_to_create_and_a_csrf_token(app) -> None:  # noqa: ANN001
    assert browser(app, "nobody").get("/app/lead/import").status_code == 403
    client = browser(app, "rep1")
    response = client.post("/app/lead/import", data={"csrf_token": "forged"}, files={"file": ("a.csv", b"a\n1\n")})
    assert response.status_code == 403


@pytest.mark.parametrize("status", ["running", "queued"])
def test_an_interrupted_job_shows_a_resume_button_that_finishes_it(app, installed: Installed, status: str) -> None:  # noqa: ANN001
    client = browser(app, "rep1")
    company = f"Resumed {status}"
    data = "Last Name,Company,Phone\n" + "".join(f"R{i},{company},555 1234\n" for i in range(5))
    job_href = upload(client, data.encode()).headers["location"]
    job_id = int(job_href.rsplit("/", 1)[1])
    # as if a server had started the job and died: running, with a heartbeat long gone
    with installed.engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(
            status=status, runner="elsewhere:1:1", updated_at=utc_now() - 2 * STALE_AFTER,
            settings={**connection.execute(select(import_jobs.c.settings).where(import_jobs.c.id == job_id)).scalar(),
                      "columns": ["last_name", "company", "phone"], "key": None, "blanks_clear": False}))
    interrupted = client.get(job_href).text
    assert "Interrupted" in interrupted and "Resume the import" in interrupted
    response = client.post(f"{job_href}/resume", data={"csrf_token": csrf_of(interrupted)})
    assert response.status_code == 303
    assert "Finished" in client.get(job_href).text
    assert lead_names(installed, company) == [f"R{i}" for i in range(5)]


def test_the_progress_fragment_polls_while_the_job_runs(app, installed: Installed) -> None:  # noqa: ANN001
    client = browser(app, "rep1")
    job_href = upload(client, b"Last Name,Company,Phone\nQ,Queued Co,555 1234\n").headers["location"]
    job_id = int(job_href.rsplit("/", 1)[1])
    with installed.engine.begin() as connection:
        settings = connection.execute(select(import_jobs.c.settings).where(import_jobs.c.id == job_id)).scalar()
        connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(
            status="queued", settings={**settings, "columns": ["last_name", "company", "phone"], "key": None}))
    page = client.get(job_href).text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    fragment = client.get(job_href, headers={"HX-Request": "true", "HX-Target": "import-progress"}).text
    assert fragment.startswith('<section id="import-progress"') and 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment


def test_export_streams_the_list_as_the_reader_sees_it(app, installed: Installed) -> None:  # noqa: ANN001
    admin = browser(app, "admin")
    token = csrf_of(admin.get("/app/lead/import").text)
    data = ("Last Name,Company,Phone,Owner\nExp A,Export Page Co,555 1234,rep1\nExp B,Export Page Co,555 1234,rep2\n"
            "Exp C,Export Page Co,555 1234,rep1\n")
    job_href = admin.post("/app/lead/import", data={"csrf_token": token},
                          files={"file": ("e.csv", data.encode(), "text/csv")}).headers["location"]
    page = admin.get(job_href).text
    admin.post(job_href, data={"csrf_token": csrf_of(page), "column-0": "last_name", "column-1": "company",
                               "column-2": "phone", "column-3": "owner_id", "key": ""})
    rep1 = browser(app, "rep1")
    response = rep1.get("/app/lead/export.csv", params={"filter": "company = 'Export Page Co'", "sort": "-last_name"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="lead-')
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert response.text.startswith("\ufeff")
    assert rows[0][:3] == ["Full Name", "Company", "Status"]  # the default view's columns, by label
    names = [r[0] for r in rows[1:]]
    assert names == ["Exp C", "Exp A"]  # rep2's lead is outside rep1's scope; sorted as asked
    chosen = rep1.get("/app/lead/export.csv", params=[("filter", "company = 'Export Page Co'"),
                                                       ("columns", "last_name"), ("columns", "company")])
    assert list(csv.reader(io.StringIO(chosen.text.lstrip("\ufeff"))))[0] == ["Last Name", "Company"]
    broken = rep1.get("/app/lead/export.csv", params={"filter": "company = "})
    assert broken.status_code == 422 and "Cannot export" in broken.text
    assert browser(app, "nobody").get("/app/lead/export.csv").status_code == 403
