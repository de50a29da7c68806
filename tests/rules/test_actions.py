"""Each rule action, run through the record service: set, raise, start_workflow, assign, move_to_queue,
return_to_pool (and claiming back from the pool), notify, create, add_to_campaign, transition.

Most tests run rules of their own on a database shared by the module (per
backend), with teams, queues and users of their own; the tests of the crm
pack's routing rules get a fresh database each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.rules.engine_support import (  # noqa: F401 - fixtures
    LEAD,
    NOW,
    add_group,
    as_user,
    create,
    db_fixture,
    install_ops_pack,
    join,
    model_of,
    module_db_fixture,
    new_users,
    notifications_for,
    outbox_for,
    pack_service,
    postgres_template,
    queue_id,
    records,
    service_with,
    set_user,
    sqlite_template,
    stored,
    summaries,
    system,
    trace,
    update_record,
)
from tests.runtime.conftest import Installed
from xrm.runtime.queue_claims import claim
from xrm.runtime.record_errors import Forbidden
from xrm.system_tables import org_tables, pool_protections


def lead(**values: object) -> dict:
    return {**LEAD, **values}


def only_outcome(db: Installed, entity: str, record_id: int, rule: str) -> dict:
    """The one action outcome of the one decision of ``rule`` on the record."""
    [decision] = [d for d in trace(db, entity, record_id) if d["rule"] == rule]
    [outcome] = decision["actions"]
    return outcome


# -- set -------------------------------------------------------------------------------------------


def test_set_several_fields_from_expressions(module_db: Installed) -> None:
    service = service_with(module_db, """
rule "fill in" when lead created if last_name = 'Setter'
  then set title = concat(upper(company), ' / ', last_name), number_of_employees = 2 * 5 + 1,
           last_activity_at = now() - 1d, do_not_call = true, annual_revenue = 1000.50
""")
    made = create(module_db, service, system(), "lead", lead(last_name="Setter", company="Acme"))
    assert made["title"] == "ACME / Setter" and made["number_of_employees"] == 11 and made["do_not_call"] is True
    assert made["last_activity_at"] == NOW - timedelta(days=1) and str(made["annual_revenue"]) == "1000.50"
    outcome = only_outcome(module_db, "lead", made["id"], "fill in")
    assert outcome["done"] and outcome["summary"].startswith(
        "set title = 'ACME / Setter', number_of_employees = 11, last_activity_at = 2026-01-04 09:00")
    assert outcome["detail"]["values"]["title"] == "ACME / Setter"


def test_setting_the_value_a_field_has_changes_nothing(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "same" when lead updated if last_name = \'Same\' then set city = \'Oslo\'\n')
    made = create(module_db, service, system(), "lead", lead(last_name="Same", city="Oslo"))
    after = update_record(module_db, service, system(), "lead", made["id"], {"title": "Dr"})
    assert after["city"] == "Oslo"
    assert only_outcome(module_db, "lead", made["id"], "same")["done"] is False


# -- raise -----------------------------------------------------------------------------------------


def test_raise_moves_a_picklist_up_one_option_until_the_highest(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "louder" when case updated if subject = \'Raise me\' then raise priority\n')
    case = create(module_db, service, system(), "case", {"subject": "Raise me", "priority": "medium"})
    levels = []
    for note in ("one", "two", "three"):
        levels.append(update_record(module_db, service, system(), "case", case["id"], {"description": note})["priority"])
    assert levels == ["high", "urgent", "urgent"]
    outcomes = [d["actions"][0] for d in trace(module_db, "case", case["id"])]
    assert [(o["summary"], o["done"]) for o in outcomes] == [
        ("raised priority from 'medium' to 'high'", True),
        ("raised priority from 'high' to 'urgent'", True),
        ("priority is already 'urgent', the highest", False),
    ]


# -- start_workflow --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ops_db(module_db: Installed, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The module's database with the extra pack 'ops' (entity chore, workflow chore_flow)."""
    install_ops_pack(module_db, tmp_path_factory.mktemp("ops"))
    return module_db


