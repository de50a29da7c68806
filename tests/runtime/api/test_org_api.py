"""The organization model through the same API as any entity: users, teams, queues, calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.runtime.conftest import Api, Installed
from xrm.context import Actor
from xrm.metadata.catalog import Catalog
from xrm.metadata.model import EntityPermission, Role
from xrm.runtime.business_time import add_business_time
from xrm.runtime.org_records import calendar_from_records, parse_day_hours
from xrm.runtime.permissions import entity_access


def test_users_are_records_with_history(api: Api, installed: Installed) -> None:
    rep = installed.seed.user_ids["rep1"]
    user = api.get(f"/api/user/{rep}").json()
    assert user["username"] == "rep1" and user["is_active"] is True and "password_hash" not in user
    changed = api.patch(f"/api/user/{rep}", json={"manager": installed.seed.user_ids["manager"],
                                                  "time_zone": "Europe/Berlin"}, headers={"If-Match": str(user["version"])})
    assert changed.status_code == 200, changed.text
    [entry, *_] = api.get(f"/api/user/{rep}/timeline").json()["items"]
    assert {(c["field"], c["new"]) for c in entry["changes"]} == {("manager", installed.seed.user_ids["manager"]),
                                                                  ("time_zone", "Europe/Berlin")}
    assert entry["actor"] == "admin" and entry["source"] == "api"


def test_everyone_reads_the_org_model_but_only_administrators_change_it(api: Api, installed: Installed) -> None:
    rep = installed.seed.user_ids["rep1"]
    names = {u["username"] for u in api.as_("rep2").get("/api/user?limit=50").json()["items"]}
    assert {"rep1", "manager", "admin"} <= names
    assert api.as_("rep2").patch(f"/api/user/{rep}", json={"display_name": "Renamed"}).status_code == 403
    assert api.as_("rep2").post("/api/team", json={"name": "mine", "label": "Mine"}).status_code == 403
    assert api.as_(None).get("/api/user").status_code == 401


def test_only_an_administrator_makes_administrators() -> None:
    role = Role("user_admin", "User admin", (EntityPermission("user", read=True, update=True, scope="all"),))
    access = entity_access(Catalog(roles={"user_admin": role}), Actor("helper", 99, frozenset({"user_admin"})), "user")
    assert access.allows("update") and access.can_edit_field("display_name")
    assert not access.can_edit_field("is_admin") and not access.can_edit_field("username")


def test_a_user_with_an_unknown_time_zone_is_refused(api: Api) -> None:
    response = api.post("/api/user", json={"username": "zed", "display_name": "Zed", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "time_zone", "code": "invalid_time_zone",
                                          "message": "'Mars/Olympus' is not a time zone; use an IANA name such as "
                                                     "Europe/Berlin or UTC"}]


def test_an_absence_must_end_after_it_starts(api: Api, installed: Installed) -> None:
    response = api.patch(f"/api/user/{installed.seed.user_ids['rep1']}",
                         json={"out_of_office_from": "2026-12-10T00:00:00Z", "out_of_office_to": "2026-12-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "validation:absence_in_order"


@pytest.mark.parametrize("hours", ["9-17", "09:00-25:00", "17:00-09:00", "nine to five"])
def test_calendar_hours_that_do_not_parse_are_refused_on_their_day(api: Api, hours: str) -> None:
    response = api.post("/api/business_calendar", json={"name": "Bad", "monday": hours})
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == {"monday"}
    assert all(e["code"] == "invalid_hours" for e in response.json()["errors"])


def test_a_stored_calendar_counts_business_time(api: Api, installed: Installed) -> None:
    calendar = api.post("/api/business_calendar", json={
        "name": "Berlin office", "time_zone": "Europe/Berlin", "monday": "09:00-12:00, 13:00-17:00",
        "tuesday": "09:00-17:00", "wednesday": "09:00-17:00", "thursday": "09:00-17:00", "friday": "09:00-15:00"})
    assert calendar.status_code == 201, calendar.text
    holiday = api.post("/api/calendar_holiday", json={"calendar": calendar.json()["id"], "date": "2026-12-25",
                                                      "name": "Christmas"})
    assert holiday.status_code == 201, holiday.text
    with installed.engine.connect() as connection:
        stored = calendar_from_records(connection, calendar.json()["id"])
    thursday_4pm = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    # one hour left on Thursday; Friday is a holiday; the weekend is off; Monday 09:00-12:00 gives the other three
    assert add_business_time(stored, thursday_4pm, timedelta(hours=4)) == datetime(2026, 12, 28, 11, 0, tzinfo=UTC)


def test_day_hours_text() -> None:
    assert parse_day_hours("09:00-12:00, 13:00 - 17:00") == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert parse_day_hours("") == [] and parse_day_hours(None) == []


def test_teams_queues_and_members_are_records(api: Api, installed: Installed) -> None:
    team = api.post("/api/team", json={"name": "east", "label": "East"}).json()
    member = api.post("/api/team_member", json={"team": team["id"], "user": installed.seed.user_ids["rep2"]})
    assert member.status_code == 201, member.text
    again = api.post("/api/team_member", json={"team": team["id"], "user": installed.seed.user_ids["rep2"]})
    assert again.status_code == 409
    queue = api.post("/api/queue", json={"name": "tier1", "label": "Tier 1", "entity": "case",
                                          "assignment_method": "round_robin"})
    assert queue.status_code == 201, queue.text
    assert api.post("/api/queue_member", json={"queue": queue.json()["id"],
                                                "user": installed.seed.user_ids["agent"]}).status_code == 201
    related = api.get(f"/api/team/{team['id']}/related").json()["items"]
    assert [(r["entity"], r["count"]) for r in related] == [("team_member", 1)]


def test_a_new_team_mate_widens_the_team_scope_at_once(api: Api, installed: Installed) -> None:
    account = api.as_("rep2").post("/api/account", json={"name": "Rep2 Corp"}).json()
    assert api.as_("rep1").get(f"/api/account/{account['id']}").status_code == 404
    west = api.get("/api/team?filter=name = 'west'").json()["items"][0]
    api.post("/api/team_member", json={"team": west["id"], "user": installed.seed.user_ids["rep2"]})
    assert api.as_("rep1").get(f"/api/account/{account['id']}").status_code == 200


def test_cases_point_at_the_platform_queue(api: Api) -> None:
    queue = api.post("/api/queue", json={"name": "printers", "label": "Printers"}).json()
    case = api.post("/api/case", json={"subject": "Printer on fire", "queue": queue["id"]})
    assert case.status_code == 201, case.text
    assert api.get(f"/api/queue/{queue['id']}/related/case/queue").json()["total"] == 1
