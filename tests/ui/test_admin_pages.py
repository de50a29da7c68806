"""The admin pages with JavaScript off: every customization through its page, refusals with every problem next to
its input and the records in the way (counts, samples, links), soft removal and purge, role grants in force at
once, the pack upgrade plan, the history — and a custom entity made in the pages usable in lists, forms, the API
and the OpenAPI document.  Each test gets a database of its own (changes alter tables).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, func, inspect, select
from starlette.testclient import TestClient

from tests.runtime.conftest import BACKENDS, Installed, template_copy
from tests.runtime.conftest import postgres_template  # noqa: F401  (a fixture, for the PostgreSQL runs)
from tests.ui.test_pages import Site, csrf_of
from xrm.metadata.customize import MetaChange, MetaRefused, apply_change
from xrm.metadata.fieldtypes import FieldType, field_type_names, register_field_type, unregister_field_type
from xrm.system_tables import schema_history
from xrm.ui.app import create_app

PACKS_V2 = Path(__file__).resolve().parents[1] / "fixtures" / "packs_v2"

#: A field of every registered type, as the "add a field" form posts it (``p-`` inputs are the type's own).
EVERY_TYPE: list[dict[str, str]] = [
    {"type": "text", "name": "title", "label": "Title", "p-max_length": "120"},
    {"type": "long_text", "name": "notes"},
    {"type": "email", "name": "contact_email"},
    {"type": "phone", "name": "phone"},
    {"type": "url", "name": "site"},
    {"type": "integer", "name": "seats", "default": "1"},
    {"type": "decimal", "name": "ratio", "p-precision": "8", "p-scale": "3"},
    {"type": "percent", "name": "progress"},
    {"type": "currency", "name": "budget", "p-currency_code": "EUR"},
    {"type": "boolean", "name": "active"},
    {"type": "date", "name": "starts_on"},
    {"type": "datetime", "name": "kicked_off_at"},
    {"type": "duration", "name": "effort"},
    {"type": "picklist", "name": "phase", "default": "plan", "p-options": "plan = Planning\nbuild\ndone = Done"},
    {"type": "multi_picklist", "name": "tags", "p-options": "red\nblue"},
    {"type": "lookup", "name": "account", "p-target": "account", "p-on_delete": "set_null"},
    {"type": "user", "name": "sponsor"},
    {"type": "formula", "name": "budget_per_seat", "p-expression": "budget / seats", "p-returns": "currency"},
    {"type": "autonumber", "name": "code", "p-format": "PRJ-{0000}"},
]


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with template_copy(request, "sqlite", tmp_path) as installed:
        yield Site(installed, create_app(installed.engine), {})


@pytest.fixture(params=BACKENDS)
def any_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The site on SQLite and on PostgreSQL (a change takes the schema lock while the page's connection is closed)."""
    with template_copy(request, request.param, tmp_path) as installed:
        yield Site(installed, create_app(installed.engine), {})


def post(client: TestClient, url: str, data: dict[str, Any], page: str = "/admin") -> Any:
    """Post ``data`` as a form of ``page`` would (with the session's CSRF token)."""
    return client.post(url, data={"csrf_token": csrf_of(client.get(page).text), **data})


def tag(html: str, input_id: str) -> str:
    """The opening tag of the element with id ``input_id``."""
    match = re.search(rf'<[a-z]+ [^>]*id="{input_id}"[^>]*>', html)
    assert match, f"no element #{input_id}"
    return match.group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def api(client: TestClient, installed: Installed, method: str, url: str, **kwargs: Any) -> Any:
    return client.request(method, url, headers={"Authorization": f"Bearer {installed.seed.tokens['admin']}"}, **kwargs)


def history_rows(site: Site) -> int:
    with site.installed.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema_history)).scalar_one()


def make_project(admin: TestClient) -> None:
    response = post(admin, "/admin/entities/new", {"name": "project", "label": "Project", "plural_label": "Projects"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/entities/project"


def add_field(admin: TestClient, entity: str, values: dict[str, str], status: int = 303) -> Any:
    response = post(admin, f"/admin/entities/{entity}/fields/new", values)
    assert response.status_code == status, text_of(response.text)[:2000]
    return response


# -- who may use the pages -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin", "/admin/entities/new", "/admin/entities/lead", "/admin/entities/lead/fields/new",
                                  "/admin/entities/lead/fields/company", "/admin/access", "/admin/history",
                                  "/admin/packs"])
