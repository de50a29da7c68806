"""The rules through the API: a record's decision trace, ``?explain=true``, refusals by rules (409, 422),
``POST /api/rules/check`` and ``POST /api/rules/dry-run``.

Checks and dry runs share the module's database (``shared_api``); tests that
change teams or install rules get a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.rules.engine_support import install_ops_pack
from tests.runtime.conftest import Api, Installed

PROBLEM = "application/problem+json"
LEAD = {"last_name": "Hill", "company": "Hill Inc", "email": "ah@hill.example"}


def team_id(api: Api, name: str) -> int:
    [team] = api.get("/api/team", params={"filter": f"name = '{name}'"}).json()["items"]
    return team["id"]


def add_to_team(api: Api, installed: Installed, team: str, *users: str) -> None:
    for user in users:
        added = api.post("/api/team_member", json={"team": team_id(api, team), "user": installed.seed.user_ids[user]})
        assert added.status_code == 201, added.text


# -- the decision trace ------------------------------------------------------------------------


def test_the_trace_says_who_got_the_lead_by_which_rule_and_why(api: Api, installed: Installed) -> None:
    add_to_team(api, installed, "west_sales", "rep1", "rep2")
    created = api.post("/api/lead", json={**LEAD, "region": "west"})
    assert created.status_code == 201, created.text
    lead = created.json()
    ids = installed.seed.user_ids
    assert lead["owner_id"] in (ids["rep1"], ids["rep2"]) and lead["owner_queue_id"] is None
    name = "Rep1" if lead["owner_id"] == ids["rep1"] else "Rep2"
    trace = api.get(f"/api/lead/{lead['id']}/trace")
    assert trace.status_code == 200
    [west] = [d for d in trace.json()["items"] if d["rule"] == "West leads round robin"]
    assert f"assigned to {name} (round robin in team 'west_sales')" in west["summary"]
    assert "because region = 'west'" in west["summary"]
    assert west["pack"] == "crm" and west["trigger"] == "lead created" and west["fired"] is True
    assert west["seen"] == {"region": "west", "owner_id": None}
    assert west["actions"][0]["detail"]["user_id"] == lead["owner_id"]
    # the next west lead goes to the other one
    second = api.post("/api/lead", json={**LEAD, "last_name": "Second", "region": "west"}).json()
    assert {lead["owner_id"], second["owner_id"]} == {ids["rep1"], ids["rep2"]}


def test_explain_traces_the_rules_that_did_not_fire_and_fired_filters_them(api: Api) -> None:
    lead = api.post("/api/lead?explain=true", json={**LEAD, "country": "FR", "rating": "warm"}).json()
    items = api.get(f"/api/lead/{lead['id']}/trace").json()["items"]
    missed = {d["rule"]: d for d in items if not d["fired"]}
    assert {"Hot leads to senior reps", "DACH leads by country", "West leads round robin"} <= set(missed)
    hot = missed["Hot leads to senior reps"]
    assert hot["reason"] == "owner_id is empty and rating = 'hot' is false"
    assert hot["seen"] == {"owner_id": None, "rating": "warm"}
    assert hot["summary"].startswith('rule "Hot leads to senior reps" did not fire on lead created: ')
    fired = api.get(f"/api/lead/{lead['id']}/trace", params={"fired": "true"}).json()["items"]
    assert fired and all(d["fired"] for d in fired)
    assert [d["id"] for d in fired] == [d["id"] for d in items if d["fired"]]
    quiet = api.post("/api/lead", json={**LEAD, "last_name": "Quiet", "country": "FR"}).json()
    assert all(d["fired"] for d in api.get(f"/api/lead/{quiet['id']}/trace").json()["items"])


def test_the_trace_is_read_like_the_record(api: Api) -> None:
    lead = api.as_("rep1").post("/api/lead", json=LEAD).json()
    assert api.as_("rep1").get(f"/api/lead/{lead['id']}/trace").status_code == 200
    hidden = api.as_("rep2").get(f"/api/lead/{lead['id']}/trace")
    assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
    assert api.get("/api/lead/999999/trace").status_code == 404
    assert api.as_("nobody").get(f"/api/lead/{lead['id']}/trace").status_code == 403
    assert api.as_(None).get(f"/api/lead/{lead['id']}/trace").status_code == 401
    assert api.get("/api/nosuchentity/1/trace").status_code == 404


# -- refusals by installed rules ---------------------------------------------------------------

OPS_RULES = """
rule "counter moves echo" when chore.counter changed then set echo = coalesce(echo, 0) + 1
rule "echo moves counter" when chore.echo changed then set counter = coalesce(counter, 0) + 1

rule "task without subject" when chore created if note = 'task'
  then create activity with description = 'do it'

