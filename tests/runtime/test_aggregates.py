"""Dashboard aggregates, on SQLite and PostgreSQL: the database's counts, sums and averages against Python's over the
same records, the viewer's scope and hidden fields, date buckets, series, and drill-down filters that list exactly
a group's records.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.runtime.conftest import CAST, Installed
from xrm.context import Actor, Context
from xrm.metadata.dashboards import Grouping
from xrm.runtime.aggregates import ALL, NO_SERIES, Aggregate, AggregateQuery, run_aggregate
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.queries import ListQuery, ListRequest
from xrm.runtime.record_errors import Forbidden, Invalid
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won")
SOURCES = ("web", "referral", "partner", "webinar", None)
RATINGS = ("hot", "warm", "cold", None)
TIERS = ("registered", "silver", "gold", "platinum", None)


def ctx(installed: Installed, name: str, at: datetime | None = None, source: str = "api") -> Context:
    roles, is_admin = CAST[name]
    return Context(Actor(name, installed.seed.user_ids[name], frozenset(roles), is_admin), source, at or START)  # type: ignore[arg-type]


@dataclass(frozen=True)
class World:
    installed: Installed
    model: RecordModel

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Every record of ``entity`` as stored (the reference the aggregates are checked against)."""
        with self.installed.engine.connect() as connection:
            return [dict(r) for r in connection.execute(select(self.model.table(entity))).mappings()]

    def aggregate(self, query: AggregateQuery, user: str = "admin") -> Aggregate:
        with self.installed.engine.connect() as connection:
            return run_aggregate(connection, self.model, ctx(self.installed, user), query)

    def ids(self, entity: str, expression: str, user: str = "admin") -> set[int]:
        query = ListQuery(self.model, ctx(self.installed, user), entity, ListRequest(filter=expression or None, limit=500))
        with self.installed.engine.connect() as connection:
            return {row["id"] for row in query.run(connection).items}


@pytest.fixture(scope="module")
def world(shared: Installed) -> World:
    """Leads, opportunities, partners and deal registrations with random values, owners and creation times."""
    model = CatalogCache(shared.engine).model()
    service = RecordService(model)
    users = shared.seed.user_ids
    rnd = random.Random(20260105)

    def create(entity: str, values: dict[str, Any], at: datetime = START) -> int:
        with shared.engine.begin() as connection:
            return service.create(connection, ctx(shared, "admin", at, "import"), entity, values)["id"]

    account = create("account", {"name": "ACME"})
    for number in range(36):
        at = START + timedelta(days=rnd.randrange(0, 120), hours=rnd.randrange(0, 24), minutes=rnd.randrange(60))
        values = {"last_name": f"Lead {number}", "company": "Globex", "email": f"l{number}@x.example",
                  "source": rnd.choice(SOURCES), "rating": rnd.choice(RATINGS),
                  "owner_id": users[rnd.choice(("rep1", "rep2", "admin"))]}
        create("lead", {k: v for k, v in values.items() if v is not None}, at)
    for number in range(30):
        stage = rnd.choice(STAGES)
        amount = rnd.choice((None, *(str(Decimal(rnd.randrange(100, 900000)) / 100) for _ in range(4))))
        values = {"name": f"Deal {number}", "account": account, "stage": stage, "amount": amount,
                  "close_date": (date(2026, 1, 1) + timedelta(days=rnd.randrange(0, 400))).isoformat(),
                  "owner_id": users[rnd.choice(("rep1", "rep2"))]}
        if stage == "closed_won" and amount is None:
            values["amount"] = "1000.50"
        create("opportunity", {k: v for k, v in values.items() if v is not None})
    partners = [create("partner", {"name": f"Partner {n}", **({"tier": tier} if tier else {})})
                for n, tier in enumerate(TIERS)]
    for number in range(20):
        create("deal_registration", {"name": f"Registration {number}", "partner": rnd.choice(partners),
                                     "prospect_company": "Initech", "status": rnd.choice(("draft", "submitted")),
                                     "estimated_amount": str(rnd.randrange(1, 500) * 100)})
    return World(shared, model)


# -- Python's answer over the same records ------------------------------------------------------------


