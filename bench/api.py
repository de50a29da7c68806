"""Benchmark: the write path, a record read and a list page, each against a bare baseline in the same run.

Run from the repository root: ``python -m bench api`` (``--full`` for the
million-lead list).  Prints three ratios, medians over interleaved rounds:

1. creates per second through ``RecordService`` (coerce, defaults, formulas,
   validation, unique checks, insert, audit) ÷ a raw SQLAlchemy Core insert of
   the same row plus its audit row, one transaction each (target ≥ 0.33);
2. ``GET /api/lead/{id}`` requests per second (authentication, permissions,
   field hiding, JSON) ÷ a bare Starlette endpoint running the same SELECT
   (target ≥ 0.5) — both in-process through the ASGI test client;
3. on PostgreSQL with many leads: a filtered, sorted page
   ``GET /api/lead?filter=region = 'dach' and status = 'working'&sort=-last_activity_at``
   ÷ the same SQL (page + total) plus JSON encoding (target ≤ 1.5), with p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from bench.postgres import scratch_database, unreachable
from xrm.bootstrap import bundled_pack_dirs, prepare_database
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine, read_only
from xrm.runtime.audit import changed_fields
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.jsonvalues import to_json
from xrm.runtime.records import RecordService
from xrm.runtime.users import add_user, create_token
from xrm.system_tables import audit_log
from xrm.ui.app import create_app

PACKS = Path(__file__).resolve().parent.parent / "packs"
REGIONS = ["north", "south", "east", "west", "central", "dach", "benelux", "nordics", "uk_ireland", "apac", "latam", "mea"]
STATUSES = ["new", "working", "nurturing", "qualified", "unqualified", "converted"]


def lead_input(i: int) -> dict[str, Any]:
    return {"last_name": f"Lead {i}", "first_name": "Pat", "company": f"Company {i % 97}",
            "email": f"lead{i}@example.com", "region": REGIONS[i % 12],
            "country": "DE", "rating": "warm", "annual_revenue": "125000.00", "number_of_employees": 40}


def setup_database(url: str) -> tuple[Engine, str]:
    """Migrate, install the bundled packs, add an administrator; returns the engine and its API token."""
    engine = make_engine(url)
    prepare_database(engine, bundled_pack_dirs(PACKS), Context(Actor.system("bench"), "cli"))
    with engine.begin() as connection:
        user_id = add_user(connection, "bench", now=utc_now(), password="bench", is_admin=True)
        token = create_token(connection, user_id, "bench", now=utc_now())
    return engine, token


def median_ratio(rounds: int, baseline: Callable[[], float], measured: Callable[[], float]) -> tuple[float, float, float]:
    """Median over interleaved rounds of baseline_time / measured_time, and the median times."""
    ratios, base_times, our_times = [], [], []
    for _ in range(rounds):
        base, ours = baseline(), measured()
        base_times.append(base)
        our_times.append(ours)
        ratios.append(base / ours)
    return statistics.median(ratios), statistics.median(base_times), statistics.median(our_times)


# -- 1. the write path ------------------------------------------------------------------------------

def bench_writes(engine: Engine, creates: int, rounds: int) -> None:
    model = CatalogCache(engine).model()
    service = RecordService(model)
    context = Context(Actor.system("bench"), "api")
    lead = model.table("lead")
    counter = iter(range(10**9))
    with engine.begin() as connection:  # the row the service writes, to insert the very same one raw
        sample = service.create(connection, context, "lead", lead_input(0))
    fields = (*model.entity("lead").field_names, "owner_id")

    def through_service() -> float:
        start = time.perf_counter()
        for _ in range(creates):
            with engine.begin() as connection:
                service.create(connection, context, "lead", lead_input(next(counter)))
        return time.perf_counter() - start

    def raw_core() -> float:
        start = time.perf_counter()
        for _ in range(creates):
            i = next(counter)
            row = {k: v for k, v in sample.items() if k != "id"}
            row.update(last_name=f"Lead {i}", email=f"lead{i}@example.com", full_name=f"Pat Lead {i}")
            with engine.begin() as connection:
                record_id = connection.execute(insert(lead).values(row).returning(lead.c.id)).scalar_one()
                connection.execute(insert(audit_log).values(
                    entity="lead", record_id=record_id, action="create", record_version=1, actor_id=None,
                    actor="bench", source="api", at=row["created_at"], note=None,
                    changes=[{"field": c.field, "old": c.old, "new": c.new} for c in changed_fields({}, row, fields)],
                ))
        return time.perf_counter() - start

    ratio, base, ours = median_ratio(rounds, raw_core, through_service)
    print(f"creates through the write path: {creates / ours:,.0f}/s; raw Core insert + audit row: {creates / base:,.0f}/s")
    print(f"  ratio write path ÷ raw = {ratio:.2f} (target ≥ 0.33) {'met' if ratio >= 0.33 else 'NOT met'}")


# -- 2. one record through the API ------------------------------------------------------------------

def bare_app(engine: Engine, table: Any) -> Starlette:
    """The baseline: one route, the same SELECT, the same JSON encoding, nothing else."""

    def read(request: Request) -> Response:
        with read_only(engine.connect()) as connection:
            row = connection.execute(select(table).where(table.c.id == request.path_params["id"])).mappings().first()
        body = json.dumps({k: to_json(v) for k, v in row.items()}, separators=(",", ":"))
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/lead/{id:int}", read)])


def bench_reads(engine: Engine, token: str, requests: int, rounds: int) -> None:
    model = CatalogCache(engine).model()
    ids = list(range(1, 201))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(engine)) as api, TestClient(bare_app(engine, model.table("lead"))) as bare:
        assert api.get("/api/lead/1", headers=headers).json() == bare.get("/lead/1").json()

        def timed(client: TestClient, path: str, **kwargs: Any) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                for n in range(requests):
                    response = client.get(path.format(ids[n % len(ids)]), **kwargs)
                    assert response.status_code == 200
                return time.perf_counter() - start
            return run

        ratio, base, ours = median_ratio(rounds, timed(bare, "/lead/{}"), timed(api, "/api/lead/{}", headers=headers))
    print(f"GET /api/lead/{{id}}: {requests / ours:,.0f} req/s; bare Starlette + same SELECT: {requests / base:,.0f} req/s")
    print(f"  ratio API ÷ bare = {ratio:.2f} (target ≥ 0.5) {'met' if ratio >= 0.5 else 'NOT met'}")


# -- 3. a list page on a big table in PostgreSQL ----------------------------------------------------

FILL_LEADS = text("""
INSERT INTO lead (version, created_at, updated_at, owner_id, last_name, first_name, full_name, company, email,
                  status, region, country, rating, annual_revenue, number_of_employees, last_activity_at,
                  do_not_call, email_opt_out)
