"""Who may see and change what through the REST API: record scopes, hidden and read-only fields, roles adding up.

The roles come from the bundled packs: ``sales_rep`` works its *own* leads and
opportunities and its *team*'s accounts and contacts; ``sales_manager`` and
``marketing_user`` see *all* leads; ``marketing_user`` cannot read the money
fields of opportunities and cannot change the conversion fields of leads;
``support_agent`` cannot change a case's SLA fields.  rep1 and rep3 share the
team "west", rep2 works alone, ``nobody`` has no role at all.

The tests of this module share one database per backend; each works on
records of its own, told apart by a unique tag.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.runtime.conftest import Api, Installed
from xrm.context import utc_now
from xrm.runtime.users import add_user, create_token

PROBLEM = "application/problem+json"
MONEY = ("amount", "discount_percent", "net_amount", "expected_revenue")


# -- a shared database ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(shared_api: Api) -> Api:
    """The API as admin over the module's shared database."""
    return shared_api



# -- helpers --------------------------------------------------------------------------------------


def new_tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def create(api: Api, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/{entity}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_lead(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "lead", {"last_name": "Doe", "company": "ACME", "email": "doe@example.com", **changes})


def new_account(api: Api, **changes: Any) -> dict[str, Any]:
    return create(api, "account", {"name": f"Account {new_tag()}", **changes})


def new_opportunity(api: Api, **changes: Any) -> dict[str, Any]:
    account = new_account(api)
    return create(api, "opportunity", {"name": f"Deal {new_tag()}", "account": account["id"], "amount": "1000.00",
                                       "discount_percent": 10, **changes})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def errors_of(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in body["errors"]]


def list_ids(api: Api, entity: str, **params: str) -> list[int]:
    response = api.get(f"/api/{entity}", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def as_new_user(client: Api, shared: Installed, roles: tuple[str, ...]) -> Api:
    """A client speaking for a new user with ``roles`` (its own token)."""
    name = f"user_{uuid.uuid4().hex[:8]}"
    with shared.engine.begin() as connection:
        user_id = add_user(connection, name, now=utc_now(), roles=roles)
        token = create_token(connection, user_id, "tests", now=utc_now())

    class _Speaker(Api):
        def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", **(headers or {})}

    return _Speaker(client.client, shared.seed, None)


# -- own scope ------------------------------------------------------------------------------------


def test_own_scope_keeps_another_reps_leads_out_of_lists(client: Api) -> None:
    tag = new_tag()
    mine = new_lead(client.as_("rep1"), company=tag)
    theirs = new_lead(client.as_("rep2"), company=tag)
    for params in ({"filter": f"company = '{tag}'"}, {"q": tag}, {"filter": f"id = {mine['id']}"}):
        page = client.as_("rep2").get("/api/lead", params=params).json()
        assert mine["id"] not in [item["id"] for item in page["items"]]
    page = client.as_("rep2").get("/api/lead", params={"filter": f"company = '{tag}'"}).json()
    assert ([item["id"] for item in page["items"]], page["total"]) == ([theirs["id"]], 1)
    assert list_ids(client.as_("rep1"), "lead", filter=f"company = '{tag}'") == [mine["id"]]


def test_own_scope_list_holds_only_own_records(client: Api, shared: Installed) -> None:
    new_lead(client.as_("rep1"))
    new_lead(client.as_("rep2"))
    items = client.as_("rep2").get("/api/lead", params={"limit": "500"}).json()["items"]
    assert items
    assert {item["owner_id"] for item in items} == {shared.seed.user_ids["rep2"]}


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PATCH", ""), ("GET", "/timeline"), ("GET", "/related"),
                                                ("GET", "/related/activity/lead")])
def test_own_scope_another_reps_lead_reads_as_404(client: Api, method: str, suffix: str) -> None:
    lead = new_lead(client.as_("rep1"), city="Lyon")
    kwargs = {"json": {"city": "Paris"}} if method == "PATCH" else {}
    body = assert_problem(client.as_("rep2").request(method, f"/api/lead/{lead['id']}{suffix}", **kwargs), 404)
    assert body["detail"] == f"there is no lead with id {lead['id']}"
    after = client.as_("rep1").get(f"/api/lead/{lead['id']}").json()
    assert (after["city"], after["version"]) == ("Lyon", 1)