def test_start_workflow_puts_a_record_without_a_state_in_the_initial_state(ops_db: Installed) -> None:
    service = service_with(ops_db, 'rule "begin" when chore updated if note = \'go\' then start_workflow chore_flow\n')
    chore = create(ops_db, service, system(), "chore", {"title": "From before the workflow"})
    assert chore["stage"] == "todo"  # new records start in the initial state anyway
    table = model_of(ops_db).table("chore")
    with ops_db.engine.begin() as connection:  # as a record made before the workflow was added
        connection.execute(update(table).where(table.c.id == chore["id"]).values(stage=None))
    started = update_record(ops_db, service, system(), "chore", chore["id"], {"note": "go"})
    assert started["stage"] == "todo"
    update_record(ops_db, service, system(), "chore", chore["id"], {"note": "wait"})
    update_record(ops_db, service, system(), "chore", chore["id"], {"note": "go"})
    assert [(d["actions"][0]["summary"], d["actions"][0]["done"]) for d in trace(ops_db, "chore", chore["id"])] == [
        ("started Chore Flow at 'todo'", True),
        ("Chore Flow already started (stage = 'todo')", False),
    ]


# -- assign: the crm pack's routing rules ----------------------------------------------------------


def test_round_robin_in_the_crm_packs_west_team(db: Installed) -> None:
    first, second = new_users(db, "wanda", "wyatt")
    for user in (first, second):
        join(db, "team", "west_sales", user)
    service = pack_service(db)
    owners = [create(db, service, system(), "lead", lead(last_name=f"West {n}", region="west"))["owner_id"]
              for n in range(4)]
    assert owners == [first, second, first, second]
    made = records(db, "lead", last_name="West 0")[0]
    [decision] = [d for d in trace(db, "lead", made["id"]) if d["rule"] == "West leads round robin"]
    assert decision["summary"].startswith("assigned to Wanda (round robin in team 'west_sales') — by rule "
                                          "\"West leads round robin\" on lead created, because region = 'west'")
    assert decision["actions"][0]["detail"]["user_id"] == first


def test_round_robin_skips_absent_members_and_says_why(db: Installed) -> None:
    present, away = new_users(db, "paula", "otto")
    for user in (present, away):
        join(db, "team", "west_sales", user)
    set_user(db, away, out_of_office_from=NOW - timedelta(days=1), out_of_office_to=NOW + timedelta(days=4))
    service = pack_service(db)
    owners = [create(db, service, system(), "lead", lead(last_name=f"Absent {n}", region="west"))["owner_id"]
              for n in range(2)]
    assert owners == [present, present]
    made = records(db, "lead", last_name="Absent 1")[0]
    outcome = only_outcome(db, "lead", made["id"], "West leads round robin")
    assert outcome["summary"] == ("assigned to Paula (round robin in team 'west_sales'); "
                                  "Otto skipped: absent until 2026-01-09 09:00 UTC")
    assert outcome["detail"]["skipped"] == [{"user": "Otto", "reason": "absent until 2026-01-09 09:00 UTC"}]
    # back from the absence, the next one is theirs
    later = create(db, service, system(NOW + timedelta(days=5)), "lead", lead(last_name="Back", region="west"))
    assert later["owner_id"] == away


def test_nobody_eligible_falls_back_to_the_queue(db: Installed) -> None:
    service = pack_service(db)  # the crm pack ships the team senior_reps without members
    made = create(db, service, system(), "lead", lead(last_name="Hot", rating="hot"))
    assert made["owner_id"] is None and made["owner_queue_id"] == queue_id(db, "lead_pool")
    outcome = only_outcome(db, "lead", made["id"], "Hot leads to senior reps")
    assert outcome["summary"] == "moved to queue 'Lead Pool' (team 'senior_reps' has no members)"
    # stop: the lower rules did not run
    assert [d["rule"] for d in trace(db, "lead", made["id"])] == ["Lead activity clock starts at creation",
                                                                 "Hot leads to senior reps"]