SELECT 1, now() - make_interval(secs => i), now() - make_interval(secs => i), :owner,
       'Lead ' || i, 'Pat', 'Pat Lead ' || i, 'Company ' || (i % 97), 'lead' || i || '@example.com',
       (ARRAY['new','working','nurturing','qualified','unqualified','converted'])[1 + i % 6],
       (ARRAY['north','south','east','west','central','dach','benelux','nordics','uk_ireland','apac','latam','mea'])
           [1 + (i / 7) % 12],
       'DE', 'warm', 125000.00, 40,
       CASE WHEN i % 10 = 0 THEN NULL ELSE now() - make_interval(secs => (i::bigint * 7919) % 5000000) END,
       false, false
FROM generate_series(1, :count) AS i
""")


def bench_list(leads: int, requests: int, rounds: int) -> None:
    if (reason := unreachable()) is not None:
        print(f"list page on PostgreSQL: skipped: {reason}")
        return
    with scratch_database() as url:
        engine, token = setup_database(url)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(FILL_LEADS, {"count": leads, "owner": 1})
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE lead"))
        print(f"filled {leads:,} leads in {time.perf_counter() - started:.1f}s")
        model = CatalogCache(engine).model()
        lead = model.table("lead")
        where = (lead.c.region == "dach", lead.c.status == "working")
        page_sql = (select(lead).where(*where)
                    .order_by(lead.c.last_activity_at.desc().nulls_first(), lead.c.id.asc().nulls_last()).limit(51))
        count_sql = select(func.count()).select_from(lead).where(*where)
        path = "/api/lead?filter=region = 'dach' and status = 'working'&sort=-last_activity_at&limit=50"
        headers = {"Authorization": f"Bearer {token}"}
        api_latencies: list[float] = []
        with TestClient(create_app(engine)) as api:
            expected = api.get(path, headers=headers).json()

            def raw() -> float:
                start = time.perf_counter()
                for _ in range(requests):
                    with read_only(engine.connect()) as connection:
                        rows = [dict(r) for r in connection.execute(page_sql).mappings()]
                        total = connection.execute(count_sql).scalar_one()
                    body = json.dumps({"items": [{k: to_json(v) for k, v in r.items()} for r in rows[:50]],
                                       "total": total}, separators=(",", ":"))
                    assert body
                return time.perf_counter() - start

            def through_api() -> float:
                start = time.perf_counter()
                for _ in range(requests):
                    began = time.perf_counter()
                    response = api.get(path, headers=headers)
                    api_latencies.append(time.perf_counter() - began)
                    assert response.status_code == 200
                return time.perf_counter() - start

            ratio, base, ours = median_ratio(rounds, raw, through_api)
        with engine.connect() as connection:
            plan = "\n".join(r[0] for r in connection.execute(text("EXPLAIN " + str(
                page_sql.compile(engine, compile_kwargs={"literal_binds": True})))))
        engine.dispose()
    p95 = statistics.quantiles(api_latencies, n=20)[-1] * 1000
    print(f"list page (total {expected['total']:,} of {leads:,} leads): API {ours / requests * 1000:.1f} ms, "
          f"raw SQL + JSON {base / requests * 1000:.1f} ms per page; API p95 {p95:.1f} ms")
    print(f"  ratio API ÷ raw = {1 / ratio:.2f} (target ≤ 1.5) {'met' if 1 / ratio <= 1.5 else 'NOT met'}")
    print("  plan of the page query: " + " / ".join(line.strip() for line in plan.splitlines()[:4]))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench api")
    parser.add_argument("--full", action="store_true", help="1,000,000 leads and more requests (several minutes)")
    parser.add_argument("--part", choices=("writes", "reads", "list"), action="append",
                        help="run only this part (repeatable; default: all three)")
    args = parser.parse_args(argv)
    parts = set(args.part or ("writes", "reads", "list"))
    rounds = 7 if args.full else 5
    if parts & {"writes", "reads"}:
        with tempfile.TemporaryDirectory() as folder:
            engine, token = setup_database(f"sqlite:///{Path(folder) / 'bench.db'}")
            if "writes" in parts:
                bench_writes(engine, creates=300 if args.full else 150, rounds=rounds)
            if "reads" in parts:
                bench_reads(engine, token, requests=1000 if args.full else 400, rounds=rounds)
            engine.dispose()
    if "list" in parts:
        bench_list(leads=1_000_000 if args.full else 200_000, requests=60 if args.full else 30, rounds=rounds)


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
