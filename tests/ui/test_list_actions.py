"""The list page's tools beyond searching: column choice, saved views (personal and shared), bulk actions.

Everything is posted as plain forms (JavaScript off), as a browser without
htmx would; each test makes the records it counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, _create, csrf_of
from xrm.ui.app import create_app


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("list-actions")) as installed:
        app = create_app(installed.engine)
        with TestClient(app):
            yield Site(installed, app, {})


def _lead(site: Site, last_name: str, **values: object) -> int:
    with TestClient(site.app) as api:
        return _create(api, site.installed, "lead", {"last_name": last_name, "company": f"{last_name} Ltd",
                                                     "email": f"{last_name.lower()}@example.com", **values})


def _rows(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/app/lead/\d+">([^<]*)</a>', page)


def _headers(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>|[▲▼↕]", "", h).strip()
            for h in re.findall(r'<th scope="col"(?: aria-sort="\w+")?>(.*?)</th>', page, re.S)]


def _post(client: TestClient, list_path: str, action: str, data: dict | list) -> object:
    token = csrf_of(client.get(list_path).text)
    fields: dict[str, list[str]] = {"csrf_token": [token]}
    for key, value in (data.items() if isinstance(data, dict) else data):
        fields.setdefault(key, []).append(value)
    return client.post(action, data=fields)


# -- columns -----------------------------------------------------------------------------------------


def test_the_reader_chooses_the_columns(site: Site) -> None:
    _lead(site, "Columnist", rating="warm", city="Lyon")
    client = site.browser("manager")
    page = client.get("/app/lead").text
    assert 'name="columns" value="city"' in page, "every readable field is offered as a column"
    chosen = client.get("/app/lead", params=[("columns", "last_name"), ("columns", "city"), ("q", "columnist")]).text
    assert _headers(chosen) == ["Last Name", "City"]
    assert "Lyon" in chosen
    assert re.search(r'name="columns" value="city" checked', chosen)


def test_a_column_the_reader_may_not_see_is_dropped(site: Site) -> None:
    _lead(site, "Repcolumn", owner_id=site.installed.seed.user_ids["rep1"])
    page = site.browser("rep1").get("/app/lead", params=[("columns", "last_name"), ("columns", "nonsense")]).text
    assert _headers(page) == ["Last Name"]


# -- saved views -------------------------------------------------------------------------------------


def _saved_view_ids(page: str) -> dict[str, str]:
    return {label: key for key, label in re.findall(r'<option value="(saved-\d+)"[^>]*>([^<]+)</option>', page)}


def test_saving_a_view_keeps_filter_sort_search_and_columns(site: Site) -> None:
    _lead(site, "Hotshot", rating="hot", city="Berlin")
    _lead(site, "Coldfish", rating="cold", city="Berlin")
    client = site.browser("manager")
    state = [("filter", "city = 'Berlin'"), ("sort", "-last_name"), ("columns", "last_name"), ("columns", "rating")]
    response = _post(client, "/app/lead", "/app/lead/views",
                     [*state, ("name", "Berlin leads"), ("return_to", "/app/lead")])
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/app/lead\?view=saved-\d+", location)
    page = client.get(location).text
    assert _rows(page) == ["Hotshot", "Coldfish"], "the saved filter and sort apply"
    assert _headers(page) == ["Last Name", "Rating"]
    assert "city = &#39;Berlin&#39;" in page, "the page says what the view shows"
    narrowed = client.get(location + "&filter=rating+%3D+%27hot%27").text
    assert _rows(narrowed) == ["Hotshot"], "the reader's filter narrows the saved one"
    assert "Berlin leads" in _saved_view_ids(client.get("/app/lead").text)
    assert "Berlin leads" not in _saved_view_ids(site.browser("rep2").get("/app/lead").text), "personal"


def test_a_shared_view_is_seen_by_others_and_only_its_owner_deletes_it(site: Site) -> None:
    manager = site.browser("manager")
    response = _post(manager, "/app/lead", "/app/lead/views",
                     {"name": "Team hot list", "filter": "rating = 'hot'", "columns": "last_name", "shared": "yes"})
    assert response.status_code == 303
    view_id = int(response.headers["location"].rsplit("-", 1)[1])
    rep = site.browser("rep2")
    assert "Team hot list" in _saved_view_ids(rep.get("/app/lead").text)
    refused = _post(rep, "/app/lead", f"/app/lead/views/{view_id}/delete", {})
    assert refused.status_code == 403
    deleted = _post(manager, "/app/lead", f"/app/lead/views/{view_id}/delete", {})
    assert deleted.status_code == 303
    assert "Team hot list" not in _saved_view_ids(rep.get("/app/lead").text)


def test_a_rep_may_not_share_and_a_bad_view_is_explained(site: Site) -> None:
    rep = site.browser("rep1")
    refused = _post(rep, "/app/lead", "/app/lead/views",
                    {"name": "Mine for all", "columns": "last_name", "shared": "yes"})
    assert refused.status_code == 422 and "people who see every record may share a view" in refused.text
    nameless = _post(rep, "/app/lead", "/app/lead/views", {"name": " ", "columns": "last_name"})
    assert nameless.status_code == 422 and "the view a name" in nameless.text
    broken = _post(rep, "/app/lead", "/app/lead/views", {"name": "Broken", "filter": "nosuchfield = 1"})
    assert broken.status_code == 422 and "nosuchfield" in broken.text


def test_someone_elses_personal_view_is_not_applied(site: Site) -> None:
    manager = site.browser("manager")
    response = _post(manager, "/app/lead", "/app/lead/views",
                     {"name": "Secret", "filter": "rating = 'hot'", "columns": "last_name"})
    key = response.headers["location"].split("=", 1)[1]
    page = site.browser("rep2").get(f"/app/lead?view={key}").text
    assert "Secret" not in page and "All Leads" in page, "an unknown view falls back to the default"


# -- bulk actions ------------------------------------------------------------------------------------


def _owner_of(site: Site, lead_id: int) -> int | None:
    with site.installed.engine.connect() as connection:
        table = site.app.state.catalog.model_for(connection).table("lead")
        return connection.execute(select(table.c.owner_id).where(table.c.id == lead_id)).scalar()


def _exists(site: Site, lead_id: int) -> bool:
    with site.installed.engine.connect() as connection:
        table = site.app.state.catalog.model_for(connection).table("lead")
        return connection.execute(select(table.c.id).where(table.c.id == lead_id)).first() is not None


def test_bulk_assign_changes_the_owner_of_each_ticked_record(site: Site) -> None:
    users = site.installed.seed.user_ids
    ids = [_lead(site, f"Bulky{n}") for n in range(3)]
    client = site.browser("manager")
    page = client.get("/app/lead", params={"q": "bulky"}).text
    for lead_id in ids:
        assert f'name="ids" value="{lead_id}" form="bulk-form"' in page
    response = _post(client, "/app/lead", "/app/lead/bulk",
                     [("action", "assign"), ("owner", str(users["rep2"])), ("ids", str(ids[0])), ("ids", str(ids[1])),
                      ("return_to", "/app/lead?q=bulky")])
    assert response.status_code == 200 and "2 leads assigned" in response.text
    assert 'href="/app/lead?q=bulky"' in response.text
    assert [_owner_of(site, i) for i in ids[:2]] == [users["rep2"]] * 2
    assert _owner_of(site, ids[2]) != users["rep2"]


def test_bulk_delete_asks_first_and_reports_records_it_could_not_delete(site: Site) -> None:
    doomed = [_lead(site, f"Doomed{n}") for n in range(2)]
    client = site.browser("manager")
    pairs = [("action", "delete"), *[("ids", str(i)) for i in doomed], ("ids", "999999")]
    confirm = _post(client, "/app/lead", "/app/lead/bulk", pairs)
    assert confirm.status_code == 200 and "Delete 3 leads?" in confirm.text
    assert all(_exists(site, i) for i in doomed), "nothing is deleted before the confirmation"
    done = _post(client, "/app/lead", "/app/lead/bulk", [*pairs, ("confirm", "yes")])
    assert "2 leads deleted" in done.text and "1 could not be deleted" in done.text and "#999999" in done.text
    assert not any(_exists(site, i) for i in doomed)


def test_bulk_actions_follow_the_role(site: Site) -> None:
    mine = _lead(site, "Repowned", owner_id=site.installed.seed.user_ids["rep1"])
    rep = site.browser("rep1")
    page = rep.get("/app/lead").text
    assert 'value="assign"' in page and 'value="delete"' not in page, "sales reps may not delete leads"
    refused = _post(rep, "/app/lead", "/app/lead/bulk", [("action", "delete"), ("ids", str(mine)), ("confirm", "yes")])
    assert refused.status_code == 422 and "an action you may take" in refused.text
    assert _exists(site, mine)
    none_ticked = _post(rep, "/app/lead", "/app/lead/bulk", [("action", "assign"), ("owner", "1")])
    assert none_ticked.status_code == 422 and "the leads first" in none_ticked.text
    other = _lead(site, "Notmine", owner_id=site.installed.seed.user_ids["rep2"])
    result = _post(rep, "/app/lead", "/app/lead/bulk",
                   [("action", "assign"), ("owner", str(site.installed.seed.user_ids["rep1"])), ("ids", str(other))])
    assert "0 leads assigned" in result.text and "1 could not be assigned" in result.text
    assert _owner_of(site, other) == site.installed.seed.user_ids["rep2"], "out of scope: untouched"


def test_bulk_form_needs_its_csrf_token(site: Site) -> None:
    lead_id = _lead(site, "Guarded")
    response = site.browser("manager").post("/app/lead/bulk", data={"action": "delete", "ids": str(lead_id),
                                                                    "confirm": "yes"})
    assert response.status_code == 403 and _exists(site, lead_id)


def test_a_saved_view_drives_the_board_too(site: Site) -> None:
    _lead(site, "Boardhot", rating="hot", city="Graz")
    _lead(site, "Boardcold", rating="cold", city="Graz")
    client = site.browser("manager")
    response = _post(client, "/app/lead", "/app/lead/views",
                     {"name": "Graz hot", "filter": "city = 'Graz' and rating = 'hot'", "columns": "last_name"})
    key = response.headers["location"].split("=", 1)[1]
    board = client.get(f"/app/lead/board?view={key}").text
    assert "Boardhot" in board and "Boardcold" not in board
    assert re.search(rf'<option value="{key}" selected>Graz hot</option>', board)