def test_a_person_creating_a_lead_keeps_it(db: Installed) -> None:
    join(db, "team", "west_sales", new_users(db, "wilma")[0])
    made = create(db, pack_service(db), as_user(db, "rep2"), "lead", lead(last_name="Mine", region="west"))
    assert made["owner_id"] == db.seed.user_ids["rep2"]
    assert "West leads round robin" not in [d["rule"] for d in trace(db, "lead", made["id"])]


# -- assign: rules of the tests' own ---------------------------------------------------------------


def test_round_robin_cap_and_fallback_queue(module_db: Installed) -> None:
    ann, bob = new_users(module_db, "capann", "capbob")
    add_group(module_db, "team", "capped", (ann, bob))
    service = service_with(module_db, 'rule "capped" when lead created if last_name = \'Capped\'\n'
                                      "  then assign round_robin team 'capped' cap 1 fallback queue 'lead_pool'\n")
    made = [create(module_db, service, system(), "lead", lead(last_name="Capped")) for _ in range(3)]
    assert [(m["owner_id"], m["owner_queue_id"]) for m in made] == [
        (ann, None), (bob, None), (None, queue_id(module_db, "lead_pool"))]
    assert only_outcome(module_db, "lead", made[2]["id"], "capped")["summary"] == (
        "moved to queue 'Lead Pool' (nobody in team 'capped' is eligible); "
        "Capann skipped: at their cap (1 open); Capbob skipped: at their cap (1 open)")


def test_least_loaded_picks_the_member_with_fewest_open_records(module_db: Installed) -> None:
    busy, idle = new_users(module_db, "busybee", "idler")
    add_group(module_db, "team", "loaded", (busy, idle))
    plain = service_with(module_db, 'rule "none" when lead created if city = \'nowhere\' then set title = \'x\'\n')
    for n in range(2):
        create(module_db, plain, system(), "lead", lead(last_name=f"Busy {n}", owner_id=busy))
    service = service_with(module_db, 'rule "least" when lead created if last_name = \'Least\'\n'
                                      "  then assign least_loaded team 'loaded'\n")
    owners = [create(module_db, service, system(), "lead", lead(last_name="Least"))["owner_id"] for _ in range(3)]
    assert owners == [idle, idle, busy]  # 0 vs 2, 1 vs 2, then 2 each: the one after the last pick
    first = records(module_db, "lead", last_name="Least")[0]
    assert only_outcome(module_db, "lead", first["id"], "least")["summary"] == \
        "assigned to Idler (least loaded in team 'loaded', 0 open)"


ASSIGN_TO_PEOPLE = """
rule "to a user" when lead created if last_name = 'To user' then assign to user 'rep2'
rule "to the manager" when lead created if last_name = 'To manager' then assign to owner.manager
rule "to the territory manager" when lead created if last_name = 'To territory' then assign to territory.manager
rule "absent manager" when lead created if last_name = 'Absent manager'
  then assign to owner.manager skip absent fallback queue 'lead_pool'
rule "nobody there" when lead created if last_name = 'No manager' then assign to owner.manager
"""


def test_assign_to_a_user_the_owners_manager_and_the_territorys_manager(module_db: Installed) -> None:
    ids = module_db.seed.user_ids
    boss, area_boss, worker = new_users(module_db, "bossy", "areaboss", "worker")
    set_user(module_db, worker, manager=boss)
    service = service_with(module_db, ASSIGN_TO_PEOPLE)
    territory = create(module_db, service, system(), "territory", {"name": "North", "region": "north",
                                                                  "manager": area_boss})
    to_user = create(module_db, service, system(), "lead", lead(last_name="To user"))
    to_manager = create(module_db, service, system(), "lead", lead(last_name="To manager", owner_id=worker))
    to_territory = create(module_db, service, system(), "lead", lead(last_name="To territory",
                                                                     territory=territory["id"]))
    assert (to_user["owner_id"], to_manager["owner_id"], to_territory["owner_id"]) == (ids["rep2"], boss, area_boss)
    assert only_outcome(module_db, "lead", to_user["id"], "to a user")["summary"] == "assigned to Rep2 (rep2)"
    assert only_outcome(module_db, "lead", to_manager["id"], "to the manager")["summary"] == \
        "assigned to Bossy (owner.manager)"
    assert only_outcome(module_db, "lead", to_territory["id"], "to the territory manager")["summary"] == \
        "assigned to Areaboss (territory.manager)"