def expected(rows: list[dict[str, Any]], key: Callable[[dict], Any], measure: str = "count",
             field: str | None = None) -> dict[Any, tuple[int, Any]]:
    """``group key → (records, measure)`` computed in Python."""
    groups: dict[Any, list[dict]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    result = {}
    for group, members in groups.items():
        values = [Decimal(str(r[field])) for r in members if field and r[field] is not None]
        if measure == "count":
            value: Any = len(members)
        elif measure == "sum":
            value = sum(values, Decimal(0)) if values else None
        else:
            value = (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP) if values else None
        result[group] = (len(members), value)
    return result


def answered(aggregate: Aggregate, series: bool = False) -> dict[Any, tuple[int, Any]]:
    """``group key → (records, measure)`` from the aggregate (``(group, series)`` keys with series)."""
    result = {}
    for group in aggregate.groups:
        for lane in aggregate.series or (None,):
            cell = aggregate.cell(group.key, lane.key if lane else NO_SERIES)
            if cell.count:
                result[(group.value, lane.value) if series else group.value] = (cell.count, cell.value)
    return result


def monday(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


# -- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", ["count", "sum", "avg"])
def test_opportunities_by_stage_match_python(world: World, measure: str) -> None:
    field = None if measure == "count" else "amount"
    aggregate = world.aggregate(AggregateQuery("opportunity", measure, field, Grouping("stage")))
    assert answered(aggregate) == expected(world.rows("opportunity"), lambda r: r["stage"], measure, field)
    shown = [g.key for g in aggregate.groups]
    assert shown == [s for s in STAGES if s in shown], "picklist groups come in option order"
    assert {g.label for g in aggregate.groups} <= {"Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"}


def test_a_sales_rep_counts_only_their_own_records(world: World, shared: Installed) -> None:
    rep1 = shared.seed.user_ids["rep1"]
    mine = [r for r in world.rows("opportunity") if r["owner_id"] == rep1]
    assert 0 < len(mine) < len(world.rows("opportunity"))
    aggregate = world.aggregate(AggregateQuery("opportunity", "sum", "amount", Grouping("stage")), user="rep1")
    assert answered(aggregate) == expected(mine, lambda r: r["stage"], "sum", "amount")
    assert aggregate.total.count == len(mine)


def test_a_viewer_with_no_read_right_is_refused(world: World) -> None:
    with pytest.raises(Forbidden):
        world.aggregate(AggregateQuery("opportunity", group_by=Grouping("stage")), user="nobody")


def test_hidden_fields_cannot_be_summed_or_grouped(world: World) -> None:
    with pytest.raises(Invalid, match="amount"):
        world.aggregate(AggregateQuery("opportunity", "sum", "amount", Grouping("stage")), user="marketing")
    with pytest.raises(Invalid, match="budgeted_cost"):
        world.aggregate(AggregateQuery("campaign", "count", None, Grouping("budgeted_cost")), user="rep1")
    counted = world.aggregate(AggregateQuery("opportunity", group_by=Grouping("stage")), user="marketing")
    assert counted.total.count == len(world.rows("opportunity")), "marketing reads every opportunity, not its amount"


def test_filter_runs_in_sql_and_series_split_each_group(world: World) -> None:
    query = AggregateQuery("lead", group_by=Grouping("source"), series=Grouping("rating"), filter="rating != 'cold'")
    aggregate = world.aggregate(query)
    rows = [r for r in world.rows("lead") if r["rating"] != "cold" and r["rating"] is not None]
    assert answered(aggregate, series=True) == expected(rows, lambda r: (r["source"], r["rating"]))
    assert aggregate.groups[-1].key == "" and aggregate.groups[-1].filter == "source is empty", "empty values last"


@pytest.mark.parametrize("bucket", ["day", "week", "month", "quarter", "year"])
def test_date_buckets_match_python(world: World, bucket: str) -> None:
    starts: dict[str, Callable[[datetime], date]] = {
        "day": lambda m: m.astimezone(UTC).date(), "week": monday,
        "month": lambda m: m.astimezone(UTC).date().replace(day=1),
        "quarter": lambda m: date(m.year, (m.month - 1) // 3 * 3 + 1, 1), "year": lambda m: date(m.year, 1, 1),
    }
    aggregate = world.aggregate(AggregateQuery("lead", group_by=Grouping("created_at", bucket)))
    assert answered(aggregate) == expected(world.rows("lead"), lambda r: starts[bucket](r["created_at"]))
    periods = [g.value for g in aggregate.groups]
    assert periods == sorted(periods) and len(periods) >= len(answered(aggregate)), "periods in order, gaps filled"


def test_dates_by_month_and_the_drill_down_filter(world: World) -> None:
    aggregate = world.aggregate(AggregateQuery("opportunity", "sum", "amount", Grouping("close_date", "month")))
    rows = world.rows("opportunity")
    assert answered(aggregate) == expected(rows, lambda r: r["close_date"].replace(day=1), "sum", "amount")
    group = next(g for g in aggregate.groups if aggregate.cell(g.key).count)
    month = group.value
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    assert group.filter == f"close_date >= {month.isoformat()} and close_date < {following.isoformat()}"
    assert world.ids("opportunity", group.filter) == {r["id"] for r in rows if r["close_date"].replace(day=1) == month}


def test_weeks_of_instants_drill_down_to_exactly_their_records(world: World) -> None:
    aggregate = world.aggregate(AggregateQuery("lead", group_by=Grouping("created_at", "week")))
    rows = world.rows("lead")
    for group in aggregate.groups:
        assert group.filter.startswith(f"created_at >= {group.value.isoformat()}T00:00:00Z and created_at < ")
        assert world.ids("lead", group.filter) == {r["id"] for r in rows if monday(r["created_at"]) == group.value}


def test_every_group_and_series_drills_down_to_its_records_for_the_viewer(world: World) -> None:
    query = AggregateQuery("lead", group_by=Grouping("source"), series=Grouping("rating"), filter="source != 'web'")
    for user in ("admin", "rep2"):
        aggregate = world.aggregate(query, user=user)
        for group in aggregate.groups:
            for lane in aggregate.series:
                ids = world.ids("lead", aggregate.drill_filter(group, lane), user=user)
                assert len(ids) == aggregate.cell(group.key, lane.key).count, (user, group.key, lane.key)
        assert len(world.ids("lead", aggregate.drill_filter(), user=user)) == aggregate.total.count


def test_group_by_a_field_across_a_lookup(world: World) -> None:
    tiers = {r["id"]: r["tier"] for r in world.rows("partner")}
    query = AggregateQuery("deal_registration", "sum", "estimated_amount", Grouping("partner.tier"), Grouping("status"))
    aggregate = world.aggregate(query)
    rows = world.rows("deal_registration")
    assert answered(aggregate, series=True) == expected(rows, lambda r: (tiers[r["partner"]], r["status"]),
                                                        "sum", "estimated_amount")
    for group in aggregate.groups:
        ids = world.ids("deal_registration", group.filter)
        assert ids == {r["id"] for r in rows if tiers[r["partner"]] == group.value}


def test_lookups_group_by_id_and_booleans_as_yes_and_no(world: World) -> None:
    by_account = world.aggregate(AggregateQuery("opportunity", group_by=Grouping("account")))
    assert [(g.target, g.filter) for g in by_account.groups] == [("account", f"account = {by_account.groups[0].value}")]
    flags = world.aggregate(AggregateQuery("lead", group_by=Grouping("do_not_call", labels={"false": "May call"})))
    assert [(g.key, g.label, g.filter) for g in flags.groups] == [("false", "May call", "not (do_not_call)")]
    assert flags.cell("false").count == len(world.rows("lead")), "an empty boolean counts as no"


def test_a_single_number_and_totals(world: World) -> None:
    aggregate = world.aggregate(AggregateQuery("opportunity", "avg", "amount", filter="stage = 'closed_won'"))
    won = [r for r in world.rows("opportunity") if r["stage"] == "closed_won"]
    assert [g.key for g in aggregate.groups] == [ALL]
    assert answered(aggregate) == {None: expected(won, lambda r: None, "avg", "amount")[None]}
    assert aggregate.drill_filter() == "stage = 'closed_won'"
    averages = world.aggregate(AggregateQuery("opportunity", "avg", "amount", Grouping("stage")))
    everything = expected(world.rows("opportunity"), lambda r: None, "avg", "amount")[None][1]
    assert averages.total.value == everything, "the total of averages is the average over all records"


def test_a_filter_across_a_lookup_with_a_grouping_across_another(world: World) -> None:
    tiers = {r["id"]: r["tier"] for r in world.rows("partner")}
    query = AggregateQuery("deal_registration", group_by=Grouping("partner.tier"), series=Grouping("status"),
                           filter="partner.tier in ('gold', 'silver') and estimated_amount > 100")
    rows = [r for r in world.rows("deal_registration")
            if tiers[r["partner"]] in ("gold", "silver") and r["estimated_amount"] > 100]
    aggregate = world.aggregate(query)
    assert rows and answered(aggregate, series=True) == expected(rows, lambda r: (tiers[r["partner"]], r["status"]))
