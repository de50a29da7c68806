"""Record lists: filters run in SQL, sorting, keyset cursors, quick search, related lists and what a caller may see.

The database tests run on SQLite and PostgreSQL (the ``installed`` fixture);
sort parsing and ``visible_entities`` are checked against the bundled packs'
catalog without a database.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PACKS_DIR
from tests.runtime.conftest import CAST, Installed
from xrm.context import Actor, Context
from xrm.metadata.org import platform_catalog
from xrm.metadata.validation import validate_pack
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.permissions import entity_access
from xrm.runtime.queries import MAX_LIMIT, ListQuery, ListRequest, Page, parse_sort, visible_entities
from xrm.runtime.record_errors import Forbidden, Invalid, RecordError
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 2, 1, 8, 0, 1, 500, tzinfo=UTC)


# -- helpers ------------------------------------------------------------------------------------


def ctx(installed: Installed, name: str, source: str = "api") -> Context:
    """The cast member's context, built without a query (SQLite allows one writer: no second connection)."""
    roles, is_admin = CAST[name]
    return Context(Actor(name, installed.seed.user_ids[name], frozenset(roles), is_admin), source, NOW)  # type: ignore[arg-type]


class Lists:
    """Creates records and runs list queries on one installed database."""

    def __init__(self, installed: Installed) -> None:
        self.installed = installed
        self.model = CatalogCache(installed.engine).model()
        self.service = RecordService(self.model)

    def create(self, entity: str, values: dict[str, Any], *, owner: str = "admin") -> dict[str, Any]:
        values = {**values, "owner_id": self.installed.seed.user_ids[owner]}
        with self.installed.engine.begin() as connection:
            return self.service.create(connection, ctx(self.installed, "admin", "import"), entity, values)

    def query(self, entity: str, *, user: str = "admin", parent: tuple[str, int] | None = None, **request: Any) -> ListQuery:
        return ListQuery(self.model, ctx(self.installed, user), entity, ListRequest(**request), parent=parent)

    def page(self, entity: str, *, user: str = "admin", parent: tuple[str, int] | None = None, **request: Any) -> Page:
        query = self.query(entity, user=user, parent=parent, **request)
        with self.installed.engine.connect() as connection:
            return query.run(connection)

    def ids(self, entity: str, **kwargs: Any) -> list[int]:
        return [row["id"] for row in self.page(entity, **kwargs).items]


@pytest.fixture
def lists(installed: Installed) -> Lists:
    return Lists(installed)


@pytest.fixture(scope="module")
def model() -> RecordModel:
    catalog = platform_catalog()
    for name in ("crm", "service", "partners"):
        catalog = catalog.with_pack(validate_pack(PACKS_DIR / name, catalog).raise_for_errors())
    return RecordModel(catalog)


def codes(error: RecordError) -> set[tuple[str | None, str]]:
    return {(e.field, e.code) for e in error.errors}


def expected_order(rows: list[dict[str, Any]], keys: list[tuple[str, bool]]) -> list[int]:
    """Ids in the documented order: each key ascending with NULLs last or descending with NULLs first, then id."""

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, descending in [*keys, ("id", False)]:
            x, y = a[name], b[name]
            if x == y:
                continue
            if x is None or y is None:
                nulls_after = not descending
                return (1 if nulls_after else -1) * (1 if x is None else -1)
            result = -1 if x < y else 1
            return -result if descending else result
        return 0

    return [row["id"] for row in sorted(rows, key=functools.cmp_to_key(compare))]


def sort_text(keys: list[tuple[str, bool]]) -> str:
    return ",".join(("-" if descending else "") + name for name, descending in keys)


# -- datasets ----------------------------------------------------------------------------------

RATINGS = ["hot", "warm", None, "cold", "warm"]
REVENUES = [None, "100", "100", "5000.50", None, "0", "0.5"]
NAMES = ["Doe", "Roe", "doe", "Poe", "Zed", "apple"]
EMPLOYEES = [None, 5, 5, 120]
ACTIVITY = [None, T1, T2, T1, None, None]