rule "bad value" when chore updated if note = 'overflow'
  then set title = ''

rule "begin at once" when chore created if note = 'begin'
  then transition begin

rule "big budget" when campaign created if budgeted_cost > 10000 then set description = 'big budget'
rule "tell budget" when campaign created then notify user 'manager' subject 'Budget {budgeted_cost} for {name}'
rule "rich account" when lead created if converted_account.annual_revenue > 1000 then set rating = 'hot'
"""


@pytest.fixture
def ops_api(installed: Installed, tmp_path: Path) -> Iterator[Api]:
    """The API over a fresh database with the pack 'ops' and its rules installed."""
    from xrm.ui.app import create_app

    install_ops_pack(installed, tmp_path, {"ops.rules": OPS_RULES})
    with TestClient(create_app(installed.engine)) as client:
        yield Api(client, installed.seed, "admin")


def total(api: Api, entity: str, condition: str | None = None) -> int:
    params = {"filter": condition} if condition else {}
    return api.get(f"/api/{entity}", params=params).json()["total"]


def test_a_loop_is_409_naming_the_chain_and_nothing_is_written(ops_api: Api) -> None:
    refused = ops_api.post("/api/chore", json={"title": "Loop", "counter": 1})
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["title"] == "Rules loop"
    assert '"counter moves echo" → "echo moves counter" → "counter moves echo"' in body["detail"]
    assert "so nothing was saved" in body["detail"]
    assert total(ops_api, "chore") == 0
    calm = ops_api.post("/api/chore", json={"title": "Calm"}).json()
    again = ops_api.patch(f"/api/chore/{calm['id']}", json={"counter": 5})
    assert again.status_code == 409
    after = ops_api.get(f"/api/chore/{calm['id']}").json()
    assert (after["counter"], after["echo"], after["version"]) == (None, None, calm["version"])
    assert ops_api.get(f"/api/chore/{calm['id']}/trace").json()["items"] == []


def test_a_failing_action_is_422_naming_the_rule(ops_api: Api) -> None:
    refused = ops_api.post("/api/chore", json={"title": "Task", "note": "task"})
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["title"] == "A rule failed"
    assert body["detail"].startswith('rule "task without subject" could not create: the activity was not saved')
    assert {"field": "subject", "message": "'Subject' is required", "code": "required"} in body["errors"]
    assert total(ops_api, "chore") == 0 and total(ops_api, "activity", "description = 'do it'") == 0


def test_a_rule_value_failing_the_checks_is_422(ops_api: Api) -> None:
    chore = ops_api.post("/api/chore", json={"title": "Named"}).json()
    refused = ops_api.patch(f"/api/chore/{chore['id']}", json={"note": "overflow"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "the rules set values that do not pass the checks of chore: 1 problem"
    assert refused.json()["errors"] == [{"field": "title", "message": "'Title' is required", "code": "required"}]
    assert ops_api.get(f"/api/chore/{chore['id']}").json()["note"] is None


def test_the_response_of_a_write_shows_what_the_rules_effects_did(ops_api: Api) -> None:
    created = ops_api.post("/api/chore", json={"title": "Begin", "note": "begin"})
    assert created.status_code == 201, created.text
    stored = ops_api.get(f"/api/chore/{created.json()['id']}").json()
    assert stored["stage"] == "doing"
    assert (created.json()["stage"], created.json()["version"]) == (stored["stage"], stored["version"])


def test_the_trace_leaves_out_values_of_fields_hidden_from_the_reader(ops_api: Api) -> None:
    campaign = ops_api.post("/api/campaign", json={"name": "Secret launch", "budgeted_cost": "98765"}).json()
    assert "budgeted_cost" not in ops_api.as_("rep1").get(f"/api/campaign/{campaign['id']}").json()
    trace = ops_api.as_("rep1").get(f"/api/campaign/{campaign['id']}/trace")
    assert trace.status_code == 200
    [big] = [d for d in trace.json()["items"] if d["rule"] == "big budget"]
    assert big["fired"] and big["seen"] == {} and "98765" not in str(big)
    assert big["summary"] == 'rule "big budget" fired on campaign created (some of its values are hidden from you)'
    [admin_view] = [d for d in ops_api.get(f"/api/campaign/{campaign['id']}/trace").json()["items"]
                    if d["rule"] == "big budget"]
    assert admin_view["seen"] == {"budgeted_cost": "98765.00"}


def test_the_trace_does_not_show_hidden_values_through_a_notification_subject(ops_api: Api) -> None:
    campaign = ops_api.post("/api/campaign", json={"name": "Budgeted", "budgeted_cost": "55555"}).json()
    trace = ops_api.as_("rep1").get(f"/api/campaign/{campaign['id']}/trace")
    [told] = [d for d in trace.json()["items"] if d["rule"] == "tell budget"]
    assert "55555" not in str(told)  # "notified Manager: Budget 55555.00 for Budgeted"


def test_the_trace_does_not_show_values_of_related_records_the_reader_may_not_read(ops_api: Api) -> None:
    account = ops_api.as_("rep1").post("/api/account", json={"name": "Rep1 Secret Corp", "annual_revenue": "4242"})
    assert ops_api.as_("rep2").get(f"/api/account/{account.json()['id']}").status_code == 404
    lead = ops_api.as_("rep2").post("/api/lead", json={**LEAD, "converted_account": account.json()["id"]})
    assert lead.status_code == 201, lead.text
    trace = ops_api.as_("rep2").get(f"/api/lead/{lead.json()['id']}/trace")
    assert "4242" not in trace.text  # seen: {"converted_account.annual_revenue": "4242.00"}


# -- POST /api/rules/check -----------------------------------------------------------------------


def test_check_accepts_good_rules_and_describes_them(shared_api: Api) -> None:
    text = ('rule "West" priority 10 when lead created or lead.region changed\n'
            "  if region = 'west' then assign round_robin team 'west_sales' skip absent cap 40 stop\n\n"
            'test "t" given lead { last_name: \'x\' } when created expect rule "West"\n')
    checked = shared_api.post("/api/rules/check", json={"rules": text})
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] is True and body["problems"] == [] and body["tests"] == 1
    assert body["rules"] == [{"name": "West", "entity": "lead", "priority": 10,
                              "triggers": ["lead created", "lead.region changed"],
                              "actions": [{"kind": "assign", "group": "team", "target": "west_sales"}], "stop": True}]


def test_check_reports_every_problem_with_line_column_and_hint(shared_api: Api) -> None:
    text = ('rule "typos" when lead created\n'
            "  if regin = 'west'\n"
            "  then set ratng = 'hot'\n"
            "       assign round_robin team 'west_sals'\n")
    body = shared_api.post("/api/rules/check", json={"rules": text, "path": "mine.rules"}).json()
    assert body["ok"] is False and body["rules"] == []
    found = {(p["line"], p["column"]): p for p in body["problems"]}
    assert found[(2, 6)]["message"] == "unknown field 'regin' on lead"
    assert found[(2, 6)]["hint"] == "did you mean 'region'?" and found[(2, 6)]["file"] == "mine.rules"
    assert found[(3, 12)]["message"] == "unknown field 'ratng' on lead" and found[(3, 12)]["hint"] == "did you mean 'rating'?"
    [team] = [p for p in body["problems"] if p["code"] == "unknown_team"]
    assert team["line"] == 4 and "west_sales" in team["hint"]
    assert all(p["severity"] == "error" for p in body["problems"])


def test_check_reports_a_syntax_error_and_warns_of_loops(shared_api: Api) -> None:
    text = 'rule "x" when lead created then raise rating stop stop\n'
    [problem] = shared_api.post("/api/rules/check", json={"rules": text}).json()["problems"]
    assert (problem["line"], problem["column"], problem["code"]) == (1, text.rindex("stop") + 1, "syntax")
    assert problem["message"] == "unexpected 'stop'"
    looping = shared_api.post("/api/rules/check", json={"rules": (
        'rule "a" when lead.city changed then set title = city\n'
        'rule "b" when lead.title changed then set city = title\n')}).json()
    assert looping["ok"] is True  # a warning only: the engine stops loops at run time
    [warning] = looping["problems"]
    assert warning["severity"] == "warning" and "may trigger each other in a loop" in warning["message"]


@pytest.mark.parametrize(("body", "field"), [
    ([1, 2], None),
    ({}, "rules"),
    ({"rules": ""}, "rules"),
    ({"rules": 42}, "rules"),
    ({"rules": 'rule "x" when lead created then raise rating', "path": ""}, "path"),
])
def test_check_refuses_bad_bodies(shared_api: Api, body: object, field: str | None) -> None:
    refused = shared_api.post("/api/rules/check", json=body)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert [e["field"] for e in refused.json()["errors"]] == [field]


def test_the_rules_endpoints_need_a_signed_in_caller(shared_api: Api) -> None:
    assert shared_api.as_(None).post("/api/rules/check", json={"rules": "x"}).status_code == 401
    assert shared_api.as_(None).post("/api/rules/dry-run", json={"entity": "lead"}).status_code == 401


# -- POST /api/rules/dry-run ---------------------------------------------------------------------


def test_a_dry_run_with_the_installed_rules_writes_nothing(shared_api: Api) -> None:
    cases, leads = total(shared_api, "case"), total(shared_api, "lead")
    ran = shared_api.post("/api/rules/dry-run", json={"entity": "case", "record": {"subject": "Printer on fire"},
                                                      "at": "2026-01-05T09:00:00+01:00"})
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["error"] is None
    assert [d["rule"] for d in body["decisions"] if d["fired"]] == ["New cases wait in the support queue"]
    assert body["record"]["subject"] == "Printer on fire" and body["record"]["status"] == "new"
    assert body["timers"] == [{"rule": "First response SLA breach", "due_at": "2026-01-05T12:00:00+00:00",
                               "record_id": body["record"]["id"]}]
    lead = shared_api.post("/api/rules/dry-run", json={"entity": "lead", "record": {**LEAD, "country": "DE"}}).json()
    assert "DACH leads by country" in [d["rule"] for d in lead["decisions"] if d["fired"]]
    assert lead["record"]["region"] == "dach"
    assert not [d for d in lead["decisions"] if d["rule"] == "Hot leads to senior reps" and d["fired"]]
    assert (total(shared_api, "case"), total(shared_api, "lead")) == (cases, leads)
    assert shared_api.get(f"/api/case/{body['record']['id']}").status_code == 404


def test_a_dry_run_waiting_fires_a_time_rule(shared_api: Api) -> None:
    cases = total(shared_api, "case")
    body = shared_api.post("/api/rules/dry-run", json={
        "entity": "case", "record": {"subject": "Server down", "priority": "medium"},
        "at": "2026-01-05T09:00:00+01:00", "wait_until": "2026-01-05T14:00:00+01:00"}).json()
    [breach] = [d for d in body["decisions"] if d["rule"] == "First response SLA breach"]
    assert breach["fired"] and breach["at"] == "2026-01-05T12:00:00+00:00"
    assert breach["trigger"] == "4h after created_at in business hours of 'support'"
    assert (body["record"]["status"], body["record"]["priority"]) == ("escalated", "high")
    assert body["timers"] == [] and total(shared_api, "case") == cases


def test_a_dry_run_of_rule_text(shared_api: Api) -> None:
    rules = ('rule "Shout" when lead updated if changed(company) then set title = upper(company)\n'
             'rule "Never" when lead updated if company = \'nothing\' then set title = \'never\'\n')
    body = shared_api.post("/api/rules/dry-run", json={
        "entity": "lead", "record": LEAD, "event": "updated", "changes": {"company": "Loud Inc"},
        "rules": rules}).json()
    assert body["error"] is None and body["record"]["title"] == "LOUD INC"
    assert [(d["rule"], d["fired"]) for d in body["decisions"]] == [("Shout", True), ("Never", False)]
    assert body["decisions"][1]["reason"] == "company = 'nothing' is false"
    assert all(d["pack"] == "request" for d in body["decisions"])  # the installed rules stay out


def test_a_dry_run_reports_a_refusal_as_its_result(shared_api: Api) -> None:
    rules = ('rule "a" when lead.city changed then set title = concat(coalesce(title, \'\'), \'a\')\n'
             'rule "b" when lead.title changed then set city = concat(coalesce(city, \'\'), \'b\')\n')
    body = shared_api.post("/api/rules/dry-run", json={"entity": "lead", "record": {**LEAD, "city": "X"},
                                                       "rules": rules})
    assert body.status_code == 200
    assert body.json()["error"]["status"] == 409 and body.json()["record"] is None


@pytest.mark.parametrize(("body", "field"), [
    ([], None),
    ({"entity": "nope"}, "entity"),
    ({"entity": "lead", "event": "exploded"}, "event"),
    ({"entity": "lead", "record": [1]}, "record"),
    ({"entity": "lead", "event": "transition"}, "transition"),
    ({"entity": "lead", "at": "tomorrow"}, "at"),
    ({"entity": "lead", "wait_until": "2026-01-05T09:00:00"}, "wait_until"),
    ({"entity": "lead", "rules": 'rule "x" when lead created if regin = 1 then raise rating'}, "rules"),
])
def test_a_dry_run_refuses_bad_bodies(shared_api: Api, body: object, field: str | None) -> None:
    refused = shared_api.post("/api/rules/dry-run", json=body)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 422
    assert {e["field"] for e in refused.json()["errors"]} == {field}


def test_dry_runs_are_for_administrators(shared_api: Api) -> None:
    refused = shared_api.as_("rep2").post("/api/rules/dry-run", json={"entity": "lead", "record": LEAD})
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "dry runs are for administrators: rules see every record, whoever triggers them"
    assert shared_api.as_("manager").post("/api/rules/dry-run", json={"entity": "lead"}).status_code == 403