def test_own_scope_delete_of_another_reps_lead_is_refused_and_keeps_it(client: Api) -> None:
    lead = new_lead(client.as_("rep1"))
    assert_problem(client.as_("rep2").delete(f"/api/lead/{lead['id']}"), 403)
    assert client.as_("rep1").get(f"/api/lead/{lead['id']}").status_code == 200


def test_own_scope_delete_of_another_reps_activity_is_404_and_own_is_204(client: Api) -> None:
    activity = create(client.as_("rep1"), "activity", {"subject": "Call"})
    body = assert_problem(client.as_("rep2").delete(f"/api/activity/{activity['id']}"), 404)
    assert body["detail"] == f"there is no activity with id {activity['id']}"
    assert client.as_("rep1").get(f"/api/activity/{activity['id']}").status_code == 200
    assert client.as_("rep1").delete(f"/api/activity/{activity['id']}").status_code == 204


def test_filter_through_a_lookup_does_not_reach_records_outside_the_scope(client: Api, shared: Installed) -> None:
    tag = new_tag()
    secret = new_lead(client.as_("rep1"), last_name=tag)
    activity = create(client, "activity", {"subject": "Probe", "lead": secret["id"],
                                           "owner_id": shared.seed.user_ids["rep2"]})
    assert list_ids(client.as_("rep2"), "activity", filter=f"lead.last_name = '{tag}'") == []
    assert list_ids(client.as_("rep2"), "activity", filter=f"lead.last_name != '{tag}' and id = {activity['id']}") == []
    assert list_ids(client.as_("rep2"), "activity", filter=f"id = {activity['id']}") == [activity["id"]]
    assert list_ids(client.as_("manager"), "activity", filter=f"lead.last_name = '{tag}'") == [activity["id"]]


# -- team scope -----------------------------------------------------------------------------------


def test_team_scope_shows_team_mates_accounts_only(client: Api) -> None:
    tag = new_tag()
    account = new_account(client.as_("rep1"), name=f"West {tag}")
    assert client.as_("rep3").get(f"/api/account/{account['id']}").status_code == 200
    assert list_ids(client.as_("rep3"), "account", q=tag) == [account["id"]]
    assert_problem(client.as_("rep2").get(f"/api/account/{account['id']}"), 404)
    assert list_ids(client.as_("rep2"), "account", q=tag) == []


