"""Benchmark: compiled expressions against hand-written lambdas, and a segment in SQL against Python.

Run from the repository root: ``python -m bench.expressions`` (``--full`` for a
bigger run).  Prints compile time per rule, evaluations per second, the median
ratio lambda_time / compiled_time over rounds (>= 0.8 is the target) and
mismatches (must be 0); then times three segments as SQLite filters against
Python over the same rows and checks both select the same ids.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from xrm.db import make_engine
from xrm.metadata.model import Entity, Field, PicklistOption
from xrm.metadata.tables import entity_tables
from xrm.rules.expr import check_expression

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
COUNTRIES = ["US", "CA", "DE", "AT", "CH", "FR", "GB", "NL", "", None]
DOMAINS = ["gmail.com", "yahoo.com", "acme.com", "example.org", "GMAIL.COM"]
NAMES = ["McAllister", "Mcdonald", "Smith", "Jones", "Müller", "O'Brien", "mcKenzie", "", None]


def _options(*values: str) -> tuple[PicklistOption, ...]:
    return tuple(PicklistOption(v, v.title(), i) for i, v in enumerate(values))


def bench_entities() -> dict[str, Entity]:
    """A lead with the fields sales-operations rules read, and its account."""
    account = Entity("account", "Account", "Accounts", "bench", "name", (
        Field("name", "text", "Name"),
        Field("region", "picklist", "Region", options=_options("west", "east", "north", "south")),
    ))
    lead = Entity("lead", "Lead", "Leads", "bench", "last_name", (
        Field("last_name", "text", "Last name"), Field("email", "email", "E-mail"),
        Field("country", "text", "Country", max_length=2), Field("employees", "integer", "Employees"),
        Field("annual_revenue", "currency", "Annual revenue", precision=18, scale=2),
        Field("is_hot", "boolean", "Hot"), Field("close_date", "date", "Close date"),
        Field("last_activity_at", "datetime", "Last activity"), Field("response_time", "duration", "Response time"),
        Field("status", "picklist", "Status", options=_options("new", "working", "qualified", "lost")),
        Field("rating", "picklist", "Rating", options=_options("hot", "warm", "cold")),
        Field("tags", "multi_picklist", "Tags", options=_options("vip", "partner", "press", "churn_risk")),
        Field("account", "lookup", "Account", target="account", on_delete="set_null"),
    ))
    return {"lead": lead, "account": account}


ACCOUNTS = [{"id": i, "name": f"Account {i}", "region": ["west", "east", "north", "south", None][i % 5]}
            for i in range(1, 51)]


def make_leads(count: int, seed: int = 42) -> list[dict[str, Any]]:
    """``count`` deterministic lead rows (flat: ``account`` is an id)."""
    rng = random.Random(seed)

    def maybe(value: Any, chance: float = 0.15) -> Any:
        return None if rng.random() < chance else value

    rows = []
    for index in range(1, count + 1):
        name = rng.choice(NAMES)
        rows.append({
            "id": index, "last_name": name,
            "email": maybe(f"{(name or 'x').lower()}{index}@{rng.choice(DOMAINS)}"),
            "country": rng.choice(COUNTRIES), "employees": maybe(rng.randint(0, 5000)),
            "annual_revenue": maybe(Decimal(rng.randint(0, 300_000_000)) / 100, 0.25),
            "is_hot": maybe(rng.random() < 0.3), "close_date": maybe(TODAY + timedelta(days=rng.randint(-90, 120))),
            "last_activity_at": maybe(NOW - timedelta(seconds=rng.randint(0, 60 * 86400))),
            "response_time": maybe(rng.randint(0, 3 * 86400)),
            "status": maybe(rng.choice(["new", "working", "qualified", "lost"]), 0.05),
            "rating": maybe(rng.choice(["hot", "warm", "cold"]), 0.3),
            "tags": maybe(rng.sample(["vip", "partner", "press", "churn_risk"], rng.randint(0, 2)), 0.3),
            "account": maybe(rng.randint(1, 50), 0.2),
        })
    return rows


def as_record(row: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A row as the compiled callable expects it: the account lookup expanded into a mapping."""
    return {**row, "account": accounts.get(row["account"])}


