"""The record endpoints of the REST API, status by status, as the contract in the README describes them.

``GET/POST /api/{entity}``, ``GET/PATCH/DELETE /api/{entity}/{id}``, the
timeline and the related lists: 200/201/204 with their headers; 401, 403, 404,
409, 412, 413, 415 and 422 as problem+json; paging by offset and by cursor
(also over NULLs), totals, quick search, audit history, and deletes that clear,
cascade or are blocked by the records pointing to them.

The tests of this module share one database per backend; each works on
records of its own, told apart by a unique tag (usually the lead's company).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, table, update
from starlette.testclient import TestClient

from tests.runtime.conftest import PASSWORD, Api, Installed
from xrm.context import utc_now
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.runtime.users import add_user, create_token
from xrm.system_tables import audit_log, users

PROBLEM = "application/problem+json"


# -- a shared database ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(shared_api: Api) -> Api:
    """The API as admin over the module's shared database."""
    return shared_api



# -- helpers --------------------------------------------------------------------------------------


def new_tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def lead_body(**changes: Any) -> dict[str, Any]:
    return {"last_name": "Doe", "company": "ACME", "email": "doe@example.com", **changes}


def create(api: Api, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/{entity}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_lead(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "lead", lead_body(**changes))


def new_account(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "account", {"name": f"Account {new_tag()}", **changes})


def new_opportunity(api: Api, account: int, **changes: Any) -> dict[str, Any]:
    return create(api, "opportunity", {"name": "Deal", "account": account, "amount": "500.00", **changes})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is problem+json with ``status``, a title, a detail and well-formed field errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert isinstance(body["detail"], str) and body["detail"].strip()
    for error in body["errors"]:
        assert set(error) == {"field", "message", "code"}
        assert isinstance(error["message"], str) and error["message"].strip()
    return body


def errors_of(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in body["errors"]]


def count(shared: Installed, entity: str) -> int:
    with shared.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table(entity))).scalar_one()