def test_team_scope_lets_team_mates_change_and_keeps_others_out(client: Api) -> None:
    account = new_account(client.as_("rep1"))
    response = client.as_("rep3").patch(f"/api/account/{account['id']}", json={"phone": "+1 555 0100"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert_problem(client.as_("rep2").patch(f"/api/account/{account['id']}", json={"phone": "+1 555 0199"}), 404)
    assert client.get(f"/api/account/{account['id']}").json()["phone"] == "+1 555 0100"


def test_team_scope_related_counts_only_reachable_records(client: Api, shared: Installed) -> None:
    account = new_account(client.as_("rep1"))
    create(client.as_("rep1"), "contact", {"last_name": "Mate", "account": account["id"]})
    create(client, "contact", {"last_name": "Stranger", "account": account["id"], "owner_id": shared.seed.user_ids["rep2"]})
    related = client.as_("rep3").get(f"/api/account/{account['id']}/related").json()["items"]
    counts = {(item["entity"], item["field"]): item["count"] for item in related}
    assert counts[("contact", "account")] == 1
    names = [item["last_name"] for item in
             client.as_("rep3").get(f"/api/account/{account['id']}/related/contact/account").json()["items"]]
    assert names == ["Mate"]
    assert {(i["entity"], i["field"]): i["count"] for i in client.get(f"/api/account/{account['id']}/related")
            .json()["items"]}[("contact", "account")] == 2


# -- all scope ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["manager", "marketing", "admin"])
def test_all_scope_sees_every_reps_leads(client: Api, user: str) -> None:
    tag = new_tag()
    leads = [new_lead(client.as_(rep), company=tag) for rep in ("rep1", "rep2", "rep3")]
    assert sorted(list_ids(client.as_(user), "lead", filter=f"company = '{tag}'")) == sorted(lead["id"] for lead in leads)
    assert client.as_(user).get(f"/api/lead/{leads[1]['id']}").status_code == 200


# -- hidden fields --------------------------------------------------------------------------------


def test_hidden_fields_are_absent_from_the_record(client: Api) -> None:
    opportunity = new_opportunity(client)
    assert opportunity["amount"] == "1000.00"
    record = client.as_("marketing").get(f"/api/opportunity/{opportunity['id']}").json()
    assert not set(MONEY) & set(record)
    assert record["name"] == opportunity["name"]
    assert record["probability"] == opportunity["probability"]


def test_hidden_fields_are_absent_from_lists_and_related_lists(client: Api) -> None:
    opportunity = new_opportunity(client)
    items = client.as_("marketing").get("/api/opportunity", params={"filter": f"id = {opportunity['id']}"}).json()["items"]
    assert len(items) == 1
    assert not set(MONEY) & set(items[0])
    related = client.as_("marketing").get(
        f"/api/account/{opportunity['account']}/related/opportunity/account").json()["items"]
    assert [item["id"] for item in related] == [opportunity["id"]]
    assert not set(MONEY) & set(related[0])


def test_hidden_fields_are_absent_from_the_timeline(client: Api) -> None:
    opportunity = new_opportunity(client)
    client.patch(f"/api/opportunity/{opportunity['id']}", json={"amount": "2000.00", "next_step": "Call"})
    client.patch(f"/api/opportunity/{opportunity['id']}", json={"discount_percent": 20})
    entries = client.as_("marketing").get(f"/api/opportunity/{opportunity['id']}/timeline").json()["items"]
    assert [e["action"] for e in entries] == ["update", "update", "create"]
    fields = [[c["field"] for c in e["changes"]] for e in entries]
    assert fields[0] == []
    assert fields[1] == ["next_step"]
    assert not set(MONEY) & set(fields[2])
    assert "name" in fields[2]
    admin_fields = [c["field"] for c in client.get(f"/api/opportunity/{opportunity['id']}/timeline").json()["items"][1]
                    ["changes"]]
    assert admin_fields == ["amount", "net_amount", "expected_revenue", "next_step"]


def test_hidden_fields_are_absent_from_the_entity_metadata(client: Api) -> None:
    meta = client.as_("marketing").get("/api/meta/entities/opportunity").json()
    names = [field["name"] for field in meta["fields"]]
    assert "name" in names and "probability" in names
    assert not set(MONEY) & set(names)
    assert set(MONEY) <= {field["name"] for field in client.get("/api/meta/entities/opportunity").json()["fields"]}


def test_hidden_fields_are_not_named_anywhere_in_the_entity_metadata(client: Api) -> None:
    meta = client.as_("marketing").get("/api/meta/entities/opportunity").json()
    for validation in meta["validations"]:
        assert not set(MONEY) & set(validation["fields"]), validation
        assert not {name for name in MONEY if re.search(rf"\b{name}\b", validation["check"])}, validation
    for index in meta["indexes"]:
        assert not set(MONEY) & set(index["fields"])


def test_hidden_fields_are_not_shown_in_the_views_metadata(client: Api) -> None:
    views = client.as_("marketing").get("/api/meta/views", params={"entity": "opportunity"}).json()["items"]
    assert views
    for view in views:
        assert not set(MONEY) & set(view["columns"]), view["name"]
        assert not set(MONEY) & {key["field"] for key in view["sort"]}, view["name"]
        assert not any(re.search(rf"\b{name}\b", view["filter"] or "") for name in MONEY), view["name"]


@pytest.mark.parametrize("field", MONEY)
def test_filter_on_a_hidden_field_fails_as_an_unknown_field(client: Api, field: str) -> None:
    body = assert_problem(client.as_("marketing").get("/api/opportunity", params={"filter": f"{field} > 0"}), 422)
    assert errors_of(body) == [("filter", "invalid_filter")]
    assert body["errors"][0]["message"].startswith(f"1:1: unknown field '{field}' on opportunity")
    assert client.get("/api/opportunity", params={"filter": f"{field} > 0"}).status_code == 200


def test_filter_through_a_lookup_to_a_hidden_field_fails_as_an_unknown_field(client: Api) -> None:
    body = assert_problem(client.as_("marketing").get("/api/lead", params={"filter": "converted_opportunity.amount > 0"}),
                          422)
    assert errors_of(body) == [("filter", "invalid_filter")]
    assert "unknown field 'amount' on opportunity" in body["errors"][0]["message"]


def test_filter_through_a_lookup_to_an_unreadable_entity_is_refused(client: Api, shared: Installed) -> None:
    opportunity = new_opportunity(client, name=f"Secret {new_tag()}")
    create(client, "activity", {"subject": "x", "opportunity": opportunity["id"], "owner_id": shared.seed.user_ids["agent"]})
    body = assert_problem(client.as_("agent").get("/api/activity", params={
        "filter": f"opportunity.name = '{opportunity['name']}'"}), 422)
    assert errors_of(body) == [("filter", "invalid_filter")]


@pytest.mark.parametrize("sort", [f"-{name}" for name in MONEY] + ["name,amount"])
def test_sort_on_a_hidden_field_fails_as_an_unknown_field(client: Api, sort: str) -> None:
    body = assert_problem(client.as_("marketing").get("/api/opportunity", params={"sort": sort}), 422)
    assert errors_of(body) == [("sort", "unknown_field")]
    hidden = sort.split(",")[-1].lstrip("-")
    assert body["errors"][0]["message"].startswith(f"cannot sort by '{hidden}': Opportunity has no such field")


def test_hidden_field_is_never_suggested_in_hints(client: Api) -> None:
    body = assert_problem(client.as_("marketing").get("/api/opportunity", params={"sort": "amout"}), 422)
    assert "'amount'" not in body["errors"][0]["message"]
    body = assert_problem(client.as_("marketing").get("/api/opportunity", params={"filter": "net_amout > 1"}), 422)
    assert "net_amount" not in body["errors"][0]["message"]


# -- read-only fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "label"), [
    ("converted_at", "2026-06-01T09:30:00Z", "Converted At"),
    ("converted_account", None, "Converted Account"),
])
def test_read_only_field_of_the_role_is_403_and_nothing_changes(client: Api, field: str, value: Any, label: str) -> None:
    account = new_account(client)
    lead = new_lead(client, converted_account=account["id"])
    response = client.as_("marketing").patch(f"/api/lead/{lead['id']}", json={"city": "Rome", field: value})
    body = assert_problem(response, 403)
    assert body["errors"] == [{"field": field, "message": f"you may not change '{label}'", "code": "not_permitted"}]
    after = client.get(f"/api/lead/{lead['id']}").json()
    assert (after["version"], after["city"], after["converted_account"]) == (1, None, account["id"])