def _ends(text: str | None, suffix: str) -> bool:
    return text is not None and text.lower().endswith(suffix)


#: (name, DSL source, the lambda a careful Python developer would write, honouring the same null rules)
RULES: list[tuple[str, str, Callable[[dict], Any]]] = [
    ("north america enterprise", "country in ('US', 'CA') and annual_revenue >= 1000000",
     lambda r: r.get("country") in ("US", "CA") and (v := r.get("annual_revenue")) is not None and v >= 1000000),
    ("big by revenue or staff", "annual_revenue > 500000 or employees >= 200",
     lambda r: ((v := r.get("annual_revenue")) is not None and v > 500000)
     or ((e := r.get("employees")) is not None and e >= 200)),
    ("hot and open", "rating = 'hot' and status in ('new', 'working')",
     lambda r: r.get("rating") == "hot" and r.get("status") in ("new", "working")),
    ("free-mail domains", "email ends_with '@gmail.com' or email ends_with '@yahoo.com'",
     lambda r: _ends(r.get("email"), "@gmail.com") or _ends(r.get("email"), "@yahoo.com")),
    ("vip without churn risk", "'vip' in tags and 'churn_risk' not in tags",
     lambda r: "vip" in (r.get("tags") or ()) and "churn_risk" not in (r.get("tags") or ())),
    ("closing in 30 days", "close_date <= today() + 30d and close_date >= today()",
     lambda r: (d := r.get("close_date")) is not None and TODAY <= d <= TODAY + timedelta(days=30)),
    ("stale and not lost (escalation)", "last_activity_at < now() - 14d and status != 'lost'",
     lambda r: (t := r.get("last_activity_at")) is not None and t < NOW - timedelta(days=14)
     and (s := r.get("status")) is not None and s != "lost"),
    ("west accounts over 100k", "account.region = 'west' and annual_revenue > 100000",
     lambda r: (a := r.get("account")) is not None and a.get("region") == "west"
     and (v := r.get("annual_revenue")) is not None and v > 100000),
    ("hot and slow response (escalation)", "is_hot and response_time > 4h",
     lambda r: r.get("is_hot") is True and (t := r.get("response_time")) is not None and t > 14400),
    ("missing contact data", "country is empty or email is empty",
     lambda r: r.get("country") in (None, "") or r.get("email") in (None, "")),
    ("Mc surnames", "lower(last_name) starts_with 'mc'",
     lambda r: (n := r.get("last_name")) is not None and n.lower().startswith("mc")),
    ("revenue per employee", "coalesce(annual_revenue, 0) / coalesce(employees, 1) > 10000",
     lambda r: (e := r.get("employees")) != 0
     and (r.get("annual_revenue") or 0) / (1 if e is None else e) > 10000),
    ("partners or warm", "tags contains 'partner' or rating = 'warm'",
     lambda r: "partner" in (r.get("tags") or ()) or r.get("rating") == "warm"),
    ("overdue working leads", "days_between(close_date, today()) > 7 and status = 'working'",
     lambda r: (d := r.get("close_date")) is not None and (TODAY - d).days > 7 and r.get("status") == "working"),
    ("DACH hot or rich VIP (segment)",
     "(country in ('DE', 'AT', 'CH') and rating = 'hot') or (annual_revenue >= 250000 and 'vip' in tags)",
     lambda r: (r.get("country") in ("DE", "AT", "CH") and r.get("rating") == "hot")
     or ((v := r.get("annual_revenue")) is not None and v >= 250000 and "vip" in (r.get("tags") or ()))),
]
SEGMENTS = ["DACH hot or rich VIP (segment)", "closing in 30 days", "west accounts over 100k"]


