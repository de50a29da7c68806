"""Owner assignment: round robin and least loaded within a team or queue, with caps, absences and fallbacks.

Every test runs on a fresh copy of the database with the packs and the cast
(``tests.runtime.conftest``), on SQLite and on PostgreSQL; the concurrency
tests on PostgreSQL only.  Teams and queues are the tests' own (packs may
ship some, such as west_sales), apart from the cast's team 'west'.  Records
count as owned by inserting lead rows directly, as the caller of
``pick_owner`` would write the owner.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select, update

# the session's template databases, which ``template_copy`` asks for by name
from tests.runtime.conftest import BACKENDS, Installed, postgres_template, sqlite_template, template_copy  # noqa: F401
from xrm.context import utc_now
from xrm.rules.assignment import Assignment, Pick, Skipped, default_open_condition, pick_owner, unavailable
from xrm.rules.expr import check_expression
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.record_model import RecordModel
from xrm.runtime.users import add_team, add_user
from xrm.system_tables import assignment_cursors, org_tables, users

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def installed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installed]:
    with template_copy(request, request.param, tmp_path) as copy:
        yield copy


@pytest.fixture
def model(installed: Installed) -> RecordModel:
    return CatalogCache(installed.engine).model()


# -- helpers ------------------------------------------------------------------------------------


def add_users(installed: Installed, *names: str, **columns: Any) -> list[int]:
    """New users (ids ascending in the order given), display names capitalised; ``columns`` set on all."""
    with installed.engine.begin() as connection:
        ids = [add_user(connection, name, now=NOW, display_name=name.title()) for name in names]
        if columns:
            connection.execute(update(users).where(users.c.id.in_(ids)).values(**columns))
    return ids


def set_user(installed: Installed, user_id: int, **columns: Any) -> None:
    with installed.engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(**columns))


def add_team_of(installed: Installed, name: str, ids: list[int]) -> int:
    with installed.engine.begin() as connection:
        return add_team(connection, name, members=ids, now=NOW)


def join(installed: Installed, group: str, name: str, user_id: int) -> None:
    groups, members = org_tables[group], org_tables[f"{group}_member"]
    with installed.engine.begin() as connection:
        group_id = connection.execute(select(groups.c.id).where(groups.c.name == name)).scalar_one()
        connection.execute(insert(members).values({group: group_id, "user": user_id, "version": 1,
                                                   "created_at": NOW, "updated_at": NOW}))


def add_queue(installed: Installed, name: str, label: str, ids: Sequence[int] = ()) -> int:
    stamp = {"version": 1, "created_at": NOW, "updated_at": NOW}
    with installed.engine.begin() as connection:
        queue_id = connection.execute(insert(org_tables["queue"]).values(name=name, label=label, **stamp)
                                      .returning(org_tables["queue"].c.id)).scalar_one()
        for user_id in ids:
            connection.execute(insert(org_tables["queue_member"]).values(queue=queue_id, user=user_id, **stamp))
    return queue_id


def set_capacity(installed: Installed, user_id: int, entity: str, max_open: int) -> None:
    with installed.engine.begin() as connection:
        connection.execute(insert(org_tables["user_capacity"]).values(
            user=user_id, entity=entity, max_open=max_open, version=1, created_at=NOW, updated_at=NOW))


def add_lead(connection: Connection, model: RecordModel, owner: int | None, status: str = "new", **values: Any) -> None:
    connection.execute(insert(model.table("lead")).values(
        last_name="Doe", company="ACME", status=status, owner_id=owner, created_at=NOW, updated_at=NOW, **values))


def add_leads(installed: Installed, model: RecordModel, owner: int, count: int, status: str = "new", **values: Any) -> None:
    with installed.engine.begin() as connection:
        for _ in range(count):
            add_lead(connection, model, owner, status, **values)


def pick(installed: Installed, model: RecordModel, request: Pick, now: datetime = NOW, *,
         write: bool = False) -> Assignment:
    """One assignment in its own transaction; ``write`` also creates a lead owned by whoever was picked."""
    with installed.engine.begin() as connection:
        result = pick_owner(connection, model, request, now)
        if write and result.user_id is not None:
            add_lead(connection, model, result.user_id)
        return result


def cursor(installed: Installed, key: str) -> dict[str, Any] | None:
    with installed.engine.connect() as connection:
        row = connection.execute(select(assignment_cursors).where(assignment_cursors.c.key == key)).mappings().first()
    return None if row is None else dict(row)


def rr(name: str, **kwargs: Any) -> Pick:
    return Pick("round_robin", "team", name, "lead", **kwargs)


# -- round robin ----------------------------------------------------------------------------------


def test_round_robin_is_fair_over_many_picks_and_cycles_in_id_order(installed: Installed, model: RecordModel) -> None:
    a, b, c = add_users(installed, "ann", "bob", "cid")
    add_team_of(installed, "squad", [c, a, b])
    picked = [pick(installed, model, rr("squad")).user_id for _ in range(300)]
    assert picked[:7] == [a, b, c, a, b, c, a]
    assert Counter(picked) == {a: 100, b: 100, c: 100}
    row = cursor(installed, "team:squad:lead")
    assert row is not None and row["assigned"] == 300 and row["last_user_id"] == c and row["updated_at"] == NOW


def test_the_cursor_is_per_group_and_entity_and_survives_a_new_model(installed: Installed, model: RecordModel) -> None:
    west = installed.seed.user_ids
    assert pick(installed, model, rr("west")).user_id == west["rep1"]
    assert pick(installed, model, Pick("round_robin", "team", "west", "opportunity")).user_id == west["rep1"]
    fresh = RecordModel(model.catalog)  # another process: only the database remembers
    assert pick(installed, fresh, rr("west")).user_id == west["rep3"]
    assert pick(installed, fresh, rr("west")).user_id == west["rep1"]
    assert cursor(installed, "team:west:lead")["assigned"] == 3  # type: ignore[index]
    assert cursor(installed, "team:west:opportunity")["assigned"] == 1  # type: ignore[index]


def test_a_rolled_back_pick_does_not_move_the_cursor(installed: Installed, model: RecordModel) -> None:
    rep1 = installed.seed.user_ids["rep1"]
    with installed.engine.connect() as connection, connection.begin() as transaction:
        assert pick_owner(connection, model, rr("west"), NOW).user_id == rep1
        transaction.rollback()
    assert pick(installed, model, rr("west")).user_id == rep1


def test_a_member_joining_midway_takes_their_place_in_id_order(installed: Installed, model: RecordModel) -> None:
    a, b, c = add_users(installed, "ann", "bob", "cid")
    add_team_of(installed, "squad", [a, b, c])
    assert [pick(installed, model, rr("squad")).user_id for _ in range(2)] == [a, b]
    rep1 = installed.seed.user_ids["rep1"]  # an older user: a lower id than everyone in the team
    join(installed, "team", "squad", rep1)
    d, = add_users(installed, "dee")
    join(installed, "team", "squad", d)
    assert [pick(installed, model, rr("squad")).user_id for _ in range(6)] == [c, d, rep1, a, b, c]


def test_round_robin_in_a_queue(installed: Installed, model: RecordModel) -> None:
    a, b = add_users(installed, "ann", "bob")
    add_queue(installed, "spill", "Spill", [b, a])
    request = Pick("round_robin", "queue", "spill", "lead")
    assert [pick(installed, model, request).user_id for _ in range(3)] == [a, b, a]
    assert cursor(installed, "queue:spill:lead")["assigned"] == 3  # type: ignore[index]


# -- who is skipped ------------------------------------------------------------------------------------


def test_inactive_users_are_always_skipped_and_absent_ones_on_request(installed: Installed, model: RecordModel) -> None:
    gone, away, left, ok = add_users(installed, "gone", "away", "left", "ok")
    set_user(installed, gone, is_active=False)
    set_user(installed, away, out_of_office_from=NOW - timedelta(days=1), out_of_office_to=datetime(2026, 1, 9, 17, tzinfo=UTC))
    set_user(installed, left, out_of_office_from=NOW)  # from now on, no return date
    add_team_of(installed, "squad", [gone, away, left, ok])

    result = pick(installed, model, rr("squad", skip_absent=True))
    assert result.user_id == ok and result.user_name == "Ok"
    assert result.skipped == (Skipped(gone, "Gone", "inactive"), Skipped(away, "Away", "absent until 2026-01-09 17:00 UTC"),
                              Skipped(left, "Left", "absent with no return date"))

    result = pick(installed, model, rr("squad"))  # without skip absent, the absent take their turn
    assert result.user_id == away and result.skipped == (Skipped(gone, "Gone", "inactive"),)


def test_an_absence_counts_only_between_its_ends(installed: Installed, model: RecordModel) -> None:
    later, back, until, ok = add_users(installed, "later", "back", "until", "ok")
    set_user(installed, later, out_of_office_from=NOW + timedelta(minutes=1))
    set_user(installed, back, out_of_office_from=NOW - timedelta(days=3), out_of_office_to=NOW)  # back at `now`
    set_user(installed, until, out_of_office_to=NOW + timedelta(hours=1))  # open start
    add_team_of(installed, "squad", [later, back, until, ok])
    picked = [pick(installed, model, rr("squad", skip_absent=True)) for _ in range(3)]
    assert [p.user_id for p in picked] == [later, back, ok]
    assert picked[0].skipped == (Skipped(until, "Until", "absent until 2026-01-05 10:00 UTC"),)


def test_unavailable_for_direct_assignment(installed: Installed) -> None:
    gone, away = add_users(installed, "gone", "away")
    set_user(installed, gone, is_active=False)
    set_user(installed, away, out_of_office_from=NOW, out_of_office_to=NOW + timedelta(days=2))
    with installed.engine.connect() as connection:
        assert unavailable(connection, gone, NOW, skip_absent=False) == Skipped(gone, "Gone", "inactive")
        assert unavailable(connection, away, NOW, skip_absent=False) is None
        assert unavailable(connection, away, NOW, skip_absent=True) == Skipped(away, "Away", "absent until 2026-01-07 09:00 UTC")
        assert unavailable(connection, away, NOW + timedelta(days=2), skip_absent=True) is None
        assert unavailable(connection, installed.seed.user_ids["rep1"], NOW, skip_absent=True) is None
        assert unavailable(connection, 999_999, NOW, skip_absent=True) == Skipped(999_999, "user 999999", "no such user")


# -- caps -----------------------------------------------------------------------------------------------


def test_users_at_the_rule_cap_are_skipped_and_closed_records_do_not_count(installed: Installed, model: RecordModel) -> None:
    a, b, c = add_users(installed, "ann", "bob", "cid")
    add_team_of(installed, "squad", [a, b, c])
    add_leads(installed, model, a, 2)
    add_leads(installed, model, b, 1, status="working")
    add_leads(installed, model, b, 1, status="unqualified")  # not a final state: still open
    add_leads(installed, model, c, 1)
    add_leads(installed, model, c, 5, status="converted")  # final: not open
    result = pick(installed, model, rr("squad", cap=2))
    assert result.user_id == c
    assert result.skipped == (Skipped(a, "Ann", "at their cap (2 open)"), Skipped(b, "Bob", "at their cap (2 open)"))
    assert pick(installed, model, rr("squad", cap=3)).user_id == a  # the cursor is past c: wraps to a


def test_the_smaller_of_rule_cap_and_user_capacity_applies(installed: Installed, model: RecordModel) -> None:
    a, b, c = add_users(installed, "ann", "bob", "cid")
    add_team_of(installed, "squad", [a, b, c])
    set_capacity(installed, a, "lead", 1)
    set_capacity(installed, b, "lead", 10)
    set_capacity(installed, c, "opportunity", 0)  # another entity's capacity does not apply
    for user_id in (a, b, c):
        add_leads(installed, model, user_id, 1)
    assert pick(installed, model, rr("squad")).skipped == (Skipped(a, "Ann", "at their cap (1 open)"),)
    add_leads(installed, model, b, 1)
    assert pick(installed, model, rr("squad", cap=2)).skipped == (
        Skipped(a, "Ann", "at their cap (1 open)"), Skipped(b, "Bob", "at their cap (2 open)"))


def test_caps_fill_up_then_the_fallback_queue_takes_over(installed: Installed, model: RecordModel) -> None:
    a, b = add_users(installed, "ann", "bob")
    add_team_of(installed, "squad", [a, b])
    add_queue(installed, "spill", "Spill")
    request = rr("squad", cap=3, fallback_queue="spill")
    picked = [pick(installed, model, request, write=True) for _ in range(8)]
    assert Counter(p.user_id for p in picked) == {a: 3, b: 3, None: 2}
    assert picked[-1].queue_name == "Spill" and picked[-1].reason == "nobody in team 'squad' is eligible"
    assert [s.reason for s in picked[-1].skipped] == ["at their cap (3 open)"] * 2


def test_a_custom_open_condition_decides_what_counts(installed: Installed, model: RecordModel) -> None:
    a, b = add_users(installed, "ann", "bob")
    add_team_of(installed, "squad", [a, b])
    add_leads(installed, model, a, 3, rating="cold")
    add_leads(installed, model, b, 1, rating="hot")
    hot = check_expression("rating = 'hot'", model.entity("lead"), model.catalog.entities, expected="boolean")
    result = pick(installed, model, rr("squad", cap=1, open_condition=hot))
    assert result.user_id == a and result.skipped == (Skipped(b, "Bob", "at their cap (1 open)"),)


def test_default_open_condition_excludes_final_states_of_every_workflow(model: RecordModel) -> None:
    lead = default_open_condition(model, "lead")
    assert lead is not None and lead.source == "(status is empty or status not in ('converted',))"
    assert lead({"status": "unqualified"}) and lead({"status": None}) and not lead({"status": "converted"})
    opportunity = default_open_condition(model, "opportunity")
    assert opportunity is not None and "'closed_won', 'closed_lost'" in opportunity.source
    assert default_open_condition(model, "account") is None  # no workflow: every record counts


# -- nobody eligible ------------------------------------------------------------------------------------


def test_an_empty_team_falls_back_to_the_queue(installed: Installed, model: RecordModel) -> None:
    add_team_of(installed, "squad", [])
    queue_id = add_queue(installed, "spill", "Spill")
    result = pick(installed, model, rr("squad", fallback_queue="spill"))
    assert result == Assignment(None, None, queue_id, "Spill", (), "team 'squad' has no members")
    assert result.summary() == "queue 'Spill' (team 'squad' has no members)"


def test_nobody_eligible_without_a_fallback(installed: Installed, model: RecordModel) -> None:
    gone, = add_users(installed, "gone", is_active=False)
    add_team_of(installed, "squad", [gone])
    result = pick(installed, model, rr("squad"))
    assert (result.user_id, result.queue_id) == (None, None)
    assert result.reason == "nobody in team 'squad' is eligible"
    assert result.summary() == "nobody (nobody in team 'squad' is eligible); Gone skipped: inactive"


def test_an_unknown_team_or_fallback_queue_is_a_reason_not_an_error(installed: Installed, model: RecordModel) -> None:
    result = pick(installed, model, rr("no_such_team"))
    assert result == Assignment(None, None, None, None, (), "there is no team named 'no_such_team'")
    queue_id = add_queue(installed, "spill", "Spill")
    assert pick(installed, model, rr("no_such_team", fallback_queue="spill")).queue_id == queue_id
    result = pick(installed, model, rr("no_such_team", fallback_queue="nowhere"))
    assert result.queue_id is None
    assert result.reason == "there is no team named 'no_such_team', and there is no queue named 'nowhere'"
    result = pick(installed, model, Pick("least_loaded", "queue", "desk", "case"))
    assert result.reason == "there is no queue named 'desk'"
    assert cursor(installed, "team:no_such_team:lead") is None


# -- least loaded ------------------------------------------------------------------------------------------


def test_least_loaded_picks_the_fewest_open_and_rotates_ties(installed: Installed, model: RecordModel) -> None:
    a, b, c = add_users(installed, "ann", "bob", "cid")
    add_queue(installed, "desk", "Desk", [a, b, c])
    add_leads(installed, model, a, 3)
    add_leads(installed, model, b, 1)
    add_leads(installed, model, c, 1)
    add_leads(installed, model, c, 4, status="converted")
    request = Pick("least_loaded", "queue", "desk", "lead")
    # without writing, b and c stay tied at one open lead: they take turns
    assert [pick(installed, model, request).user_id for _ in range(4)] == [b, c, b, c]
    # writing each pick's lead evens the load out, and then all three take turns
    picked = [pick(installed, model, request, write=True) for _ in range(7)]
    assert [p.user_id for p in picked] == [b, c, b, c, a, b, c]
    assert picked[0].summary() == "Bob (least loaded in queue 'desk', 1 open)"
    assert cursor(installed, "least_loaded:queue:desk:lead")["assigned"] == 11  # type: ignore[index]
    assert cursor(installed, "queue:desk:lead") is None


def test_least_loaded_respects_caps_and_the_open_condition(installed: Installed, model: RecordModel) -> None:
    a, b = add_users(installed, "ann", "bob")
    add_team_of(installed, "squad", [a, b])
    set_capacity(installed, a, "lead", 0)
    add_leads(installed, model, b, 2, status="working")
    add_leads(installed, model, b, 1, status="new")
    working = check_expression("status != 'new'", model.entity("lead"), model.catalog.entities, expected="boolean")
    result = pick(installed, model, Pick("least_loaded", "team", "squad", "lead", open_condition=working))
    assert result.user_id == b and result.method == "least loaded in team 'squad', 2 open"
    assert result.skipped == (Skipped(a, "Ann", "at their cap (0 open)"),)


# -- summary ----------------------------------------------------------------------------------------------------


def test_summary_reads_like_a_sentence() -> None:
    absent = Skipped(7, "Bob", "absent until 2026-01-09 17:00 UTC")
    capped = Skipped(8, "Cid", "at their cap (40 open)")
    assert Assignment(3, "Alice", None, None, (absent, capped), method="round robin in team 'squad'").summary() == (
        "Alice (round robin in team 'squad'); Bob skipped: absent until 2026-01-09 17:00 UTC; "
        "Cid skipped: at their cap (40 open)")
    assert Assignment(None, None, 4, "Spill", (), "nobody in team 'squad' is eligible").summary() == (
        "queue 'Spill' (nobody in team 'squad' is eligible)")
    assert Assignment(None, None, None, None, (), "there is no team named 'x'").summary() == (
        "nobody (there is no team named 'x')")


def test_the_method_names_strategy_and_group(installed: Installed, model: RecordModel) -> None:
    result = pick(installed, model, rr("west"))
    assert result.summary() == "Rep1 (round robin in team 'west')"


# -- concurrency (PostgreSQL) -------------------------------------------------------------------------------


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installed]:
    with template_copy(request, "postgresql", tmp_path) as copy:
        yield copy


def run_concurrently(installed: Installed, model: RecordModel, request: Pick, threads: int, each: int) -> list[Assignment]:
    """``threads`` workers, each its own connection, each making ``each`` picks (one transaction per pick)."""
    start = threading.Barrier(threads)
    results: list[Assignment] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            start.wait()
            for _ in range(each):
                result = pick(installed, model, request, utc_now(), write=True)
                with lock:
                    results.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert len(results) == threads * each
    return results


@pytest.mark.postgres
def test_concurrent_round_robin_stays_fair(postgres: Installed) -> None:
    model = CatalogCache(postgres.engine).model()
    a, b, c = add_users(postgres, "ann", "bob", "cid")
    add_team_of(postgres, "squad", [a, b, c])
    results = run_concurrently(postgres, model, rr("squad"), threads=8, each=25)
    counts = Counter(r.user_id for r in results)
    assert set(counts) == {a, b, c} and max(counts.values()) - min(counts.values()) <= 1
    assert cursor(postgres, "team:squad:lead")["assigned"] == 200  # type: ignore[index]


@pytest.mark.postgres
def test_concurrent_picks_never_pass_a_cap(postgres: Installed) -> None:
    model = CatalogCache(postgres.engine).model()
    a, b, c = add_users(postgres, "ann", "bob", "cid")
    add_team_of(postgres, "squad", [a, b, c])
    add_queue(postgres, "spill", "Spill")
    request = Pick("least_loaded", "team", "squad", "lead", cap=5, fallback_queue="spill")
    results = run_concurrently(postgres, model, request, threads=6, each=4)
    assert Counter(r.user_id for r in results) == {a: 5, b: 5, c: 5, None: 9}
    assert all(r.queue_name == "Spill" for r in results if r.user_id is None)


# -- the queue's own settings ----------------------------------------------------------------------


def test_a_queues_cap_per_member_applies_to_picks_from_it(installed: Installed, model: RecordModel) -> None:
    a, b = add_users(installed, "ann", "bob")
    queue_id = add_queue(installed, "spill", "Spill", [a, b])
    with installed.engine.begin() as connection:
        connection.execute(update(org_tables["queue"]).where(org_tables["queue"].c.id == queue_id)
                           .values(max_open_per_member=2))
    add_leads(installed, model, a, 2)
    result = pick(installed, model, Pick("round_robin", "queue", "spill", "lead"))
    assert result.user_id == b
    assert [(s.name, s.reason) for s in result.skipped] == [("Ann", "at their cap (2 open)")]


def test_an_inactive_fallback_queue_is_not_used(installed: Installed, model: RecordModel) -> None:
    add_team_of(installed, "squad", [])
    queue_id = add_queue(installed, "spill", "Spill")
    with installed.engine.begin() as connection:
        connection.execute(update(org_tables["queue"]).where(org_tables["queue"].c.id == queue_id).values(active=False))
    result = pick(installed, model, rr("squad", fallback_queue="spill"))
    assert (result.user_id, result.queue_id) == (None, None)
    assert result.reason == "team 'squad' has no members, and the queue 'Spill' is inactive"
