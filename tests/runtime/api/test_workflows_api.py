"""Workflows through the REST API: the state field, listing transitions and taking them.

A workflow owns one picklist field: new records start in its initial state, a
plain change of that field is refused (``workflow_field``) unless it sends the
current value back, and only ``POST /api/{entity}/{id}/transitions/{name}``
moves it.  ``GET …/transitions`` lists the transitions out of the current
state, each ``available`` or with its ``reasons`` (``not_permitted``,
``role``, ``required``, ``guard``).  The last part walks every workflow of
the bundled packs to a final state, taking every transition at least once.

The workflows and roles come from the bundled packs (see packs/*/workflows and
packs/*/roles).  The tests of this module share one copy of the template
database per backend (SQLite and PostgreSQL), as a fresh copy per test would
take minutes; each test works on records of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import PACKS_DIR
from tests.runtime.conftest import Api, Installed
from xrm.context import utc_now
from xrm.runtime.users import add_user, create_token

PROBLEM = "application/problem+json"

#: The workflows of the bundled packs, as their files declare them.
WORKFLOWS: dict[str, dict[str, Any]] = {
    data["name"]: data for data in (json.loads(p.read_text()) for p in sorted(PACKS_DIR.glob("*/workflows/*.json")))
}

NOW = datetime.now(UTC)
TODAY = NOW.date()
LONG_AGO = (TODAY - timedelta(days=365)).isoformat()
LAST_WEEK = (TODAY - timedelta(days=7)).isoformat()  # before today() whatever the time zone
NEXT_MONTH = (TODAY + timedelta(days=30)).isoformat()
NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()
SOON = (NOW + timedelta(hours=1)).isoformat(timespec="seconds")
LATER = (NOW + timedelta(hours=2)).isoformat(timespec="seconds")


# -- a shared database ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(shared_api: Api) -> Api:
    """The API as admin over the module's shared database."""
    return shared_api



# -- helpers --------------------------------------------------------------------------------------


def tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def create(api: Api, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/{entity}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def lead_body(**changes: Any) -> dict[str, Any]:
    return {"last_name": "Doe", "company": "ACME", "email": "doe@example.com", **changes}


def new_lead(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "lead", lead_body(**changes))


def new_account(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "account", {"name": f"Account {tag()}", **changes})


def new_contact(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "contact", {"last_name": "Smith", **changes})


def new_opportunity(api: Api, **changes: Any) -> dict[str, Any]:
    if "account" not in changes:
        changes["account"] = new_account(api)["id"]
    return create(api, "opportunity", {"name": "Deal", "amount": "500.00", **changes})


def new_case(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "case", {"subject": "Printer on fire", **changes})


def new_partner(api: Api) -> dict[str, Any]:
    return create(api, "partner", {"name": f"Partner {tag()}"})


def new_contract(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "contract", {"title": "Reseller agreement", "partner": new_partner(api)["id"], **changes})


def new_deal_registration(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "deal_registration", {"name": "Big deal", "partner": new_partner(api)["id"],
                                             "prospect_company": "Initech", **changes})


#: entity → a function creating a valid record of it as the given caller (extra fields as keywords)
MAKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "lead": new_lead, "opportunity": new_opportunity, "case": new_case, "contract": new_contract,
    "deal_registration": new_deal_registration,
}
WORKFLOW_OF = {w["entity"]: w for w in WORKFLOWS.values()}


def get(api: Api, entity: str, record_id: int) -> dict[str, Any]:
    response = api.get(f"/api/{entity}/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()


def transitions(api: Api, entity: str, record_id: int) -> dict[str, dict[str, Any]]:
    """The transitions out of the record's current state, by name."""
    response = api.get(f"/api/{entity}/{record_id}/transitions")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    items = response.json()["items"]
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)), names
    return {i["name"]: i for i in items}