def seed_leads(lists: Lists, count: int = 23) -> list[dict[str, Any]]:
    """Leads with many ties and NULLs in every sortable column; returns them as stored."""
    for i in range(count):
        lists.create("lead", {
            "last_name": NAMES[i % len(NAMES)], "company": f"Company {i % 4}", "email": f"l{i}@example.com",
            "rating": RATINGS[i % len(RATINGS)], "annual_revenue": REVENUES[i % len(REVENUES)],
            "number_of_employees": EMPLOYEES[i % len(EMPLOYEES)], "last_activity_at": ACTIVITY[i % len(ACTIVITY)],
            "do_not_call": i % 3 == 0, "industry": ["banking", "retail", "energy"][i % 3],
            "region": ["west", None, "east"][i % 3],
        })
    return lists.page("lead", limit=MAX_LIMIT).items


def pages_by_cursor(lists: Lists, sort: str, limit: int, **request: Any) -> list[int]:
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(100):
        page = lists.page("lead", sort=sort, limit=limit, cursor=cursor, with_total=False, **request)
        seen += [row["id"] for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ran out")


def pages_by_offset(lists: Lists, sort: str, limit: int) -> list[int]:
    seen: list[int] = []
    for offset in range(0, 1000, limit):
        page = lists.page("lead", sort=sort, limit=limit, offset=offset, with_total=False)
        if not page.items:
            return seen
        seen += [row["id"] for row in page.items]
    raise AssertionError("offset paging never ran out")


# -- filters -----------------------------------------------------------------------------------

FILTERS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("industry = 'retail'", lambda r: r["industry"] == "retail"),
    ("annual_revenue >= 100", lambda r: r["annual_revenue"] is not None and r["annual_revenue"] >= 100),
    ("annual_revenue < 1", lambda r: r["annual_revenue"] is not None and r["annual_revenue"] < 1),
    ("region != 'west'", lambda r: r["region"] is not None and r["region"] != "west"),
    ("not (region = 'west')", lambda r: r["region"] != "west"),
    ("region is empty", lambda r: r["region"] is None),
    ("last_name = 'doe'", lambda r: r["last_name"] == "doe"),
    ("last_name like 'D%'", lambda r: r["last_name"].lower().startswith("d")),
    ("industry in ('banking', 'retail') and number_of_employees is not empty",
     lambda r: r["industry"] in ("banking", "retail") and r["number_of_employees"] is not None),
    ("last_activity_at > 2026-02-01T08:00:00Z", lambda r: r["last_activity_at"] is not None and r["last_activity_at"] > T1),
    ("do_not_call", lambda r: r["do_not_call"] is True),
    ("number_of_employees * 2 > 100 or rating = 'hot'",
     lambda r: (r["number_of_employees"] is not None and r["number_of_employees"] * 2 > 100) or r["rating"] == "hot"),
]


def test_filters_select_exactly_the_expected_records(lists: Lists) -> None:
    rows = seed_leads(lists)
    for expression, predicate in FILTERS:
        expected = sorted(r["id"] for r in rows if predicate(r))
        page = lists.page("lead", filter=expression, limit=MAX_LIMIT)
        assert sorted(r["id"] for r in page.items) == expected, expression
        assert page.total == len(expected), expression
    assert any(predicate(r) for r in rows for _, predicate in FILTERS)


def test_filter_constants_are_bound_parameters(lists: Lists) -> None:
    sql = str(lists.query("lead", filter="company = 'x\\'; drop table lead; --'").statement().compile())
    assert "drop table" not in sql.lower()