def test_only_administrators_see_the_admin_pages(site: Site, path: str) -> None:
    assert site.browser("admin").get(path).status_code == 200
    refused = site.browser("rep1").get(path)
    assert refused.status_code == 403 and "Not allowed" in refused.text


def test_a_non_administrator_cannot_post_a_change_and_every_form_needs_the_csrf_token(site: Site) -> None:
    rep = site.browser("rep1")
    assert post(rep, "/admin/entities/new", {"name": "sneaky", "label": "Sneaky"}, page="/").status_code == 403
    admin = site.browser("admin")
    assert admin.post("/admin/entities/new", data={"name": "sneaky", "label": "Sneaky"}).status_code == 403
    assert admin.post("/admin/packs/plan", data={"path": str(PACKS_V2 / "crm")}).status_code == 403
    assert "sneaky" not in inspect(site.installed.engine).get_table_names()
    assert 'href="/admin"' in admin.get("/").text and 'href="/admin"' not in rep.get("/").text


@pytest.mark.parametrize(("url", "data", "status"), [
    ("/admin/entities/lead/fields/company", {"label": "Company", "type": "nonsense"}, 303),  # not an admin field
    ("/admin/entities/lead/order", {"position-company": "first"}, 303),
    ("/admin/entities/nowhere/fields/new", {"type": "text", "name": "x"}, 404),
    ("/admin/entities/lead/fields/new", {"type": "nonsense", "name": "x"}, 404),
    ("/admin/entities/lead/fields/nothing", {"label": "X"}, 404),
    ("/admin/entities/lead/fields/company/purge", {"confirm": "company"}, 404),  # not a removed field
    ("/admin/entities/lead/fields/company/options", {"o-value": "x"}, 422),
    ("/admin/entities/lead/fields/rating/options/nothing", {"label": "X"}, 404),
    ("/admin/entities/xrm_users/fields/new", {"type": "text", "name": "x"}, 404),
    ("/admin/access/edit", {"role": "nobody_role", "entity": "lead", "read": "true"}, 404),
])
def test_odd_posts_are_answered_never_a_server_error(site: Site, url: str, data: dict[str, str], status: int) -> None:
    assert post(site.browser("admin"), url, data).status_code == status


# -- the proof: a custom entity with a field of every type, usable everywhere at once ----------------------


def test_a_custom_entity_made_in_the_pages_is_usable_in_lists_forms_api_and_openapi(any_site: Site) -> None:
    site = any_site
    assert {f["type"] for f in EVERY_TYPE} == set(field_type_names()), "every registered type is tried"
    admin = site.browser("admin")
    make_project(admin)
    for values in EVERY_TYPE:
        page = admin.get(f"/admin/entities/project/fields/new?type={values['type']}").text
        for key in values:
            assert key == "type" or f'name="{key}"' in page, f"the {values['type']} form has {key}"
        add_field(admin, "project", values)
    fields = admin.get("/admin/entities/project").text
    assert all(f"<code>{values['name']}</code>" in fields for values in EVERY_TYPE)

    form = admin.get("/app/project/new")
    assert form.status_code == 200 and 'name="title"' in form.text and 'name="phase"' in form.text
    created = admin.post("/app/project/new", data={
        "csrf_token": csrf_of(form.text), "name": "Roll-out", "title": "Roll-out", "seats": "4", "budget": "1000",
        "phase": "build", "starts_on": "2026-01-05", "active": "true"})
    assert created.status_code == 303, text_of(created.text)[:2000]
    record = admin.get(created.headers["location"]).text
    assert "PRJ-0001" in record and "250.00" in record
    assert "Roll-out" in admin.get("/app/project").text

    by_api = api(admin, site.installed, "POST", "/api/project", json={"name": "Second", "seats": 2, "budget": "10",
                                                                       "tags": ["red"], "phase": "done"})
    assert by_api.status_code == 201, by_api.text
    assert by_api.json()["code"] == "PRJ-0002"
    schemas = api(admin, site.installed, "GET", "/api/openapi.json").json()["components"]["schemas"]
    project = next(schema for name, schema in schemas.items() if name.lower() == "project")
    assert {"budget_per_seat", "phase", "tags", "account", "code"} <= set(project["properties"])