def list_ids(api: Api, entity: str, **params: str) -> list[int]:
    response = api.get(f"/api/{entity}", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def timeline(api: Api, entity: str, record_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/{entity}/{record_id}/timeline")
    assert response.status_code == 200, response.text
    return response.json()["items"]


# -- 200, 201, 204 --------------------------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_whole_record(client: Api, shared: Installed) -> None:
    response = client.as_("rep1").post("/api/lead", json=lead_body(first_name="Jane", last_name="Doe"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    record = response.json()
    assert response.headers["location"] == f"/api/lead/{record['id']}"
    assert response.headers["etag"] == '"1"'
    assert record["version"] == 1
    assert record["full_name"] == "Jane Doe"
    assert record["status"] == "new"
    assert record["do_not_call"] is False
    rep1 = shared.seed.user_ids["rep1"]
    assert (record["owner_id"], record["created_by"], record["updated_by"]) == (rep1, rep1, rep1)
    assert record["created_at"] == record["updated_at"]
    assert {"id", "version", "created_at", "created_by", "updated_at", "updated_by", "owner_id"} <= set(record)


def test_get_answers_200_with_the_record_and_its_etag(client: Api) -> None:
    record = new_lead(client, city="Lyon")
    response = client.get(f"/api/lead/{record['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == '"1"'
    assert response.json() == record


def test_location_header_leads_to_the_new_record(client: Api) -> None:
    response = client.post("/api/lead", json=lead_body(last_name="Located"))
    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json()["last_name"] == "Located"


def test_patch_changes_only_the_given_fields_and_moves_version_and_etag(client: Api) -> None:
    record = new_lead(client, city="Lyon")
    response = client.patch(f"/api/lead/{record['id']}", json={"first_name": "Jo", "city": None},
                            headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    changed = response.json()
    assert changed["version"] == 2
    assert (changed["first_name"], changed["city"], changed["full_name"]) == ("Jo", None, "Jo Doe")
    unchanged = {k: v for k, v in record.items() if k not in ("first_name", "city", "full_name", "version", "updated_at")}
    assert {k: changed[k] for k in unchanged} == unchanged
    assert changed["updated_at"] > record["updated_at"]


@pytest.mark.parametrize("if_match", ['W/"1"', "1", ' "1" '])
def test_patch_accepts_weak_and_bare_if_match_values(client: Api, if_match: str) -> None:
    record = new_lead(client)
    response = client.patch(f"/api/lead/{record['id']}", json={"city": "Oslo"}, headers={"If-Match": if_match})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


def test_patch_that_changes_nothing_keeps_the_version(client: Api) -> None:
    record = new_lead(client, city="Lyon")
    for body in ({}, {"city": "Lyon"}):
        response = client.patch(f"/api/lead/{record['id']}", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 1
        assert response.headers["etag"] == '"1"'
    assert [e["action"] for e in timeline(client, "lead", record["id"])] == ["create"]


def test_delete_answers_204_without_a_body_and_the_record_is_gone(client: Api, shared: Installed) -> None:
    record = new_lead(client)
    before = count(shared, "lead")
    response = client.delete(f"/api/lead/{record['id']}", headers={"If-Match": '"1"'})
    assert response.status_code == 204
    assert response.content == b""
    assert count(shared, "lead") == before - 1
    assert_problem(client.get(f"/api/lead/{record['id']}"), 404)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json",
                                          "APPLICATION/JSON"])
def test_json_media_types_with_parameters_or_suffix_are_accepted(client: Api, content_type: str) -> None:
    response = client.post("/api/lead", content=b'{"last_name": "Doe", "company": "ACME", "email": "doe@example.com"}',
                           headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


# -- 401 ------------------------------------------------------------------------------------------

UNAUTHENTICATED = [
    pytest.param(None, "sign in, or send an API token as 'Authorization: Bearer <token>'", id="no-token"),
    pytest.param("Bearer xrm_not-a-real-token", "the API token is unknown, revoked or expired", id="unknown-token"),
    pytest.param("Basic YWRtaW46c2VjcmV0", "the Authorization header must be 'Bearer <token>'", id="basic-scheme"),
    pytest.param("Bearer", "the Authorization header must be 'Bearer <token>'", id="scheme-only"),
    pytest.param("Bearer    ", "the Authorization header must be 'Bearer <token>'", id="blank-token"),
    pytest.param("{admin}", "the Authorization header must be 'Bearer <token>'", id="token-without-scheme"),
    pytest.param("Token {admin}", "the Authorization header must be 'Bearer <token>'", id="other-scheme-valid-token"),
    pytest.param("Bearer {admin}x", "the API token is unknown, revoked or expired", id="altered-token"),
]


@pytest.mark.parametrize(("authorization", "detail"), UNAUTHENTICATED)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_missing_or_bad_credentials_are_401(client: Api, shared: Installed, authorization: str | None, detail: str,
                                            method: str) -> None:
    headers = {} if authorization is None else {
        "Authorization": authorization.replace("{admin}", shared.seed.tokens["admin"])}
    before = count(shared, "lead")
    if method == "GET":
        response = client.as_(None).get("/api/lead", headers=headers)
    else:
        response = client.as_(None).post("/api/lead", json=lead_body(), headers=headers)
    body = assert_problem(response, 401)
    assert body["detail"] == detail
    assert response.headers["www-authenticate"] == 'Bearer realm="xrm"'
    assert count(shared, "lead") == before


def test_expired_token_is_401(client: Api, shared: Installed) -> None:
    now = utc_now()
    with shared.engine.begin() as connection:
        token = create_token(connection, shared.seed.user_ids["rep1"], "old", now=now - timedelta(days=2),
                             expires_at=now - timedelta(days=1))
    response = client.as_(None).get("/api/lead", headers={"Authorization": f"Bearer {token}"})
    assert assert_problem(response, 401)["detail"] == "the API token is unknown, revoked or expired"


def test_token_of_a_deactivated_user_is_401(client: Api, shared: Installed) -> None:
    name = new_tag()
    with shared.engine.begin() as connection:
        user_id = add_user(connection, name, now=utc_now(), roles=["sales_manager"])
        token = create_token(connection, user_id, "tests", now=utc_now())
    headers = {"Authorization": f"Bearer {token}"}
    assert client.as_(None).get("/api/lead", headers=headers).status_code == 200
    with shared.engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(is_active=False))
    assert_problem(client.as_(None).get("/api/lead", headers=headers), 401)


def test_openapi_document_is_public(client: Api) -> None:
    response = client.as_(None).get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


# -- 403 ------------------------------------------------------------------------------------------


def test_role_without_the_action_is_403(client: Api, shared: Installed) -> None:
    lead = new_lead(client.as_("rep1"))
    body = assert_problem(client.as_("rep1").delete(f"/api/lead/{lead['id']}"), 403)
    assert body["detail"] == "you may not delete leads"
    assert client.as_("rep1").get(f"/api/lead/{lead['id']}").status_code == 200

    before = count(shared, "opportunity")
    account = new_account(client)
    body = assert_problem(client.as_("marketing").post("/api/opportunity", json={"name": "X", "account": account["id"]}), 403)
    assert body["detail"] == "you may not create opportunities"
    assert count(shared, "opportunity") == before

    assert assert_problem(client.as_("agent").get("/api/lead"), 403)["detail"] == "you may not read leads"
    assert assert_problem(client.as_("marketing").patch(f"/api/account/{account['id']}", json={"phone": "+1 555 0100"}),
                          403)["detail"] == "you may not update accounts"


def test_read_only_field_of_the_role_is_403_and_nothing_changes(client: Api) -> None:
    lead = new_lead(client)
    response = client.as_("marketing").patch(f"/api/lead/{lead['id']}",
                                             json={"city": "Rome", "converted_at": "2026-06-01T09:30:00Z"})
    body = assert_problem(response, 403)
    assert body["errors"] == [{"field": "converted_at", "message": "you may not change 'Converted At'",
                               "code": "not_permitted"}]
    after = client.get(f"/api/lead/{lead['id']}").json()
    assert (after["version"], after["city"], after["converted_at"]) == (1, None, None)


def _signed_in_session(shared: Installed, user: str) -> TestClient:
    """A browser-like client signed in through the /login form (session cookie, no token)."""
    from xrm.ui.app import create_app

    browser = TestClient(create_app(shared.engine))
    form = browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = browser.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
                            follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser


def _session_csrf(browser: TestClient) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
    assert token is not None
    return token.group(1)


def test_cookie_session_reads_without_csrf_but_changes_need_the_header(shared: Installed) -> None:
    with _signed_in_session(shared, "rep1") as browser:
        me = browser.get("/api/me")
        assert me.status_code == 200
        assert me.json()["username"] == "rep1"
        before = count(shared, "lead")
        for headers in ({}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": ""}):
            body = assert_problem(browser.post("/api/lead", json=lead_body(), headers=headers), 403)
            assert "x-csrf-token" in body["detail"]
        assert count(shared, "lead") == before
        response = browser.post("/api/lead", json=lead_body(), headers={"X-CSRF-Token": _session_csrf(browser)})
        assert response.status_code == 201, response.text
        assert response.json()["owner_id"] == shared.seed.user_ids["rep1"]


def test_cookie_session_delete_and_patch_without_csrf_are_403(client: Api, shared: Installed) -> None:
    lead = new_lead(client)
    with _signed_in_session(shared, "manager") as browser:
        assert_problem(browser.patch(f"/api/lead/{lead['id']}", json={"city": "Paris"}), 403)
        assert_problem(browser.delete(f"/api/lead/{lead['id']}"), 403)
    assert client.get(f"/api/lead/{lead['id']}").json()["version"] == 1


# -- 404 ------------------------------------------------------------------------------------------


def test_unknown_entity_is_404_with_a_hint(client: Api) -> None:
    body = assert_problem(client.get("/api/leed"), 404)
    assert body["detail"] == "there is no entity 'leed'; did you mean 'lead'?"
    assert_problem(client.post("/api/leed", json=lead_body()), 404)
    assert_problem(client.get("/api/leed/1"), 404)


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/timeline"),
                                                ("GET", "/related"), ("GET", "/related/activity/lead")])
def test_unknown_id_is_404(client: Api, method: str, suffix: str) -> None:
    kwargs = {"json": {"city": "x"}} if method == "PATCH" else {}
    body = assert_problem(client.request(method, f"/api/lead/987654321{suffix}", **kwargs), 404)
    assert body["detail"] == "there is no lead with id 987654321"


def test_record_outside_own_scope_reads_as_404(client: Api) -> None:
    lead = new_lead(client.as_("rep1"))
    body = assert_problem(client.as_("rep2").get(f"/api/lead/{lead['id']}"), 404)
    assert body["detail"] == f"there is no lead with id {lead['id']}"


def test_unknown_path_and_method_are_problems_too(client: Api) -> None:
    assert_problem(client.get("/api/lead/1/nothing-here"), 404)
    body = assert_problem(client.request("PUT", "/api/lead/1", json={}), 405)
    assert body["detail"] == "PUT is not allowed on /api/lead/1"


# -- 409 ------------------------------------------------------------------------------------------


def test_unique_conflict_is_409_naming_every_duplicated_field(client: Api, shared: Installed) -> None:
    tag = new_tag()
    create(client, "account", {"name": f"Unique {tag}", "account_number": tag})
    before = count(shared, "account")
    body = assert_problem(client.post("/api/account", json={"name": f"Unique {tag}", "account_number": tag}), 409)
    assert errors_of(body) == [("name", "unique"), ("account_number", "unique")]
    assert body["errors"][0]["message"] == "another account already has this 'Account Name'"
    assert count(shared, "account") == before


def test_unique_conflict_on_change_is_409_and_keeps_the_record(client: Api) -> None:
    tag = new_tag()
    create(client, "account", {"name": f"First {tag}"})
    second = create(client, "account", {"name": f"Second {tag}"})
    body = assert_problem(client.patch(f"/api/account/{second['id']}", json={"name": f"First {tag}"}), 409)
    assert errors_of(body) == [("name", "unique")]
    after = client.get(f"/api/account/{second['id']}").json()
    assert (after["name"], after["version"]) == (f"Second {tag}", 1)


def test_delete_of_a_record_still_referenced_by_a_restrict_lookup_is_409(client: Api, shared: Installed) -> None:
    account = new_account(client)
    opportunity = new_opportunity(client, account["id"])
    body = assert_problem(client.delete(f"/api/account/{account['id']}"), 409)
    assert body["detail"] == ("this account cannot be deleted while other records point to it; "
                              "change or delete them first")
    assert errors_of(body) == [(None, "referenced")]
    assert client.get(f"/api/account/{account['id']}").status_code == 200
    assert client.get(f"/api/opportunity/{opportunity['id']}").json()["account"] == account["id"]
    assert client.delete(f"/api/opportunity/{opportunity['id']}").status_code == 204
    assert client.delete(f"/api/account/{account['id']}").status_code == 204


def test_restrict_message_counts_the_blockers_in_good_english(client: Api) -> None:
    account = new_account(client)
    new_opportunity(client, account["id"])
    body = assert_problem(client.delete(f"/api/account/{account['id']}"), 409)
    assert body["errors"][0]["message"] == "1 opportunity still points to it through 'Account'"
    new_opportunity(client, account["id"])
    body = assert_problem(client.delete(f"/api/account/{account['id']}"), 409)
    assert body["errors"][0]["message"] == "2 opportunities still point to it through 'Account'"


# -- 412 ------------------------------------------------------------------------------------------


def test_stale_if_match_is_412_with_the_current_version(client: Api) -> None:
    lead = new_lead(client)
    assert client.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"}).status_code == 200
    response = client.patch(f"/api/lead/{lead['id']}", json={"city": "Bergen"}, headers={"If-Match": '"1"'})
    body = assert_problem(response, 412)
    assert body["current_version"] == 2
    assert response.headers["etag"] == '"2"'
    assert body["detail"].startswith(f"Lead {lead['id']} is at version 2, not 1")
    after = client.get(f"/api/lead/{lead['id']}").json()
    assert (after["city"], after["version"]) == ("Oslo", 2)


def test_two_writers_from_the_same_version_the_second_gets_412(client: Api) -> None:
    lead = new_lead(client.as_("rep1"))
    etag = client.as_("rep1").get(f"/api/lead/{lead['id']}").headers["etag"]
    first = client.as_("rep1").patch(f"/api/lead/{lead['id']}", json={"city": "A"}, headers={"If-Match": etag})
    second = client.as_("manager").patch(f"/api/lead/{lead['id']}", json={"city": "B"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert_problem(second, 412)
    assert client.get(f"/api/lead/{lead['id']}").json()["city"] == "A"


def test_stale_version_in_the_body_is_412(client: Api) -> None:
    lead = new_lead(client)
    client.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo"})
    body = assert_problem(client.patch(f"/api/lead/{lead['id']}", json={"city": "Bergen", "version": 1}), 412)
    assert body["current_version"] == 2
    assert client.get(f"/api/lead/{lead['id']}").json()["city"] == "Oslo"


def test_current_version_in_the_body_is_accepted_and_not_stored_as_a_field(client: Api) -> None:
    lead = new_lead(client)
    response = client.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo", "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


def test_non_numeric_version_in_the_body_is_a_422_on_version(client: Api) -> None:
    lead = new_lead(client)
    body = assert_problem(client.patch(f"/api/lead/{lead['id']}", json={"city": "Oslo", "version": "abc"}), 422)
    assert [field for field, _ in errors_of(body)] == ["version"]
    assert "-1" not in body["detail"]


def test_stale_if_match_on_delete_is_412_and_the_record_stays(client: Api) -> None:
    lead = new_lead(client)
    body = assert_problem(client.delete(f"/api/lead/{lead['id']}", headers={"If-Match": '"5"'}), 412)
    assert body["current_version"] == 1
    assert client.get(f"/api/lead/{lead['id']}").status_code == 200


@pytest.mark.parametrize("if_match", ["abc", '"v1"', "*", "-1", '"1.0"'])
def test_malformed_if_match_is_400(client: Api, if_match: str) -> None:
    lead = new_lead(client)
    body = assert_problem(client.patch(f"/api/lead/{lead['id']}", json={"city": "x"}, headers={"If-Match": if_match}), 400)
    assert errors_of(body) == [(None, "invalid_if_match")]
    assert client.get(f"/api/lead/{lead['id']}").json()["version"] == 1


# -- 413, 415 -------------------------------------------------------------------------------------


def test_body_over_one_megabyte_is_413(client: Api, shared: Installed) -> None:
    before = count(shared, "lead")
    response = client.post("/api/lead", json=lead_body(description="x" * 1_000_000))
    assert assert_problem(response, 413)["detail"] == "the body is larger than 1,000,000 bytes"
    assert count(shared, "lead") == before


def test_body_that_is_not_json_is_415(client: Api, shared: Installed) -> None:
    before = count(shared, "lead")
    response = client.post("/api/lead", data={"last_name": "Doe", "company": "ACME", "email": "doe@example.com"})
    body = assert_problem(response, 415)
    assert body["detail"] == "send the record as JSON with 'Content-Type: application/json'"
    assert count(shared, "lead") == before


# -- 422 ------------------------------------------------------------------------------------------


def test_422_lists_every_field_error_at_once(client: Api, shared: Installed) -> None:
    before = count(shared, "lead")
    response = client.post("/api/lead", json=lead_body(
        last_name="x" * 81, email="nope", number_of_employees="many", rating="bogus",
        converted_at="2026-06-01T09:30:00", do_not_call="maybe", bogus_field=1))
    body = assert_problem(response, 422)
    assert body["detail"] == "the lead was not saved: 7 problems to fix"
    assert errors_of(body) == [
        ("last_name", "too_long"), ("email", "invalid_email"), ("number_of_employees", "type"),
        ("rating", "not_in_picklist"), ("converted_at", "needs_time_zone"), ("do_not_call", "type"),
        ("bogus_field", "unknown_field"),
    ]
    assert count(shared, "lead") == before


def test_422_reports_missing_required_fields(client: Api) -> None:
    body = assert_problem(client.post("/api/lead", json={}), 422)
    # the required fields, and with them the validation rule that wants an e-mail address or a phone number
    assert errors_of(body) == [("last_name", "required"), ("company", "required"),
                               ("email", "validation:email_or_phone"), ("phone", "validation:email_or_phone")]
    assert body["errors"][0]["message"] == "'Last Name' is required"


def test_422_reports_missing_required_fields_together_with_type_errors(client: Api) -> None:
    body = assert_problem(client.post("/api/lead", json={"email": "nope", "number_of_employees": "many"}), 422)
    assert sorted(errors_of(body)) == sorted([("last_name", "required"), ("company", "required"),
                                              ("email", "invalid_email"), ("number_of_employees", "type")])


def test_422_reports_a_missing_lookup_target_together_with_type_errors(client: Api) -> None:
    body = assert_problem(client.post("/api/opportunity", json={"name": "Deal", "account": 987654321, "amount": "lots"}),
                          422)
    assert sorted(errors_of(body)) == [("account", "not_found"), ("amount", "type")]


def test_422_reports_every_broken_validation_rule(client: Api) -> None:
    account = new_account(client)
    body = assert_problem(client.post("/api/opportunity", json={
        "name": "Deal", "account": account["id"], "amount": "-5", "probability": 200, "discount_percent": 150}), 422)
    assert sorted(errors_of(body)) == sorted([
        ("probability", "validation:probability_range"), ("amount", "validation:amount_not_negative"),
        ("discount_percent", "validation:discount_range")])
    assert {e["message"] for e in body["errors"]} == {"Probability must be between 0 and 100 %.",
                                                      "The amount cannot be negative.",
                                                      "Discount must be between 0 and 100 %."}


@pytest.mark.parametrize(("expression", "message"), [
    ("status = 'new' and", "1:19: the expression ends too early"),
    ("status = 'new'\nand nope = 1", "2:5: unknown field 'nope' on lead"),
    ("nope = 1 and other = 2", "1:1: unknown field 'nope' on lead"),
    ("last_nme = 'Doe'", "1:1: unknown field 'last_nme' on lead (did you mean 'last_name'?)"),
])
def test_bad_filter_is_422_with_line_and_column(client: Api, expression: str, message: str) -> None:
    body = assert_problem(client.get("/api/lead", params={"filter": expression}), 422)
    assert body["detail"] == "the filter is not a valid condition"
    assert body["errors"][0] == {"field": "filter", "message": message, "code": "invalid_filter"}


def test_bad_filter_reports_every_problem(client: Api) -> None:
    body = assert_problem(client.get("/api/lead", params={"filter": "nope = 1 and other = 2"}), 422)
    assert [e["message"] for e in body["errors"]] == ["1:1: unknown field 'nope' on lead",
                                                      "1:14: unknown field 'other' on lead"]


@pytest.mark.parametrize(("sort", "code"), [("nope", "unknown_field"), ("-last_name,nope", "unknown_field"),
                                            ("id,version,created_at,updated_at,owner_id,last_name", "too_many")])
def test_bad_sort_is_422(client: Api, sort: str, code: str) -> None:
    body = assert_problem(client.get("/api/lead", params={"sort": sort}), 422)
    assert errors_of(body) == [("sort", code)]


@pytest.mark.parametrize(("params", "field", "code"), [
    ({"limit": "0"}, "limit", "out_of_range"),
    ({"limit": "501"}, "limit", "out_of_range"),
    ({"limit": "-1"}, "limit", "type"),
    ({"limit": "ten"}, "limit", "type"),
    ({"limit": "1.5"}, "limit", "type"),
    ({"offset": "-3"}, "offset", "type"),
    ({"offset": "x"}, "offset", "type"),
    ({"total": "maybe"}, "total", "type"),
    ({"cursor": "not-a-cursor"}, "cursor", "invalid_cursor"),
    ({"cursor": "WyJ4IixbXV0", "offset": "2"}, "offset", "conflict"),
    ({"q": "x" * 201}, "q", "too_long"),
])
def test_bad_list_parameters_are_422(client: Api, params: dict[str, str], field: str, code: str) -> None:
    body = assert_problem(client.get("/api/lead", params=params), 422)
    assert errors_of(body) == [(field, code)]


def test_bad_list_parameters_are_all_reported_at_once(client: Api) -> None:
    body = assert_problem(client.get("/api/lead", params={"limit": "0", "sort": "nope", "filter": "nope = 1"}), 422)
    assert sorted(errors_of(body)) == [("filter", "invalid_filter"), ("limit", "out_of_range"), ("sort", "unknown_field")]


# -- paging, totals, quick search -----------------------------------------------------------------


def _tagged_leads(api: Api, tag: str, cities: list[str | None]) -> list[dict[str, Any]]:
    return [new_lead(api, last_name=f"L{i:02d}", company=tag, city=city) for i, city in enumerate(cities)]


def test_offset_paging_returns_consecutive_pages_with_the_total(client: Api) -> None:
    tag = new_tag()
    leads = _tagged_leads(client, tag, [None] * 7)
    pages = []
    for offset in (0, 3, 6, 9):
        page = client.get("/api/lead", params={"filter": f"company = '{tag}'", "sort": "last_name", "limit": "3",
                                               "offset": str(offset)}).json()
        assert (page["total"], page["limit"], page["offset"]) == (7, 3, offset)
        pages.append([item["id"] for item in page["items"]])
    assert pages == [[lead["id"] for lead in leads[i:i + 3]] for i in (0, 3, 6, 9)]


def test_total_counts_every_match_and_can_be_left_out(client: Api) -> None:
    tag = new_tag()
    _tagged_leads(client, tag, ["A", "B", None])
    page = client.get("/api/lead", params={"filter": f"company = '{tag}'", "limit": "1"}).json()
    assert (len(page["items"]), page["total"]) == (1, 3)
    assert page["next_cursor"] is not None
    page = client.get("/api/lead", params={"filter": f"company = '{tag}'", "total": "false"}).json()
    assert (len(page["items"]), page["total"]) == (3, None)


CITIES = ["Bergen", None, "Aachen", "bergen", None, "Zurich", "Aachen", "Ørsta", None, "Bergen", "Cork"]


def _expected_order(leads: list[dict[str, Any]], descending: bool) -> list[int]:
    """NULLs last ascending and first descending; text by code point; ties by id ascending."""
    nulls = sorted(lead["id"] for lead in leads if lead["city"] is None)
    present = [lead for lead in leads if lead["city"] is not None]
    if descending:
        ordered = sorted(present, key=lambda lead: lead["id"])
        ordered = sorted(ordered, key=lambda lead: lead["city"], reverse=True)
        return nulls + [lead["id"] for lead in ordered]
    return [lead["id"] for lead in sorted(present, key=lambda lead: (lead["city"], lead["id"]))] + nulls


def _walk(api: Api, params: dict[str, str]) -> tuple[list[int], int]:
    ids, cursor, pages = [], None, 0
    while True:
        page = api.get("/api/lead", params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        data = page.json()
        ids += [item["id"] for item in data["items"]]
        pages += 1
        assert pages < 50, "the cursor never ends"
        cursor = data["next_cursor"]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("sort", ["city", "-city"])
@pytest.mark.parametrize("limit", [1, 2, 4])
def test_cursor_walks_every_page_without_duplicates_or_gaps_over_nulls(client: Api, sort: str, limit: int) -> None:
    tag = new_tag()
    leads = _tagged_leads(client, tag, CITIES)
    ids, pages = _walk(client, {"filter": f"company = '{tag}'", "sort": sort, "limit": str(limit)})
    assert len(ids) == len(set(ids)) == len(CITIES)
    assert ids == _expected_order(leads, descending=sort.startswith("-"))
    assert pages == -(-len(CITIES) // limit)


def test_cursor_over_two_sort_keys_with_nulls(client: Api) -> None:
    tag = new_tag()
    leads = [new_lead(client, last_name=name, company=tag, city=city) for name, city in
             [("B", None), ("A", None), ("A", "X"), ("B", "X"), ("C", None), ("A", "Y")]]
    ids, _ = _walk(client, {"filter": f"company = '{tag}'", "sort": "-city,last_name", "limit": "2"})
    by_name = {(lead["last_name"], lead["city"]): lead["id"] for lead in leads}
    assert ids == [by_name[("A", None)], by_name[("B", None)], by_name[("C", None)], by_name[("A", "Y")],
                   by_name[("A", "X")], by_name[("B", "X")]]


def test_cursor_stays_stable_while_records_are_added(client: Api) -> None:
    tag = new_tag()
    leads = _tagged_leads(client, tag, ["B", "D", "F", "H"])
    params = {"filter": f"company = '{tag}'", "sort": "city", "limit": "2"}
    first = client.get("/api/lead", params=params).json()
    new_lead(client, company=tag, city="A")  # sorts before the cursor: never shown on later pages
    later = new_lead(client, company=tag, city="G")  # after it: shown once
    second = client.get("/api/lead", params={**params, "cursor": first["next_cursor"]}).json()
    third = client.get("/api/lead", params={**params, "cursor": second["next_cursor"]}).json()
    ids = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert ids == [leads[0]["id"], leads[1]["id"], leads[2]["id"], later["id"], leads[3]["id"]]
    assert third["next_cursor"] is None


def test_cursor_from_another_sort_is_refused(client: Api) -> None:
    tag = new_tag()
    _tagged_leads(client, tag, ["A", "B", "C"])
    page = client.get("/api/lead", params={"filter": f"company = '{tag}'", "sort": "city", "limit": "1"}).json()
    body = assert_problem(client.get("/api/lead", params={"filter": f"company = '{tag}'", "sort": "-city",
                                                          "cursor": page["next_cursor"]}), 422)
    assert errors_of(body) == [("cursor", "invalid_cursor")]


def test_quick_search_finds_the_text_in_any_text_field_ignoring_case(client: Api) -> None:
    tag = new_tag()
    in_name = new_lead(client, last_name=f"Mc{tag}", company="Shared Co")
    in_email = new_lead(client, email=f"{tag}@example.com", company="Shared Co")
    in_city = new_lead(client, city=f"{tag}ville", company="Shared Co")
    new_lead(client, company="Shared Co")
    assert sorted(list_ids(client, "lead", q=tag.upper())) == sorted([in_name["id"], in_email["id"], in_city["id"]])
    assert list_ids(client, "lead", q=tag, filter=f"city = '{tag}ville'") == [in_city["id"]]
    page = client.get("/api/lead", params={"q": tag}).json()
    assert page["total"] == 3


def test_quick_search_treats_wildcards_as_plain_characters(client: Api) -> None:
    tag = new_tag()
    percent = new_lead(client, company=tag, title="100% growth")
    underscore = new_lead(client, company=tag, title="snake_case")
    new_lead(client, company=tag, title="plain")
    assert list_ids(client, "lead", q="100%", filter=f"company = '{tag}'") == [percent["id"]]
    assert list_ids(client, "lead", q="_", filter=f"company = '{tag}'") == [underscore["id"]]
    assert list_ids(client, "lead", q="%", filter=f"company = '{tag}'") == [percent["id"]]


# -- timeline -------------------------------------------------------------------------------------


def test_timeline_shows_who_when_through_which_channel_and_old_and_new_values(client: Api, shared: Installed) -> None:
    lead = new_lead(client.as_("rep1"), city="Lyon")
    client.as_("rep1").patch(f"/api/lead/{lead['id']}", json={"city": "Nice", "rating": "hot"})
    importer = shared.context("manager", source="import")
    with shared.engine.begin() as connection:
        service = RecordService(CatalogCache(shared.engine).model_for(connection))
        service.update(connection, importer, "lead", lead["id"], {"industry": "energy"})
    entries = timeline(client.as_("rep1"), "lead", lead["id"])
    assert [(e["action"], e["version"], e["actor"], e["source"]) for e in entries] == [
        ("update", 3, "manager", "import"), ("update", 2, "rep1", "api"), ("create", 1, "rep1", "api")]
    assert entries[0]["actor_id"] == shared.seed.user_ids["manager"]
    assert entries[1]["actor_id"] == shared.seed.user_ids["rep1"]
    assert entries[0]["changes"] == [{"field": "industry", "old": None, "new": "energy"}]
    assert entries[1]["changes"] == [{"field": "rating", "old": None, "new": "hot"},
                                     {"field": "city", "old": "Lyon", "new": "Nice"}]
    created = {c["field"]: (c["old"], c["new"]) for c in entries[2]["changes"]}
    assert created["last_name"] == (None, "Doe")
    assert created["full_name"] == (None, "Doe")
    assert created["owner_id"] == (None, shared.seed.user_ids["rep1"])
    assert all(e["note"] is None for e in entries)
    assert entries[0]["at"] >= entries[1]["at"] >= entries[2]["at"]


# -- related lists --------------------------------------------------------------------------------


def test_related_lists_name_every_lookup_pointing_here_with_counts(client: Api) -> None:
    account = new_account(client)
    contacts = [create(client, "contact", {"last_name": name, "account": account["id"]}) for name in ("Ames", "Bo")]
    new_opportunity(client, account["id"])
    response = client.get(f"/api/account/{account['id']}/related")
    assert response.status_code == 200
    items = {(item["entity"], item["field"]): item for item in response.json()["items"]}
    assert items[("contact", "account")]["count"] == 2
    assert items[("opportunity", "account")]["count"] == 1
    assert items[("case", "account")]["count"] == 0
    assert items[("account", "parent_account")]["count"] == 0
    assert items[("contact", "account")]["href"] == f"/api/account/{account['id']}/related/contact/account"
    assert items[("contact", "account")]["label"] == "Contacts (Account)"
    listed = client.get(items[("contact", "account")]["href"], params={"sort": "-last_name"}).json()
    assert [item["id"] for item in listed["items"]] == [contacts[1]["id"], contacts[0]["id"]]
    assert listed["total"] == 2


def test_related_records_take_list_parameters(client: Api) -> None:
    account = new_account(client)
    for name in ("A", "B", "C"):
        create(client, "contact", {"last_name": name, "account": account["id"], "department": "Sales"})
    create(client, "contact", {"last_name": "Elsewhere"})
    path = f"/api/account/{account['id']}/related/contact/account"
    first = client.get(path, params={"sort": "last_name", "limit": "2"}).json()
    assert [item["last_name"] for item in first["items"]] == ["A", "B"]
    second = client.get(path, params={"sort": "last_name", "limit": "2", "cursor": first["next_cursor"]}).json()
    assert [item["last_name"] for item in second["items"]] == ["C"]
    assert list_ids(client, f"account/{account['id']}/related/contact/account", filter="last_name = 'B'") == [
        first["items"][1]["id"]]


@pytest.mark.parametrize("suffix", ["contact/reports_to", "contact/nope", "nope/account", "opportunity/primary_contact"])
def test_related_records_through_a_field_that_is_no_lookup_here_is_404(client: Api, suffix: str) -> None:
    account = new_account(client)
    body = assert_problem(client.get(f"/api/account/{account['id']}/related/{suffix}"), 404)
    assert body["detail"] == f"'{suffix.replace('/', '.')}' is not a lookup to account"


# -- deletes and the records pointing to them -----------------------------------------------------


def test_delete_clears_set_null_lookups_through_the_write_path(client: Api, shared: Installed) -> None:
    lead = new_lead(client.as_("rep1"))
    activity = create(client.as_("rep1"), "activity", {"subject": "Call back", "lead": lead["id"]})
    other = create(client.as_("rep1"), "activity", {"subject": "Unrelated"})
    assert client.as_("manager").delete(f"/api/lead/{lead['id']}").status_code == 204
    cleared = client.get(f"/api/activity/{activity['id']}").json()
    assert (cleared["lead"], cleared["version"], cleared["updated_by"]) == (None, 2, shared.seed.user_ids["manager"])
    assert client.get(f"/api/activity/{other['id']}").json()["version"] == 1
    entry = timeline(client, "activity", activity["id"])[0]
    assert (entry["action"], entry["actor"], entry["source"]) == ("update", "manager", "api")
    assert entry["changes"] == [{"field": "lead", "old": lead["id"], "new": None}]
    assert entry["note"] == f"'Lead' cleared because lead #{lead['id']} was deleted"


def test_delete_cascades_to_children_through_the_write_path(client: Api, shared: Installed) -> None:
    campaign = create(client, "campaign", {"name": f"Campaign {new_tag()}"})
    members = [create(client, "campaign_member", {"campaign": campaign["id"], "lead": new_lead(client)["id"]})
               for _ in range(2)]
    before = count(shared, "campaign_member")
    assert client.delete(f"/api/campaign/{campaign['id']}").status_code == 204
    assert count(shared, "campaign_member") == before - 2
    for member in members:
        assert_problem(client.get(f"/api/campaign_member/{member['id']}"), 404)
    with shared.engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.record_id, audit_log.c.action, audit_log.c.note, audit_log.c.actor)
            .where(audit_log.c.entity == "campaign_member",
                   audit_log.c.record_id.in_([m["id"] for m in members]), audit_log.c.action == "delete")
            .order_by(audit_log.c.record_id)).all()
        own = connection.execute(select(audit_log.c.note).where(
            audit_log.c.entity == "campaign", audit_log.c.record_id == campaign["id"],
            audit_log.c.action == "delete")).all()
    note = f"deleted because campaign #{campaign['id']} was deleted"
    assert [tuple(row) for row in rows] == [(m["id"], "delete", note, "admin") for m in members]
    assert [tuple(row) for row in own] == [(None,)]


def test_timeline_of_a_cascaded_child_stays_readable_after_the_delete(client: Api) -> None:
    """The audit history outlives the record: the administrator can still read why a child disappeared."""
    campaign = create(client, "campaign", {"name": f"Campaign {new_tag()}"})
    member = create(client, "campaign_member", {"campaign": campaign["id"], "lead": new_lead(client)["id"]})
    assert client.delete(f"/api/campaign/{campaign['id']}").status_code == 204
    response = client.get(f"/api/campaign_member/{member['id']}/timeline")
    assert response.status_code == 200, response.text
    entries = response.json()["items"]
    assert [e["action"] for e in entries] == ["delete", "create"]
    assert entries[0]["note"] == f"deleted because campaign #{campaign['id']} was deleted"


def test_delete_of_a_lead_cascades_to_its_campaign_members_and_clears_its_activities(client: Api) -> None:
    lead = new_lead(client)
    campaign = create(client, "campaign", {"name": f"Campaign {new_tag()}"})
    member = create(client, "campaign_member", {"campaign": campaign["id"], "lead": lead["id"]})
    activity = create(client, "activity", {"subject": "Meet", "lead": lead["id"]})
    assert client.delete(f"/api/lead/{lead['id']}").status_code == 204
    assert_problem(client.get(f"/api/campaign_member/{member['id']}"), 404)
    assert client.get(f"/api/activity/{activity['id']}").json()["lead"] is None
    assert client.get(f"/api/campaign/{campaign['id']}").status_code == 200