@pytest.mark.parametrize("expression, found", [
    ("status = ", "1:10"),
    ("annual_revenue = 'many'", "1:"),
    ("annual_revenue", "1:1"),
    ("nosuchfield = 1", "unknown field"),
])
def test_a_bad_filter_is_invalid_with_its_position(model: RecordModel, expression: str, found: str) -> None:
    context = Context(Actor("admin", 1, is_admin=True), "api", NOW)
    with pytest.raises(Invalid) as caught:
        ListQuery(model, context, "lead", ListRequest(filter=expression))
    assert codes(caught.value) == {("filter", "invalid_filter")}
    assert any(found in e.message for e in caught.value.errors), [e.message for e in caught.value.errors]


# -- sorting -----------------------------------------------------------------------------------


def test_sort_on_several_keys(lists: Lists) -> None:
    rows = seed_leads(lists)
    for keys in ([("industry", False), ("annual_revenue", True)], [("rating", False), ("last_name", True), ("id", True)],
                 [("last_activity_at", True), ("number_of_employees", False)]):
        assert lists.ids("lead", sort=sort_text(keys), limit=MAX_LIMIT) == expected_order(rows, keys), keys


def test_nulls_sort_last_ascending_and_first_descending(lists: Lists) -> None:
    seed_leads(lists, count=8)
    ascending = [r["annual_revenue"] for r in lists.page("lead", sort="annual_revenue", limit=MAX_LIMIT).items]
    descending = [r["annual_revenue"] for r in lists.page("lead", sort="-annual_revenue", limit=MAX_LIMIT).items]
    present = sorted(v for v in ascending if v is not None)
    assert len(present) == 5
    assert ascending == [*present, None, None, None]
    assert descending == [None, None, None, *reversed(present)]
    assert present[0] == Decimal("0.00")


def test_text_sorts_by_code_point(lists: Lists) -> None:
    rows = seed_leads(lists, count=6)
    names = [r["last_name"] for r in lists.page("lead", sort="last_name", limit=MAX_LIMIT).items]
    assert names == sorted(r["last_name"] for r in rows) == ["Doe", "Poe", "Roe", "Zed", "apple", "doe"]


def test_sort_keys_are_checked(model: RecordModel) -> None:
    lead, admin = model.entity("lead"), entity_access(model.catalog, Actor.system(), "lead")
    assert [(k.field, k.descending) for k in parse_sort(" -annual_revenue , last_name,created_at", lead, admin)] == \
        [("annual_revenue", True), ("last_name", False), ("created_at", False)]
    assert parse_sort("", lead, admin) == () and parse_sort(None, lead, admin) == ()
    with pytest.raises(Invalid) as caught:
        parse_sort("last_nme,-nothing", lead, admin)
    assert codes(caught.value) == {("sort", "unknown_field")}
    assert len(caught.value.errors) == 2 and "last_name" in caught.value.errors[0].message
    contact = model.entity("contact")
    with pytest.raises(Invalid) as caught:
        parse_sort("preferred_channels", contact, entity_access(model.catalog, Actor.system(), "contact"))
    assert codes(caught.value) == {("sort", "not_sortable")}
    with pytest.raises(Invalid) as caught:
        parse_sort("status,rating,city,country,region,company", lead, admin)
    assert codes(caught.value) == {("sort", "too_many")}


# -- paging ------------------------------------------------------------------------------------

SORTABLE = ["rating", "annual_revenue", "last_name", "number_of_employees", "last_activity_at", "created_at",
            "id", "industry", "region", "owner_id"]


def test_keyset_paging_returns_every_record_once_in_offset_order(lists: Lists) -> None:
    rows = seed_leads(lists)

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(keys=st.lists(st.tuples(st.sampled_from(SORTABLE), st.booleans()), min_size=1, max_size=3,
                         unique_by=lambda k: k[0]),
           limit=st.integers(1, 7))
    def check(keys: list[tuple[str, bool]], limit: int) -> None:
        sort = sort_text(keys)
        by_cursor = pages_by_cursor(lists, sort, limit)
        assert by_cursor == pages_by_offset(lists, sort, limit)
        assert by_cursor == expected_order(rows, keys)
        assert sorted(by_cursor) == sorted(r["id"] for r in rows)

    check()