def test_the_add_field_form_comes_from_the_field_type_registry(site: Site) -> None:
    class StarsType(FieldType):
        name, label, value_type = "stars", "Stars", "integer"
        options_schema = {"max_stars": {"type": "integer", "minimum": 1}, "shape": {"enum": ["star", "heart"]}}
        required_options = ("max_stars",)

        def column_type(self, field: Any) -> Any:
            return Integer()

    register_field_type(StarsType)
    try:
        admin = site.browser("admin")
        assert '<option value="stars">Stars</option>' in admin.get("/admin/entities/lead/fields/new").text
        page = admin.get("/admin/entities/lead/fields/new?type=stars").text
        assert 'type="number" id="p-max_stars"' in page and "Max stars</label>" in page
        assert '<option value="heart">heart</option>' in page and "Shape (optional)" in page
    finally:
        unregister_field_type("stars")


# -- refusals --------------------------------------------------------------------------------------------


def test_a_refused_field_keeps_the_typed_values_and_shows_each_problem_next_to_its_input(site: Site) -> None:
    admin = site.browser("admin")
    refused = add_field(admin, "lead", {"type": "picklist", "name": "Bad Name", "label": "Mood", "p-options": ""}, 422)
    page = refused.text
    assert 'role="alert"' in page and "There are 2 problems" in page
    name = tag(page, "f-name")
    assert 'value="Bad Name"' in name and 'aria-invalid="true"' in name and "f-name-error" in name
    name_error = page[page.index('id="f-name-error"'):][:400]
    assert "not a valid name" in name_error
    options_error = page[page.index('id="p-options-error"'):][:400]
    assert "at least 1 item" in options_error
    assert 'href="#f-name"' in page and 'href="#p-options"' in page
    assert 'value="Mood"' in page
    assert "mood" not in {c["name"] for c in inspect(site.installed.engine).get_columns("lead")}