def _time(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench_rules(records: list[dict[str, Any]], rounds: int) -> list[float]:
    entities = bench_entities()
    context = {"now": NOW}
    ratios, total_mismatches = [], 0
    print(f"{'rule':38} {'compile ms':>10} {'evals/s':>12} {'ratio':>6} {'mismatch':>8}")
    for name, source, hand_written in RULES:
        compile_times = [_time(lambda: check_expression(source, entities["lead"], entities, expected="boolean"))
                         for _ in range(20)]
        compiled = check_expression(source, entities["lead"], entities, expected="boolean").python
        mismatches = sum(bool(compiled(r, context)) != bool(hand_written(r)) for r in records)
        total_mismatches += mismatches
        rule_ratios, compiled_times = [], []
        for _ in range(rounds):
            compiled_time = _time(lambda: list(map(compiled, records, repeat(context))))
            lambda_time = _time(lambda: list(map(hand_written, records)))
            rule_ratios.append(lambda_time / compiled_time)
            compiled_times.append(compiled_time)
        ratio = statistics.median(rule_ratios)
        ratios.append(ratio)
        rate = len(records) / statistics.median(compiled_times)
        print(f"{name:38} {statistics.median(compile_times) * 1000:10.2f} {rate:12,.0f} {ratio:6.2f} {mismatches:8d}")
    print(f"median ratio lambda/compiled over {len(RULES)} rules: {statistics.median(ratios):.2f}"
          f" (min {min(ratios):.2f}); mismatches: {total_mismatches}")
    return ratios


def bench_sql(rows: list[dict[str, Any]], records: list[dict[str, Any]], rounds: int) -> int:
    entities = bench_entities()
    tables = entity_tables(entities.values())
    mismatched = 0
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        tables["lead"].metadata.create_all(engine)
        system = {"version": 1, "created_at": NOW, "updated_at": NOW}
        with engine.begin() as connection:
            connection.execute(insert(tables["account"]), [
                {c.name: {**system, **a}.get(c.name) for c in tables["account"].c} for a in ACCOUNTS])
            connection.execute(insert(tables["lead"]), [
                {c.name: {**system, **r}.get(c.name) for c in tables["lead"].c} for r in rows])
        print(f"\nsegments over {len(rows):,} rows on SQLite (median of {rounds} rounds)")
        print(f"{'segment':38} {'sql ms':>8} {'python ms':>10} {'selected':>9} {'same ids':>8}")
        for name in SEGMENTS:
            source = next(s for n, s, _ in RULES if n == name)
            checked = check_expression(source, entities["lead"], entities, expected="boolean")
            statement = checked.apply_filter(select(tables["lead"].c.id), tables, now=NOW)

            def run_sql() -> set[int]:
                with engine.connect() as connection:
                    return set(connection.scalars(statement))

            def run_python() -> set[int]:
                return {r["id"] for r in records if checked.python(r, {"now": NOW})}

            sql_ids, python_ids = run_sql(), run_python()
            same = sql_ids == python_ids
            mismatched += not same
            sql_ms = statistics.median(_time(run_sql) for _ in range(rounds)) * 1000
            python_ms = statistics.median(_time(run_python) for _ in range(rounds)) * 1000
            print(f"{name:38} {sql_ms:8.1f} {python_ms:10.1f} {len(sql_ids):9,d} {'yes' if same else 'NO':>8}")
        engine.dispose()
    return mismatched


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 records and 15 rounds")
    args = parser.parse_args(argv)
    count, rounds = (100_000, 15) if args.full else (20_000, 7)
    rows = make_leads(count)
    accounts = {a["id"]: a for a in ACCOUNTS}
    records = [as_record(r, accounts) for r in rows]
    print(f"{len(records):,} lead records, {len(RULES)} rules, {rounds} rounds\n")
    bench_rules(records, rounds)
    bench_sql(rows, records, max(3, rounds // 2))


if __name__ == "__main__":
    main()