def test_assign_to_an_absent_or_missing_manager(module_db: Installed) -> None:
    boss, worker, loner = new_users(module_db, "awayboss", "awayworker", "loner")
    set_user(module_db, worker, manager=boss)
    set_user(module_db, boss, out_of_office_from=NOW - timedelta(hours=1), out_of_office_to=None)
    service = service_with(module_db, ASSIGN_TO_PEOPLE)
    away = create(module_db, service, system(), "lead", lead(last_name="Absent manager", owner_id=worker))
    assert (away["owner_id"], away["owner_queue_id"]) == (None, queue_id(module_db, "lead_pool"))
    assert only_outcome(module_db, "lead", away["id"], "absent manager")["summary"] == \
        "moved to queue 'Lead Pool' (Awayboss skipped: absent with no return date)"
    alone = create(module_db, service, system(), "lead", lead(last_name="No manager", owner_id=loner))
    assert alone["owner_id"] == loner
    outcome = only_outcome(module_db, "lead", alone["id"], "nobody there")
    assert (outcome["summary"], outcome["done"]) == ("not assigned: owner.manager is nobody", False)


# -- move_to_queue ---------------------------------------------------------------------------------


def test_move_to_queue_clears_the_owner(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "park" when lead.rating changed to \'cold\' then move_to_queue \'lead_pool\'\n')
    made = create(module_db, service, as_user(module_db, "rep1"), "lead", lead(last_name="Parked", rating="warm"))
    assert made["owner_id"] == module_db.seed.user_ids["rep1"]
    parked = update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    assert (parked["owner_id"], parked["owner_queue_id"]) == (None, queue_id(module_db, "lead_pool"))
    assert only_outcome(module_db, "lead", made["id"], "park")["summary"] == "moved to queue 'Lead Pool'"


# -- return_to_pool and claiming back --------------------------------------------------------------

POOL = """
rule "back to the pool" when lead.rating changed to 'cold' if last_name = 'Pooled'
  then return_to_pool queue 'lead_pool' protect 7d
"""


@pytest.fixture
def pool_members(module_db: Installed) -> Iterator[tuple[int, int]]:
    """rep1 and rep3 work the lead pool for the test."""
    ids = module_db.seed.user_ids
    for name in ("rep1", "rep3"):
        join(module_db, "queue", "lead_pool", ids[name])
    yield ids["rep1"], ids["rep3"]
    members, pool = org_tables["queue_member"], queue_id(module_db, "lead_pool")
    with module_db.engine.begin() as connection:
        connection.execute(members.delete().where(members.c.queue == pool))


