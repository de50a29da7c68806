"""Helpers shared by the tests of the rules engine, its actions, time rules, dry runs and the rules API.

Databases come from ``tests.runtime.conftest`` (the three packs and the cast:
admin, manager, rep1-3, marketing, agent, nobody), on SQLite and PostgreSQL.
Most tests run rules of their own: ``service_with(db, text)`` is a record
service whose engine runs only ``text`` (checked against the installed
metadata), so the packs' rules stay out of the way; ``pack_service(db)``
runs the installed rules.  ``install_ops_pack`` installs a small extra pack
(an entity ``chore`` with a workflow whose state may be empty, plus rule
files) for what only installed rules can do (scheduled rules, the API).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select, update

# the session's template databases, which ``template_copy`` asks for by name
from tests.runtime.conftest import (  # noqa: F401
    BACKENDS,
    Installed,
    postgres_template,
    sqlite_template,
    template_copy,
)
from xrm.context import Actor, Context
from xrm.metadata.installer import install_pack
from xrm.metadata.model import RuleFile
from xrm.rules.checker import RulesReport, check_rules, org_names
from xrm.rules.engine import RulesEngine
from xrm.rules.trace import trace_of
from xrm.runtime.catalog_cache import CatalogCache
from xrm.runtime.record_model import RecordModel
from xrm.runtime.records import RecordService
from xrm.runtime.users import add_user
from xrm.system_tables import org_tables, outbox, rule_trace, timers, users

#: Monday 5 January 2026, 09:00 UTC (10:00 in Berlin, inside the support calendar's hours).
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: The least a lead needs to be saved.
LEAD = {"last_name": "Doe", "company": "ACME", "email": "doe@example.com"}


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS, name="db")
def db_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installed]:
    """A fresh copy of the template database for one test (SQLite and PostgreSQL)."""
    with template_copy(request, request.param, tmp_path) as copy:
        yield copy


@pytest.fixture(scope="module", params=BACKENDS, name="module_db")
def module_db_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """One copy of the template for a whole module (per backend): each test keeps to records it makes."""
    with template_copy(request, request.param, tmp_path_factory.mktemp("rules")) as copy:
        yield copy


def model_of(db: Installed) -> RecordModel:
    return CatalogCache(db.engine).model()


# -- services and contexts ---------------------------------------------------------------------


def check(db: Installed, text: str, path: str = "t.rules") -> RulesReport:
    with db.engine.connect() as connection:
        org = org_names(connection)
    return check_rules([("test", RuleFile(path, text))], model_of(db).catalog, org)


def service_with(db: Installed, text: str) -> RecordService:
    """A record service running only the rules in ``text`` (which must check without errors)."""
    report = check(db, text)
    assert not report.errors, [str(p) for p in report.errors]
    service = RecordService(model_of(db))
    service.rules = RulesEngine(service, ruleset=report.ruleset)
    return service


def pack_service(db: Installed) -> RecordService:
    """A record service running the installed packs' rules."""
    return RecordService(model_of(db))


def system(now: datetime = NOW, *, source: str = "api", explain: bool = False) -> Context:
    """The platform acting through the API (new records stay unowned for the rules)."""
    return Context(Actor.system("tests"), source, now, explain=explain)  # type: ignore[arg-type]


def as_user(db: Installed, name: str, *, source: str = "ui", now: datetime = NOW) -> Context:
    """One of the cast acting in the app (a record they create is theirs)."""
    return replace(db.context(name, source), now=now)


# -- reading and writing the database ----------------------------------------------------------


def create(db: Installed, service: RecordService, context: Context, entity: str, values: Mapping[str, Any]) -> dict:
    with db.engine.begin() as connection:
        return service.create(connection, context, entity, values)


def update_record(db: Installed, service: RecordService, context: Context, entity: str, record_id: int,
                  values: Mapping[str, Any]) -> dict:
    with db.engine.begin() as connection:
        return service.update(connection, context, entity, record_id, values)


def stored(db: Installed, entity: str, record_id: int) -> dict[str, Any] | None:
    table = model_of(db).table(entity)
    with db.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == record_id)).mappings().first()
    return None if row is None else dict(row)


def records(db: Installed, entity: str, **equal: Any) -> list[dict[str, Any]]:
    table = model_of(db).table(entity)
    statement = select(table).order_by(table.c.id)
    for name, value in equal.items():
        statement = statement.where(table.c[name] == value)
    with db.engine.connect() as connection:
        return [dict(r) for r in connection.execute(statement).mappings()]


def trace(db: Installed, entity: str, record_id: int, *, fired_only: bool = False) -> list[dict[str, Any]]:
    with db.engine.connect() as connection:
        return trace_of(connection, entity, record_id, fired_only=fired_only)


def summaries(db: Installed, entity: str, record_id: int) -> list[str]:
    return [d["summary"] for d in trace(db, entity, record_id)]


def trace_count(db: Installed) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(rule_trace)).scalar_one()


