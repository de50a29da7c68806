"""Benchmark: the cost of the rules on the write path — lead creates per second with the crm pack's rules
on ÷ the same pack without its rule files, in the same run.

Run from the repository root: ``python -m bench rules`` (``--full`` for more leads; ``--postgres`` to
use scratch PostgreSQL databases instead of SQLite files).  Both databases get the same users, and the
crm pack's teams five members each, so the routing rules do real work: round robin with caps and
absences, least loaded with open counts, territory by country, the activity clock.  Each create is one
transaction through ``RecordService`` as an API create (routed by the rules).  Rounds alternate between
the two databases; the printed ratio is the median of per-round ratios (1.0 = free; the rules cost
what is below it).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from bench.postgres import scratch_database, unreachable
from xrm.context import Actor, Context, utc_now
from xrm.db import make_engine
from xrm.metadata.installer import install_pack
from xrm.migrate import upgrade
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.records import RecordService
from xrm.runtime.users import add_user
from xrm.system_tables import org_tables, users

PACKS = Path(__file__).resolve().parent.parent / "packs"
TEAMS = ("west_sales", "dach", "inside_sales", "senior_reps")
REGIONS = ["west", "east", "north", "south", "central", "benelux"]
COUNTRIES = ["DE", "FR", "US", "AT", "GB", "NL", "CH", "ES"]
RATINGS = ["hot", "warm", "cold", None]


def lead_input(i: int) -> dict[str, Any]:
    return {"last_name": f"Lead {i}", "company": f"Company {i % 97}", "email": f"lead{i}@example.com",
            "region": REGIONS[i % len(REGIONS)], "country": COUNTRIES[i % len(COUNTRIES)],
            "rating": RATINGS[i % len(RATINGS)], "number_of_employees": 40}


def _crm_without_rules(folder: Path) -> Path:
    copy = folder / "crm"
    shutil.copytree(PACKS / "crm", copy, ignore=shutil.ignore_patterns("rules"))
    return copy


def _prepare(engine: Engine, crm: Path) -> None:
    """Migrate, install crm, and give every team of the crm pack five members (one of them absent)."""
    upgrade(engine)
    context = Context(Actor.system("bench"), "cli")
    install_pack(engine, crm, context)
    now = utc_now()
    with engine.begin() as connection:
        teams, members = org_tables["team"], org_tables["team_member"]
        for name in TEAMS:
            team_id = connection.execute(select(teams.c.id).where(teams.c.name == name)).scalar()
            if team_id is None:  # the pack without rules declares no teams: make the same ones
                team_id = connection.execute(insert(teams).values(
                    name=name, label=name, version=1, created_at=now, updated_at=now).returning(teams.c.id)).scalar()
            for number in range(5):
                user_id = add_user(connection, f"{name}_{number}", now=now)
                connection.execute(insert(members).values(team=team_id, user=user_id, version=1, created_at=now,
                                                          updated_at=now))
                if number == 4:
                    connection.execute(users.update().where(users.c.id == user_id).values(
                        out_of_office_from=now - timedelta(days=1), out_of_office_to=now + timedelta(days=30)))


def _creates_per_second(engine: Engine, cache: CatalogCache, start: int, count: int) -> float:
    context = Context(Actor.system("integration"), "api")
    began = time.perf_counter()
    for i in range(start, start + count):
        with engine.begin() as connection:
            RecordService(cache.model_for(connection)).create(connection, context, "lead", lead_input(i))
    return count / (time.perf_counter() - began)


@contextmanager
def _databases(postgres: bool, folder: Path) -> Iterator[tuple[str, str]]:
    if not postgres:
        yield f"sqlite:///{folder / 'on.db'}", f"sqlite:///{folder / 'off.db'}"
        return
    with ExitStack() as stack:
        yield stack.enter_context(scratch_database()), stack.enter_context(scratch_database())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench rules", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="2,000 leads per round instead of 300")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="scratch PostgreSQL databases instead of SQLite")
    args = parser.parse_args(argv)
    if args.postgres and (reason := unreachable()):
        print(f"skipped: PostgreSQL is not reachable ({reason})")
        return
    per_round = 2000 if args.full else 300
    with tempfile.TemporaryDirectory(prefix="xrm-bench-rules-") as folder, \
            _databases(args.postgres, Path(folder)) as (on_url, off_url):
        engines = {"on": make_engine(on_url), "off": make_engine(off_url)}
        _prepare(engines["on"], PACKS / "crm")
        _prepare(engines["off"], _crm_without_rules(Path(folder)))
        caches = {name: CatalogCache(engine) for name, engine in engines.items()}
        for name in engines:  # warm up: compile the rules and the statements once
            _creates_per_second(engines[name], caches[name], 0, 20)
        ratios, rates = [], {"on": [], "off": []}
        for round_number in range(args.rounds):
            start = 1000 + round_number * per_round
            for name in ("on", "off") if round_number % 2 == 0 else ("off", "on"):
                rates[name].append(_creates_per_second(engines[name], caches[name], start, per_round))
            ratios.append(rates["on"][-1] / rates["off"][-1])
        for engine in engines.values():
            engine.dispose()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"lead creates per second on {backend}, {per_round} per round, {args.rounds} rounds:")
    print(f"  rules off: median {statistics.median(rates['off']):8.1f}/s")
    print(f"  rules on:  median {statistics.median(rates['on']):8.1f}/s")
    print(f"  rules on ÷ off: {statistics.median(ratios):.2f} (median of rounds; "
          f"min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