def test_return_to_pool_protects_the_last_owner_from_claiming_it_back(module_db: Installed,
                                                                      pool_members: tuple[int, int]) -> None:
    rep1, rep3 = pool_members
    service = service_with(module_db, POOL)
    made = create(module_db, service, as_user(module_db, "rep1"), "lead", lead(last_name="Pooled", rating="warm"))
    pooled = update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    assert (pooled["owner_id"], pooled["owner_queue_id"]) == (None, queue_id(module_db, "lead_pool"))
    outcome = only_outcome(module_db, "lead", made["id"], "back to the pool")
    assert outcome["summary"] == ("returned to the pool 'Lead Pool'; Rep1 may not claim it again before "
                                  "2026-01-12 09:00 UTC")
    with module_db.engine.connect() as connection:
        [protection] = connection.execute(select(pool_protections).where(
            pool_protections.c.record_id == made["id"], pool_protections.c.entity == "lead")).mappings().all()
    assert protection["user_id"] == rep1 and protection["until"] == NOW + timedelta(days=7)
    next_day, next_week = as_user(module_db, "rep1", now=NOW + timedelta(days=1)), \
        as_user(module_db, "rep1", now=NOW + timedelta(days=8))
    with module_db.engine.begin() as connection, pytest.raises(Forbidden) as refused:
        claim(service, connection, next_day, "lead", made["id"])
    assert refused.value.detail == ("this lead went back to the pool from you; you may claim it again from "
                                    "2026-01-12 09:00 UTC")
    assert stored(module_db, "lead", made["id"])["owner_queue_id"] == queue_id(module_db, "lead_pool")
    # after the protection, the last owner may claim it like anyone
    with module_db.engine.begin() as connection:
        claimed = claim(service, connection, next_week, "lead", made["id"])
    assert claimed["owner_id"] == rep1


def test_another_pool_member_claims_at_once(module_db: Installed, pool_members: tuple[int, int]) -> None:
    rep1, rep3 = pool_members
    service = service_with(module_db, POOL)
    made = create(module_db, service, as_user(module_db, "rep1"), "lead", lead(last_name="Pooled", rating="hot"))
    update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    rep3_context = as_user(module_db, "rep3", now=NOW + timedelta(hours=1))
    with module_db.engine.begin() as connection:
        claimed = claim(service, connection, rep3_context, "lead", made["id"])
    assert claimed["owner_id"] == rep3


def test_an_unowned_record_returns_to_the_pool_without_protection(module_db: Installed) -> None:
    service = service_with(module_db, POOL)
    made = create(module_db, service, system(), "lead", lead(last_name="Pooled", rating="warm"))
    update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    assert only_outcome(module_db, "lead", made["id"], "back to the pool")["summary"] == \
        "returned to the pool 'Lead Pool'"
    with module_db.engine.connect() as connection:
        assert connection.execute(select(pool_protections).where(
            pool_protections.c.record_id == made["id"])).first() is None


def test_notify_owner_after_return_to_pool_reaches_the_last_owner(module_db: Installed) -> None:
    service = service_with(module_db, 'rule "pool and tell" when lead.rating changed to \'cold\' '
                                      "if last_name = 'Told'\n"
                                      "  then return_to_pool queue 'lead_pool' protect 7d\n"
                                      "       notify owner subject 'Lead {last_name} went back to the pool'\n")
    rep2 = module_db.seed.user_ids["rep2"]
    made = create(module_db, service, as_user(module_db, "rep2"), "lead", lead(last_name="Told", rating="warm"))
    update_record(module_db, service, system(), "lead", made["id"], {"rating": "cold"})
    [decision] = [d for d in trace(module_db, "lead", made["id"]) if d["rule"] == "pool and tell"]
    assert decision["actions"][1]["summary"] == "notified Rep2: Lead Told went back to the pool"  # "nobody to notify: owner"
    assert [n["title"] for n in notifications_for(module_db, rep2)][-1] == "Lead Told went back to the pool"


# -- notify ----------------------------------------------------------------------------------------