def _leads(site: Site, admin: TestClient, badges: list[str | None]) -> list[int]:
    add_field(admin, "lead", {"type": "text", "name": "badge", "label": "Badge"})
    ids = []
    for number, badge in enumerate(badges):
        body = {"last_name": f"L{number}", "company": "C", "email": f"b{number}@x.example",
                **({"badge": badge} if badge else {})}
        response = api(admin, site.installed, "POST", "/api/lead", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_unique_over_duplicates_and_required_over_empty_rows_show_the_count_and_linked_records(any_site: Site) -> None:
    site = any_site
    admin = site.browser("admin")
    ids = _leads(site, admin, ["same", "same", None])
    page = "/admin/entities/lead/fields/badge"
    refused = post(admin, page, {"label": "Badge", "unique": "true"}, page=page)
    assert refused.status_code == 409
    text = text_of(refused.text)
    assert "Records in the way" in text and "2 records" in text
    assert f'href="/app/lead/{ids[0]}"' in refused.text and f'href="/app/lead/{ids[1]}"' in refused.text
    assert "checked" in tag(refused.text, "f-unique"), "the typed value is kept"
    refused = post(admin, page, {"label": "Badge", "required": "true"}, page=page)
    assert refused.status_code == 409 and "1 record" in text_of(refused.text)
    assert f'href="/app/lead/{ids[2]}"' in refused.text
    field = api(admin, site.installed, "GET", "/api/meta/entities/lead").json()
    badge = next(f for f in field["fields"] if f["name"] == "badge")
    assert not badge["unique"] and not badge["required"]


def test_a_type_change_that_cannot_convert_every_value_is_refused_with_the_records(site: Site) -> None:
    admin = site.browser("admin")
    ids = _leads(site, admin, ["12", "twelve"])
    page = "/admin/entities/lead/fields/badge"
    assert 'id="f-type"' in admin.get(page).text, "administrators' fields can change type"
    assert 'id="f-type"' not in admin.get("/admin/entities/lead/fields/company").text
    refused = post(admin, page, {"label": "Badge", "type": "text", "p-max_length": "3"}, page=page)
    assert refused.status_code == 409, text_of(refused.text)[:1500]
    assert f'href="/app/lead/{ids[1]}"' in refused.text and "twelve" in refused.text
    assert "1 record" in text_of(refused.text)


def test_a_field_administrators_added_changes_type_in_two_steps_when_the_new_type_needs_properties(site: Site) -> None:
    admin = site.browser("admin")
    _leads(site, admin, ["12.5", "twelve", None])
    page = "/admin/entities/lead/fields/badge"
    choices = admin.get(page).text
    choices = choices[choices.index('id="f-type"'):choices.index("</select>", choices.index('id="f-type"'))]
    assert 'value="decimal"' in choices and 'value="autonumber"' in choices
    assert 'value="picklist"' not in choices and 'value="lookup"' not in choices, "their values or target come with a new field"
    first = post(admin, page, {"label": "Badge", "type": "autonumber"}, page=page)
    assert first.status_code == 422 and "aria-invalid" in tag(first.text, "p-format")
    assert 'value="autonumber" selected' in first.text and 'name="p-max_length"' not in first.text
    refused = post(admin, page, {"label": "Badge", "type": "decimal", "p-precision": "6", "p-scale": "2"}, page=page)
    assert refused.status_code == 409, text_of(refused.text)[:1500]
    assert "2 records" in text_of(refused.text) and "cannot change from text to decimal" in text_of(refused.text)
    assert 'name="p-precision" value="6"' in refused.text, "the typed properties are kept"
    badge = next(f for f in api(admin, site.installed, "GET", "/api/meta/entities/lead").json()["fields"]
                 if f["name"] == "badge")
    assert badge["type"] == "text"


# -- labels, help, order, hiding -----------------------------------------------------------------------------


def test_labels_help_text_hiding_and_order_take_effect_at_once(site: Site) -> None:
    admin = site.browser("admin")
    page = "/admin/entities/lead/fields/company"
    saved = post(admin, page, {"label": "Organisation", "help_text": "Where they work"}, page=page)
    assert saved.status_code == 303
    form = admin.get("/app/lead/new").text
    assert "Organisation" in form and "Where they work" in form
    assert post(admin, page, {"label": "Organisation", "hidden": "true"}, page=page).status_code == 303
    assert 'name="company"' not in admin.get("/app/lead/new").text
    assert post(admin, page, {"label": "Organisation"}, page=page).status_code == 303
    assert 'name="company"' in admin.get("/app/lead/new").text
    rows = history_rows(site)
    unchanged = post(admin, page, {"label": "Organisation"}, page=page)
    assert unchanged.status_code == 303 and history_rows(site) == rows, "a form left as it was changes nothing"
    names = [f["name"] for f in api(admin, site.installed, "GET", "/api/meta/entities/lead").json()["fields"]]
    moved = post(admin, "/admin/entities/lead/order", {f"position-{names[-1]}": "0"}, page="/admin/entities/lead")
    assert moved.status_code == 303
    after = [f["name"] for f in api(admin, site.installed, "GET", "/api/meta/entities/lead").json()["fields"]]
    assert after == [names[-1], *names[:-1]]
    renamed = post(admin, "/admin/entities/lead", {"label": "Prospect", "plural_label": "Prospects",
                                                    "display_field": "last_name"}, page="/admin/entities/lead")
    assert renamed.status_code == 303 and "Prospects" in admin.get("/").text


def test_required_needs_a_default_and_a_default_that_does_not_fit_is_refused(site: Site) -> None:
    admin = site.browser("admin")
    refused = add_field(admin, "lead", {"type": "integer", "name": "score", "label": "Score", "default": "lots"}, 422)
    error = refused.text[refused.text.index('id="f-default-error"'):][:400]
    assert "lots" in error or "number" in error
    page = "/admin/entities/lead/fields/rating"
    refused = post(admin, page, {"label": "Rating", "default": "lukewarm"}, page=page)
    assert refused.status_code == 422 and "aria-invalid" in tag(refused.text, "f-default")
    assert "lukewarm" in refused.text[refused.text.index('id="f-default-error"'):][:400]
    add_field(admin, "lead", {"type": "integer", "name": "score", "label": "Score", "required": "true", "default": "5"})
    lead = api(admin, site.installed, "POST", "/api/lead", json={"last_name": "X", "company": "Y", "email": "d@x.io"})
    assert lead.json()["score"] == 5


# -- picklist values -----------------------------------------------------------------------------------------


def test_picklist_values_are_added_relabelled_reordered_deactivated_and_never_dropped_in_use(site: Site) -> None:
    admin = site.browser("admin")
    page = "/admin/entities/lead/fields/rating"
    base = page + "/options"
    assert post(admin, base, {"o-value": "frozen", "o-label": "Frozen"}, page=page).status_code == 303
    assert post(admin, base + "/frozen", {"label": "Ice cold", "active": "true"}, page=page).status_code == 303
    assert post(admin, base + "/order", {"position-frozen": "0"}, page=page).status_code == 303
    rating = next(f for f in api(admin, site.installed, "GET", "/api/meta/entities/lead").json()["fields"]
                  if f["name"] == "rating")
    assert rating["options"][0]["value"] == "frozen" and rating["options"][0]["label"] == "Ice cold"
    used = api(admin, site.installed, "POST", "/api/lead", json={"last_name": "X", "company": "Y", "email": "d@x.io",
                                                                 "rating": "frozen"}).json()["id"]
    refused = post(admin, base + "/frozen/remove", {}, page=page)
    assert refused.status_code == 409 and f'href="/app/lead/{used}"' in refused.text
    assert "1 record" in text_of(refused.text)
    field_page = admin.get(page).text
    assert f'action="{base}/frozen/remove"' in field_page and f'action="{base}/hot/remove"' not in field_page
    pack_value = post(admin, base + "/hot/remove", {}, page=page)
    assert pack_value.status_code == 409 and "deactivate it instead" in text_of(pack_value.text)
    assert post(admin, base + "/frozen", {"label": "Ice cold"}, page=page).status_code == 303  # active unticked
    form = admin.get(f"/app/lead/{used}/edit").text
    assert "Ice cold" in form  # kept on the record that holds it
    assert 'value="frozen"' not in admin.get("/app/lead/new").text  # no longer offered
    refused = post(admin, base, {"o-value": "Not OK"}, page=page)
    assert refused.status_code == 422 and 'id="o-value-error"' in refused.text
    assert "not" in refused.text[refused.text.index('id="o-value-error"'):][:300].lower()


# -- soft removal and purge ------------------------------------------------------------------------------------


def test_a_field_is_removed_softly_then_restored_or_purged_after_a_confirm_page(site: Site) -> None:
    admin = site.browser("admin")
    _leads(site, admin, ["a", "b", None])
    field = "/admin/entities/lead/fields/badge"
    assert post(admin, field + "/remove", {}, page=field).status_code == 303
    entity = admin.get("/admin/entities/lead").text
    assert "Removed fields" in entity and f'action="{field}/restore"' in entity
    assert 'name="badge"' not in admin.get("/app/lead/new").text
    assert "badge" in {c["name"] for c in inspect(site.installed.engine).get_columns("lead")}, "data kept"
    assert post(admin, field + "/restore", {}, page="/admin/entities/lead").status_code == 303
    assert 'name="badge"' in admin.get("/app/lead/new").text
    assert post(admin, field + "/remove", {}, page=field).status_code == 303
    confirm = admin.get(field + "/purge")
    assert confirm.status_code == 200 and "2 values" in text_of(confirm.text)
    wrong = post(admin, field + "/purge", {"confirm": "nope"}, page=field + "/purge")
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text and 'value="nope"' in wrong.text
    assert "badge" in {c["name"] for c in inspect(site.installed.engine).get_columns("lead")}
    assert post(admin, field + "/purge", {"confirm": "badge"}, page=field + "/purge").status_code == 303
    assert "badge" not in {c["name"] for c in inspect(site.installed.engine).get_columns("lead")}


# -- access ------------------------------------------------------------------------------------------------


def test_a_grant_takes_effect_for_a_rep_at_once_and_a_revoke_too(site: Site) -> None:
    admin, rep = site.browser("admin"), site.browser("rep1")
    make_project(admin)
    assert rep.get("/app/project").status_code == 403
    page = "/admin/access/edit?role=sales_rep&entity=project"
    form = admin.get(page)
    assert form.status_code == 200 and 'name="hidden_fields"' in form.text
    granted = post(admin, "/admin/access/edit", {"role": "sales_rep", "entity": "project", "read": "true",
                                                 "create": "true", "scope": "all"}, page=page)
    assert granted.status_code == 303
    assert rep.get("/app/project").status_code == 200 and "Projects" in rep.get("/").text
    assert "Projects" in text_of(admin.get("/admin/access").text)
    assert post(admin, "/admin/access/revoke", {"role": "sales_rep", "entity": "project"}, page=page).status_code == 303
    assert rep.get("/app/project").status_code == 403
    assert 'name="email"' in rep.get("/app/lead/new").text
    fields = post(admin, "/admin/access/edit", {"role": "sales_rep", "entity": "lead", "read": "true", "create": "true",
                                                "update": "true", "scope": "own", "hidden_fields": "email",
                                                "read_only_fields": "rating"}, page=page)
    assert fields.status_code == 303
    form = rep.get("/app/lead/new").text
    assert 'name="email"' not in form and 'name="rating"' not in form and 'name="company"' in form


def test_a_refused_grant_shows_the_problem_next_to_its_input(site: Site) -> None:
    admin = site.browser("admin")
    page = "/admin/access/edit?role=sales_rep&entity=lead"
    refused = post(admin, "/admin/access/edit", {"role": "sales_rep", "entity": "lead", "read": "true",
                                                 "scope": "galaxy"}, page=page)
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert "galaxy" in refused.text[refused.text.index('id="g-scope-error"'):][:400]


# -- packs and history -----------------------------------------------------------------------------------------


def test_the_upgrade_plan_is_shown_before_it_is_applied_with_a_confirm_button(site: Site) -> None:
    admin = site.browser("admin")
    missing = post(admin, "/admin/packs/plan", {"path": "/nowhere"}, page="/admin/packs")
    assert missing.status_code == 422 and 'role="alert"' in missing.text
    plan = post(admin, "/admin/packs/plan", {"path": str(PACKS_V2 / "crm")}, page="/admin/packs")
    assert plan.status_code == 200, text_of(plan.text)[:2000]
    text = text_of(plan.text)
    assert "Plan: crm" in text and "Fields" in text and 'action="/admin/packs/upgrade"' in plan.text
    with site.installed.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version FROM xrm_packs WHERE name = 'crm'").scalar()
    applied = post(admin, "/admin/packs/upgrade", {"path": str(PACKS_V2 / "crm")}, page="/admin/packs")
    assert applied.status_code == 200 and "The upgrade is applied" in text_of(applied.text)
    with site.installed.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version FROM xrm_packs WHERE name = 'crm'").scalar() != version


def test_a_plan_shows_conflicts_with_customizations_and_the_records_in_the_way_without_an_apply_button(
        site: Site) -> None:
    admin = site.browser("admin")
    field = "/admin/entities/partner/fields/joined_on"
    assert post(admin, field, {"label": "Partner since (date)"}, page=field).status_code == 303
    partners = []
    for number in (1, 2):
        account = api(admin, site.installed, "POST", "/api/account", json={"name": f"ACME {number}"}).json()["id"]
        created = api(admin, site.installed, "POST", "/api/partner", json={
            "name": f"P{number}", "account": account, "email": "same@x.io", "status": "prospect"})
        assert created.status_code == 201, created.text
        partners.append(created.json()["id"])
    plan = post(admin, "/admin/packs/plan", {"path": str(PACKS_V2 / "partners")}, page="/admin/packs")
    text = text_of(plan.text)
    assert "Conflicts with your customizations" in text and "Partner since (date)" in text
    assert "the administrator's value is kept" in text
    assert "Records in the way" in text and all(f'href="/app/partner/{i}"' in plan.text for i in partners)
    assert "cannot be applied" in text and 'action="/admin/packs/upgrade"' not in plan.text
    refused = post(admin, "/admin/packs/upgrade", {"path": str(PACKS_V2 / "partners")}, page="/admin/packs")
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert api(admin, site.installed, "DELETE", f"/api/partner/{partners[1]}").status_code == 204
    plan = post(admin, "/admin/packs/plan", {"path": str(PACKS_V2 / "partners")}, page="/admin/packs")
    assert 'action="/admin/packs/upgrade"' in plan.text
    applied = post(admin, "/admin/packs/upgrade", {"path": str(PACKS_V2 / "partners")}, page="/admin/packs")
    assert "The upgrade is applied" in text_of(applied.text)
    assert "Partner since (date)" in admin.get("/admin/entities/partner/fields/partner_since").text


def test_the_history_page_says_who_changed_what_and_when(site: Site) -> None:
    admin = site.browser("admin")
    make_project(admin)
    history = text_of(admin.get("/admin/history").text)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d admin admin.create_entity .*name: project", history)
    add_field(admin, "project", {"type": "integer", "name": "seats", "label": "Seats"})
    filtered = text_of(admin.get("/admin/history?target=project").text)
    assert re.search(r"admin admin.add_field project", filtered) and "add_column" in filtered


# -- findings in the back end (xrm.metadata), fixed there ---------------------------------------------------------


def test_the_problems_of_a_new_field_have_paths_within_the_entity_file(site: Site) -> None:
    with pytest.raises(MetaRefused) as refused:
        apply_change(site.installed.engine, MetaChange("add_field", entity="lead", values={"name": "Bad Name",
                                                                                           "type": "text"}),
                     site.installed.context("admin"))
    assert all(p.path.startswith("$.fields[") for p in refused.value.problems)


def test_the_history_of_a_custom_entity_starts_with_its_creation(site: Site) -> None:
    admin = site.browser("admin")
    make_project(admin)
    assert "admin.create_entity" in text_of(admin.get("/admin/history?target=project").text)
