"""The signed-in pages: layout and navigation, entity lists, record pages, notifications, signing out.

One database per module (the runtime's template with the cast of users) with a
few records made up front; each test signs in with a fresh client of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from tests.runtime.conftest import PASSWORD, Installed, template_copy
from xrm.rules.trace import trace_of
from xrm.ui.app import create_app

LEADS = 30  # more than a page (25)


@dataclass(frozen=True)
class Site:
    installed: Installed
    app: object
    ids: dict[str, int]

    def browser(self, user: str | None = None) -> TestClient:
        """A client of its own, signed in as ``user`` (None: signed out)."""
        client = TestClient(self.app, follow_redirects=False)
        if user is not None:
            response = sign_in(client, user)
            assert response.status_code == 303, response.text
        return client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, user: str, next_url: str = "/"):  # noqa: ANN201
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token, "next": next_url})


def _create(client: TestClient, installed: Installed, entity: str, values: dict) -> int:
    response = client.post(f"/api/{entity}", json=values,
                           headers={"Authorization": f"Bearer {installed.seed.tokens['admin']}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("ui")) as installed:
        app = create_app(installed.engine)
        with TestClient(app) as api:
            users = installed.seed.user_ids
            ids = {"account": _create(api, installed, "account", {"name": "ACME Corp", "website": "https://acme.example"})}
            ids["contact"] = _create(api, installed, "contact",
                                     {"first_name": "Jane", "last_name": "Doe", "account": ids["account"]})
            for number in range(LEADS):
                _create(api, installed, "lead", {"last_name": f"Smith{number:02d}", "company": f"Globex {number:02d}",
                                                 "email": f"pat{number}@globex.example", "rating": "cold"})
            ids["lead"] = _create(api, installed, "lead", {"first_name": "Sam", "last_name": "Walker", "company": "Initech",
                                                           "email": "sam@initech.example", "rating": "hot"})
            ids["rep1_lead"] = _create(api, installed, "lead", {"last_name": "Owned", "company": "Rep One Ltd",
                                                                "email": "o@rep1.example", "owner_id": users["rep1"]})
            ids["opportunity"] = _create(api, installed, "opportunity", {
                "name": "ACME renewal", "account": ids["account"], "amount": "12000", "close_date": "2026-12-31"})
            ids["escaped"] = _create(api, installed, "account", {"name": "<script>alert(1)</script>"})
            ids["notification"] = _create(api, installed, "notification", {
                "title": "Lead Sam Walker needs you", "body": "Call today.", "entity": "lead", "record_id": ids["lead"],
                "owner_id": users["rep1"]})
        yield Site(installed, app, ids)


# -- signing in and out ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/app/lead?q=smith", "/app/lead/1", "/notifications", "/entities/lead"])
def test_every_page_sends_signed_out_visitors_to_sign_in(site: Site, path: str) -> None:
    response = site.browser().get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(path, safe='')}"


def test_signing_in_returns_to_the_page_asked_for(site: Site) -> None:
    client = site.browser()
    response = sign_in(client, "rep1", next_url="/app/lead?q=owned")
    assert response.status_code == 303 and response.headers["location"] == "/app/lead?q=owned"
    assert "Rep One Ltd" in client.get(response.headers["location"]).text


def test_the_session_cookie_is_http_only_and_same_site(site: Site) -> None:
    cookie = sign_in(site.browser(), "rep1").headers["set-cookie"].lower()
    assert cookie.startswith("xrm_session=") and "httponly" in cookie and "samesite=lax" in cookie


def test_sign_out_needs_the_csrf_token(site: Site) -> None:
    client = site.browser("rep1")
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    page = client.get("/app/lead")
    assert page.status_code == 200, "a forged sign-out leaves the session alone"
    assert client.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert client.get("/app/lead").status_code == 303


# -- layout ----------------------------------------------------------------------------------------


def test_layout_has_landmarks_skip_link_user_and_sign_out(site: Site) -> None:
    page = site.browser("rep1").get("/").text
    assert '<a class="skip-link" href="#main">' in page and '<main id="main"' in page
    assert "<header" in page and '<nav class="sidebar" aria-label="Entities">' in page
    assert "Rep1" in page, "the user's name"
    assert re.search(r'<form class="sign-out" method="post" action="/logout">\s*<input type="hidden" name="csrf_token"', page)


def test_navigation_shows_only_entities_the_user_may_read(site: Site) -> None:
    agent = site.browser("agent").get("/").text
    assert 'href="/app/case"' in agent and 'href="/app/account"' in agent
    assert 'href="/app/lead"' not in agent and 'href="/app/opportunity"' not in agent
    nobody = site.browser("nobody")
    assert 'href="/app/account"' not in nobody.get("/").text
    refused = nobody.get("/app/lead")
    assert refused.status_code == 403 and "you may not read leads" in refused.text.lower()


def test_the_notifications_link_counts_unread_ones(site: Site) -> None:
    assert re.search(r'href="/notifications"[^>]*>\s*Notifications <span class="badge">1<', site.browser("rep1").get("/").text)
    assert '<span class="badge">' not in site.browser("rep2").get("/").text


def test_htmx_is_served_from_node_modules_when_installed(site: Site) -> None:
    url = site.app.state.htmx_url
    if url is None:
        pytest.skip("node_modules/htmx.org is not installed (./run setup runs npm ci)")
    client = site.browser("rep1")
    assert f'<script src="{url}" defer></script>' in client.get("/").text
    script = client.get(url)
    assert script.status_code == 200 and "htmx" in script.text[:2000]


def test_pages_work_without_htmx(site: Site, tmp_path: Path) -> None:
    client = TestClient(create_app(site.installed.engine, htmx_dist=tmp_path), follow_redirects=False)
    sign_in(client, "rep1")
    page = client.get("/app/lead")
    assert page.status_code == 200 and "<script" not in page.text
    assert '<form class="list-tools" method="get" action="/app/lead"' in page.text


# -- list pages ------------------------------------------------------------------------------------


def _row_names(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/app/lead/\d+">([^<]*)</a>', page)


def test_list_shows_the_default_view_with_labelled_inputs(site: Site) -> None:
    page = site.browser("manager").get("/app/lead").text
    for name in ("view", "q", "filter"):
        assert f'<label for="{name}">' in page and f'id="{name}"' in page
    assert "All Leads" in page and ">Full Name<" in page and ">Company<" in page
    assert "1–25 of 32" in page


def test_quick_search(site: Site) -> None:
    page = site.browser("manager").get("/app/lead", params={"q": "initech"}).text
    assert _row_names(page) == ["Sam Walker"] and "1–1 of 1" in page


def test_sorting_by_a_column_header(site: Site) -> None:
    client = site.browser("manager")
    ascending = client.get("/app/lead", params={"sort": "company"}).text
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a id="sort-company" class="sort" href="/app/lead\?sort=-company"',
                     ascending)
    assert _row_names(ascending)[:2] == ["Smith00", "Smith01"]
    descending = client.get("/app/lead", params={"sort": "-company"}).text
    assert 'aria-sort="descending"' in descending and _row_names(descending)[0] == "Owned"


def test_paging_by_offset(site: Site) -> None:
    client = site.browser("manager")
    first = client.get("/app/lead", params={"sort": "company"}).text
    assert 'href="/app/lead?sort=company&amp;offset=25" rel="next"' in first
    second = client.get("/app/lead", params={"sort": "company", "offset": 25}).text
    assert "26–32 of 32" in second and len(_row_names(second)) == 7
    assert 'href="/app/lead?sort=company" rel="prev"' in second


def test_filter_expression(site: Site) -> None:
    page = site.browser("manager").get("/app/lead", params={"filter": "rating = 'hot'"}).text
    assert _row_names(page) == ["Sam Walker"]


def test_filter_errors_show_the_checkers_message_next_to_the_box(site: Site) -> None:
    page = site.browser("manager").get("/app/lead", params={"filter": "ratin = 'hot'"}).text
    assert 'aria-invalid="true"' in page and 'id="filter-error" class="field-error" role="alert"' in page
    assert "1:1:" in page and "ratin" in page
    assert _row_names(page) == [], "no rows that would look filtered"


def test_a_bad_sort_is_reported_and_ignored(site: Site) -> None:
    page = site.browser("manager").get("/app/lead", params={"sort": "nope"}).text
    assert "cannot sort by &#39;nope&#39;" in page and len(_row_names(page)) == 25


def test_lists_keep_to_the_readers_scope_and_fields(site: Site) -> None:
    assert "Rep One Ltd" in site.browser("rep1").get("/app/lead").text
    assert "Rep One Ltd" not in site.browser("rep2").get("/app/lead").text
    opportunities = site.browser("marketing").get("/app/opportunity").text
    assert "ACME renewal" in opportunities and ">Stage<" in opportunities
    assert ">Amount<" not in opportunities and "12,000" not in opportunities, "a hidden field is no column"


def test_htmx_gets_the_list_region_alone(site: Site) -> None:
    response = site.browser("manager").get("/app/lead", params={"q": "initech"},
                                           headers={"HX-Request": "true", "HX-Target": "list-region"})
    assert response.text.lstrip().startswith('<div id="list-region"') and "<html" not in response.text
    assert "Sam Walker" in response.text and "HX-Request" in response.headers["vary"]


# -- record pages ----------------------------------------------------------------------------------


def test_record_page_links_lookups_and_shows_empty_values(site: Site) -> None:
    page = site.browser("manager").get(f"/app/contact/{site.ids['contact']}").text
    assert "<h1>Jane Doe</h1>" in page
    assert f'<a href="/app/account/{site.ids["account"]}">ACME Corp</a>' in page
    assert '<span class="empty-value" title="empty">—</span>' in page


def test_record_page_lists_related_records(site: Site) -> None:
    page = site.browser("manager").get(f"/app/account/{site.ids['account']}").text
    assert re.search(r'<h2 id="related-contact-account">Contacts <span class="count">1</span>', page)
    assert f'<a href="/app/contact/{site.ids["contact"]}">Jane Doe</a>' in page


def test_timeline_merges_changes_and_rule_decisions(site: Site) -> None:
    lead = site.ids["lead"]
    with site.installed.engine.connect() as connection:
        decisions = trace_of(connection, "lead", lead, fired_only=True)
    assert decisions, "the crm rules act on a new lead"
    page = site.browser("manager").get(f"/app/lead/{lead}").text
    timeline = page[page.index('id="timeline-heading"'):]
    assert "Created via api" in timeline and "by Admin" in timeline
    for decision in decisions:
        assert str(escape(decision["summary"])) in timeline
    assert timeline.index("Created via api") > timeline.index(str(escape(decisions[-1]["summary"]))), "newest first"


def test_timeline_shows_linked_records_and_notifications_about_the_record(site: Site) -> None:
    with TestClient(site.app) as api:
        task = _create(api, site.installed, "activity", {"subject": "Call Sam back", "activity_type": "call",
                                                         "lead": site.ids["lead"]})
    rep1 = site.browser("rep1").get(f"/app/lead/{site.ids['lead']}")
    if rep1.status_code == 200:  # rep1 sees the lead only when the rules routed it to them
        assert "Notified Rep1: Lead Sam Walker needs you" in rep1.text
    manager = site.browser("manager").get(f"/app/lead/{site.ids['lead']}").text
    timeline = manager[manager.index('id="timeline-heading"'):]
    assert f'<a href="/app/activity/{task}">Activity added: Call Sam back</a>' in timeline
    assert "Notified Rep1" not in timeline, "someone else's notification is not the manager's to read"
    admin = site.browser("admin").get(f"/app/lead/{site.ids['lead']}").text
    assert "Notified Rep1: Lead Sam Walker needs you" in admin and "Call today." in admin
    assert admin.index("Activity added: Call Sam back") < admin.index("Created via api"), "newest first"


def test_records_outside_the_scope_are_not_found(site: Site) -> None:
    client = site.browser("rep2")
    assert client.get(f"/app/lead/{site.ids['rep1_lead']}").status_code == 404
    assert client.get("/app/lead/999999").status_code == 404
    assert client.get("/app/nothing").status_code == 404


def test_values_are_escaped(site: Site) -> None:
    page = site.browser("manager").get(f"/app/account/{site.ids['escaped']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- notifications ---------------------------------------------------------------------------------


def test_notifications_page_lists_the_users_own(site: Site) -> None:
    page = site.browser("rep1").get("/notifications").text
    assert f'<a href="/app/lead/{site.ids["lead"]}">Lead Sam Walker needs you</a>' in page and "Call today." in page
    assert "Unread" in page
    assert "Lead Sam Walker needs you" in site.browser("rep1").get("/notifications?unread=1").text
    assert "Lead Sam Walker needs you" not in site.browser("admin").get("/notifications").text, "only one's own"