def test_notify_writes_in_app_notifications_and_an_email_when_the_user_has_an_address(module_db: Installed) -> None:
    mailed, unmailed = new_users(module_db, "mailme", "nomail")
    set_user(module_db, mailed, email="mailme@example.com")
    service = service_with(module_db, """
notification 'new_big_lead'
  subject 'Big lead {full_name} from {company} ({territory.name})'
  message 'Employees: {number_of_employees}; city: {city}.'

rule "tell people" when lead created if last_name = 'Notified'
  then notify user 'mailme', user 'nomail' template 'new_big_lead'
""")
    territory = create(module_db, service, system(), "territory", {"name": "Far East", "region": "apac"})
    made = create(module_db, service, system(), "lead", lead(last_name="Notified", first_name="Nora", company="Big Co",
                                                             number_of_employees=5000, territory=territory["id"]))
    for user in (mailed, unmailed):
        [note] = notifications_for(module_db, user)
        assert note["title"] == "Big lead Nora Notified from Big Co (Far East)"
        assert note["body"] == "Employees: 5000; city: ."
        assert (note["entity"], note["record_id"]) == ("lead", made["id"])
    [mail] = outbox_for(module_db, mailed)
    assert (mail["to_address"], mail["subject"], mail["status"]) == (
        "mailme@example.com", "Big lead Nora Notified from Big Co (Far East)", "pending")
    assert mail["body"] == "Employees: 5000; city: ." and mail["record_id"] == made["id"]
    assert outbox_for(module_db, unmailed) == []
    outcome = only_outcome(module_db, "lead", made["id"], "tell people")
    names, subject = outcome["summary"].removeprefix("notified ").split(": ", 1)
    assert sorted(names.split(", ")) == ["Mailme", "Nomail"]  # in no particular order (PostgreSQL varies)
    assert subject == "Big lead Nora Notified from Big Co (Far East)"
    assert sorted(outcome["detail"]["user_ids"]) == [mailed, unmailed]


def test_notify_a_team_a_queue_and_nobody(module_db: Installed) -> None:
    one, two, three = new_users(module_db, "teamone", "teamtwo", "queueone")
    add_group(module_db, "team", "notified_team", (one, two))
    add_group(module_db, "queue", "notified_queue", (three,))
    add_group(module_db, "queue", "empty_queue")
    service = service_with(module_db, """
rule "tell the team" when lead created if last_name = 'Groups'
  then notify team 'notified_team', queue 'notified_queue'
rule "tell nobody" when lead created if last_name = 'Groups'
  then notify queue 'empty_queue' subject 'unheard'
""")
    made = create(module_db, service, system(), "lead", lead(last_name="Groups", first_name="Gus"))
    for user in (one, two, three):
        [note] = notifications_for(module_db, user)
        assert note["title"] == "tell the team: Lead Gus Groups"
        assert note["body"] == "Rule 'tell the team' fired on Lead Gus Groups."
    silent = only_outcome(module_db, "lead", made["id"], "tell nobody")
    assert (silent["summary"], silent["done"]) == ("nobody to notify: empty_queue", False)


# -- create ----------------------------------------------------------------------------------------


def test_create_a_related_record_owned_like_the_rules_record(module_db: Installed) -> None:
    service = service_with(module_db, """
rule "follow-up task" when lead created if last_name = 'Followed'
  then create activity with subject = concat('Call ', full_name), lead = id, due_date = today() + 2d,
                            priority = 'high'
""")
    rep3 = module_db.seed.user_ids["rep3"]
    made = create(module_db, service, as_user(module_db, "rep3"), "lead", lead(last_name="Followed", first_name="Fay"))
    [task] = records(module_db, "activity", lead=made["id"])
    assert (task["subject"], task["owner_id"], task["priority"]) == ("Call Fay Followed", rep3, "high")
    assert task["due_date"] == (NOW + timedelta(days=2)).date()
    assert only_outcome(module_db, "lead", made["id"], "follow-up task")["summary"] == \
        f"created activity #{task['id']} 'Call Fay Followed'"
    # a record waiting in a queue: the related record waits in the same queue
    queued = create(module_db, service, system(), "lead", lead(last_name="Followed", first_name="Quinn",
                                                               owner_queue_id=queue_id(module_db, "lead_pool")))
    [queued_task] = records(module_db, "activity", lead=queued["id"])
    assert (queued_task["owner_id"], queued_task["owner_queue_id"]) == (None, queue_id(module_db, "lead_pool"))


# -- add_to_campaign -------------------------------------------------------------------------------