def test_read_only_field_of_the_role_is_403_on_create_too(client: Api) -> None:
    tag = new_tag()
    body = assert_problem(client.as_("marketing").post("/api/lead", json={
        "last_name": "Doe", "company": tag, "email": "doe@example.com", "converted_at": "2026-06-01T09:30:00Z"}), 403)
    assert errors_of(body) == [("converted_at", "not_permitted")]
    assert list_ids(client, "lead", filter=f"company = '{tag}'") == []


def test_other_fields_stay_editable_for_the_role(client: Api) -> None:
    lead = new_lead(client)
    response = client.as_("marketing").patch(f"/api/lead/{lead['id']}", json={"city": "Rome", "rating": "warm"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


def test_read_only_fields_of_other_roles_are_403(client: Api) -> None:
    account = new_account(client)
    contact = create(client, "contact", {"last_name": "Kim"})
    body = assert_problem(client.as_("marketing").patch(f"/api/contact/{contact['id']}", json={"account": account["id"]}),
                          403)
    assert errors_of(body) == [("account", "not_permitted")]
    case = create(client.as_("agent"), "case", {"subject": "Broken"})
    policy = create(client, "sla_policy", _sla_policy_body())
    body = assert_problem(client.as_("agent").patch(f"/api/case/{case['id']}", json={"sla_policy": policy["id"]}), 403)
    assert errors_of(body) == [("sla_policy", "not_permitted")]
    assert client.get(f"/api/case/{case['id']}").json()["sla_policy"] is None


def _sla_policy_body() -> dict[str, Any]:
    return {"name": f"SLA {new_tag()}", "priority": "high", "first_response_within": "4h", "resolve_within": "3d"}


def test_entity_metadata_marks_role_read_only_fields(client: Api) -> None:
    fields = {f["name"]: f for f in client.as_("marketing").get("/api/meta/entities/lead").json()["fields"]}
    assert fields["converted_at"]["read_only"] is True
    assert fields["city"]["read_only"] is False
    manager_fields = {f["name"]: f for f in client.as_("manager").get("/api/meta/entities/lead").json()["fields"]}
    assert manager_fields["converted_at"]["read_only"] is False


# -- no role --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ["lead", "account", "opportunity", "case", "partner", "campaign"])
def test_user_without_roles_gets_403_on_lists(client: Api, entity: str) -> None:
    body = assert_problem(client.as_("nobody").get(f"/api/{entity}"), 403)
    assert body["detail"].startswith("you may not read ")


def test_user_without_roles_cannot_read_or_create_records(client: Api, shared: Installed) -> None:
    lead = new_lead(client)
    assert assert_problem(client.as_("nobody").get(f"/api/lead/{lead['id']}"), 403)["detail"] == "you may not read leads"
    tag = new_tag()
    body = assert_problem(client.as_("nobody").post("/api/lead", json={
        "last_name": "Doe", "company": tag, "email": "doe@example.com"}), 403)
    assert body["detail"] == "you may not create leads"
    assert list_ids(client, "lead", filter=f"company = '{tag}'") == []


def test_user_without_roles_sees_no_metadata(client: Api, shared: Installed) -> None:
    assert {e["pack"] for e in client.as_("nobody").get("/api/meta/entities").json()["items"]} == {"platform"}
    assert_problem(client.as_("nobody").get("/api/meta/entities/lead"), 404)
    me = client.as_("nobody").get("/api/me").json()
    assert me == {"id": shared.seed.user_ids["nobody"], "username": "nobody", "roles": [], "is_admin": False}


# -- roles add up ---------------------------------------------------------------------------------


def test_two_roles_add_up_scopes_and_visible_fields(client: Api, shared: Installed) -> None:
    dual = as_new_user(client, shared, ("sales_rep", "marketing_user"))
    assert dual.get("/api/me").json()["roles"] == ["marketing_user", "sales_rep"]
    opportunity = new_opportunity(client)
    record = dual.get(f"/api/opportunity/{opportunity['id']}").json()  # marketing's "all" scope, sales_rep's fields
    assert record["amount"] == "1000.00"
    assert dual.get("/api/opportunity", params={"filter": "amount > 0", "sort": "-amount"}).status_code == 200
    lead = new_lead(client.as_("rep2"))
    assert dual.get(f"/api/lead/{lead['id']}").status_code == 200


def test_two_roles_a_field_is_read_only_only_when_every_role_says_so(client: Api, shared: Installed) -> None:
    dual = as_new_user(client, shared, ("sales_rep", "marketing_user"))
    lead = new_lead(client.as_("rep2"))
    response = dual.patch(f"/api/lead/{lead['id']}", json={"converted_at": "2026-06-01T09:30:00Z"})
    assert response.status_code == 200, response.text
    marketing_only = as_new_user(client, shared, ("marketing_user",))
    assert_problem(marketing_only.patch(f"/api/lead/{lead['id']}", json={"converted_at": None}), 403)


def test_two_roles_a_field_is_hidden_only_when_every_role_hides_it(client: Api, shared: Installed) -> None:
    campaign = create(client, "campaign", {"name": f"Campaign {new_tag()}", "budgeted_cost": "5000.00"})
    assert "budgeted_cost" not in client.as_("rep1").get(f"/api/campaign/{campaign['id']}").json()
    dual = as_new_user(client, shared, ("sales_rep", "marketing_user"))
    assert dual.get(f"/api/campaign/{campaign['id']}").json()["budgeted_cost"] == "5000.00"
    account = new_account(client, annual_revenue="1000000.00")
    assert "annual_revenue" not in client.as_("agent").get(f"/api/account/{account['id']}").json()
    service_and_sales = as_new_user(client, shared, ("sales_rep", "support_agent"))
    assert service_and_sales.get(f"/api/account/{account['id']}").json()["annual_revenue"] == "1000000.00"


def test_two_roles_still_refuse_what_neither_grants(client: Api, shared: Installed) -> None:
    dual = as_new_user(client, shared, ("sales_rep", "marketing_user"))
    lead = new_lead(dual)
    assert assert_problem(dual.delete(f"/api/lead/{lead['id']}"), 403)["detail"] == "you may not delete leads"
    assert_problem(dual.get("/api/case"), 403)
    account = new_account(client)
    opportunity = create(dual, "opportunity", {"name": "Mine", "account": account["id"]})
    assert opportunity["owner_id"] == dual.get("/api/me").json()["id"]
