"""Benchmark: durable timers fired per second by one and by two scheduler processes on PostgreSQL.

Run from the repository root: ``python -m bench scheduler`` (``--full`` for
100,000 timers).  Each timer's handler inserts one row keyed by the timer into a
side table with a unique key, so "exactly once" is counted by its side effects:
as many rows as timers, and no duplicate (a second firing would fail its insert
and the timer would be retried, then parked as failed).  Prints both rates, the
2 ÷ 1 ratio (target ≥ 1.7) and the exactly-once check.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from bench.postgres import scratch_database, unreachable
from xrm.db import make_engine
from xrm.migrate import upgrade
from xrm.rules import scheduler
from xrm.rules.timers import TimerCall, timer_handler
from xrm.system_tables import timers

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
side = MetaData()
fired_rows = Table("bench_fired", side, Column("key", String(64), primary_key=True), Column("worker", Integer))


@timer_handler("bench.count")
def _count(call: TimerCall) -> None:
    call.connection.execute(insert(fired_rows).values(key=call.payload["key"], worker=os.getpid()))


def fill(url: str, count: int) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(fired_rows.delete())
        connection.execute(timers.delete())
        connection.execute(insert(timers), [
            {"kind": "bench.count", "key": f"k{i}", "due_at": NOW - timedelta(seconds=i), "payload": {"key": f"k{i}"},
             "status": "pending", "attempts": 0, "created_at": NOW} for i in range(count)])
    engine.dispose()


def worker(url: str) -> None:
    engine = make_engine(url)
    scheduler.tick(engine, NOW)
    engine.dispose()


def run(url: str, count: int, processes: int) -> float:
    fill(url, count)
    started = time.perf_counter()
    children = [multiprocessing.Process(target=worker, args=(url,)) for _ in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    elapsed = time.perf_counter() - started
    engine = make_engine(url)
    with engine.connect() as connection:
        effects = connection.execute(select(func.count()).select_from(fired_rows)).scalar_one()
        statuses = dict(connection.execute(select(timers.c.status, func.count()).group_by(timers.c.status)).all())
        workers = connection.execute(select(func.count(func.distinct(fired_rows.c.worker)))).scalar_one()
    engine.dispose()
    exact = effects == count and statuses == {"fired": count}
    print(f"{processes} process(es): {count / elapsed:,.0f} timers/s ({elapsed:.1f}s); side effects {effects:,} "
          f"of {count:,}, statuses {statuses}, {workers} worker(s) did work — exactly once: {'yes' if exact else 'NO'}")
    return count / elapsed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scheduler")
    parser.add_argument("--full", action="store_true", help="100,000 timers (default 10,000)")
    args = parser.parse_args(argv)
    count = 100_000 if args.full else 10_000
    multiprocessing.set_start_method("fork", force=True)  # the children inherit the registered handler
    if (reason := unreachable()) is not None:
        print(f"scheduler benchmark skipped: {reason}")
        return
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        side.create_all(engine)
        engine.dispose()
        one = run(url, count, 1)
        two = run(url, count, 2)
    ratio = two / one
    print(f"  ratio 2 processes ÷ 1 = {ratio:.2f} (target ≥ 1.7) {'met' if ratio >= 1.7 else 'NOT met'}")


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