def rule_timers(db: Installed, *, status: str | None = "pending", kind: str = "rule.time") -> list[dict[str, Any]]:
    statement = select(timers).where(timers.c.kind == kind).order_by(timers.c.due_at, timers.c.id)
    if status is not None:
        statement = statement.where(timers.c.status == status)
    with db.engine.connect() as connection:
        return [dict(r) for r in connection.execute(statement).mappings()]


def timers_of(db: Installed, entity: str, record_id: int, *, status: str | None = "pending") -> list[dict[str, Any]]:
    return [t for t in rule_timers(db, status=status)
            if t["payload"].get("entity") == entity and t["payload"].get("record_id") == record_id]


def notifications_for(db: Installed, user_id: int) -> list[dict[str, Any]]:
    return records(db, "notification", owner_id=user_id)


def outbox_for(db: Installed, user_id: int) -> list[dict[str, Any]]:
    with db.engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(outbox).where(outbox.c.to_user_id == user_id).order_by(outbox.c.id)).mappings()]


def set_user(db: Installed, user_id: int, **columns: Any) -> None:
    with db.engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(**columns))


def new_users(db: Installed, *names: str, **columns: Any) -> list[int]:
    """Users made for one test (display names capitalised), ids ascending in the order given."""
    with db.engine.begin() as connection:
        ids = [add_user(connection, name, now=NOW, display_name=name.title()) for name in names]
        if columns:
            connection.execute(update(users).where(users.c.id.in_(ids)).values(**columns))
    return ids


def group_id(connection: Connection, group: str, name: str) -> int | None:
    table = org_tables[group]
    return connection.execute(select(table.c.id).where(table.c.name == name)).scalar()


def add_group(db: Installed, group: str, name: str, members: tuple[int, ...] = (), **values: Any) -> int:
    """A team or queue of one test (with ``members``)."""
    stamp = {"version": 1, "created_at": NOW, "updated_at": NOW}
    table = org_tables[group]
    with db.engine.begin() as connection:
        new_id = connection.execute(insert(table).values(name=name, label=name.replace("_", " ").title(), **values,
                                                         **stamp).returning(table.c.id)).scalar_one()
    for user_id in members:
        join(db, group, name, user_id)
    return new_id


def join(db: Installed, group: str, name: str, user_id: int) -> None:
    """Make ``user_id`` a member of the team or queue called ``name``."""
    stamp = {"version": 1, "created_at": NOW, "updated_at": NOW}
    with db.engine.begin() as connection:
        found = group_id(connection, group, name)
        assert found is not None, f"no {group} named {name}"
        connection.execute(insert(org_tables[f"{group}_member"]).values({group: found, "user": user_id, **stamp}))


def queue_id(db: Installed, name: str) -> int:
    with db.engine.connect() as connection:
        found = group_id(connection, "queue", name)
    assert found is not None
    return found


# -- an extra pack -----------------------------------------------------------------------------

CHORE = {
    "name": "chore", "label": "Chore", "plural_label": "Chores", "display_field": "title",
    "fields": [
        {"name": "title", "type": "text", "label": "Title", "required": True},
        {"name": "stage", "type": "picklist", "label": "Stage", "options": [
            {"value": "todo", "label": "To Do"}, {"value": "doing", "label": "Doing"},
            {"value": "done", "label": "Done"}]},
        {"name": "counter", "type": "integer", "label": "Counter"},
        {"name": "echo", "type": "integer", "label": "Echo"},
        {"name": "note", "type": "text", "label": "Note"},
    ],
}
CHORE_FLOW = {
    "name": "chore_flow", "entity": "chore", "field": "stage", "label": "Chore Flow", "initial": "todo",
    "states": [{"name": "todo", "label": "To Do"}, {"name": "doing", "label": "Doing"},
               {"name": "done", "label": "Done", "final": True}],
    "transitions": [{"name": "begin", "label": "Begin", "from": ["todo"], "to": "doing"},
                    {"name": "finish", "label": "Finish", "from": ["doing"], "to": "done"}],
}


def write_ops_pack(folder: Path, rules: Mapping[str, str] | None = None) -> Path:
    """The files of a pack 'ops' (depends on crm): the entity chore, its workflow, and ``rules`` (file → text)."""
    root = folder / "ops"
    for part in ("entities", "workflows", "rules"):
        (root / part).mkdir(parents=True, exist_ok=True)
    (root / "pack.json").write_text(json.dumps({"name": "ops", "version": "1.0.0", "label": "Ops",
                                                "depends_on": {"crm": ">=1.0"}}), encoding="utf-8")
    (root / "entities" / "chore.json").write_text(json.dumps(CHORE), encoding="utf-8")
    (root / "workflows" / "chore_flow.json").write_text(json.dumps(CHORE_FLOW), encoding="utf-8")
    for name, text in (rules or {}).items():
        (root / "rules" / name).write_text(text, encoding="utf-8")
    return root


def install_ops_pack(db: Installed, folder: Path, rules: Mapping[str, str] | None = None) -> None:
    install_pack(db.engine, write_ops_pack(folder, rules), Context(Actor.system("tests"), "cli"))
