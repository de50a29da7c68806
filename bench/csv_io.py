"""Benchmark: CSV import and export.

Import: leads per second through ``xrm.runtime.csv_import`` (CSV parsing, column mapping, every row through
``RecordService`` with the crm pack's rules on, batches committed with the job's progress) ÷ the same rows
as raw batched Core inserts (500 a statement, no checks, no rules, no audit) — the price of the one write path;
and ÷ the same rows passed as dicts to ``RecordService.create`` — the price of the import's own machinery.

Export: rows per second through ``xrm.runtime.csv_export`` (ListQuery with scope and hidden fields, a
streamed SELECT, names of lookups, csv) ÷ a bare streamed SELECT of the same columns into ``csv.writer``,
and the peak memory (tracemalloc) of exporting a tenth of the rows and all of them: constant memory shows
as a ratio near 1.

Run from the repository root: ``python -m bench csv_io`` (5,000 leads imported, 100,000 exported);
``--full`` for 100,000 and 1,000,000; ``--postgres`` for scratch PostgreSQL databases.  Every figure is
the median of rounds; the ratios are medians of per-round ratios.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from bench.postgres import scratch_database, unreachable
from bench.rules import COUNTRIES, PACKS, RATINGS, REGIONS, _prepare
from xrm.context import Actor, Context
from xrm.db import make_engine, read_only
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.csv_export import csv_chunks, export_rows, plan_export
from xrm.runtime.csv_files import bytes_opener, inspect_csv
from xrm.runtime.csv_import import run_import, start_import
from xrm.runtime.csv_mapping import ImportSettings
from xrm.runtime.records import RecordService

HEADER = ["Last Name", "Company", "E-mail", "Region", "Country", "Rating", "Number of Employees"]
COLUMNS = ("last_name", "company", "email", "region", "country", "rating", "number_of_employees")
EXPORTED = ["id", "last_name", "company", "email", "region", "country", "rating", "status", "owner_id", "created_at"]


def _cells(i: int) -> list[str]:
    return [f"Lead {i}", f"Company {i % 97}", f"lead{i}@example.com", REGIONS[i % len(REGIONS)],
            COUNTRIES[i % len(COUNTRIES)], RATINGS[i % len(RATINGS)] or "", "40"]


def _csv(start: int, count: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(_cells(i) for i in range(start, start + count))
    return buffer.getvalue().encode()


def _stored(i: int, now: datetime) -> dict[str, Any]:
    cells = _cells(i)
    return {"last_name": cells[0], "company": cells[1], "email": cells[2], "region": cells[3], "country": cells[4],
            "rating": cells[5] or None, "number_of_employees": 40, "status": "new", "version": 1,
            "created_at": now, "updated_at": now}


def _timed(work: Callable[[], Any]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def _import(engine: Engine, cache: CatalogCache, start: int, count: int) -> float:
    data = _csv(start, count)
    actor = Actor.system("bench")

    def work() -> None:
        shape = inspect_csv(bytes_opener(data))
        job_id, _ = start_import(engine, cache, actor, "lead", shape, "bench.csv", ImportSettings(COLUMNS))
        job = run_import(engine, cache, job_id, actor, bytes_opener(data))
        assert job.created == count, job

    return count / _timed(work)


def _raw_insert(engine: Engine, cache: CatalogCache, start: int, count: int) -> float:
    table = cache.model().table("lead")
    now = datetime.now(UTC)

    def work() -> None:
        for first in range(start, start + count, 500):
            with engine.begin() as connection:
                connection.execute(insert(table), [_stored(i, now) for i in range(first, min(first + 500, start + count))])

    return count / _timed(work)


def _service_creates(engine: Engine, cache: CatalogCache, start: int, count: int) -> float:
    """The same rows as dicts straight into ``RecordService.create``, 500 a transaction: the import minus CSV and jobs."""
    context = Context(Actor.system("bench"), "import")

    def work() -> None:
        for first in range(start, start + count, 500):
            with engine.begin() as connection:
                service = RecordService(cache.model_for(connection))
                for i in range(first, min(first + 500, start + count)):
                    service.create(connection, context, "lead", dict(zip(COLUMNS, _cells(i), strict=True)))

    return count / _timed(work)


def _fill(engine: Engine, cache: CatalogCache, rows: int) -> None:
    table = cache.model().table("lead")
    now = datetime.now(UTC)
    for first in range(10_000_000, 10_000_000 + rows, 5000):
        with engine.begin() as connection:
            connection.execute(insert(table), [_stored(i, now) for i in range(first, min(first + 5000, 10_000_000 + rows))])


def _export(engine: Engine, cache: CatalogCache, filter_: str | None) -> int:
    context = Context(Actor.system("bench"), "cli")
    written = 0
    with read_only(engine.connect()) as connection:
        model = cache.model_for(connection)
        plan = plan_export(model, context, "lead", EXPORTED, filter=filter_)
        for chunk in csv_chunks(export_rows(connection, model, context, plan)):
            written += chunk.count("\r\n")
    return written - 1


def _bare_export(engine: Engine, cache: CatalogCache) -> int:
    table = cache.model().table("lead")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = 0
    with read_only(engine.connect()) as connection:
        result = connection.execution_options(stream_results=True, yield_per=1000).execute(
            select(*(table.c[n] for n in EXPORTED)).order_by(table.c.id))
        for partition in result.partitions():
            writer.writerows(partition)
            rows += len(partition)
            buffer.seek(0)
            buffer.truncate()
    return rows


def _peak(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@contextmanager
def _database(postgres: bool, folder: Path):  # noqa: ANN202
    if not postgres:
        yield f"sqlite:///{folder / 'csv.db'}"
        return
    with scratch_database() as url:
        yield url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench csv_io", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="100,000 leads imported and 1,000,000 exported")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database instead of SQLite")
    parser.add_argument("--part", choices=("import", "export"), help="run one half only")
    args = parser.parse_args(argv)
    if args.postgres and (reason := unreachable()):
        print(f"skipped: PostgreSQL is not reachable ({reason})")
        return
    imported, exported = (100_000, 1_000_000) if args.full else (5_000, 100_000)
    per_round = imported // args.rounds
    backend = "PostgreSQL" if args.postgres else "SQLite"
    with tempfile.TemporaryDirectory(prefix="xrm-bench-csv-") as folder, _database(args.postgres, Path(folder)) as url:
        engine = make_engine(url)
        _prepare(engine, PACKS / "crm")
        cache = CatalogCache(engine)
        if args.part != "export":
            _import_rounds(engine, cache, args.rounds, per_round, backend)
        if args.part != "import":
            _export_rounds(engine, cache, args.rounds, exported, backend)
        engine.dispose()


def _import_rounds(engine: Engine, cache: CatalogCache, rounds: int, per_round: int, backend: str) -> None:
    _import(engine, cache, 0, 50)  # warm up: rules compiled, statements cached
    rates: dict[str, list[float]] = {"import": [], "service": [], "raw": []}
    for number in range(rounds):
        start = 1000 + number * per_round
        rates["import"].append(_import(engine, cache, start, per_round))
        rates["service"].append(_service_creates(engine, cache, 3_000_000 + start, per_round))
        rates["raw"].append(_raw_insert(engine, cache, 5_000_000 + start, per_round))
    ratios = [a / b for a, b in zip(rates["import"], rates["raw"], strict=True)]
    own = [a / b for a, b in zip(rates["import"], rates["service"], strict=True)]
    print(f"CSV import of {rounds * per_round:,} leads on {backend} ({rounds} rounds of {per_round:,}), crm rules on:")
    print(f"  import:             median {statistics.median(rates['import']):10,.0f} rows/s")
    print(f"  service creates:    median {statistics.median(rates['service']):10,.0f} rows/s")
    print(f"  raw batched insert: median {statistics.median(rates['raw']):10,.0f} rows/s")
    print(f"  import ÷ raw: {statistics.median(ratios):.4f} (median of rounds; min {min(ratios):.4f}, "
          f"max {max(ratios):.4f}) — the price of the write path and the rules")
    print(f"  import ÷ service creates: {statistics.median(own):.2f} (median of rounds; min {min(own):.2f}, "
          f"max {max(own):.2f}) — the price of CSV, mapping and job bookkeeping")


def _export_rounds(engine: Engine, cache: CatalogCache, rounds: int, exported: int, backend: str) -> None:
    present = _export(engine, cache, None)
    _fill(engine, cache, max(0, exported - present))
    total = _export(engine, cache, None)
    export_rates, bare_rates = [], []
    for _ in range(max(3, rounds // 2)):
        export_rates.append(total / _timed(lambda: _export(engine, cache, None)))
        bare_rates.append(total / _timed(lambda: _bare_export(engine, cache)))
    tenth = f"id <= {total // 10}"
    small, large = _peak(lambda: _export(engine, cache, tenth)), _peak(lambda: _export(engine, cache, None))
    ratios = [a / b for a, b in zip(export_rates, bare_rates, strict=True)]
    print(f"CSV export of {total:,} leads on {backend} ({len(export_rates)} rounds):")
    print(f"  export:             median {statistics.median(export_rates):10,.0f} rows/s")
    print(f"  bare SELECT + csv:  median {statistics.median(bare_rates):10,.0f} rows/s")
    print(f"  export ÷ bare: {statistics.median(ratios):.2f} (median of rounds; min {min(ratios):.2f}, "
          f"max {max(ratios):.2f})")
    print(f"  peak memory (tracemalloc): {small / 2**20:.1f} MiB for a tenth of the rows, "
          f"{large / 2**20:.1f} MiB for all: all ÷ tenth {large / small:.2f} (1.0 = constant memory)")

if __name__ == "__main__":
    main()
