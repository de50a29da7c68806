"""Administrators customize metadata through ``/api/meta/...``: custom entities, fields of every type, labels,
order, hiding, picklist values, required/unique/default with refusals that count and show the records in the
way, role grants, soft removal and purge — each taking effect at once, in this and in other app processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, inspect, select, table
from starlette.testclient import TestClient

from tests.runtime.conftest import Api, Installed
from tests.ui.test_pages import sign_in
from xrm.db import make_engine
from xrm.system_tables import schema_history
from xrm.ui.app import create_app

PROBLEM = "application/problem+json"

EVERY_TYPE: list[dict[str, Any]] = [
    {"name": "title", "type": "text", "required": True, "max_length": 120},
    {"name": "notes", "type": "long_text"},
    {"name": "contact_email", "type": "email"},
    {"name": "phone", "type": "phone"},
    {"name": "site", "type": "url"},
    {"name": "seats", "type": "integer", "default": 1},
    {"name": "ratio", "type": "decimal", "precision": 8, "scale": 3},
    {"name": "progress", "type": "percent"},
    {"name": "budget", "type": "currency", "currency_code": "EUR"},
    {"name": "active", "type": "boolean"},
    {"name": "starts_on", "type": "date"},
    {"name": "kicked_off_at", "type": "datetime"},
    {"name": "effort", "type": "duration"},
    {"name": "phase", "type": "picklist", "default": "plan",
     "options": [{"value": "plan"}, {"value": "build"}, {"value": "done"}]},
    {"name": "tags", "type": "multi_picklist", "options": [{"value": "red"}, {"value": "blue"}]},
    {"name": "account", "type": "lookup", "target": "account", "on_delete": "set_null"},
    {"name": "sponsor", "type": "user"},
    {"name": "budget_per_seat", "type": "formula", "expression": "budget / seats", "returns": "currency"},
    {"name": "code", "type": "autonumber", "format": "PRJ-{0000}"},
]


def change(api: Api, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
    response = api.request(method, path, json=body) if body is not None else api.request(method, path)
    assert response.status_code == status, response.text
    return response.json()


def make_project(api: Api) -> None:
    change(api, "POST", "/api/meta/entities", {"name": "project", "label": "Project", "fields": EVERY_TYPE})


def test_a_custom_entity_with_every_field_type_is_usable_at_once(api: Api, installed: Installed) -> None:
    make_project(api)
    account = change(api, "POST", "/api/account", {"name": "ACME"}, 201)
    created = change(api, "POST", "/api/project", {
        "title": "Roll-out", "notes": "long", "contact_email": "pm@example.com", "phone": "+49 30 1234",
        "site": "https://example.com", "seats": 4, "ratio": "0.125", "progress": 50, "budget": "1000.00",
        "active": True, "starts_on": "2026-01-05", "kicked_off_at": "2026-01-05T09:00:00Z", "effort": "3d",
        "phase": "build", "tags": ["red"], "account": account["id"], "sponsor": installed.seed.user_ids["rep1"],
    }, 201)
    assert created["code"] == "PRJ-0001" and created["budget_per_seat"] == "250.00"
    assert change(api, "GET", "/api/project?filter=phase%20%3D%20'build'")["total"] == 1
    meta = change(api, "GET", "/api/meta/entities/project")
    assert [f["name"] for f in meta["fields"]] == [f["name"] for f in EVERY_TYPE]
    assert meta["pack"] == "custom"
    schemas = change(api, "GET", "/api/openapi.json")["components"]["schemas"]
    assert any(name.lower().startswith("project") for name in schemas)
    browser = TestClient(api.client.app, follow_redirects=False)
    assert sign_in(browser, "admin").status_code == 303
    assert "Roll-out" in browser.get("/app/project").text
    form = browser.get("/app/project/new")
    assert form.status_code == 200 and 'name="budget"' in form.text


def test_a_field_added_to_a_pack_entity_and_relabelled_hidden_reordered(api: Api, installed: Installed) -> None:
    change(api, "POST", "/api/meta/entities/lead/fields", {"name": "score", "type": "integer", "label": "Score"})
    change(api, "PATCH", "/api/meta/entities/lead/fields/company",
           {"label": "Firm", "help_text": "Where they work", "hidden": True})
    names = [f["name"] for f in change(api, "GET", "/api/meta/entities/lead")["fields"]]
    order = ["score", *[n for n in names if n != "score"]]
    change(api, "PATCH", "/api/meta/entities/lead", {"label": "Prospect", "order": order})
    meta = change(api, "GET", "/api/meta/entities/lead")
    assert meta["label"] == "Prospect" and [f["name"] for f in meta["fields"]] == order
    company = next(f for f in meta["fields"] if f["name"] == "company")
    assert (company["label"], company["help_text"], company["hidden"]) == ("Firm", "Where they work", True)
    lead = change(api, "POST", "/api/lead", {"last_name": "Doe", "company": "ACME", "email": "d@x.io", "score": 7}, 201)
    assert lead["score"] == 7
    with installed.engine.connect() as connection:
        rows = connection.execute(select(schema_history).where(schema_history.c.pack_version == "admin")).mappings().all()
    assert {r["operation"] for r in rows} >= {"admin.add_field", "admin.update_field", "admin.update_entity", "add_column"}
    assert all(r["applied_by"] == "admin" and r["applied_at"] is not None for r in rows)
    assert change(api, "GET", "/api/meta/history?target=lead")["items"]


def _lead(api: Api, **values: Any) -> int:
    return change(api, "POST", "/api/lead", {"last_name": "Doe", "company": "ACME", "email": "d@x.io", **values}, 201)["id"]


def _columns(installed: Installed, name: str) -> list[tuple[str, bool]]:
    with installed.engine.connect() as connection:
        return [(c["name"], c["nullable"]) for c in inspect(connection).get_columns(name)]


def test_unique_over_duplicates_and_required_over_empty_rows_are_refused_with_counts(api: Api, installed: Installed) -> None:
    change(api, "POST", "/api/meta/entities/lead/fields", {"name": "badge", "type": "text"})
    ids = [_lead(api, badge="same"), _lead(api, badge="same"), _lead(api), _lead(api, badge="other")]
    before = _columns(installed, "lead")
    refused = change(api, "PATCH", "/api/meta/entities/lead/fields/badge", {"unique": True}, 409)
    assert refused["offending"][0]["code"] == "duplicates" and refused["offending"][0]["count"] == 2
    assert [row["id"] for row in refused["offending"][0]["sample"]] == ids[:2]
    refused = change(api, "PATCH", "/api/meta/entities/lead/fields/badge", {"required": True}, 409)
    assert refused["offending"][0]["code"] == "empty" and refused["offending"][0]["count"] == 1
    assert refused["offending"][0]["sample"] == [{"id": ids[2], "badge": None}]
    assert _columns(installed, "lead") == before
    meta = change(api, "GET", "/api/meta/entities/lead")
    badge = next(f for f in meta["fields"] if f["name"] == "badge")
    assert not badge["unique"] and not badge["required"]
    change(api, "PATCH", f"/api/lead/{ids[1]}", {"badge": "third"})
    change(api, "PATCH", "/api/meta/entities/lead/fields/badge", {"unique": True})
    change(api, "POST", "/api/lead", {"last_name": "X", "company": "Y", "email": "d@x.io", "badge": "same"}, 409)


def test_a_type_change_that_cannot_convert_every_value_is_refused(api: Api, installed: Installed) -> None:
    change(api, "POST", "/api/meta/entities/lead/fields", {"name": "memo", "type": "long_text"})
    long_one = _lead(api, memo="x" * 40)
    _lead(api, memo="short")
    refused = change(api, "PATCH", "/api/meta/entities/lead/fields/memo", {"type": "text", "max_length": 20}, 409)
    assert refused["offending"][0]["code"] == "unconvertible" and refused["offending"][0]["count"] == 1
    assert refused["offending"][0]["sample"][0]["id"] == long_one
    refused = change(api, "PATCH", "/api/meta/entities/lead/fields/memo", {"type": "integer"}, 409)
    assert refused["offending"][0]["code"] == "unsupported"
    change(api, "PATCH", "/api/meta/entities/lead/fields/memo", {"type": "text", "max_length": 100})
    assert change(api, "GET", f"/api/lead/{long_one}")["memo"] == "x" * 40


def test_picklist_values_are_added_relabelled_reordered_deactivated_never_dropped_in_use(api: Api) -> None:
    base = "/api/meta/entities/lead/fields/rating/options"
    change(api, "POST", base, {"value": "frozen", "label": "Frozen"})
    change(api, "PATCH", f"{base}/hot", {"label": "Very hot", "color": "#ff0000"})
    values = [o["value"] for o in _options(api)]
    change(api, "PUT", base, {"values": list(reversed(values))})
    assert [o["value"] for o in _options(api)] == list(reversed(values))
    used = _lead(api, rating="frozen")
    refused = change(api, "DELETE", f"{base}/frozen", status=409)
    assert refused["offending"][0]["count"] == 1 and refused["offending"][0]["sample"][0]["id"] == used
    change(api, "DELETE", f"{base}/hot", status=409)  # the pack's value: deactivate instead
    change(api, "PATCH", f"{base}/frozen", {"active": False})
    assert next(o for o in _options(api) if o["value"] == "frozen")["active"] is False
    assert change(api, "GET", f"/api/lead/{used}")["rating"] == "frozen"
    assert next(o for o in _options(api) if o["value"] == "hot")["label"] == "Very hot"


def _options(api: Api) -> list[dict[str, Any]]:
    meta = change(api, "GET", "/api/meta/entities/lead")
    return next(f for f in meta["fields"] if f["name"] == "rating")["options"]


def test_a_default_must_fit_and_a_broken_change_is_refused_like_a_pack(api: Api, installed: Installed) -> None:
    refused = change(api, "PATCH", "/api/meta/entities/lead/fields/rating", {"default": "lukewarm"}, 422)
    assert refused["problems"][0]["file"] == "entities/lead.json"
    refused = change(api, "DELETE", "/api/meta/entities/lead/fields/email", status=422)  # views show it
    assert any(p["file"].startswith("views/") for p in refused["problems"])
    change(api, "PATCH", "/api/meta/entities/lead/fields/rating", {"default": "warm"})
    assert change(api, "POST", "/api/lead", {"last_name": "D", "company": "C", "email": "d@x.io"}, 201)["rating"] == "warm"


def test_roles_are_granted_entities_and_fields(api: Api) -> None:
    make_project(api)
    change(api, "POST", "/api/project", {"title": "Secret", "budget": "5.00", "seats": 1}, 201)
    assert api.as_("rep1").get("/api/project").status_code == 403
    change(api, "PUT", "/api/meta/roles/sales_rep/permissions/project",
           {"read": True, "scope": "all", "hidden_fields": ["budget"]})
    items = change(api.as_("rep1"), "GET", "/api/project")["items"]
    assert items[0]["title"] == "Secret" and "budget" not in items[0]
    change(api, "DELETE", "/api/meta/roles/sales_rep/permissions/project")
    assert api.as_("rep1").get("/api/project").status_code == 403


def test_only_administrators_change_metadata(api: Api) -> None:
    response = api.as_("manager").post("/api/meta/entities/lead/fields", json={"name": "x", "type": "text"})
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM


def test_a_removed_field_keeps_its_data_until_purged(api: Api, installed: Installed) -> None:
    change(api, "POST", "/api/meta/entities/lead/fields", {"name": "legacy_code", "type": "text", "required": True,
                                                           "default": "L0"})
    lead = _lead(api, legacy_code="L42")
    change(api, "DELETE", "/api/meta/entities/lead/fields/legacy_code")
    assert "legacy_code" not in change(api, "GET", f"/api/lead/{lead}")
    assert _lead(api)  # the column stays but no longer requires a value
    removed = change(api, "GET", "/api/meta/entities/lead/customizations")["removed_fields"]
    assert [f["name"] for f in removed] == ["legacy_code"]
    change(api, "POST", "/api/meta/entities/lead/fields", {"name": "legacy_code", "type": "text"}, 409)
    refused = change(api, "POST", "/api/meta/entities/lead/fields/legacy_code/restore", {}, 409)
    assert refused["offending"][0]["code"] == "empty" and refused["offending"][0]["count"] == 1
    change(api, "POST", "/api/meta/entities/lead/fields/legacy_code/restore", {"required": False})
    assert change(api, "GET", f"/api/lead/{lead}")["legacy_code"] == "L42"
    change(api, "POST", "/api/meta/entities/lead/fields/legacy_code/purge", {"confirm": "legacy_code"}, 409)
    change(api, "DELETE", "/api/meta/entities/lead/fields/legacy_code")
    change(api, "POST", "/api/meta/entities/lead/fields/legacy_code/purge", {"confirm": "wrong"}, 422)
    change(api, "POST", "/api/meta/entities/lead/fields/legacy_code/purge", {"confirm": "legacy_code"})
    assert "legacy_code" not in [name for name, _ in _columns(installed, "lead")]


def test_a_preview_changes_nothing(api: Api, installed: Installed) -> None:
    result = change(api, "POST", "/api/meta/entities/lead/fields?preview=true", {"name": "maybe", "type": "integer"})
    assert result["preview"] and [o["operation"] for o in result["operations"]] == ["add_column"]
    assert "maybe" not in [name for name, _ in _columns(installed, "lead")]
    assert "maybe" not in [f["name"] for f in change(api, "GET", "/api/meta/entities/lead")["fields"]]


def test_another_app_process_sees_admin_changes_without_restart(api: Api, installed: Installed) -> None:
    other_engine = make_engine(installed.url)
    try:
        with TestClient(create_app(other_engine)) as other_client:
            other = Api(other_client, installed.seed, "admin")
            assert "score" not in [f["name"] for f in change(other, "GET", "/api/meta/entities/lead")["fields"]]
            change(api, "POST", "/api/meta/entities/lead/fields", {"name": "score", "type": "integer"})
            make_project(api)
            assert "score" in [f["name"] for f in change(other, "GET", "/api/meta/entities/lead")["fields"]]
            lead = {"last_name": "D", "company": "C", "email": "d@x.io", "score": 3}
            assert change(other, "POST", "/api/lead", lead, 201)["score"] == 3
            assert change(other, "POST", "/api/project", {"title": "Seen", "seats": 1}, 201)["title"] == "Seen"
            assert "/api/project" in change(other, "GET", "/api/openapi.json")["paths"]
    finally:
        other_engine.dispose()
    with installed.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(table("project"))).scalar_one() == 1


def test_the_upgrade_plan_and_the_upgrade_through_the_api(api: Api) -> None:
    from tests.conftest import FIXTURES_DIR

    folder = str(FIXTURES_DIR / "packs_v2" / "partners")
    change(api, "PATCH", "/api/meta/entities/partner/fields/joined_on", {"label": "Member since"})
    assert api.as_("manager").post("/api/meta/packs/plan", json={"path": folder}).status_code == 403
    change(api, "POST", "/api/meta/packs/plan", {"path": "/no/such/folder"}, 422)
    plan = change(api, "POST", "/api/meta/packs/plan", {"path": folder})
    assert plan["ok"] and plan["to_version"] == "2.0.0"
    assert {"entity": "partner", "field": "partner_since", "change": "renamed", "old_name": "joined_on"}.items() <= \
        next(f for f in plan["fields"] if f["change"] == "renamed").items()
    assert any(c["name"] == "partner.partner_since" and c["admin_value"] == "Member since" for c in plan["conflicts"])
    assert change(api, "GET", "/api/meta/entities/partner")["fields"][0]["name"] == "name"
    done = change(api, "POST", "/api/meta/packs/upgrade", {"path": folder})
    assert done["applied"] and done["fields"] == plan["fields"]
    fields = {f["name"]: f for f in change(api, "GET", "/api/meta/entities/partner")["fields"]}
    assert fields["partner_since"]["label"] == "Member since" and "certification_level" in fields
    refused = change(api, "POST", "/api/meta/packs/upgrade", {"path": folder}, 409)
    assert not refused["plan"]["ok"]


def test_a_unique_constraint_dropped_and_a_lookup_purged(api: Api, installed: Installed) -> None:
    change(api, "PATCH", "/api/meta/entities/partner/fields/name", {"unique": False})
    accounts = [change(api, "POST", "/api/account", {"name": f"A{n}"}, 201)["id"] for n in range(2)]
    for account in accounts:
        change(api, "POST", "/api/partner", {"name": "Twin", "account": account}, 201)
    change(api, "POST", "/api/meta/entities", {"name": "project", "label": "Project", "fields": [
        {"name": "title", "type": "text"}, {"name": "account", "type": "lookup", "target": "account"}]})
    project = change(api, "POST", "/api/project", {"title": "P", "account": accounts[0]}, 201)
    change(api, "DELETE", "/api/meta/entities/project/fields/account")
    change(api, "POST", "/api/meta/entities/project/fields/account/purge", {"confirm": "account"})
    assert [name for name, _ in _columns(installed, "project")][-1] == "title"
    assert change(api, "GET", f"/api/project/{project['id']}")["title"] == "P"
    with installed.engine.connect() as connection:
        assert not inspect(connection).get_foreign_keys("project") or all(
            fk["constrained_columns"] != ["account"] for fk in inspect(connection).get_foreign_keys("project"))


def test_field_types_and_all_customizations_for_the_admin_pages(api: Api) -> None:
    types = {t["name"]: t for t in change(api, "GET", "/api/meta/field-types")["items"]}
    assert {f["type"] for f in EVERY_TYPE} <= set(types)
    assert types["picklist"]["required_properties"] == ["options"] and types["formula"]["computed"]
    change(api, "PATCH", "/api/meta/entities/lead/fields/company", {"label": "Firm"})
    change(api, "PUT", "/api/meta/roles/sales_rep/permissions/account", {"read": True, "scope": "all"})
    items = {(i["kind"], i["name"]): i for i in change(api, "GET", "/api/meta/customizations")["items"]}
    assert items[("entity", "lead")]["overlay"] == {"fields": {"company": {"label": "Firm"}}}
    assert items[("role", "sales_rep")]["overlay"]["permissions"]["account"] == {"read": True, "scope": "all"}
    assert api.as_("rep1").get("/api/meta/customizations").status_code == 403


BAD_CHANGES = [
    ("POST", "/api/meta/entities/lead/fields", {"name": "x"}),  # no type
    ("POST", "/api/meta/entities/lead/fields", {"name": "x", "type": "nonsense"}),
    ("POST", "/api/meta/entities/lead/fields", {"name": "Bad Name", "type": "text"}),
    ("POST", "/api/meta/entities/lead/fields", {"name": "id", "type": "text"}),
    ("POST", "/api/meta/entities/lead/fields", {"name": "ref", "type": "lookup", "target": "nowhere"}),
    ("POST", "/api/meta/entities/lead/fields", {"name": "calc", "type": "formula", "expression": "nope +", "returns": "integer"}),
    ("POST", "/api/meta/entities/lead/fields", {"name": "company", "type": "text"}),
    ("POST", "/api/meta/entities", {"name": "user", "label": "User"}),
    ("POST", "/api/meta/entities", {"name": "thing", "label": "Thing", "fields": "no"}),
    ("POST", "/api/meta/entities", {"label": "No name"}),
    ("PATCH", "/api/meta/entities/lead/fields/company", {"required": "yes"}),
    ("PATCH", "/api/meta/entities/lead/fields/company", {"name": "firm"}),
    ("PATCH", "/api/meta/entities/lead/fields/company", {"type": "integer"}),
    ("PATCH", "/api/meta/entities/lead", {"order": ["company"]}),
    ("PATCH", "/api/meta/entities/lead", {"display_field": "nothing"}),
    ("PUT", "/api/meta/roles/sales_rep/permissions/lead", {"scope": "everything"}),
    ("PUT", "/api/meta/roles/sales_rep/permissions/lead", {"read": True, "hidden_fields": ["nothing"]}),
    ("POST", "/api/meta/entities/lead/fields/rating/options", {"value": "Not A Value"}),
    ("PATCH", "/api/meta/entities/lead/fields/rating/options/hot", {"colour": "red"}),
    ("PUT", "/api/meta/entities/lead/fields/rating/options", {"values": [{"a": 1}]}),
    ("PATCH", "/api/meta/entities/lead", {"order": [{"a": 1}]}),
    ("POST", "/api/meta/entities/nowhere/fields", {"name": "x", "type": "text"}),
    ("POST", "/api/meta/entities/user/fields", {"name": "x", "type": "text"}),
    ("POST", "/api/meta/entities/lead/fields/rating/purge", {"confirm": "rating"}),
]


def test_bad_changes_are_refused_with_problems_and_change_nothing(api: Api, installed: Installed) -> None:
    before = change(api, "GET", "/api/meta/entities/lead")
    roles = change(api, "GET", "/api/meta/roles")
    for method, path, body in BAD_CHANGES:
        response = api.request(method, path, json=body)
        assert response.status_code in (404, 409, 422), (path, body, response.text)
        assert response.headers["content-type"] == PROBLEM and response.json()["detail"]
    assert change(api, "GET", "/api/meta/entities/lead") == before
    assert change(api, "GET", "/api/meta/roles") == roles
    assert "thing" not in {e["name"] for e in change(api, "GET", "/api/meta/entities")["items"]}


def test_a_formula_added_to_an_entity_with_records_is_computed_for_them(api: Api) -> None:
    lead = _lead(api, annual_revenue="1000.00", number_of_employees=4)
    change(api, "POST", "/api/meta/entities/lead/fields", {
        "name": "revenue_per_head", "type": "formula", "expression": "annual_revenue / number_of_employees",
        "returns": "currency"})
    assert change(api, "GET", f"/api/lead/{lead}")["revenue_per_head"] == "250.00"
    assert change(api, "GET", f"/api/lead/{lead}")["version"] == 1
