"""Create and edit forms, inline validation and workflow buttons, all as plain form posts (JavaScript off)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.runtime.conftest import template_copy
from tests.ui.test_pages import Site, _create, csrf_of
from xrm.ui.app import create_app


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path_factory.mktemp("forms")) as installed:
        app = create_app(installed.engine)
        with TestClient(app) as api:
            ids = {"account": _create(api, installed, "account", {"name": "ACME Corp"})}
            yield Site(installed, app, ids)


def _lead(site: Site, **values: object) -> int:
    with TestClient(site.app) as api:
        return _create(api, site.installed, "lead", {"last_name": "Walker", "company": "Initech",
                                                     "email": "sam@initech.example", **values})


def _post(client: TestClient, page_path: str, action: str, data: dict, **kwargs: object):  # noqa: ANN202
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    base = {"csrf_token": csrf_of(page.text), **({"version": version.group(1)} if version else {})}
    return client.post(action, data={**base, **data}, **kwargs)


def _count(site: Site, entity: str) -> int:
    with site.installed.engine.connect() as connection:
        table = site.app.state.catalog.model_for(connection).table(entity)
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_list_offers_new_and_the_form_has_a_control_per_field_type(site: Site) -> None:
    client = site.browser("rep1")
    assert 'href="/app/lead/new"' in client.get("/app/lead").text
    page = client.get("/app/lead/new").text
    assert '<label for="f-last_name">Last Name <span class="required"' in page
    assert re.search(r'<input type="email" id="f-email" name="email"', page)
    assert re.search(r'<input type="number" id="f-number_of_employees"[^>]*step="1"', page)
    assert re.search(r'<input type="datetime-local" id="f-converted_at"', page)
    assert re.search(r'<input type="checkbox" id="f-do_not_call"', page)
    assert re.search(r'<textarea id="f-description"', page)
    assert re.search(r'<select id="f-converted_account" name="converted_account"', page), "a lookup: a select"
    assert "ACME Corp" not in page, "only the records the reader may see"
    admin = site.browser("admin").get("/app/lead/new").text
    assert '<option value="{}">ACME Corp</option>'.format(site.ids["account"]) in admin
    assert 'aria-describedby="f-rating-hint f-rating-error"' in page and 'id="f-rating-hint"' in page
    assert 'name="full_name"' not in page and "Full Name" in page, "a formula is shown, not typed"
    assert 'name="status"' not in page, "the workflow's state moves by transitions"
    assert 'name="last_activity_at"' not in page
    assert 'href="/app/territory/new"' not in client.get("/app/territory").text, "reps may not create territories"


def test_creating_a_lead_redirects_to_it_and_shows_the_rules_trace(site: Site) -> None:
    client = site.browser("rep1")
    response = _post(client, "/app/lead/new", "/app/lead/new", {
        "last_name": "Formsby", "company": "Posted Ltd", "email": "f@posted.example", "rating": "warm",
        "converted_at": "", "do_not_call": "true"})
    assert response.status_code == 303, response.text
    record = client.get(response.headers["location"])
    assert record.status_code == 200 and "Formsby" in record.text and "Posted Ltd" in record.text
    assert "Created via ui" in record.text
    assert "Rule \u201cLead activity clock starts at creation\u201d" in record.text, "the rules' trace on the timeline"
    assert 'href="{}/edit"'.format(response.headers["location"]) in record.text


def test_a_validation_error_keeps_the_values_and_sits_next_to_its_field(site: Site) -> None:
    client = site.browser("rep1")
    before = _count(site, "lead")
    response = _post(client, "/app/lead/new", "/app/lead/new", {
        "last_name": "Keepme", "company": "", "email": "keep@me.example", "country": "de", "description": "typed"})
    assert response.status_code == 422
    page = response.text
    assert 'role="alert"' in page and 'href="#f-company"' in page and 'href="#f-country"' in page
    assert re.search(r'id="f-company" name="company" aria-describedby="f-company-error" aria-invalid="true"', page)
    assert re.search(r'<div id="f-country-error" class="field-error"[^>]*><p>Use a two-letter country code', page)
    assert 'value="Keepme"' in page and 'value="keep@me.example"' in page and 'value="de"' in page
    assert ">typed</textarea>" in page
    assert _count(site, "lead") == before


def test_editing_saves_and_a_stale_version_is_refused(site: Site) -> None:
    lead = _lead(site)
    client = site.browser("admin")
    page = client.get(f"/app/lead/{lead}/edit")
    assert page.status_code == 200 and 'name="version" value="1"' in page.text
    token = csrf_of(page.text)
    saved = client.post(f"/app/lead/{lead}/edit", data={"csrf_token": token, "version": "1", "last_name": "Walker",
                                                         "company": "Initech Two", "email": "sam@initech.example"})
    assert saved.status_code == 303, saved.text
    assert "Initech Two" in client.get(f"/app/lead/{lead}").text
    stale = client.post(f"/app/lead/{lead}/edit", data={"csrf_token": token, "version": "1", "last_name": "Walker",
                                                         "company": "Initech Three", "email": "sam@initech.example"})
    assert stale.status_code == 412
    assert "Someone changed this record meanwhile; reload" in stale.text and 'value="Initech Three"' in stale.text
    assert "Initech Three" not in client.get(f"/app/lead/{lead}").text


def test_a_field_the_role_may_not_edit_is_not_in_the_form_and_a_forged_post_is_refused(site: Site) -> None:
    lead = _lead(site)
    client = site.browser("marketing")
    page = client.get(f"/app/lead/{lead}/edit").text
    assert 'name="company"' in page and 'name="converted_account"' not in page
    assert "Converted Account" in page, "shown, read-only"
    forged = _post(client, f"/app/lead/{lead}/edit", f"/app/lead/{lead}/edit", {
        "last_name": "Walker", "company": "Initech", "email": "sam@initech.example",
        "converted_account": str(site.ids["account"])})
    assert forged.status_code == 403 and "you may not change" in forged.text.lower()
    assert f'href="/app/account/{site.ids["account"]}"' not in site.browser("admin").get(f"/app/lead/{lead}").text


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    client = site.browser("rep1")
    before = _count(site, "lead")
    response = client.post("/app/lead/new", data={"last_name": "Nocsrf", "company": "X", "email": "x@x.example"})
    assert response.status_code in (400, 403)
    forged = client.post("/app/lead/new", data={"csrf_token": "forged", "last_name": "Nocsrf", "company": "X"})
    assert forged.status_code in (400, 403)
    assert _count(site, "lead") == before


def test_the_validate_endpoint_answers_one_fields_error_and_writes_nothing(site: Site) -> None:
    client = site.browser("rep1")
    token = csrf_of(client.get("/app/lead/new").text)
    before = _count(site, "lead")
    response = client.post("/app/lead/validate", headers={"HX-Request": "true", "HX-Trigger-Name": "country"},
                           data={"csrf_token": token, "last_name": "Dry", "company": "Run", "country": "de",
                                 "email": "d@r.example"})
    assert response.status_code == 200
    assert response.text.startswith('<div id="f-country-error" class="field-error"')
    assert "two-letter country code" in response.text and "<html" not in response.text
    fine = client.post("/app/lead/validate", headers={"HX-Request": "true", "HX-Trigger-Name": "country"},
                       data={"csrf_token": token, "last_name": "Dry", "company": "Run", "country": "DE",
                             "email": "d@r.example"})
    assert "<p>" not in fine.text
    assert _count(site, "lead") == before, "a valid dry run is rolled back"
    page = client.get("/app/lead/new").text
    assert 'hx-post="/app/lead/validate" hx-trigger="change"' in page


def test_an_available_transition_is_a_button_that_takes_it(site: Site) -> None:
    lead = _lead(site)
    client = site.browser("admin")
    page = client.get(f"/app/lead/{lead}").text
    assert re.search(rf'<form method="post" action="/app/lead/{lead}/transitions/start_working">', page)
    response = _post(client, f"/app/lead/{lead}", f"/app/lead/{lead}/transitions/start_working", {})
    assert response.status_code == 303, response.text
    after = client.get(f"/app/lead/{lead}").text
    assert "Moved on via ui" in after
    assert f'action="/app/lead/{lead}/transitions/start_working"' not in after


def test_a_blocked_transition_shows_its_reason(site: Site) -> None:
    lead = _lead(site)
    client = site.browser("admin")
    _post(client, f"/app/lead/{lead}", f"/app/lead/{lead}/transitions/disqualify",
          {"disqualification_reason": "no_budget"})
    rep = site.browser("manager").get(f"/app/lead/{lead}").text
    assert f'action="/app/lead/{lead}/transitions/reopen"' in rep, "a manager may reopen"
    page = site.browser("admin").get(f"/app/lead/{lead}").text
    assert "reopen" in page
    marketing = site.browser("marketing").get(f"/app/lead/{lead}").text
    match = re.search(r'<button type="button" id="step-reopen" disabled title="([^"]+)" aria-describedby="why-reopen">',
                      marketing)
    assert match and "only Sales Manager may take this transition" in match.group(1)
    assert '<span class="reason" id="why-reopen">only Sales Manager may take this transition</span>' in marketing


def test_a_transition_needing_fields_asks_for_them_first(site: Site) -> None:
    lead = _lead(site)
    client = site.browser("admin")
    page = client.get(f"/app/lead/{lead}").text
    assert f'href="/app/lead/{lead}/transitions/disqualify" aria-describedby="why-disqualify"' in page
    form = client.get(f"/app/lead/{lead}/transitions/disqualify")
    assert form.status_code == 200 and re.search(r'<select id="f-disqualification_reason"', form.text)
    empty = _post(client, f"/app/lead/{lead}/transitions/disqualify", f"/app/lead/{lead}/transitions/disqualify",
                  {"disqualification_reason": ""})
    assert empty.status_code == 422 and "must be filled in first" in empty.text
    taken = _post(client, f"/app/lead/{lead}/transitions/disqualify", f"/app/lead/{lead}/transitions/disqualify",
                  {"disqualification_reason": "no_budget"})
    assert taken.status_code == 303, taken.text
    assert "Moved on via ui" in client.get(f"/app/lead/{lead}").text


# -- conditions: visible_when and required_when ---------------------------------------------------------


def _conditions_block(page: str) -> str:
    match = re.search(r'<div id="form-conditions"[^>]*><style>(.*?)</style></div>', page)
    assert match, "the form carries its conditions' style block"
    return match.group(1)


def test_a_field_shows_only_while_its_visible_when_holds(site: Site) -> None:
    client = site.browser("admin")
    page = client.get("/app/opportunity/new").text
    assert 'id="f-loss_reason-wrap"' in page, "the field is in the form (its value is kept and posted)"
    assert "#f-loss_reason-wrap{display:none}" in _conditions_block(page), "hidden while stage is not closed lost"
    assert "Required when <code>loss_reason = &#39;competitor&#39;</code>" in page


def test_a_required_when_error_comes_back_next_to_the_field_without_javascript(site: Site) -> None:
    client = site.browser("admin")
    response = _post(client, "/app/opportunity/new", "/app/opportunity/new",
                     {"name": "Lost to Initrode", "account": str(site.ids["account"]), "loss_reason": "competitor"})
    assert response.status_code == 422
    assert "&#39;Main Competitor&#39; is required when loss_reason = &#39;competitor&#39;" in response.text
    assert "#f-competitor-wrap .when-required{display:inline}" in _conditions_block(response.text)
    assert re.search(r'<input type="text" id="f-competitor"[^>]*required aria-required="true"', response.text)


def test_validating_a_change_swaps_the_conditions_out_of_band(site: Site) -> None:
    client = site.browser("admin")
    token = csrf_of(client.get("/app/opportunity/new").text)
    response = client.post("/app/opportunity/validate", headers={"HX-Request": "true", "HX-Trigger-Name": "loss_reason"},
                           data={"csrf_token": token, "name": "X", "account": str(site.ids["account"]),
                                 "loss_reason": "competitor"})
    assert response.text.startswith('<div id="f-loss_reason-error"')
    assert '<div id="form-conditions" hx-swap-oob="true">' in response.text
    assert "#f-competitor-wrap .when-required{display:inline}" in response.text
    calm = client.post("/app/opportunity/validate", headers={"HX-Request": "true", "HX-Trigger-Name": "loss_reason"},
                       data={"csrf_token": token, "name": "X", "account": str(site.ids["account"]), "loss_reason": "price"})
    assert "when-required{display:inline}" not in calm.text


def test_a_transition_form_asks_for_fields_its_required_fields_make_required(site: Site) -> None:
    client = site.browser("admin")
    with TestClient(site.app) as api:
        opportunity = _create(api, site.installed, "opportunity", {"name": "Lost one", "account": site.ids["account"]})
    form_path = f"/app/opportunity/{opportunity}/transitions/close_lost"
    page = client.get(form_path).text
    assert 'id="f-loss_reason"' in page and 'id="f-competitor"' in page
    refused = _post(client, form_path, form_path, {"close_date": "2026-11-30", "loss_reason": "competitor"})
    assert refused.status_code == 422 and 'id="f-competitor-error"' in refused.text
    assert "is required when loss_reason" in refused.text
    taken = _post(client, form_path, form_path, {"close_date": "2026-11-30", "loss_reason": "competitor",
                                                 "competitor": "Initrode"})
    assert taken.status_code == 303, taken.text
    assert "Initrode" in client.get(f"/app/opportunity/{opportunity}").text
