"""Times on pages in the reader's own time zone (their user record's ``time_zone``), typed in it too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, _create, csrf_of
from xrm.system_tables import users
from xrm.ui.app import create_app


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("zones")) as installed:
        with installed.engine.begin() as connection:
            connection.execute(update(users).where(users.c.username == "rep1").values(time_zone="Europe/Berlin"))
            connection.execute(update(users).where(users.c.username == "rep2").values(time_zone="America/New_York"))
        app = create_app(installed.engine)
        with TestClient(app) as api:
            rep1 = installed.seed.user_ids["rep1"]
            lead = _create(api, installed, "lead", {"last_name": "Zoned", "company": "Tz", "email": "z@tz.example",
                                                    "owner_id": rep1, "converted_at": "2026-06-01T09:30:00Z"})
            yield Site(installed, app, {"lead": lead})


def test_a_record_shows_times_in_the_readers_zone(site: Site) -> None:
    page = site.browser("rep1").get(f"/app/lead/{site.ids['lead']}").text
    assert "2026-06-01 11:30 CEST" in page
    admin = site.browser("admin").get(f"/app/lead/{site.ids['lead']}").text
    assert "2026-06-01 09:30 UTC" in admin, "UTC for a user without a zone of their own"


def test_the_timeline_is_in_the_readers_zone(site: Site) -> None:
    page = site.browser("rep1").get(f"/app/lead/{site.ids['lead']}").text
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d (CEST|CET)", page)
    assert len(stamps) >= 2, "the field and the timeline entries"


def test_a_form_shows_and_reads_times_in_the_readers_zone(site: Site) -> None:
    admin = site.browser("admin")
    lead = site.ids["lead"]
    form = admin.get(f"/app/lead/{lead}/edit").text
    assert re.search(r'id="f-converted_at"', form) and "(UTC)" in form
    client = site.browser("rep1")
    page = client.get(f"/app/lead/{lead}/edit").text
    assert "(Europe/Berlin)" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    response = client.post(f"/app/lead/{lead}/edit", data={
        "csrf_token": csrf_of(page), "version": version, "last_name": "Zoned", "company": "Tz",
        "email": "z@tz.example", "converted_at": "2026-01-15T10:00"})
    assert response.status_code == 303, response.text
    with site.installed.engine.connect() as connection:
        table = site.app.state.catalog.model_for(connection).table("lead")
        stored = connection.execute(select(table.c.converted_at).where(table.c.id == lead)).scalar_one()
    assert stored.isoformat().startswith("2026-01-15T09:00"), "10:00 in Berlin in winter is 09:00 UTC"
    again = client.get(f"/app/lead/{lead}/edit").text
    assert 'value="2026-01-15T10:00"' in again
