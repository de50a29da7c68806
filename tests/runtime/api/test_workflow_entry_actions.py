"""A state's on_enter: fields set in the transition's own change, people notified."""

from __future__ import annotations

from tests.runtime.conftest import Api, Installed


def opportunity_in_proposal(api: Api, owner: str = "rep1") -> dict:
    account = api.post("/api/account", json={"name": "Entry Co"}).json()
    contact = api.post("/api/contact", json={"last_name": "Buyer", "account": account["id"]}).json()
    created = api.as_(owner).post("/api/opportunity", json={"name": "Deal", "account": account["id"], "amount": "5000",
                                                            "close_date": "2027-02-01"}).json()
    for name, values in (("qualify", {"primary_contact": contact["id"]}), ("send_proposal", {})):
        moved = api.as_(owner).post(f"/api/opportunity/{created['id']}/transitions/{name}", json={"values": values})
        assert moved.status_code == 200, moved.text
    return created


def test_winning_sets_probability_and_forecast_in_the_same_change(api: Api, installed: Installed) -> None:
    opportunity = opportunity_in_proposal(api)
    won = api.as_("rep1").post(f"/api/opportunity/{opportunity['id']}/transitions/close_won")
    assert won.status_code == 200, won.text
    assert won.json()["probability"] == "100.00" and won.json()["forecast_category"] == "closed"
    [entry, *_] = api.get(f"/api/opportunity/{opportunity['id']}/timeline").json()["items"]
    assert entry["action"] == "transition" and entry["note"] == "Close as Won"
    assert {c["field"] for c in entry["changes"]} >= {"stage", "probability", "forecast_category"}


def test_winning_notifies_the_owner_and_the_owners_manager(api: Api, installed: Installed) -> None:
    api.patch(f"/api/user/{installed.seed.user_ids['rep1']}", json={"manager": installed.seed.user_ids["manager"]})
    opportunity = opportunity_in_proposal(api)
    api.as_("rep1").post(f"/api/opportunity/{opportunity['id']}/transitions/close_won")
    for person in ("rep1", "manager"):
        [note] = api.as_(person).get("/api/notification").json()["items"]
        assert note["title"] == "Opportunity Deal: Closed Won" and note["body"] == "Won. Time to hand over to delivery."
        assert note["record_id"] == opportunity["id"]
    assert api.as_("rep2").get("/api/notification").json()["items"] == []


def test_losing_sets_the_probability_to_zero(api: Api) -> None:
    opportunity = opportunity_in_proposal(api)
    lost = api.as_("rep1").post(f"/api/opportunity/{opportunity['id']}/transitions/close_lost",
                                json={"values": {"loss_reason": "price"}})
    assert lost.status_code == 200, lost.text
    assert lost.json()["probability"] == "0.00" and lost.json()["forecast_category"] == "omitted"


def test_resolving_a_case_stamps_the_resolution_time_once(api: Api) -> None:
    case = api.as_("agent").post("/api/case", json={"subject": "Broken"}).json()
    assert api.as_("agent").post(f"/api/case/{case['id']}/transitions/accept").status_code == 200
    resolved = api.as_("agent").post(f"/api/case/{case['id']}/transitions/resolve",
                                     json={"values": {"resolution": "Restarted it"}})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"] is not None
    stamped = resolved.json()["resolved_at"]
    reopened = api.as_("agent").post(f"/api/case/{case['id']}/transitions/reopen")
    assert reopened.status_code == 200 and reopened.json()["resolved_at"] == stamped
    again = api.as_("agent").post(f"/api/case/{case['id']}/transitions/resolve")
    assert again.json()["resolved_at"] == stamped  # coalesce(resolved_at, now()): the first resolution counts
