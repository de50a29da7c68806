"""Approvals end to end: request → notify → approve / reject / expire → state, fields and timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.runtime.conftest import Api, Installed
from xrm.context import Actor, Context, utc_now
from xrm.runtime import approvals
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.record_errors import Conflict
from xrm.runtime.records import RecordService
from xrm.runtime.users import add_user, create_token
from xrm.system_tables import org_tables


@pytest.fixture
def people(api: Api, installed: Installed) -> dict[str, int]:
    """A channel rep and two partner managers, with tokens the Api wrapper can use."""
    ids = {}
    with installed.engine.begin() as connection:
        for name, role in (("chan", "channel_rep"), ("pm1", "partner_manager"), ("pm2", "partner_manager")):
            ids[name] = add_user(connection, name, now=utc_now(), display_name=name.upper(), roles=[role])
            installed.seed.tokens[name] = create_token(connection, ids[name], "tests", now=utc_now())
    return ids


def registration(api: Api) -> dict:
    partner = api.post("/api/partner", json={"name": "Reseller GmbH"})
    assert partner.status_code == 201, partner.text
    response = api.as_("chan").post("/api/deal_registration", json={
        "name": "Big deal", "partner": partner.json()["id"], "prospect_company": "Prospect AG",
        "estimated_amount": "50000", "expected_close_date": "2027-03-31", "submitted_at": "2026-11-20T10:00:00Z"})
    assert response.status_code == 201, response.text
    return response.json()


def submit(api: Api, deal: dict):  # noqa: ANN201
    return api.as_("chan").post(f"/api/deal_registration/{deal['id']}/transitions/submit")


def notifications_of(api: Api, user: str) -> list[dict]:
    return api.as_(user).get("/api/notification").json()["items"]


def test_submitting_opens_a_request_notifies_the_approvers_and_waits(api: Api, people: dict) -> None:
    deal = registration(api)
    response = submit(api, deal)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["record"]["status"] == "submitted" and body["approval"]["status"] == "pending"
    assert body["approval"]["approver_role"] == "partner_manager" and body["approval"]["expires_at"]
    for manager in ("pm1", "pm2"):
        [note] = notifications_of(api, manager)
        assert note["title"].startswith("Approval needed — Submit for Approval") and note["record_id"] == deal["id"]
    assert notifications_of(api, "chan") == []
    assert [r["id"] for r in api.as_("pm1").get("/api/approvals").json()["items"]] == [body["approval"]["id"]]
    assert api.as_("chan").get("/api/approvals").json()["items"] == []
    timeline = api.get(f"/api/deal_registration/{deal['id']}/timeline").json()["items"]
    assert timeline[0]["action"] == "approval" and timeline[0]["note"].startswith("approval requested")
    assert timeline[1]["action"] == "transition" and timeline[1]["note"] == "Submit for Approval (submitted for approval)"


def test_approving_completes_the_transition_and_stamps_the_approver(api: Api, people: dict) -> None:
    deal = registration(api)
    request = submit(api, deal).json()["approval"]
    decided = api.as_("pm2").post(f"/api/approvals/{request['id']}/approve", json={"comment": "Go ahead"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved" and decided.json()["decided_by"] == people["pm2"]
    record = api.get(f"/api/deal_registration/{deal['id']}").json()
    assert record["status"] == "approved" and record["approver"] == people["pm2"]
    [note] = notifications_of(api, "chan")
    assert note["title"].startswith("Approved — ") and note["body"] == "Go ahead"
    timeline = api.get(f"/api/deal_registration/{deal['id']}/timeline").json()["items"]
    assert timeline[0]["note"] == "approved by pm2: Go ahead"
    assert timeline[1]["note"] == "Submit for Approval (approved)"
    assert api.as_("pm1").get("/api/approvals").json()["items"] == []


def test_rejecting_moves_to_the_rejection_state_with_the_comment(api: Api, people: dict) -> None:
    deal = registration(api)
    request = submit(api, deal).json()["approval"]
    without_reason = api.as_("pm1").post(f"/api/approvals/{request['id']}/reject")
    assert without_reason.status_code == 422  # the pack says a rejected registration needs its reason
    assert without_reason.json()["errors"][0]["field"] == "rejection_reason"
    decided = api.as_("pm1").post(f"/api/approvals/{request['id']}/reject", json={"comment": "Already registered"})
    assert decided.status_code == 200, decided.text
    record = api.get(f"/api/deal_registration/{deal['id']}").json()
    assert record["status"] == "rejected" and record["rejection_reason"] == "Already registered"
    assert notifications_of(api, "chan")[0]["title"].startswith("Rejected — ")


def test_only_approvers_decide_and_only_once(api: Api, people: dict) -> None:
    deal = registration(api)
    request = submit(api, deal).json()["approval"]
    refused = api.as_("chan").post(f"/api/approvals/{request['id']}/approve")
    assert refused.status_code == 403 and refused.json()["detail"] == "you are not an approver of this request"
    assert api.as_("pm1").post(f"/api/approvals/{request['id']}/approve").status_code == 200
    again = api.as_("pm2").post(f"/api/approvals/{request['id']}/approve")
    assert again.status_code == 409 and again.json()["detail"] == "this approval request is already approved"
    assert api.post("/api/approvals/999999/approve").status_code == 404


def waiting_opportunity(api: Api) -> dict:
    """An opportunity in qualification whose proposal waits for the sales manager (a 25 % discount)."""
    account = api.post("/api/account", json={"name": "Waiting Co"}).json()
    contact = api.post("/api/contact", json={"last_name": "Buyer", "account": account["id"]}).json()
    created = api.as_("rep1").post("/api/opportunity", json={
        "name": "Discounted", "account": account["id"], "amount": "10000", "discount_percent": "25",
        "close_date": "2027-01-31"}).json()
    api.as_("rep1").post(f"/api/opportunity/{created['id']}/transitions/qualify",
                         json={"values": {"primary_contact": contact["id"]}})
    waiting = api.as_("rep1").post(f"/api/opportunity/{created['id']}/transitions/send_proposal")
    assert waiting.status_code == 202, waiting.text
    return waiting.json()["record"]


def test_a_waiting_record_takes_no_other_transition(api: Api) -> None:
    opportunity = waiting_opportunity(api)
    options = api.as_("rep1").get(f"/api/opportunity/{opportunity['id']}/transitions").json()["items"]
    assert options and all("pending_approval" in {r["code"] for r in o["reasons"]} for o in options)
    blocked = api.as_("rep1").post(f"/api/opportunity/{opportunity['id']}/transitions/close_lost",
                                   json={"values": {"loss_reason": "price"}})
    assert blocked.status_code == 409 and blocked.json()["detail"] == "this opportunity is waiting for an approval"
    again = api.as_("rep1").post(f"/api/opportunity/{opportunity['id']}/transitions/send_proposal")
    assert again.status_code == 409


def test_an_unanswered_request_expires_and_the_record_goes_back(api: Api, installed: Installed, people: dict) -> None:
    deal = registration(api)
    request = submit(api, deal).json()["approval"]
    service = RecordService(CatalogCache(installed.engine).model())
    later = Context(Actor.system("scheduler"), "scheduler", utc_now() + timedelta(days=6))
    with installed.engine.begin() as connection:
        assert approvals.expire_due(service, connection, later) == 1
    assert api.get(f"/api/deal_registration/{deal['id']}").json()["status"] == "draft"
    late = api.as_("pm1").post(f"/api/approvals/{request['id']}/approve")
    assert late.status_code == 409 and late.json()["detail"] == "this approval request is already expired"
    assert notifications_of(api, "chan")[0]["title"].startswith("Expired — ")


def test_a_decision_after_the_deadline_is_refused_even_before_the_scheduler_ran(api: Api, installed: Installed,
                                                                              people: dict) -> None:
    deal = registration(api)
    request = submit(api, deal).json()["approval"]
    service = RecordService(CatalogCache(installed.engine).model())
    pm1 = Actor("pm1", people["pm1"], frozenset({"partner_manager"}))
    with installed.engine.begin() as connection, pytest.raises(Conflict) as refused:
        approvals.decide(service, connection, Context(pm1, "api", utc_now() + timedelta(days=6)), request["id"],
                         approve=True)
    assert refused.value.detail == "this approval request is already expired"


def test_a_large_discount_needs_the_sales_manager(api: Api, installed: Installed) -> None:
    account = api.post("/api/account", json={"name": "Discount Co"}).json()

    def opportunity(discount: str) -> dict:
        created = api.as_("rep1").post("/api/opportunity", json={
            "name": f"Deal {discount}", "account": account["id"], "amount": "10000", "discount_percent": discount,
            "close_date": "2027-01-31"})
        assert created.status_code == 201, created.text
        moved = api.as_("rep1").post(f"/api/opportunity/{created.json()['id']}/transitions/qualify",
                                     json={"values": {"primary_contact": contact_id}})
        assert moved.status_code == 200, moved.text
        return created.json()

    contact_id = api.post("/api/contact", json={"last_name": "Buyer", "account": account["id"]}).json()["id"]
    small = opportunity("10")
    assert api.as_("rep1").post(f"/api/opportunity/{small['id']}/transitions/send_proposal").status_code == 200
    large = opportunity("25")
    waiting = api.as_("rep1").post(f"/api/opportunity/{large['id']}/transitions/send_proposal")
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["record"]["stage"] == "qualification"  # no pending state: it waits where it is
    request = waiting.json()["approval"]
    assert [r["id"] for r in api.as_("manager").get("/api/approvals").json()["items"]] == [request["id"]]
    assert api.as_("manager").post(f"/api/approvals/{request['id']}/approve").status_code == 200
    assert api.get(f"/api/opportunity/{large['id']}").json()["stage"] == "proposal"
    with installed.engine.connect() as connection:
        table = org_tables["approval_request"]
        assert connection.execute(select(table.c.status).where(table.c.id == request["id"])).scalar() == "approved"


def test_the_owners_manager_and_a_queues_members_can_be_the_approvers(api: Api, installed: Installed) -> None:
    from xrm.metadata.model import ApprovalRule

    ids = installed.seed.user_ids
    api.patch(f"/api/user/{ids['rep1']}", json={"manager": ids["manager"]})
    queue = api.post("/api/queue", json={"name": "deal_desk", "label": "Deal Desk"}).json()
    for member in ("rep2", "rep3"):
        api.post("/api/queue_member", json={"queue": queue["id"], "user": ids[member]})
    with installed.engine.connect() as connection:
        assert approvals._resolve(connection, ApprovalRule("manager"), {"owner_id": ids["rep1"]}) == (ids["manager"], None,
                                                                                                        None)
        assert approvals._resolve(connection, ApprovalRule("queue:deal_desk"), {}) == (None, None, queue["id"])
        assert approvals.approver_ids(connection, {"approver": None, "approver_role": None,
                                                   "approver_queue": queue["id"]}) == [ids["rep2"], ids["rep3"]]
        assert approvals.approver_ids(connection, {"approver": None, "approver_role": "sales_manager"}) == [ids["manager"]]


def test_without_a_manager_nobody_can_approve_and_the_message_says_so(installed: Installed) -> None:
    from xrm.metadata.model import ApprovalRule
    from xrm.runtime.record_errors import Invalid

    with installed.engine.connect() as connection, pytest.raises(Invalid) as refused:
        approvals._resolve(connection, ApprovalRule("manager"), {"owner_id": installed.seed.user_ids["rep2"]})
    assert refused.value.detail == "nobody can approve this: the record's owner has no manager"