def take(api: Api, entity: str, record_id: int, name: str, values: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> Any:
    body = None if values is None else {"values": values}
    return api.post(f"/api/{entity}/{record_id}/transitions/{name}", json=body, headers=headers)


def taken(api: Api, entity: str, record_id: int, name: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    response = take(api, entity, record_id, name, values)
    assert response.status_code == 200, response.text
    return response.json()


def count(api: Api, entity: str) -> int:
    response = api.get(f"/api/{entity}", params={"limit": "1"})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def timeline(api: Api, entity: str, record_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/{entity}/{record_id}/timeline")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is problem+json with ``status``, a title, a detail and well-formed field errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert isinstance(body["detail"], str) and body["detail"].strip()
    for error in body["errors"]:
        assert set(error) == {"field", "message", "code"}
        assert isinstance(error["message"], str) and error["message"].strip()
    return body


def errors_of(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in body["errors"]]


def reasons_of(option: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["code"], r["field"]) for r in option["reasons"]]


def expected_names(workflow: dict[str, Any], state: str) -> list[str]:
    return [t["name"] for t in workflow["transitions"] if state in t["from"]]


# -- the state field on create and update ---------------------------------------------------------


@pytest.mark.parametrize("entity", sorted(MAKERS))
def test_new_records_start_in_the_initial_state(api: Api, entity: str) -> None:
    workflow = WORKFLOW_OF[entity]
    record = MAKERS[entity](api)
    assert record[workflow["field"]] == workflow["initial"]
    assert get(api, entity, record["id"])[workflow["field"]] == workflow["initial"]
    assert [e["action"] for e in timeline(api, entity, record["id"])] == ["create"]
    # spelling the initial state out (as a form does) is accepted too
    spelled_out = MAKERS[entity](api, **{workflow["field"]: workflow["initial"]})
    assert spelled_out[workflow["field"]] == workflow["initial"]


@pytest.mark.parametrize("entity", sorted(MAKERS))
def test_creating_in_another_state_is_422_workflow_field(api: Api, entity: str) -> None:
    workflow = WORKFLOW_OF[entity]
    record = MAKERS[entity](api)  # a valid body, and the records it points to
    body = {k: v for k, v in record.items() if k in set(_input_fields(api, entity)) and v is not None}
    before = count(api, entity)
    for state in (s["name"] for s in workflow["states"] if s["name"] != workflow["initial"]):
        response = api.post(f"/api/{entity}", json={**body, workflow["field"]: state})
        assert errors_of(assert_problem(response, 422)) == [(workflow["field"], "workflow_field")], state
    assert count(api, entity) == before


def _input_fields(api: Api, entity: str) -> list[str]:
    """The fields a caller may type (no formulas, autonumbers, read-only fields or unique ones)."""
    meta = api.get(f"/api/meta/entities/{entity}").json()
    return [f["name"] for f in meta["fields"]
            if f["type"] not in ("formula", "autonumber") and not f.get("read_only") and not f.get("unique")]


def test_creating_a_lead_in_another_state_names_the_workflow(api: Api) -> None:
    before = count(api, "lead")
    response = api.post("/api/lead", json=lead_body(status="qualified"))
    body = assert_problem(response, 422)
    assert errors_of(body) == [("status", "workflow_field")]
    assert body["errors"][0]["message"] == ("'Status' follows the workflow 'Lead Qualification': "
                                            "new records start in its initial state")
    assert count(api, "lead") == before


def test_creating_an_opportunity_closed_won_is_422_and_nothing_is_created(api: Api) -> None:
    account = new_account(api)
    before = count(api, "opportunity")
    response = api.post("/api/opportunity", json={"name": "Deal", "account": account["id"], "stage": "closed_won",
                                                  "amount": "10.00", "close_date": NEXT_MONTH})
    assert errors_of(assert_problem(response, 422)) == [("stage", "workflow_field")]
    assert count(api, "opportunity") == before


@pytest.mark.parametrize("state", ["working", "converted", "new ", "bogus"])
def test_patch_of_the_state_field_is_422_workflow_field(api: Api, state: str) -> None:
    lead = new_lead(api)
    response = api.patch(f"/api/lead/{lead['id']}", json={"status": state, "city": "Oslo"})
    body = assert_problem(response, 422)
    assert ("status", "workflow_field") in errors_of(body)
    assert next(e for e in body["errors"] if e["field"] == "status")["message"] == (
        "'Status' follows the workflow 'Lead Qualification': change it by taking one of its transitions")
    assert get(api, "lead", lead["id"]) == lead


def test_patch_of_the_state_field_is_refused_for_every_role_that_may_update(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    for user in ("rep1", "manager", "marketing", "admin"):
        response = api.as_(user).patch(f"/api/lead/{lead['id']}", json={"status": "working"})
        assert errors_of(assert_problem(response, 422)) == [("status", "workflow_field")], user
    assert get(api, "lead", lead["id"])["status"] == "new"


def test_patch_sending_the_current_state_back_with_other_fields_is_accepted(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    response = api.as_("rep1").patch(f"/api/lead/{lead['id']}", json={"status": "new", "city": "Oslo"})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["status"], changed["city"], changed["version"]) == ("new", "Oslo", 2)
    assert [c["field"] for c in timeline(api, "lead", lead["id"])[0]["changes"]] == ["city"]

    taken(api.as_("rep1"), "lead", lead["id"], "start_working")
    response = api.as_("rep1").patch(f"/api/lead/{lead['id']}", json={"status": "working", "city": "Bergen"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["city"], response.json()["version"]) == ("working", "Bergen", 4)


def test_patch_sending_only_the_current_state_back_changes_nothing(api: Api) -> None:
    opportunity = new_opportunity(api)
    response = api.patch(f"/api/opportunity/{opportunity['id']}", json={"stage": "prospecting"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert [e["action"] for e in timeline(api, "opportunity", opportunity["id"])] == ["create"]


def test_sending_the_initial_state_back_after_the_record_moved_on_is_refused(api: Api) -> None:
    lead = new_lead(api)
    taken(api, "lead", lead["id"], "start_working")
    response = api.patch(f"/api/lead/{lead['id']}", json={"status": "new"})
    assert errors_of(assert_problem(response, 422)) == [("status", "workflow_field")]
    assert get(api, "lead", lead["id"])["status"] == "working"


# -- GET /api/{entity}/{id}/transitions -----------------------------------------------------------


@pytest.mark.parametrize("entity", sorted(MAKERS))
def test_transitions_lists_exactly_those_out_of_the_initial_state(api: Api, entity: str) -> None:
    workflow = WORKFLOW_OF[entity]
    record = MAKERS[entity](api)
    response = api.get(f"/api/{entity}/{record['id']}/transitions")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["name"] for i in items] == expected_names(workflow, workflow["initial"])
    declared = {t["name"]: t for t in workflow["transitions"]}
    for item in items:
        assert set(item) == {"workflow", "name", "label", "from", "to", "available", "reasons"}
        assert item["workflow"] == workflow["name"]
        assert (item["label"], item["from"], item["to"]) == (declared[item["name"]]["label"], workflow["initial"],
                                                             declared[item["name"]]["to"])
        assert item["available"] is (item["reasons"] == [])
        for reason in item["reasons"]:
            assert set(reason) == {"code", "message", "field"}
            assert reason["code"] in {"not_permitted", "role", "required", "guard"}


def test_transitions_follow_the_current_state(api: Api) -> None:
    lead = new_lead(api)
    assert list(transitions(api, "lead", lead["id"])) == ["start_working", "nurture", "disqualify"]
    taken(api, "lead", lead["id"], "start_working")
    listed = transitions(api, "lead", lead["id"])
    assert list(listed) == ["nurture", "qualify", "disqualify"]
    assert {i["from"] for i in listed.values()} == {"working"}
    taken(api, "lead", lead["id"], "nurture")
    assert list(transitions(api, "lead", lead["id"])) == ["start_working", "qualify", "disqualify"]


def test_transitions_of_a_fresh_lead_for_its_owner(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    listed = transitions(api.as_("rep1"), "lead", lead["id"])
    assert listed["start_working"]["available"] is True
    assert listed["nurture"]["available"] is True
    assert listed["disqualify"]["available"] is False
    assert listed["disqualify"]["reasons"] == [{"code": "required", "field": "disqualification_reason",
                                                "message": "'Disqualification Reason' must be filled in first"}]


def test_reason_required_names_each_missing_field(api: Api) -> None:
    contract = new_contract(api)
    activate = transitions(api, "contract", contract["id"])["activate"]
    assert activate["available"] is False
    assert activate["reasons"] == [
        {"code": "required", "field": "start_date", "message": "'Start Date' must be filled in first"},
        {"code": "required", "field": "signed_on", "message": "'Signed On' must be filled in first"},
    ]
    api.patch(f"/api/contract/{contract['id']}", json={"signed_on": LAST_WEEK})
    activate = transitions(api, "contract", contract["id"])["activate"]
    assert reasons_of(activate) == [("required", "start_date")]
    api.patch(f"/api/contract/{contract['id']}", json={"start_date": LAST_WEEK})
    assert transitions(api, "contract", contract["id"])["activate"]["available"] is True


def test_reason_required_lists_every_missing_field_of_a_transition(api: Api) -> None:
    opportunity = new_opportunity(api.as_("rep1"))
    listed = transitions(api.as_("rep1"), "opportunity", opportunity["id"])
    assert list(listed) == ["qualify", "close_lost"]
    assert reasons_of(listed["qualify"]) == [("required", "primary_contact")]
    assert listed["qualify"]["reasons"][0]["message"] == "'Primary Contact' must be filled in first"
    assert reasons_of(listed["close_lost"]) == [("required", "close_date"), ("required", "loss_reason")]


@pytest.mark.parametrize(("amount", "reasons"), [
    ("0", [("guard", None)]),
    ("0.00", [("guard", None)]),
    (None, [("required", "amount"), ("guard", None)]),
])
def test_reason_guard_when_the_guard_is_false(api: Api, amount: str | None, reasons: list[Any]) -> None:
    contact = new_contact(api)
    opportunity = new_opportunity(api, amount=amount, close_date=NEXT_MONTH)
    taken(api, "opportunity", opportunity["id"], "qualify", {"primary_contact": contact["id"]})
    send = transitions(api, "opportunity", opportunity["id"])["send_proposal"]
    assert send["available"] is False
    assert reasons_of(send) == reasons
    guard = send["reasons"][-1]
    assert guard["message"] == "the condition is not met: amount is not empty and amount > 0"


def test_guard_turns_true_when_the_record_changes(api: Api) -> None:
    contact = new_contact(api)
    opportunity = new_opportunity(api, amount="0", close_date=NEXT_MONTH, primary_contact=contact["id"])
    taken(api, "opportunity", opportunity["id"], "qualify")
    assert transitions(api, "opportunity", opportunity["id"])["send_proposal"]["available"] is False
    api.patch(f"/api/opportunity/{opportunity['id']}", json={"amount": "1.00"})
    assert transitions(api, "opportunity", opportunity["id"])["send_proposal"]["available"] is True


def test_reason_guard_on_a_date_guard(api: Api) -> None:
    contract = new_contract(api, start_date=LONG_AGO, signed_on=LONG_AGO, end_date=LAST_WEEK)
    activate = transitions(api, "contract", contract["id"])["activate"]
    assert activate["reasons"] == [{"code": "guard", "field": None,
                                    "message": "the condition is not met: end_date is empty or end_date >= today()"}]


def test_reason_role_when_the_caller_lacks_the_transitions_roles(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    taken(api.as_("rep1"), "lead", lead["id"], "disqualify", {"disqualification_reason": "no_budget"})
    listed = transitions(api.as_("rep1"), "lead", lead["id"])
    assert list(listed) == ["reopen"]
    assert listed["reopen"]["available"] is False
    assert listed["reopen"]["reasons"] == [{"code": "role", "field": None,
                                            "message": "only Sales Manager may take this transition"}]
    for user in ("manager", "admin"):
        assert transitions(api.as_(user), "lead", lead["id"])["reopen"] == {**listed["reopen"], "available": True,
                                                                          "reasons": []}, user


def test_reason_role_names_every_role_that_may(api: Api) -> None:
    lead = new_lead(api.as_("marketing"))
    taken(api.as_("marketing"), "lead", lead["id"], "start_working")
    api.patch(f"/api/lead/{lead['id']}", json={"rating": "hot"})
    taken(api.as_("marketing"), "lead", lead["id"], "qualify")
    convert = transitions(api.as_("marketing"), "lead", lead["id"])["convert"]
    # several roles read as a list, joined by "or" like the states of a wrong_state message
    assert convert["reasons"][0] == {"code": "role", "field": None,
                                     "message": "only Sales Representative or Sales Manager may take this transition"}
    assert reasons_of(convert) == [("role", None), ("required", "converted_account"), ("required", "converted_at")]


def test_reason_not_permitted_for_a_reader_who_may_not_update(api: Api) -> None:
    contact = new_contact(api.as_("rep1"))
    opportunity = new_opportunity(api.as_("rep1"), primary_contact=contact["id"])
    listed = transitions(api.as_("marketing"), "opportunity", opportunity["id"])
    assert list(listed) == ["qualify", "close_lost"]
    assert listed["qualify"]["available"] is False
    assert listed["qualify"]["reasons"] == [{"code": "not_permitted", "field": None,
                                             "message": "you may not change this opportunity"}]
    # not_permitted outranks role; the other reasons are still given
    assert reasons_of(listed["close_lost"]) == [("not_permitted", None), ("required", "close_date"),
                                                ("required", "loss_reason")]
    assert transitions(api.as_("rep1"), "opportunity", opportunity["id"])["qualify"]["available"] is True


def _user_with_roles(shared: Installed, *roles: str) -> dict[str, str]:
    """Authorization headers of a new user holding ``roles`` (in no team)."""
    with shared.engine.begin() as connection:
        user_id = add_user(connection, tag(), now=utc_now(), roles=list(roles))
        token = create_token(connection, user_id, "tests", now=utc_now())
    return {"Authorization": f"Bearer {token}"}


def test_reason_not_permitted_when_reading_reaches_further_than_updating(api: Api, shared: Installed) -> None:
    """marketing_user reads all opportunities, sales_rep updates its own: someone else's is read-only."""
    headers = _user_with_roles(shared, "marketing_user", "sales_rep")
    opportunity = new_opportunity(api.as_("rep1"))
    response = api.as_(None).get(f"/api/opportunity/{opportunity['id']}/transitions", headers=headers)
    assert response.status_code == 200, response.text
    listed = {i["name"]: i for i in response.json()["items"]}
    assert reasons_of(listed["qualify"]) == [("not_permitted", None), ("required", "primary_contact")]
    assert listed["qualify"]["reasons"][0]["message"] == "you may not change this opportunity"


def test_reasons_do_not_name_fields_the_caller_cannot_see(api: Api) -> None:
    """marketing_user may not see an opportunity's amount: the reasons must not reveal it by name."""
    contact = new_contact(api)
    opportunity = new_opportunity(api, amount=None, close_date=NEXT_MONTH)
    taken(api, "opportunity", opportunity["id"], "qualify", {"primary_contact": contact["id"]})
    send = transitions(api.as_("marketing"), "opportunity", opportunity["id"])["send_proposal"]
    assert reasons_of(send) == [("not_permitted", None), ("required", None), ("guard", None)]
    assert send["reasons"][1]["message"] == "a field you cannot see must be filled in first"
    for reason in send["reasons"]:
        assert "amount" not in reason["message"].lower(), reason


def test_transitions_of_a_record_out_of_reach_are_404_or_403(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    body = assert_problem(api.as_("rep2").get(f"/api/lead/{lead['id']}/transitions"), 404)
    assert body["detail"] == f"there is no lead with id {lead['id']}"
    body = assert_problem(api.as_("agent").get(f"/api/lead/{lead['id']}/transitions"), 403)
    assert body["detail"] == "you may not read leads"
    assert_problem(api.get("/api/lead/987654321/transitions"), 404)
    assert_problem(api.as_(None).get(f"/api/lead/{lead['id']}/transitions"), 401)


def test_transitions_of_a_final_state_are_none(api: Api) -> None:
    opportunity = new_opportunity(api)
    taken(api, "opportunity", opportunity["id"], "close_lost", {"close_date": LAST_WEEK, "loss_reason": "price"})
    assert transitions(api, "opportunity", opportunity["id"]) == {}


def test_entity_without_a_workflow_has_no_transitions(api: Api) -> None:
    account = new_account(api)
    assert transitions(api, "account", account["id"]) == {}
    assert_problem(take(api, "account", account["id"], "qualify"), 404)


# -- POST /api/{entity}/{id}/transitions/{name} ---------------------------------------------------


def test_taking_a_transition_moves_the_state_and_bumps_the_version(api: Api, shared: Installed) -> None:
    lead = new_lead(api.as_("rep1"))
    response = take(api.as_("rep1"), "lead", lead["id"], "start_working")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == '"2"'
    moved = response.json()
    assert (moved["status"], moved["version"]) == ("working", 2)
    assert moved["updated_by"] == shared.seed.user_ids["rep1"]
    assert {k: v for k, v in moved.items() if k not in ("status", "version", "updated_at")} == \
        {k: v for k, v in lead.items() if k not in ("status", "version", "updated_at")}
    assert get(api, "lead", lead["id"]) == moved

    entries = timeline(api, "lead", lead["id"])
    assert [e["action"] for e in entries] == ["transition", "create"]
    newest = entries[0]
    assert newest["note"] == "Start Working"
    assert newest["version"] == 2
    assert newest["actor_id"] == shared.seed.user_ids["rep1"]
    assert newest["source"] == "api"
    assert newest["changes"] == [{"field": "status", "old": "new", "new": "working"}]


def test_values_fill_the_required_fields_in_the_same_change(api: Api) -> None:
    contact = new_contact(api.as_("rep1"))
    opportunity = new_opportunity(api.as_("rep1"))
    moved = taken(api.as_("rep1"), "opportunity", opportunity["id"], "qualify", {"primary_contact": contact["id"]})
    assert (moved["stage"], moved["primary_contact"], moved["version"]) == ("qualification", contact["id"], 2)

    moved = taken(api.as_("rep1"), "opportunity", opportunity["id"], "send_proposal",
                  {"amount": "1200.50", "close_date": NEXT_MONTH, "next_step": "Call back"})
    assert (moved["stage"], moved["amount"], moved["close_date"], moved["next_step"], moved["version"]) == (
        "proposal", "1200.50", NEXT_MONTH, "Call back", 3)
    assert moved["net_amount"] == "1200.50"  # formulas follow the values

    entries = timeline(api, "opportunity", opportunity["id"])
    assert [(e["action"], e["version"], e["note"]) for e in entries] == [
        ("transition", 3, "Send Proposal"), ("transition", 2, "Qualify"), ("create", 1, None)]
    assert {c["field"]: (c["old"], c["new"]) for c in entries[1]["changes"]} == {
        "primary_contact": (None, contact["id"]), "stage": ("prospecting", "qualification")}
    changes = {c["field"]: (c["old"], c["new"]) for c in entries[0]["changes"]}
    assert changes["stage"] == ("qualification", "proposal")
    assert changes["amount"] == ("500.00", "1200.50")
    assert changes["close_date"] == (None, NEXT_MONTH)
    assert changes["next_step"] == (None, "Call back")


def test_values_can_make_the_guard_true(api: Api) -> None:
    opportunity = new_opportunity(api, amount="0", close_date=NEXT_MONTH, primary_contact=new_contact(api)["id"])
    taken(api, "opportunity", opportunity["id"], "qualify")
    moved = taken(api, "opportunity", opportunity["id"], "send_proposal", {"amount": "99.00"})
    assert (moved["stage"], moved["amount"]) == ("proposal", "99.00")


def test_values_that_empty_a_required_field_block_the_transition(api: Api) -> None:
    opportunity = new_opportunity(api, primary_contact=new_contact(api)["id"])
    response = take(api, "opportunity", opportunity["id"], "qualify", {"primary_contact": None})
    assert errors_of(assert_problem(response, 422)) == [("primary_contact", "required")]
    assert get(api, "opportunity", opportunity["id"]) == opportunity


def test_values_with_bad_input_are_422_and_nothing_changes(api: Api) -> None:
    lead = new_lead(api)
    response = take(api, "lead", lead["id"], "disqualify", {"disqualification_reason": "bored", "city": "x" * 101})
    body = assert_problem(response, 422)
    assert sorted(errors_of(body)) == [("city", "too_long"), ("disqualification_reason", "not_in_picklist")]
    response = take(api, "lead", lead["id"], "start_working", {"nope": 1})
    assert errors_of(assert_problem(response, 422)) == [("nope", "unknown_field")]
    assert get(api, "lead", lead["id"]) == lead


def test_values_breaking_a_validation_rule_are_422(api: Api) -> None:
    opportunity = new_opportunity(api, primary_contact=new_contact(api)["id"])
    response = take(api, "opportunity", opportunity["id"], "qualify", {"probability": 300})
    assert errors_of(assert_problem(response, 422)) == [("probability", "validation:probability_range")]
    assert get(api, "opportunity", opportunity["id"]) == opportunity


def test_unknown_transition_is_404(api: Api) -> None:
    lead = new_lead(api)
    body = assert_problem(take(api, "lead", lead["id"], "teleport"), 404)
    assert body["detail"] == "Lead has no transition 'teleport'"
    # a transition of another entity's workflow is unknown here too
    body = assert_problem(take(api, "lead", lead["id"], "accept"), 404)
    assert body["detail"] == "Lead has no transition 'accept'"
    assert get(api, "lead", lead["id"]) == lead


def test_transition_on_a_record_out_of_reach_is_refused(api: Api) -> None:
    assert assert_problem(take(api, "lead", 987654321, "start_working"), 404)["detail"] == \
        "there is no lead with id 987654321"
    lead = new_lead(api.as_("rep1"))
    assert_problem(take(api.as_("rep2"), "lead", lead["id"], "start_working"), 404)
    assert_problem(take(api.as_("agent"), "lead", lead["id"], "start_working"), 403)
    assert_problem(take(api.as_(None), "lead", lead["id"], "start_working"), 401)
    assert_problem(take(api, "leed", lead["id"], "start_working"), 404)
    assert get(api, "lead", lead["id"]) == lead


def test_transition_not_from_the_current_state_is_409_wrong_state(api: Api) -> None:
    lead = new_lead(api)
    body = assert_problem(take(api, "lead", lead["id"], "convert"), 409)
    assert body["errors"] == [{"field": "status", "code": "wrong_state", "message": "the record is 'New'"}]
    assert body["detail"] == "'Convert' starts from 'Qualified', but the record is 'New'"
    body = assert_problem(take(api, "lead", lead["id"], "qualify", {"rating": "hot"}), 409)
    assert body["detail"] == "'Qualify' starts from 'Working' or 'Nurturing', but the record is 'New'"
    assert get(api, "lead", lead["id"]) == lead


def test_taking_the_same_transition_twice_is_409_the_second_time(api: Api) -> None:
    lead = new_lead(api)
    taken(api, "lead", lead["id"], "start_working")
    body = assert_problem(take(api, "lead", lead["id"], "start_working"), 409)
    assert errors_of(body) == [("status", "wrong_state")]
    assert get(api, "lead", lead["id"])["version"] == 2


def test_transition_out_of_a_final_state_is_409(api: Api) -> None:
    opportunity = new_opportunity(api)
    taken(api, "opportunity", opportunity["id"], "close_lost", {"close_date": LAST_WEEK, "loss_reason": "price"})
    body = assert_problem(take(api, "opportunity", opportunity["id"], "close_lost"), 409)
    assert body["errors"] == [{"field": "stage", "code": "wrong_state", "message": "the record is 'Closed Lost'"}]


def test_blocked_by_required_fields_is_422_with_the_reasons(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    body = assert_problem(take(api.as_("rep1"), "lead", lead["id"], "disqualify"), 422)
    assert body["detail"] == "'Disqualify' cannot be taken now"
    assert body["errors"] == [{"field": "disqualification_reason", "code": "required",
                               "message": "'Disqualification Reason' must be filled in first"}]
    assert get(api, "lead", lead["id"]) == lead
    assert [e["action"] for e in timeline(api, "lead", lead["id"])] == ["create"]


def test_values_filling_only_some_required_fields_name_the_rest(api: Api) -> None:
    contract = new_contract(api)
    body = assert_problem(take(api, "contract", contract["id"], "activate", {"signed_on": LAST_WEEK}), 422)
    assert errors_of(body) == [("start_date", "required")]
    assert get(api, "contract", contract["id"]) == contract


def test_blocked_by_the_guard_is_422_with_the_reason(api: Api) -> None:
    opportunity = new_opportunity(api, amount="0", primary_contact=new_contact(api)["id"])
    taken(api, "opportunity", opportunity["id"], "qualify")
    before = get(api, "opportunity", opportunity["id"])
    body = assert_problem(take(api, "opportunity", opportunity["id"], "send_proposal", {"close_date": NEXT_MONTH}), 422)
    assert body["detail"] == "'Send Proposal' cannot be taken now"
    assert body["errors"] == [{"field": None, "code": "guard",
                               "message": "the condition is not met: amount is not empty and amount > 0"}]
    assert get(api, "opportunity", opportunity["id"]) == before


def test_blocked_by_guard_and_required_fields_reports_them_all(api: Api) -> None:
    opportunity = new_opportunity(api, amount=None, primary_contact=new_contact(api)["id"])
    taken(api, "opportunity", opportunity["id"], "qualify")
    body = assert_problem(take(api, "opportunity", opportunity["id"], "send_proposal"), 422)
    assert errors_of(body) == [("amount", "required"), ("close_date", "required"), (None, "guard")]


def test_blocked_by_role_is_403_with_the_reason(api: Api) -> None:
    lead = new_lead(api.as_("rep1"))
    taken(api.as_("rep1"), "lead", lead["id"], "disqualify", {"disqualification_reason": "no_need"})
    before = get(api, "lead", lead["id"])
    body = assert_problem(take(api.as_("rep1"), "lead", lead["id"], "reopen"), 403)
    assert body["detail"] == "only Sales Manager may take this transition"
    assert body["errors"] == [{"field": None, "code": "role", "message": "only Sales Manager may take this transition"}]
    assert get(api, "lead", lead["id"]) == before
    assert taken(api.as_("manager"), "lead", lead["id"], "reopen")["status"] == "working"


def test_blocked_by_role_and_required_fields_is_403_listing_every_reason(api: Api) -> None:
    lead = new_lead(api.as_("marketing"), rating="warm")
    taken(api.as_("marketing"), "lead", lead["id"], "start_working")
    taken(api.as_("marketing"), "lead", lead["id"], "qualify")
    body = assert_problem(take(api.as_("marketing"), "lead", lead["id"], "convert"), 403)
    assert errors_of(body) == [(None, "role"), ("converted_account", "required"), ("converted_at", "required")]


def test_blocked_as_not_permitted_is_403_with_the_reason(api: Api) -> None:
    opportunity = new_opportunity(api.as_("rep1"), primary_contact=new_contact(api.as_("rep1"))["id"])
    body = assert_problem(take(api.as_("marketing"), "opportunity", opportunity["id"], "qualify"), 403)
    assert body["detail"] == "you may not change this opportunity"
    assert body["errors"] == [{"field": None, "code": "not_permitted", "message": "you may not change this opportunity"}]
    assert get(api, "opportunity", opportunity["id"]) == opportunity


def test_not_permitted_outranks_bad_values(api: Api) -> None:
    """A caller who may not change the record learns nothing from the values it sends."""
    opportunity = new_opportunity(api.as_("rep1"))
    response = take(api.as_("marketing"), "opportunity", opportunity["id"], "qualify", {"primary_contact": 987654321})
    assert_problem(response, 403)
    assert get(api, "opportunity", opportunity["id"]) == opportunity


@pytest.mark.parametrize("values", [{"probability": "lots"}, {"amount": "1.00"}, {"close_date": "soon"}],
                         ids=["type-error", "hidden-field", "bad-date"])
def test_not_permitted_outranks_badly_typed_values_as_in_patch(api: Api, values: dict[str, Any]) -> None:
    """PATCH answers 403 to a caller who may not update before looking at the values (403 outranks 422)."""
    opportunity = new_opportunity(api.as_("rep1"), primary_contact=new_contact(api.as_("rep1"))["id"])
    assert_problem(api.as_("marketing").patch(f"/api/opportunity/{opportunity['id']}", json=values), 403)
    response = take(api.as_("marketing"), "opportunity", opportunity["id"], "qualify", values)
    body = assert_problem(response, 403)
    assert errors_of(body)[0] == (None, "not_permitted")
    assert get(api, "opportunity", opportunity["id"]) == opportunity


def test_stale_if_match_is_412_and_nothing_moves(api: Api) -> None:
    lead = new_lead(api)
    api.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"})
    response = take(api, "lead", lead["id"], "start_working", headers={"If-Match": '"1"'})
    body = assert_problem(response, 412)
    assert body["current_version"] == 2
    assert response.headers["etag"] == '"2"'
    after = get(api, "lead", lead["id"])
    assert (after["status"], after["version"]) == ("new", 2)
    response = take(api, "lead", lead["id"], "start_working", headers={"If-Match": '"2"'})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 3


def test_stale_if_match_with_values_is_412_and_no_value_is_written(api: Api) -> None:
    lead = new_lead(api)
    api.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"})
    response = take(api, "lead", lead["id"], "disqualify", {"disqualification_reason": "duplicate"},
                    headers={"If-Match": 'W/"1"'})
    assert_problem(response, 412)
    after = get(api, "lead", lead["id"])
    assert (after["status"], after["disqualification_reason"], after["version"]) == ("new", None, 2)


def test_malformed_if_match_is_400(api: Api) -> None:
    lead = new_lead(api)
    response = take(api, "lead", lead["id"], "start_working", headers={"If-Match": "soon"})
    assert errors_of(assert_problem(response, 400)) == [(None, "invalid_if_match")]
    assert get(api, "lead", lead["id"]) == lead


def test_stale_version_in_the_body_is_412(api: Api) -> None:
    lead = new_lead(api)
    api.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"})
    response = api.post(f"/api/lead/{lead['id']}/transitions/start_working", json={"values": {}, "version": 1})
    assert assert_problem(response, 412)["current_version"] == 2
    assert get(api, "lead", lead["id"])["status"] == "new"


def test_stale_version_as_digits_in_the_body_is_412_as_in_patch(api: Api) -> None:
    """PATCH reads ``"version": "1"`` like ``If-Match: "1"``; a transition must not ignore it and move the record."""
    lead = new_lead(api)
    api.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"})
    assert_problem(api.patch(f"/api/lead/{lead['id']}", json={"city": "Bergen", "version": "1"}), 412)
    response = api.post(f"/api/lead/{lead['id']}/transitions/start_working", json={"version": "1"})
    assert assert_problem(response, 412)["current_version"] == 2
    assert get(api, "lead", lead["id"])["status"] == "new"


@pytest.mark.parametrize("version", ["abc", 1.5, True], ids=["text", "fraction", "boolean"])
def test_a_version_in_the_body_that_is_no_version_is_422_as_in_patch(api: Api, version: Any) -> None:
    """PATCH refuses such a version (422 on ``version``); a transition must not ignore it or read true as 1."""
    lead = new_lead(api)
    assert errors_of(assert_problem(api.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo", "version": version}),
                                    422)) == [("version", "type")]
    response = api.post(f"/api/lead/{lead['id']}/transitions/start_working", json={"version": version})
    assert errors_of(assert_problem(response, 422)) == [("version", "type")]
    assert get(api, "lead", lead["id"]) == lead


@pytest.mark.parametrize("state", ["working", "nurturing", "new"])
def test_values_holding_the_state_field_are_422_workflow_field(api: Api, state: str) -> None:
    lead = new_lead(api)
    response = take(api, "lead", lead["id"], "start_working", {"status": state, "city": "Oslo"})
    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "status", "code": "workflow_field",
                               "message": "leave the state out: the transition sets it"}]
    assert get(api, "lead", lead["id"]) == lead


@pytest.mark.parametrize("body", [
    pytest.param([], id="list"),
    pytest.param("start", id="string"),
    pytest.param(42, id="number"),
    pytest.param(None, id="null"),
    pytest.param({"values": []}, id="values-list"),
    pytest.param({"values": "x"}, id="values-string"),
    pytest.param({"values": None}, id="values-null"),
    pytest.param({"status": "working"}, id="fields-at-top-level"),
    pytest.param({"values": {}, "note": "why"}, id="extra-key"),
    pytest.param({"Values": {}}, id="wrong-case"),
])
def test_a_body_that_is_not_values_is_422(api: Api, body: Any) -> None:
    lead = new_lead(api)
    response = api.post(f"/api/lead/{lead['id']}/transitions/start_working", content=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 422)
    assert problem["detail"] == "the body must be {\"values\": {field: value, ...}} (or empty)"
    assert errors_of(problem) == [(None, "type")]
    assert get(api, "lead", lead["id"]) == lead


@pytest.mark.parametrize("body", [None, {}, {"values": {}}], ids=["no-body", "empty-object", "empty-values"])
def test_an_empty_body_or_empty_values_is_accepted(api: Api, body: Any) -> None:
    lead = new_lead(api)
    response = api.post(f"/api/lead/{lead['id']}/transitions/start_working", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "working"


def test_a_body_that_is_not_json_is_400_or_415(api: Api) -> None:
    lead = new_lead(api)
    assert_problem(api.post(f"/api/lead/{lead['id']}/transitions/start_working", content=b"{values",
                            headers={"Content-Type": "application/json"}), 400)
    assert_problem(api.post(f"/api/lead/{lead['id']}/transitions/start_working", content=b"values=1",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert get(api, "lead", lead["id"]) == lead


def test_get_on_a_transition_is_405(api: Api) -> None:
    lead = new_lead(api)
    assert_problem(api.get(f"/api/lead/{lead['id']}/transitions/start_working"), 405)


@pytest.mark.parametrize("user", ["rep1", "marketing"])
def test_transition_listing_and_taking_agree(api: Api, user: str) -> None:
    """A transition listed as blocked is refused with the same reasons; one listed as available is taken."""
    lead = new_lead(api.as_(user))
    taken(api.as_(user), "lead", lead["id"], "start_working")
    api.patch(f"/api/lead/{lead['id']}", json={"rating": "warm"})
    taken(api.as_(user), "lead", lead["id"], "qualify")
    listed = transitions(api.as_(user), "lead", lead["id"])
    assert list(listed) == ["disqualify", "convert"]
    assert [o["name"] for o in listed.values() if o["available"]] == []
    for name, option in listed.items():
        response = take(api.as_(user), "lead", lead["id"], name)
        assert response.status_code == (403 if any(r["code"] in ("role", "not_permitted") for r in option["reasons"])
                                         else 422), response.text
        assert [(e["code"], e["field"]) for e in response.json()["errors"]] == reasons_of(option)
        assert [e["message"] for e in response.json()["errors"]] == [r["message"] for r in option["reasons"]]
    assert take(api.as_(user), "lead", lead["id"], "disqualify", {"disqualification_reason": "other"}).status_code == 200


# -- every workflow runs: walks to a final state ----------------------------------------------------


@dataclass(frozen=True)
class Step:
    """Take ``transition`` with ``values`` (``$name`` refers to a record made for the walk), or PATCH ``values``."""

    transition: str | None
    values: dict[str, Any] = field(default_factory=dict)


def patch(**values: Any) -> Step:
    return Step(None, values)


@dataclass(frozen=True)
class Decide(Step):
    """An approver decides the open approval request of the record (the administrator, as any approver)."""

    approve: bool = True
    comment: str | None = None


def approve() -> Decide:
    return Decide(None, {}, True)


def reject(comment: str) -> Decide:
    return Decide(None, {}, False, comment)


@dataclass(frozen=True)
class Walk:
    entity: str
    body: dict[str, Any]
    steps: tuple[Step, ...]


def _refs(api: Api, shared: Installed, walk: Walk) -> dict[str, Any]:
    """The records the walk points to (``$account``, ``$contact``…), made for it."""
    used = {v for values in (walk.body, *(s.values for s in walk.steps)) for v in values.values()
            if isinstance(v, str) and v.startswith("$")}
    refs: dict[str, Any] = {"$admin": shared.seed.user_ids["admin"]}
    if used & {"$account", "$contact", "$opportunity"}:
        refs["$account"] = new_account(api)["id"]
    if "$contact" in used:
        refs["$contact"] = new_contact(api, account=refs["$account"])["id"]
    if "$opportunity" in used:
        refs["$opportunity"] = new_opportunity(api, account=refs["$account"])["id"]
    if "$partner" in used:
        refs["$partner"] = new_partner(api)["id"]
    assert used <= set(refs), used - set(refs)
    return refs


WALKS: dict[str, Walk] = {
    "lead": Walk("lead", lead_body(), (
        Step("nurture"), Step("start_working"), Step("nurture"), Step("start_working"),
        Step("disqualify", {"disqualification_reason": "bad_timing"}), Step("reopen"),
        Step("qualify", {"rating": "hot"}),
        Step("convert", {"converted_account": "$account", "converted_at": SOON}),
    )),
    "lead-disqualified-from-nurturing-and-qualified": Walk("lead", lead_body(email=None, phone="+1 555 0100"), (
        Step("nurture"), Step("disqualify", {"disqualification_reason": "duplicate"}), Step("reopen"),
        Step("nurture"), Step("qualify", {"rating": "cold"}),
        Step("disqualify"), Step("reopen"), Step("qualify"),
        Step("convert", {"converted_account": "$account", "converted_at": SOON}),
    )),
    "opportunity-won": Walk("opportunity", {"name": "Deal", "account": "$account"}, (
        Step("qualify", {"primary_contact": "$contact"}),
        Step("send_proposal", {"amount": "25000.00", "close_date": NEXT_MONTH}),
        Step("negotiate"), Step("revise_proposal"), Step("negotiate"), Step("close_won"),
    )),
    "opportunity-won-from-proposal": Walk("opportunity", {"name": "Deal", "account": "$account"}, (
        Step("qualify", {"primary_contact": "$contact"}),
        Step("send_proposal", {"amount": "1.00", "close_date": NEXT_MONTH}), Step("close_won"),
    )),
    "opportunity-lost": Walk("opportunity", {"name": "Deal", "account": "$account"}, (
        Step("close_lost", {"close_date": LAST_WEEK, "loss_reason": "competitor", "competitor": "Initrode"}),
    )),
    "opportunity-lost-in-negotiation": Walk("opportunity", {"name": "Deal", "account": "$account", "amount": "5.00"}, (
        Step("qualify", {"primary_contact": "$contact"}), Step("send_proposal", {"close_date": NEXT_MONTH}),
        Step("negotiate"), Step("close_lost", {"loss_reason": "timing"}),
    )),
    "case": Walk("case", {"subject": "Printer on fire"}, (
        Step("accept"), Step("wait_for_customer", {"first_response_at": SOON}), Step("customer_replied"),
        Step("escalate", {"escalation_reason": "VIP customer"}), Step("de_escalate"),
        Step("resolve", {"resolution": "Replaced the toner", "resolved_at": LATER}), Step("reopen"),
        Step("escalate"), Step("wait_for_customer"), Step("resolve"), Step("close"),
    )),
    "case-escalated-at-once": Walk("case", {"subject": "Outage"}, (
        Step("escalate", {"escalation_reason": "Outage"}),
        Step("resolve", {"resolution": "Restarted", "resolved_at": LATER}), Step("close"),
    )),
    "contract": Walk("contract", {"title": "Reseller agreement", "partner": "$partner"}, (
        Step("activate", {"start_date": LONG_AGO, "signed_on": LONG_AGO}),
        patch(end_date=LAST_WEEK), Step("expire"), Step("renew", {"end_date": NEXT_YEAR}),
        Step("terminate", {"terminated_on": LAST_WEEK, "termination_reason": "Breach of contract"}),
    )),
    "contract-cancelled": Walk("contract", {"title": "Draft agreement", "partner": "$partner"}, (
        Step("cancel_draft", {"termination_reason": "Never signed"}),
    )),
    "deal_registration": Walk("deal_registration", {"name": "Big deal", "partner": "$partner", "account": "$account"}, (
        Step("submit", {"estimated_amount": "50000.00", "expected_close_date": NEXT_MONTH, "submitted_at": SOON}),
        reject("Overlaps another registration"),
        Step("revise"), Step("submit"), approve(),
        patch(approved_at=LATER, expires_on=LAST_WEEK), Step("expire"), Step("extend", {"expires_on": NEXT_YEAR}),
        Step("mark_won", {"opportunity": "$opportunity"}),
    )),
    "deal_registration-lost": Walk("deal_registration", {"name": "Small deal", "partner": "$partner",
                                                         "prospect_company": "Initech"}, (
        Step("submit", {"estimated_amount": "10.00", "expected_close_date": NEXT_MONTH, "submitted_at": SOON}),
        approve(), Step("mark_lost"),
    )),
    "deal_registration-lost-after-expiry": Walk("deal_registration", {"name": "Old deal", "partner": "$partner",
                                                                      "prospect_company": "Initrode"}, (
        Step("submit", {"estimated_amount": "10.00", "expected_close_date": NEXT_MONTH, "submitted_at": SOON}),
        approve(), patch(expires_on=LAST_WEEK), Step("expire"), Step("mark_lost"),
    )),
}


def _decide(api: Api, entity: str, record: dict[str, Any], step: Decide) -> tuple[dict[str, Any], str]:
    """Approve or reject the record's open request; returns the record after it and the transition's note."""
    [request] = [r for r in api.get("/api/approvals").json()["items"]
                 if r["entity"] == entity and r["record_id"] == record["id"]]
    verb = "approve" if step.approve else "reject"
    decided = api.post(f"/api/approvals/{request['id']}/{verb}", json={"comment": step.comment} if step.comment else None)
    assert decided.status_code == 200, decided.text
    label = next(t["label"] for t in WORKFLOW_OF[entity]["transitions"] if t["name"] == request["transition"])
    return api.get(f"/api/{entity}/{record['id']}").json(), f"{label} ({'approved' if step.approve else 'not approved'})"


def _resolve(values: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    return {k: refs.get(v, v) if isinstance(v, str) else v for k, v in values.items()}


def test_the_walks_take_every_transition_of_every_workflow_and_reach_every_final_state() -> None:
    assert set(WORKFLOWS) == {"lead_qualification", "opportunity_sales", "case_lifecycle", "contract_lifecycle",
                              "deal_registration_approval"}
    for workflow in WORKFLOWS.values():
        walks = [w for w in WALKS.values() if w.entity == workflow["entity"]]
        taken_names = {s.transition for w in walks for s in w.steps if s.transition}
        assert taken_names == {t["name"] for t in workflow["transitions"]}, workflow["name"]
        finals = {s["name"] for s in workflow["states"] if s.get("final")}
        reached = {next(t["to"] for t in workflow["transitions"] if t["name"] == w.steps[-1].transition) for w in walks}
        assert reached == finals, workflow["name"]


@pytest.mark.parametrize("walk", list(WALKS), ids=list(WALKS))
def test_walk_a_workflow_to_a_final_state(api: Api, shared: Installed, walk: str) -> None:
    plan = WALKS[walk]
    workflow = WORKFLOW_OF[plan.entity]
    state_field = workflow["field"]
    declared = {t["name"]: t for t in workflow["transitions"]}
    finals = {s["name"] for s in workflow["states"] if s.get("final")}
    refs = _refs(api, shared, plan)
    record = create(api, plan.entity, _resolve(plan.body, refs))
    assert record[state_field] == workflow["initial"]
    path = [record[state_field]]
    expected_notes: list[str] = []
    for step in plan.steps:
        values = _resolve(step.values, refs)
        if isinstance(step, Decide):
            record, note = _decide(api, plan.entity, record, step)
            expected_notes.append(note)
            path.append(record[state_field])
            continue
        if step.transition is None:
            response = api.patch(f"/api/{plan.entity}/{record['id']}", json=values)
            assert response.status_code == 200, response.text
            record = response.json()
            continue
        listed = transitions(api, plan.entity, record["id"])
        assert list(listed) == expected_names(workflow, record[state_field])
        assert step.transition in listed, (path, step)
        if not values:
            assert listed[step.transition]["available"] is True, listed[step.transition]
        approval = declared[step.transition].get("approval")
        if approval is not None and not approval.get("when"):  # it waits for an approver, in its pending state
            # (the walks keep conditional approvals' conditions false: test_approvals_api covers them)
            response = take(api, plan.entity, record["id"], step.transition, values)
            assert response.status_code == 202, response.text
            record = response.json()["record"]
            assert record[state_field] == approval["pending"]
            expected_notes.append(f"{declared[step.transition]['label']} (submitted for approval)")
            path.append(record[state_field])
            continue
        moved = taken(api, plan.entity, record["id"], step.transition, values)
        expected_notes.append(declared[step.transition]["label"])
        assert moved[state_field] == declared[step.transition]["to"]
        assert moved["version"] == record["version"] + 1
        for name, value in values.items():
            assert moved[name] == value, name
        newest = timeline(api, plan.entity, record["id"])[0]
        assert (newest["action"], newest["note"], newest["version"]) == (
            "transition", declared[step.transition]["label"], moved["version"])
        assert {"field": state_field, "old": record[state_field], "new": moved[state_field]} in newest["changes"]
        record = moved
        path.append(record[state_field])
    assert record[state_field] in finals, path
    assert transitions(api, plan.entity, record["id"]) == {}
    entries = timeline(api, plan.entity, record["id"])
    assert [e["note"] for e in entries if e["action"] == "transition"][::-1] == expected_notes