@pytest.mark.parametrize("sort", ["rating,-last_activity_at", "-annual_revenue,last_name,-number_of_employees"])
def test_keyset_paging_with_a_filter(lists: Lists, sort: str) -> None:
    rows = seed_leads(lists)
    keys = [(k.lstrip("-"), k.startswith("-")) for k in sort.split(",")]
    expected = expected_order([r for r in rows if r["industry"] != "banking"], keys)
    assert pages_by_cursor(lists, sort, 4, filter="industry != 'banking'") == expected


def test_keyset_paging_sorted_by_a_boolean(lists: Lists) -> None:
    rows = seed_leads(lists, count=9)
    for keys in ([("do_not_call", False)], [("do_not_call", True), ("rating", False)]):
        assert pages_by_cursor(lists, sort_text(keys), 2) == expected_order(rows, keys), keys


def test_keyset_paging_sorted_by_a_formula(lists: Lists) -> None:
    rows = seed_leads(lists, count=9)
    assert pages_by_cursor(lists, "full_name", 2) == expected_order(rows, [("full_name", False)])


def test_keyset_paging_sorted_by_an_autonumber(lists: Lists) -> None:
    for i in range(5):
        lists.create("case", {"subject": f"case {i}"})
    numbers: list[str] = []
    cursor = None
    while True:
        page = lists.page("case", sort="-case_number", limit=2, cursor=cursor)
        numbers += [row["case_number"] for row in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert numbers == [f"CASE-0000{i}" for i in (5, 4, 3, 2, 1)]


def test_page_totals_and_the_last_cursor(lists: Lists) -> None:
    seed_leads(lists, count=4)
    first = lists.page("lead", limit=2)
    assert (len(first.items), first.total, first.limit, first.offset) == (2, 4, 2, 0)
    assert first.next_cursor is not None
    second = lists.page("lead", limit=2, cursor=first.next_cursor)
    assert [r["id"] for r in second.items] == [3, 4]
    assert second.next_cursor is None  # exactly the last records: no empty page to fetch
    assert lists.page("lead", limit=2, with_total=False).total is None
    assert lists.page("lead", limit=2, offset=3).items[0]["id"] == 4


def cursor_of(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_tampered_or_foreign_cursors_are_invalid(lists: Lists) -> None:
    seed_leads(lists, count=6)
    cursor = lists.page("lead", sort="-annual_revenue", limit=2).next_cursor
    assert cursor is not None
    fingerprint, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    bad = {
        "garbage": "not a cursor!",
        "not json": base64.urlsafe_b64encode(b"{nope").decode(),
        "not a pair": cursor_of({"a": 1}),
        "other sort": lists.page("lead", sort="annual_revenue", limit=2).next_cursor,
        "wrong fingerprint": cursor_of(["0" * 12, values]),
        "too few values": cursor_of([fingerprint, values[:1]]),
        "wrong types": cursor_of([fingerprint, ["lots", "x"]]),
        "values not a list": cursor_of([fingerprint, "x"]),
    }
    lists.create("account", {"name": "A"})
    lists.create("account", {"name": "B"})
    bad["other entity"] = lists.page("account", sort="-annual_revenue", limit=1).next_cursor
    assert lists.page("lead", sort="-annual_revenue", limit=2, cursor=cursor).items
    for what, text in bad.items():
        assert text is not None, what
        with pytest.raises(Invalid) as caught:
            lists.page("lead", sort="-annual_revenue", limit=2, cursor=text)
        assert codes(caught.value) == {("cursor", "invalid_cursor")}, what


def test_cursor_and_offset_together_are_invalid(model: RecordModel) -> None:
    context = Context(Actor.system(), "api", NOW)
    with pytest.raises(Invalid) as caught:
        ListQuery(model, context, "lead", ListRequest(cursor="abc", offset=10))
    assert codes(caught.value) == {("offset", "conflict")}


@pytest.mark.parametrize("limit, offset, problems", [
    (0, 0, {("limit", "out_of_range")}),
    (MAX_LIMIT + 1, 0, {("limit", "out_of_range")}),
    (-5, -1, {("limit", "out_of_range"), ("offset", "out_of_range")}),
    ("10", 0, {("limit", "out_of_range")}),
])
def test_limit_and_offset_bounds(model: RecordModel, limit: Any, offset: Any, problems: set[tuple[str, str]]) -> None:
    context = Context(Actor.system(), "api", NOW)
    with pytest.raises(Invalid) as caught:
        ListQuery(model, context, "lead", ListRequest(limit=limit, offset=offset))
    assert codes(caught.value) == problems


def test_the_largest_and_smallest_limits_are_accepted(lists: Lists) -> None:
    seed_leads(lists, count=3)
    assert len(lists.page("lead", limit=1).items) == 1
    assert len(lists.page("lead", limit=MAX_LIMIT).items) == 3
    assert lists.query("lead").request.limit == 50


# -- quick search ------------------------------------------------------------------------------


def test_quick_search_ignores_case_and_matches_percent_and_underscore_literally(lists: Lists) -> None:
    names = {}
    for company in ("100% Juice_Co", "1000 Juices", "JuiceXCo Ltd", "a/b Trading"):
        names[company] = lists.create("lead", {"last_name": "Doe", "company": company, "email": "x@example.com"})["id"]

    def found(text: str) -> set[int]:
        return {r["id"] for r in lists.page("lead", search=text, limit=MAX_LIMIT).items}

    assert found("JUICE") == {names["100% Juice_Co"], names["1000 Juices"], names["JuiceXCo Ltd"]}
    assert found("100%") == {names["100% Juice_Co"]}
    assert found("e_c") == {names["100% Juice_Co"]}
    assert found("%") == {names["100% Juice_Co"]}
    assert found("a/b") == {names["a/b Trading"]}
    assert found("  juices ") == {names["1000 Juices"]}
    assert found("nothing like it") == set()


def test_quick_search_looks_in_text_fields_only(lists: Lists) -> None:
    lead = lists.create("lead", {"last_name": "Doe", "company": "ACME", "email": "doe@example.org",
                                 "status": "working", "number_of_employees": 4242, "phone": "+49 30 1234"})

    def found(text: str) -> list[int]:
        return [r["id"] for r in lists.page("lead", search=text).items]

    assert found("example.org") == [lead["id"]]  # e-mail and phone are text
    assert found("30 12") == [lead["id"]]
    assert found("working") == []  # a picklist value
    assert found("4242") == []  # a number


def test_quick_search_text_is_limited(model: RecordModel) -> None:
    context = Context(Actor.system(), "api", NOW)
    with pytest.raises(Invalid) as caught:
        ListQuery(model, context, "lead", ListRequest(search="x" * 201))
    assert codes(caught.value) == {("q", "too_long")}
    ListQuery(model, context, "lead", ListRequest(search="x" * 200))


# -- scope, related lists, lookups --------------------------------------------------------------


def test_lists_never_leave_the_record_scope(lists: Lists) -> None:
    mine = lists.create("lead", {"last_name": "Mine", "company": "A", "email": "a@example.com"}, owner="rep1")
    lists.create("lead", {"last_name": "Theirs", "company": "B", "email": "b@example.com"}, owner="rep3")
    assert lists.ids("lead", user="rep1") == [mine["id"]]
    assert lists.page("lead", user="rep1", filter="last_name = 'Theirs'").total == 0
    assert lists.page("lead", user="manager").total == 2
    with pytest.raises(Forbidden):
        lists.query("lead", user="agent")


def test_a_related_list_holds_the_records_pointing_to_the_parent(lists: Lists) -> None:
    acme = lists.create("account", {"name": "ACME"}, owner="rep1")
    globex = lists.create("account", {"name": "Globex"}, owner="rep1")
    at_acme = [lists.create("contact", {"last_name": n, "account": acme["id"]}, owner=o)["id"]
               for n, o in (("A", "rep1"), ("B", "rep2"), ("C", "rep3"))]
    lists.create("contact", {"last_name": "D", "account": globex["id"]}, owner="rep1")
    lists.create("contact", {"last_name": "E"}, owner="rep1")
    assert lists.ids("contact", parent=("account", acme["id"])) == at_acme
    assert lists.ids("contact", parent=("account", acme["id"]), user="rep1") == [at_acme[0], at_acme[2]]
    assert lists.page("contact", parent=("account", acme["id"]), user="rep2").total == 1
    assert lists.ids("contact", parent=("account", acme["id"]), filter="last_name != 'A'") == at_acme[1:]


def test_a_lookup_outside_the_callers_scope_reads_as_empty_in_filters(lists: Lists) -> None:
    foreign = lists.create("account", {"name": "Foreign", "industry": "technology"}, owner="rep2")
    team = lists.create("account", {"name": "Team", "industry": "technology"}, owner="rep3")
    to_foreign = lists.create("contact", {"last_name": "F", "account": foreign["id"]}, owner="rep1")
    to_team = lists.create("contact", {"last_name": "T", "account": team["id"]}, owner="rep1")
    alone = lists.create("contact", {"last_name": "N"}, owner="rep1")
    tech = "account.industry = 'technology'"
    assert lists.ids("contact", user="manager", filter=tech) == [to_foreign["id"], to_team["id"]]
    page = lists.page("contact", user="rep1", filter=tech)
    assert [r["id"] for r in page.items] == [to_team["id"]] and page.total == 1
    assert lists.ids("contact", user="rep1", filter="account.industry is empty") == [to_foreign["id"], alone["id"]]
    assert lists.ids("contact", user="rep1", filter="account.name = 'Foreign'") == []


def test_a_hidden_field_filters_and_sorts_as_an_unknown_field(lists: Lists) -> None:
    account = lists.create("account", {"name": "ACME"})
    lists.create("opportunity", {"name": "Deal", "account": account["id"], "amount": "500"})
    assert lists.page("opportunity", user="manager", filter="amount > 100").total == 1
    for expression in ("amount > 100", "net_amount > 0", "amountt > 100"):
        with pytest.raises(Invalid) as caught:
            lists.query("opportunity", user="marketing", filter=expression)
        assert codes(caught.value) == {("filter", "invalid_filter")}, expression
        message = caught.value.errors[0].message
        assert "unknown field" in message and "did you mean 'amount'" not in message, message
    with pytest.raises(Invalid) as caught:
        lists.query("opportunity", user="marketing", sort="-amount")
    assert codes(caught.value) == {("sort", "unknown_field")}
    assert "amount" not in lists.page("opportunity", user="marketing").items[0]
    with pytest.raises(Invalid):  # hidden behind a lookup: campaigns' costs are hidden from sales reps
        lists.query("opportunity", user="rep1", filter="campaign.budgeted_cost > 0")


def test_visible_entities_leave_out_hidden_fields_and_unreadable_entities(model: RecordModel) -> None:
    marketing = Actor("marketing", 1, frozenset({"marketing_user"}))
    seen = visible_entities(model, marketing)
    opportunity = seen["opportunity"]
    assert {"amount", "discount_percent", "net_amount", "expected_revenue"}.isdisjoint(opportunity.field_names)
    assert {"name", "stage", "probability"} <= set(opportunity.field_names)
    assert seen["lead"].field_names == model.entity("lead").field_names
    assert "case" not in seen and "partner" not in seen
    agent = visible_entities(model, Actor("agent", 2, frozenset({"support_agent"})))
    assert "lead" not in agent and "annual_revenue" not in agent["account"].field_names
    assert set(visible_entities(model, Actor.system())) == set(model.catalog.entities)
    assert {e.pack for e in visible_entities(model, Actor("nobody", 3)).values()} == {"platform"}  # who is who