CAMPAIGNS = """
rule "invited" when lead.rating changed to 'warm' if last_name = 'Member'
  then add_to_campaign 'Spring Webinar' status 'sent'
rule "responded" when lead.rating changed to 'hot' if last_name = 'Member'
  then add_to_campaign 'Spring Webinar' status 'responded'
rule "ghost campaign" when lead.rating changed to 'cold' if last_name = 'Member'
  then add_to_campaign 'No Such Campaign' status 'sent'
"""


def test_add_to_campaign_adds_a_member_then_updates_its_status(module_db: Installed) -> None:
    service = service_with(module_db, CAMPAIGNS)
    campaign = create(module_db, service, system(), "campaign", {"name": "Spring Webinar"})
    made = create(module_db, service, system(), "lead", lead(last_name="Member"))
    for rating in ("warm", "hot", "cold", "hot"):
        update_record(module_db, service, system(), "lead", made["id"], {"rating": rating})
    [member] = records(module_db, "campaign_member", lead=made["id"])
    assert (member["campaign"], member["member_status"]) == (campaign["id"], "responded")
    assert [(d["actions"][0]["summary"], d["actions"][0]["done"]) for d in trace(module_db, "lead", made["id"])] == [
        ("added to campaign 'Spring Webinar' as 'sent'", True),
        ("campaign 'Spring Webinar': status 'sent' → 'responded'", True),
        ("not added: there is no campaign named 'No Such Campaign'", False),
        ("already a member of campaign 'Spring Webinar'", False),
    ]


# -- transition ------------------------------------------------------------------------------------

TRANSITIONS = """
rule "start on contact" when lead.phone changed if last_name = 'Moving'
  then transition start_working
rule "qualify when rated" when lead.city changed if last_name = 'Moving'
  then transition qualify
"""


def test_the_transition_action_takes_the_transition(module_db: Installed) -> None:
    service = service_with(module_db, TRANSITIONS)
    made = create(module_db, service, system(), "lead", lead(last_name="Moving"))
    update_record(module_db, service, system(), "lead", made["id"], {"phone": "+49 30 1234"})
    assert stored(module_db, "lead", made["id"])["status"] == "working"
    [decision] = [d for d in trace(module_db, "lead", made["id"]) if d["rule"] == "start on contact"]
    assert decision["actions"][0]["summary"] == "took 'Start Working' to 'working'"


def test_a_blocked_transition_is_not_done_and_the_write_still_succeeds(module_db: Installed) -> None:
    service = service_with(module_db, TRANSITIONS)
    made = create(module_db, service, system(), "lead", lead(last_name="Moving", phone="+1 555 0100"))
    assert stored(module_db, "lead", made["id"])["status"] == "working"  # phone changed on create: started
    moved = update_record(module_db, service, system(), "lead", made["id"], {"city": "Leeds"})  # no rating: blocked
    after = stored(module_db, "lead", made["id"])
    assert moved["city"] == "Leeds" and (after["city"], after["status"]) == ("Leeds", "working")
    outcome = only_outcome(module_db, "lead", made["id"], "qualify when rated")
    assert outcome["done"] is False and outcome["summary"].startswith("'Qualify' not taken: ")
    assert "Rating" in outcome["summary"]


def test_a_transition_from_the_wrong_state_is_not_taken(module_db: Installed, tmp_path: Path) -> None:
    service = service_with(module_db, TRANSITIONS)
    made = create(module_db, service, system(), "lead", lead(last_name="Moving", rating="warm"))
    update_record(module_db, service, system(), "lead", made["id"], {"city": "York"})  # qualify starts from working
    outcome = only_outcome(module_db, "lead", made["id"], "qualify when rated")
    assert (outcome["summary"], outcome["done"]) == ("'Qualify' not taken: the record is 'new'", False)
    assert summaries(module_db, "lead", made["id"])[-1].endswith("on lead.city changed, because last_name = 'Moving' "
                                                               "(last_name = 'Moving')")
