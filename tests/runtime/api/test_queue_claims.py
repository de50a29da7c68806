"""Records owned by a queue: members see them, one member claims each, and the claim is audited."""

from __future__ import annotations

import threading

import pytest

from tests.runtime.conftest import CAST, Api, Installed
from xrm.context import Actor, Context
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.queue_claims import claim
from xrm.runtime.record_errors import Conflict
from xrm.runtime.records import RecordService


def make_queue(api: Api, installed: Installed, *members: str, name: str = "west_leads") -> int:
    queue = api.post("/api/queue", json={"name": name, "label": name.replace("_", " ").title(), "entity": "lead"})
    assert queue.status_code == 201, queue.text
    for member in members:
        added = api.post("/api/queue_member", json={"queue": queue.json()["id"], "user": installed.seed.user_ids[member]})
        assert added.status_code == 201, added.text
    return queue.json()["id"]


def queued_lead(api: Api, queue: int) -> dict:
    response = api.post("/api/lead", json={"last_name": "Waiting", "company": "Queue Co", "email": "w@example.com",
                                           "owner_queue_id": queue})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_record_put_in_a_queue_has_no_owner_and_members_see_it(api: Api, installed: Installed) -> None:
    queue = make_queue(api, installed, "rep1", "rep3")
    lead = queued_lead(api, queue)
    assert lead["owner_queue_id"] == queue and lead["owner_id"] is None
    assert api.as_("rep1").get(f"/api/lead/{lead['id']}").status_code == 200
    assert api.as_("rep2").get(f"/api/lead/{lead['id']}").status_code == 404  # not a member, own scope
    listed = api.as_("rep3").get("/api/lead", params={"filter": f"owner_queue_id = {queue}"}).json()
    assert [item["id"] for item in listed["items"]] == [lead["id"]]


def test_claiming_moves_the_record_to_the_member_and_the_timeline_says_so(api: Api, installed: Installed) -> None:
    queue = make_queue(api, installed, "rep1")
    lead = queued_lead(api, queue)
    claimed = api.as_("rep1").post(f"/api/lead/{lead['id']}/claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["owner_id"] == installed.seed.user_ids["rep1"] and claimed.json()["owner_queue_id"] is None
    [entry, *_] = api.get(f"/api/lead/{lead['id']}/timeline").json()["items"]
    assert entry["note"] == "claimed from the queue 'West Leads'" and entry["actor"] == "rep1"
    assert {c["field"] for c in entry["changes"]} == {"owner_id", "owner_queue_id"}


def test_a_claimed_record_cannot_be_claimed_again(api: Api, installed: Installed) -> None:
    queue = make_queue(api, installed, "rep1", "rep3")
    lead = queued_lead(api, queue)
    assert api.as_("rep1").post(f"/api/lead/{lead['id']}/claim").status_code == 200
    again = api.post(f"/api/lead/{lead['id']}/claim")  # the administrator sees every record
    assert again.status_code == 409
    assert again.json()["detail"] == "this lead is not waiting in a queue: Rep1 has it"


def test_only_members_claim(api: Api, installed: Installed) -> None:
    queue = make_queue(api, installed, "rep1")
    lead = queued_lead(api, queue)
    outsider = api.as_("manager").post(f"/api/lead/{lead['id']}/claim")  # sees every lead, but is no member
    assert outsider.status_code == 403
    assert outsider.json()["detail"] == "only members of the queue 'West Leads' may claim its records"


def test_giving_the_record_to_a_user_takes_it_out_of_the_queue(api: Api, installed: Installed) -> None:
    queue = make_queue(api, installed, "rep1")
    lead = queued_lead(api, queue)
    moved = api.patch(f"/api/lead/{lead['id']}", json={"owner_id": installed.seed.user_ids["rep2"]})
    assert moved.json()["owner_queue_id"] is None and moved.json()["owner_id"] == installed.seed.user_ids["rep2"]
    back = api.patch(f"/api/lead/{lead['id']}", json={"owner_queue_id": queue})
    assert back.json()["owner_queue_id"] == queue and back.json()["owner_id"] is None


def test_an_unknown_queue_is_a_field_error(api: Api) -> None:
    response = api.post("/api/lead", json={"last_name": "X", "company": "Y", "email": "x@example.com",
                                           "owner_queue_id": 987654})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "owner_queue_id", "message": "there is no queue with id 987654",
                                          "code": "not_found"}]


@pytest.mark.parametrize("attempts", [2, 4])
def test_concurrent_claims_one_wins_the_others_get_a_clear_conflict(api: Api, installed: Installed,
                                                                     attempts: int) -> None:
    members = ["rep1", "rep3", "rep2", "manager"][:attempts]
    queue = make_queue(api, installed, *members)
    lead = queued_lead(api, queue)
    service = RecordService(CatalogCache(installed.engine).model())
    barrier = threading.Barrier(attempts)
    outcomes: dict[str, str] = {}

    def try_claim(name: str) -> None:
        actor = Actor(name, installed.seed.user_ids[name], frozenset(CAST[name][0]))
        barrier.wait()
        try:
            with installed.engine.begin() as connection:
                claim(service, connection, Context(actor, "api"), "lead", lead["id"])
            outcomes[name] = "won"
        except Conflict as error:
            outcomes[name] = error.detail

    threads = [threading.Thread(target=try_claim, args=(name,)) for name in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(outcomes) == set(members), "every claim ends in a win or a conflict, never an error"
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    # a loser who may still read the lead (the manager sees all) is told who has it; the others that it is gone
    expected = {f"this lead is not waiting in a queue: {winners[0].title()} has it",
                "this lead is no longer waiting in a queue: someone claimed it first"}
    assert all(outcome in expected for name, outcome in outcomes.items() if name not in winners), outcomes
    final = api.get(f"/api/lead/{lead['id']}").json()
    assert final["owner_id"] == installed.seed.user_ids[winners[0]] and final["version"] == 2
